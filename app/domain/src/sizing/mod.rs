//! HPA-aware right-sizing from recorded demand.
//!
//! Where an HPA scales on a resource, the request of that resource is the HPA's yardstick:
//! recommending it from utilisation starts a loop (a lower request raises utilisation, the
//! HPA adds pods, per-pod use falls, the next recommendation is lower again). There the
//! recommendations are the HPA's own bounds: its minimum ([`SizingKind::Minimum`]) and its
//! maximum ([`SizingKind::Maximum`]). Resources no HPA scales on get requests from per-pod
//! usage percentiles plus headroom, limits in a fixed ratio; a workload without an HPA whose
//! pods run hot at the peak gets replicas from its load per pod (L = T/N).
//!
//! Every recommendation carries its evidence, a confidence from how much was recorded, and
//! its effect in core-hours, GiB-hours and saturated minutes per week. Nothing is
//! recommended from less than [`MIN_RECORDED_MS`].

mod recommend;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use recommend::recommend;

use crate::rules::finding::Proposal;

/// The least recording right-sizing speaks on: a day, so a daily peak is in it (less the
/// half hour a restart or a first sample may cost).
pub const MIN_RECORDED_MS: i64 = 86_400_000 - 1_800_000;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const MIB: f64 = 1024.0 * 1024.0;

/// What a recommendation changes. The code is stable (`RS1`…): it names the recommendation
/// in a link that opens it as a change and in the audit row's reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SizingKind {
    /// The HPA's minimum.
    #[serde(rename = "RS1")]
    Minimum,
    /// The HPA's maximum.
    #[serde(rename = "RS2")]
    Maximum,
    /// The pods' CPU request and limit (no HPA scales on CPU).
    #[serde(rename = "RS3")]
    CpuRequest,
    /// The pods' memory request and limit (no HPA scales on memory).
    #[serde(rename = "RS4")]
    MemoryRequest,
    /// The replica count of a Deployment without an HPA.
    #[serde(rename = "RS5")]
    Replicas,
}

impl SizingKind {
    pub const ALL: [SizingKind; 5] = [
        SizingKind::Minimum,
        SizingKind::Maximum,
        SizingKind::CpuRequest,
        SizingKind::MemoryRequest,
        SizingKind::Replicas,
    ];

    pub fn code(self) -> &'static str {
        match self {
            SizingKind::Minimum => "RS1",
            SizingKind::Maximum => "RS2",
            SizingKind::CpuRequest => "RS3",
            SizingKind::MemoryRequest => "RS4",
            SizingKind::Replicas => "RS5",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            SizingKind::Minimum => "HPA minimum",
            SizingKind::Maximum => "HPA maximum",
            SizingKind::CpuRequest => "CPU request and limit",
            SizingKind::MemoryRequest => "Memory request and limit",
            SizingKind::Replicas => "Replica count",
        }
    }

    pub fn parse(code: &str) -> Option<SizingKind> {
        SizingKind::ALL.into_iter().find(|k| k.code().eq_ignore_ascii_case(code.trim()))
    }
}

impl std::fmt::Display for SizingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// How far a recommendation can be trusted, from how much was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// One to three days, or many gaps: the weekly pattern is not in it.
    Low,
    /// Three days or more, gaps under a quarter.
    Medium,
    /// A week or more, gaps under a tenth.
    High,
}

