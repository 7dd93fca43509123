//! The peak capacity planner: how many instances each service needs at a planned peak, by
//! two models side by side, what their requests add, and whether the nodes hold it.
//!
//! - The scaling model `N = N₀ + α·(T − T₀)/T₀`, fitted per service by least squares on its
//!   recorded (request rate, replicas) pairs, with T₀ the mean recorded rate (where the fit is
//!   surest), N₀ the replicas there and α the replicas added per doubling of T₀.
//! - The HPA's own model: CPU use fitted against request rate, divided by what one pod may
//!   use at the HPA's target (or at 70 % without an HPA).
//!
//! A peak is given as a multiple of each service's recorded peak, or as a request rate at the
//! entry service (the busiest), spread over the others by their recorded share of it.

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::{
    dto::Workload,
    rules::Proposal,
    sizing::Room,
    stats::{Line, fit_line},
    whatif::Series,
};

/// The utilisation a service without an HPA is planned at.
pub const UNSCALED_TARGET: f64 = 0.7;
/// The share of the recording at the HPA's maximum from which a row says the scaling model
/// under-states.
pub const CAPPED_NOTE: f64 = 0.05;
/// The least number of (rate, replicas) pairs a fit is made from: an hour of 15-s samples.
pub const MIN_POINTS: usize = 240;

/// `N = N₀ + α·(T − T₀)/T₀`, with its error.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScalingFit {
    pub n0: f64,
    /// Requests per second.
    pub t0: f64,
    pub alpha: f64,
    /// Two standard errors of α: the true α lies within ± this of the fitted one about 95 %
    /// of the time, if the model holds.
    pub alpha_error: f64,
    /// Root-mean-square error of the fitted replicas.
    pub rmse: f64,
    pub points: usize,
}

impl ScalingFit {
    /// Fitted on `(T, N)` pairs; `None` with fewer than [`MIN_POINTS`] or no spread in T.
    pub fn from_points(points: &[(f64, f64)]) -> Option<ScalingFit> {
        if points.len() < MIN_POINTS {
            return None;
        }
        let line = fit_line(points)?;
        let t0 = line.mean_x;
        (t0 > 0.0).then(|| ScalingFit {
            n0: line.at(t0),
            t0,
            alpha: line.slope * t0,
            alpha_error: 2.0 * line.slope_error * t0,
            rmse: line.rmse,
            points: line.points,
        })
    }

    /// The instances needed at request rate `t`.
    pub fn replicas_at(&self, t: f64) -> f64 {
        self.n0 + self.alpha * (t - self.t0) / self.t0
    }
}

/// What the planner knows of one service, from its recorded demand.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub namespace: String,
    pub name: String,
    pub critical: bool,
    /// The highest recorded request rate in the window, and the replicas set then.
    pub peak_rate: f64,
    pub peak_replicas: i32,
    pub replicas_now: i32,
    pub min_replicas: Option<i32>,
    pub max_replicas: Option<i32>,
    /// The HPA's CPU target (share), when it scales on CPU.
    pub cpu_target: Option<f64>,
    pub cpu_request_per_pod: f64,
    pub memory_request_per_pod: f64,
    pub fit: Option<ScalingFit>,
    /// The share of the fitted pairs where the HPA sat at its maximum: there the replicas
    /// did not follow the rate, and the fit under-states what the rate needs.
    #[serde(default)]
    pub capped_share: f64,
    /// Workload CPU cores against request rate.
    #[serde(skip)]
    pub cpu_line: Option<CpuLine>,
}

/// `cpu = idle + per_request · T`, cores.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CpuLine {
    pub idle: f64,
    pub per_request: f64,
}

impl From<Line> for CpuLine {
    fn from(l: Line) -> Self {
        CpuLine { idle: l.intercept.max(0.0), per_request: l.slope.max(0.0) }
    }
}