impl Confidence {
    pub fn label(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    /// The confidence for `days` recorded with `gaps` (a share of the recorded span).
    pub fn of(days: f64, gaps: f64) -> Confidence {
        if days >= 6.9 && gaps < 0.1 {
            Confidence::High
        } else if days >= 2.9 && gaps < 0.25 {
            Confidence::Medium
        } else {
            Confidence::Low
        }
    }
}

/// The tuning of the recommendations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SizingOptions {
    /// The per-pod CPU use percentile a CPU request covers (0.95).
    pub cpu_percentile: f64,
    /// The per-pod memory use percentile a memory request covers (0.99: memory is not
    /// compressible, running out kills the pod).
    pub memory_percentile: f64,
    /// Added on top of the percentile, and on top of a recorded peak for a maximum (0.15).
    pub headroom: f64,
    /// CPU limit = request × this (2).
    pub cpu_limit_ratio: f64,
    /// Memory limit = request × this (1.25).
    pub memory_limit_ratio: f64,
    /// The utilisation of its request a pod is sized for where no HPA sets one (0.7).
    pub utilisation: f64,
}

impl Default for SizingOptions {
    fn default() -> Self {
        SizingOptions {
            cpu_percentile: 0.95,
            memory_percentile: 0.99,
            headroom: 0.15,
            cpu_limit_ratio: 2.0,
            memory_limit_ratio: 1.25,
            utilisation: 0.7,
        }
    }
}

/// The room the cluster's nodes have, for asking whether a higher maximum fits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Room {
    /// Allocatable minus requested, over all nodes: cores and bytes.
    pub free_cpu: f64,
    pub free_memory: f64,
    /// What one node adds (the cluster's average node): cores and bytes.
    pub node_cpu: f64,
    pub node_memory: f64,
}

impl Room {
    /// Nodes a cluster autoscaler would have to add for `cpu` cores and `memory` bytes more
    /// requested (0 when they fit).
    pub fn nodes_for(&self, cpu: f64, memory: f64) -> u32 {
        let short = |need: f64, free: f64, per_node: f64| {
            if need <= free || per_node <= 0.0 { 0.0 } else { ((need - free) / per_node).ceil() }
        };
        short(cpu, self.free_cpu, self.node_cpu).max(short(memory, self.free_memory, self.node_memory)) as u32
    }
}

/// The figures a recommendation rests on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// What was measured, e.g. "per-pod CPU use, cores".
    pub measure: String,
    /// `(percentile, value)`: 50, 95, 99 and 100 (the maximum).
    pub percentiles: Vec<(u8, f64)>,
    /// Days of recording.
    pub days_covered: f64,
    /// The share of the recorded span with no samples.
    pub gaps: f64,
}

/// A recommendation's expected effect, per week of the recorded pattern: negative costs
/// are savings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Effect {
    /// Requested CPU core-hours added (negative: saved).
    pub core_hours_per_week: f64,
    /// Requested memory GiB-hours added (negative: saved).
    pub gib_hours_per_week: f64,
    /// Minutes above the HPA's target at its maximum avoided (replayed).
    pub saturated_minutes_avoided_per_week: f64,
}

/// One recommendation for one workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    pub kind: SizingKind,
    /// As it is and as recommended, in the units of the kind: replicas, cores, bytes.
    pub current: f64,
    pub recommended: f64,
    /// The limit that goes with a recommended request (cores or bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<f64>,
    /// Why, with the figures, in a sentence.
    pub reason: String,
    pub evidence: Evidence,
    pub confidence: Confidence,
    pub effect: Effect,
    /// For a higher maximum: whether the nodes can hold it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<String>,
    /// The scaling change that applies it, for the edit form (requests are changed in the
    /// Deployment's manifest: [`Recommendation::manifest`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<Proposal>,
    /// A proposed HPA change replayed against the current HPA, in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backtest: Option<String>,
}

impl Recommendation {
    /// "4 → 9 replicas", "2 cores → 150m".
    pub fn change(&self) -> String {
        match self.kind {
            SizingKind::Minimum | SizingKind::Maximum | SizingKind::Replicas => {
                format!("{:.0} → {:.0}", self.current, self.recommended)
            }
            SizingKind::CpuRequest => {
                format!("{} → {}", cpu_quantity(self.current), cpu_quantity(self.recommended))
            }
            SizingKind::MemoryRequest => {
                format!("{} → {}", memory_quantity(self.current), memory_quantity(self.recommended))
            }
        }
    }