impl Profile {
    /// The profile of `w` from `series`.
    pub fn of(w: &Workload, series: &Series) -> Profile {
        let (mut peak_rate, mut peak_replicas) = (0.0, w.replicas.desired);
        let mut pairs = Vec::new();
        let mut cpu = Vec::new();
        let max = w.autoscaler.as_ref().map(|a| a.max_replicas);
        let mut capped = 0usize;
        for i in 0..series.len() {
            let (Some(rate), Some(desired)) = (series.rate[i], series.desired[i]) else { continue };
            let rate = f64::from(rate);
            if rate > peak_rate {
                (peak_rate, peak_replicas) = (rate, i32::from(desired));
            }
            if rate > 0.0 {
                pairs.push((rate, f64::from(desired)));
                capped += usize::from(max.is_some_and(|m| i32::from(desired) >= m));
                if let Some(c) = series.cpu[i] {
                    cpu.push((rate, f64::from(c)));
                }
            }
        }
        let a = w.autoscaler.as_ref();
        Profile {
            namespace: w.namespace.clone(),
            name: w.name.clone(),
            critical: w.critical,
            peak_rate,
            peak_replicas,
            replicas_now: w.replicas.desired,
            min_replicas: a.map(|a| a.min_replicas),
            max_replicas: a.map(|a| a.max_replicas),
            cpu_target: a.and_then(|a| a.cpu_target_percent).map(|t| f64::from(t) / 100.0),
            cpu_request_per_pod: series.cpu_request_per_pod,
            memory_request_per_pod: series.memory_request_per_pod,
            fit: ScalingFit::from_points(&pairs),
            capped_share: capped as f64 / pairs.len().max(1) as f64,
            cpu_line: (cpu.len() >= MIN_POINTS).then(|| fit_line(&cpu)).flatten().map(CpuLine::from),
        }
    }

    /// The profile with `w`'s configuration as it is now (the recorded figures kept): a plan
    /// made after the HPA changed speaks of the new one.
    pub fn with_live(self, w: &Workload) -> Profile {
        let a = w.autoscaler.as_ref();
        Profile {
            critical: w.critical,
            replicas_now: w.replicas.desired,
            min_replicas: a.map(|a| a.min_replicas),
            max_replicas: a.map(|a| a.max_replicas),
            cpu_target: a.and_then(|a| a.cpu_target_percent).map(|t| f64::from(t) / 100.0),
            cpu_request_per_pod: w.containers.iter().filter_map(|c| c.cpu_request).sum(),
            memory_request_per_pod: w.containers.iter().filter_map(|c| c.memory_request).sum(),
            ..self
        }
    }

    /// The HPA's model: pods for the CPU at rate `t` at the target.
    pub fn hpa_replicas_at(&self, t: f64) -> Option<i32> {
        let line = self.cpu_line?;
        let per_pod = self.cpu_target.unwrap_or(UNSCALED_TARGET) * self.cpu_request_per_pod;
        (per_pod > 0.0).then(|| ((line.idle + line.per_request * t) / per_pod).ceil() as i32)
    }
}

/// The peak to plan for.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Peak {
    /// Each service at this multiple of its recorded peak.
    Times(f64),
    /// This many requests per second at the entry service, spread by recorded share.
    EntryRate(f64),
}

impl Default for Peak {
    fn default() -> Self {
        Peak::Times(4.0)
    }
}

/// One service at the planned peak.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PlanRow {
    pub namespace: String,
    pub name: String,
    pub peak_rate: f64,
    pub planned_rate: f64,
    pub peak_replicas: i32,
    pub replicas_now: i32,
    /// By the fitted scaling model, and by the HPA's model.
    pub fit_replicas: Option<i32>,
    pub hpa_replicas: Option<i32>,
    /// The larger of the two (at least the HPA's minimum, and what runs now for a service
    /// no request drives).
    pub needed: i32,
    pub max_replicas: Option<i32>,
    /// The HPA's maximum holds `needed` (always for a service without an HPA: its count is
    /// set by hand).
    pub max_allows: bool,
    /// Requests the `needed` pods add to what runs now: cores, bytes.
    pub added_cpu: f64,
    pub added_memory: f64,
    pub fit: Option<ScalingFit>,
    /// "raise max to N", when the maximum is short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<Proposal>,
    /// Why a row is less than it seems (no traffic recorded, no fit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The plan over every service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The service an entry rate is given at (the busiest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    pub rows: Vec<PlanRow>,
    pub added_cpu: f64,
    pub added_memory: f64,
    pub room: Room,
    /// Nodes a cluster autoscaler would have to add, each like the cluster's average node.
    pub nodes_missing: u32,
    /// Services whose HPA maximum is below what the peak needs.
    pub maxima_short: usize,
}

/// The plan for `peak` over `profiles`, against `room`.
pub fn plan(profiles: &[Profile], peak: Peak, room: Room) -> Plan {
    let entry =
        profiles.iter().filter(|p| p.peak_rate > 0.0).max_by(|a, b| a.peak_rate.total_cmp(&b.peak_rate));
    let rows: Vec<PlanRow> = profiles
        .iter()
        .map(|p| {
            let planned_rate = match (peak, entry) {
                (Peak::Times(k), _) => k * p.peak_rate,
                (Peak::EntryRate(t), Some(e)) => t * p.peak_rate / e.peak_rate,
                (Peak::EntryRate(_), None) => 0.0,
            };
            row(p, planned_rate)
        })
        .collect();
    let added_cpu = rows.iter().map(|r| r.added_cpu).sum();
    let added_memory = rows.iter().map(|r| r.added_memory).sum();
    Plan {
        entry: match peak {
            Peak::EntryRate(_) => entry.map(|e| format!("{}/{}", e.namespace, e.name)),
            Peak::Times(_) => None,
        },
        nodes_missing: room.nodes_for(added_cpu, added_memory),
        maxima_short: rows.iter().filter(|r| !r.max_allows).count(),
        rows,
        added_cpu,
        added_memory,
        room,
    }
}