    /// For a request: the pod template's `resources` to set, in manifest form.
    pub fn manifest(&self) -> Option<String> {
        let (resource, request, limit) = match self.kind {
            SizingKind::CpuRequest => ("cpu", cpu_quantity(self.recommended), self.limit.map(cpu_quantity)),
            SizingKind::MemoryRequest => {
                ("memory", memory_quantity(self.recommended), self.limit.map(memory_quantity))
            }
            _ => return None,
        };
        let mut out = format!("resources:\n  requests:\n    {resource}: {request}");
        if let Some(l) = limit {
            out.push_str(&format!("\n  limits:\n    {resource}: {l}"));
        }
        Some(out)
    }
}

/// A workload's right-sizing: its recommendations, or why there are none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Sizing {
    /// Days of recording judged.
    pub days_covered: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Confidence>,
    /// Why nothing is recommended when the recording is too short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld: Option<String>,
    pub recommendations: Vec<Recommendation>,
    /// What was deliberately not recommended, and why (the HPA-scaled request).
    pub notes: Vec<String>,
}

/// A CPU quantity as a manifest writes it: `150m`, `2`.
pub fn cpu_quantity(cores: f64) -> String {
    let m = (cores * 1000.0).round() as i64;
    if m % 1000 == 0 { format!("{}", m / 1000) } else { format!("{m}m") }
}

/// A memory quantity as a manifest writes it: `384Mi`, `2Gi`.
pub fn memory_quantity(bytes: f64) -> String {
    let mib = (bytes / MIB).round() as i64;
    if mib % 1024 == 0 && mib > 0 { format!("{}Gi", mib / 1024) } else { format!("{mib}Mi") }
}

/// Up to the next 5 millicores, at least 10 (samples are `f32`: what is a hair above a step
/// stays on it).
fn round_cpu(cores: f64) -> f64 {
    ((cores * 200.0 - 1e-4).ceil() / 200.0).max(0.01)
}

/// Up to the next 16 MiB, at least 32.
fn round_memory(bytes: f64) -> f64 {
    ((bytes / (16.0 * MIB) - 1e-4).ceil() * 16.0 * MIB).max(32.0 * MIB)
}

/// Which workloads' right-sizing to list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SizingQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One workload's right-sizing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SizingRow {
    pub namespace: String,
    pub name: String,
    pub critical: bool,
    pub sizing: Sizing,
}

/// The right-sizing of every workload in scope, those with recommendations first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SizingReport {
    pub rows: Vec<SizingRow>,
    /// When the recorded demand was last judged (Unix ms); `None` before the first time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judged_at_ms: Option<i64>,
    /// How far back it looks, e.g. "7 d".
    pub window: String,
    pub options: SizingOptions,
    pub recommendations: usize,
    /// The recommendations' effects added up.
    pub total: Effect,
}

impl SizingReport {
    /// The report over `rows` (already in scope), sorted and summed.
    pub fn of(mut rows: Vec<SizingRow>, options: SizingOptions) -> SizingReport {
        rows.sort_by(|a, b| {
            (a.sizing.recommendations.is_empty(), &a.namespace, &a.name).cmp(&(
                b.sizing.recommendations.is_empty(),
                &b.namespace,
                &b.name,
            ))
        });
        let all = rows.iter().flat_map(|r| &r.sizing.recommendations);
        let total = all.clone().fold(Effect::default(), |t, r| Effect {
            core_hours_per_week: t.core_hours_per_week + r.effect.core_hours_per_week,
            gib_hours_per_week: t.gib_hours_per_week + r.effect.gib_hours_per_week,
            saturated_minutes_avoided_per_week: t.saturated_minutes_avoided_per_week
                + r.effect.saturated_minutes_avoided_per_week,
        });
        SizingReport { recommendations: all.count(), total, rows, options, ..SizingReport::default() }
    }
}