fn row(p: &Profile, planned_rate: f64) -> PlanRow {
    let driven = p.peak_rate > 0.0;
    let fit_replicas = p.fit.filter(|_| driven).map(|f| f.replicas_at(planned_rate).ceil() as i32);
    let hpa_replicas = if driven { p.hpa_replicas_at(planned_rate) } else { None };
    let floor = p.min_replicas.unwrap_or(1).max(if p.critical { 2 } else { 1 });
    let needed = match (fit_replicas, hpa_replicas) {
        (Some(a), Some(b)) => a.max(b),
        (Some(n), None) | (None, Some(n)) => n,
        (None, None) => p.replicas_now,
    }
    .max(floor);
    let max_allows = p.max_replicas.is_none_or(|m| needed <= m);
    let more = f64::from((needed - p.replicas_now).max(0));
    let note = if !driven {
        Some("no requests recorded: planned at today's count".to_string())
    } else if fit_replicas.is_none() && hpa_replicas.is_none() {
        Some("too little recorded to fit a model: planned at today's count".to_string())
    } else if p.capped_share >= CAPPED_NOTE {
        Some(format!(
            "held at its HPA maximum for {:.0} % of the recording: the scaling model under-states the need",
            p.capped_share * 100.0
        ))
    } else {
        None
    };
    PlanRow {
        namespace: p.namespace.clone(),
        name: p.name.clone(),
        peak_rate: p.peak_rate,
        planned_rate,
        peak_replicas: p.peak_replicas,
        replicas_now: p.replicas_now,
        fit_replicas,
        hpa_replicas,
        needed,
        max_replicas: p.max_replicas,
        max_allows,
        added_cpu: more * p.cpu_request_per_pod,
        added_memory: more * p.memory_request_per_pod,
        fit: p.fit,
        proposal: (!max_allows).then_some(Proposal { max_replicas: Some(needed), ..Proposal::default() }),
        note,
    }
}

/// What to plan for, and over which namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PlanQuery {
    pub peak: Peak,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// The largest multiple and entry rate a plan accepts.
pub const MAX_TIMES: f64 = 100.0;
pub const MAX_ENTRY_RATE: f64 = 10_000_000.0;

impl Peak {
    /// `4x` or `4×` → a multiple; a plain number → an entry rate; checked.
    pub fn parse(text: &str) -> Result<Peak, String> {
        let text = text.trim();
        let bad = || {
            format!(
                "peak {:?} is neither a multiple like 4x nor a request rate like 2000",
                text.chars().take(20).collect::<String>()
            )
        };
        let peak = match text.strip_suffix(['x', 'X', '×']) {
            Some(k) => Peak::Times(k.trim().parse().map_err(|_| bad())?),
            None => Peak::EntryRate(text.parse().map_err(|_| bad())?),
        };
        peak.check()
    }

    /// As [`Peak::parse`] reads it: `4x`, `2000`.
    pub fn text(self) -> String {
        match self {
            Peak::Times(k) => format!("{k}x"),
            Peak::EntryRate(t) => format!("{t}"),
        }
    }

    /// A multiple above zero up to [`MAX_TIMES`], a rate above zero up to
    /// [`MAX_ENTRY_RATE`]; else why not.
    pub fn check(self) -> Result<Peak, String> {
        match self {
            Peak::Times(k) if k.is_finite() && k > 0.0 && k <= MAX_TIMES => Ok(self),
            Peak::Times(k) => {
                Err(format!("the multiple must be above 0 and at most {MAX_TIMES:.0}, not {k}"))
            }
            Peak::EntryRate(t) if t.is_finite() && t > 0.0 && t <= MAX_ENTRY_RATE => Ok(self),
            Peak::EntryRate(t) => {
                Err(format!("the entry rate must be above 0 and at most {MAX_ENTRY_RATE:.0} req/s, not {t}"))
            }
        }
    }
}

/// The plan, with when its profiles were last read from recorded demand.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PlanReport {
    pub peak: Peak,
    pub plan: Plan,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judged_at_ms: Option<i64>,
    /// How far back "today's peak" looks, e.g. "1 d".
    pub window: String,
}
