//! What-if: replaying recorded demand through an HPA configuration — the current one and a
//! proposed one — to see what each would have done before anyone applies the proposal.
//!
//! The replay runs the controller's own arithmetic ([`crate::hpa`]) step by step at its sync
//! period, on utilisation as the metrics API would have reported it (refreshed every
//! `metrics_resolution_ms`), with new pods serving only after a start-up delay. Assumption:
//! the service's total demand (CPU, memory) does not depend on how many replicas serve it; it
//! is shared by the ready pods. The same code runs in the browser as the operator types and
//! on the server for the API and the audit log.

mod replay;
mod series;

use serde::{Deserialize, Serialize};

pub use replay::{Options, Outcome, Trace, replay};
pub use series::{DEFAULT_READY_DELAY_MS, Series, estimate_ready_delay};

use crate::hpa::{Behavior, spec::BehaviorSpec};

/// How far back a replay looks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Window {
    #[default]
    #[serde(rename = "1d")]
    Day,
    #[serde(rename = "7d")]
    Week,
}

impl Window {
    pub fn millis(self) -> i64 {
        match self {
            Window::Day => 86_400_000,
            Window::Week => 7 * 86_400_000,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Window::Day => "last day",
            Window::Week => "last week",
        }
    }
}

/// An HPA configuration to replay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HpaConfig {
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// Target CPU utilisation, percent of requests.
    pub cpu_target: Option<i32>,
    /// Target memory utilisation, percent of requests.
    pub memory_target: Option<i32>,
    pub behavior: Behavior,
}

impl HpaConfig {
    /// The configuration of a workload's HPA as it is now.
    pub fn of(a: &crate::dto::Autoscaler) -> HpaConfig {
        HpaConfig {
            min_replicas: a.min_replicas,
            max_replicas: a.max_replicas,
            cpu_target: a.cpu_target_percent,
            memory_target: a.memory_target_percent,
            behavior: BehaviorSpec::resolve_optional(a.behavior.as_ref()),
        }
    }

    /// The configuration a validated autoscaler change would set.
    pub fn from_change(change: &crate::scaling::ScalingChange) -> Option<HpaConfig> {
        match change {
            crate::scaling::ScalingChange::Autoscaler {
                min_replicas,
                max_replicas,
                cpu_target,
                memory_target,
                scale_up,
                scale_down,
            } => Some(HpaConfig {
                min_replicas: *min_replicas,
                max_replicas: *max_replicas,
                cpu_target: *cpu_target,
                memory_target: *memory_target,
                behavior: Behavior { scale_up: scale_up.clone(), scale_down: scale_down.clone() },
            }),
            crate::scaling::ScalingChange::Replicas(_) => None,
        }
    }
}

/// What a configuration did (or would have done) over the window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    /// Minutes with CPU demand beyond what the ready pods request (utilisation above 100 %).
    pub overloaded_minutes: f64,
    /// Minutes with utilisation above the HPA's CPU target.
    pub above_target_minutes: f64,
    /// Replicas × hours.
    pub replica_hours: f64,
    /// Requested CPU cores × hours.
    pub core_hours: f64,
    /// Changes of the replica count (many in a short time is flapping).
    pub scale_events: u32,
    pub minutes_at_min: f64,
    pub minutes_at_max: f64,
    pub peak_replicas: i32,
}

/// How well the replay of the current configuration matches what the controller did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Fidelity {
    /// Share of the controller's recorded syncs at which the replayed count is within ±1 of
    /// the count the controller set.
    pub within_one: f64,
    pub compared: usize,
    /// Syncs without a reading between the first and the last recorded one (gaps).
    pub missing: usize,
    /// Why the match may be poor, in words, when it is.
    pub note: Option<String>,
}

/// Per step of a backtest, in columns: what was recorded and what each configuration does.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Steps {
    /// The replica count the controller had set at each sync; `null`: not recorded.
    pub recorded: Vec<Option<u16>>,
    /// The replay of the current configuration.
    pub current: Vec<i32>,
    /// The replay of the proposed one.
    pub proposed: Vec<i32>,
    /// CPU over the requests of the ready pods, percent, as the controller read it; `null`:
    /// no reading.
    pub utilization: Vec<Option<f32>>,
    /// The same over the pods of each replay.
    pub current_utilization: Vec<Option<f32>>,
    pub proposed_utilization: Vec<Option<f32>>,
}

/// A backtest: the current and a proposed configuration over the same recorded demand.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Backtest {
    /// The first step: a sync of the controller's (Unix ms); step `i` is `fromMs + i × stepMs`.
    pub from_ms: i64,
    pub step_ms: i64,
    /// Where the demand came from.
    pub resolution: String,
    /// The window asked for.
    pub window_ms: i64,
    /// The start-up delay assumed for new pods, and whether it was measured.
    pub ready_delay_ms: i64,
    pub ready_delay_measured: bool,
    /// Every figure below counts these steps only, on every side: the syncs with a reading
    /// and a recorded count.
    pub recorded_steps: usize,
    /// What they cover (`recordedSteps × stepMs`): the time the figures are about.
    pub covered_ms: i64,
    pub recorded: Figures,
    pub current: Figures,
    pub proposed: Figures,
    pub fidelity: Fidelity,
    pub steps: usize,
    /// From the first to the last recorded step.
    pub recorded_span_ms: i64,
    /// The replayed series, step by step.
    pub series: Steps,
}

/// The first and last recorded step.
fn recorded_bounds(series: &Series) -> Option<(usize, usize)> {
    let first = (0..series.len()).find(|&i| series.recorded(i))?;
    let last = (0..series.len()).rev().find(|&i| series.recorded(i))?;
    Some((first, last))
}

/// From the first to the last step with a recording (0 when none).
fn recorded_span(series: &Series) -> i64 {
    recorded_bounds(series).map_or(0, |(a, b)| (b - a + 1) as i64 * series.step_ms)
}

/// The share of matching steps below which the replay is called out as not faithful.
pub const FAITHFUL: f64 = 0.9;

/// Compares a replay of the current configuration with the counts the controller set, at
/// its recorded syncs.
pub fn fidelity(series: &Series, current: &Trace) -> Fidelity {
    let (mut compared, mut close, mut missing) = (0, 0, 0);
    if let Some((first, last)) = recorded_bounds(series) {
        for i in first..=last {
            match (series.recorded(i).then(|| series.desired[i]).flatten(), current.replicas.get(i)) {
                (Some(r), Some(p)) => {
                    compared += 1;
                    close += usize::from((i32::from(r) - *p).abs() <= 1);
                }
                _ => missing += 1,
            }
        }
    }
    let within_one = if compared == 0 { 0.0 } else { close as f64 / compared as f64 };
    let span = compared + missing;
    let note = if compared == 0 {
        Some("nothing was recorded in this window".to_string())
    } else if within_one < FAITHFUL {
        let gaps = missing as f64 / span.max(1) as f64;
        Some(if gaps > 0.1 {
            format!(
                "{:.0} % of the recorded span has no reading (Paydeck or the metrics API was down): the replay holds its count through each gap",
                gaps * 100.0
            )
        } else {
            "the recorded replicas often differ from what this HPA would have set: something else scaled the Deployment (a person, a pipeline, another autoscaler), or the HPA changed during the window".to_string()
        })
    } else {
        None
    };
    Fidelity { within_one, compared, missing, note }
}

/// Replays `series` through `current` and `proposed`, over a window of `window_ms`.
pub fn backtest(
    series: &Series,
    window_ms: i64,
    current: &HpaConfig,
    proposed: &HpaConfig,
    options: &Options,
) -> Backtest {
    let (ready_delay_ms, measured) = match options.ready_delay_ms {
        Some(d) => (d, true),
        None => match estimate_ready_delay(series) {
            Some(d) => (d, true),
            None => (series::DEFAULT_READY_DELAY_MS, false),
        },
    };
    let options = Options { ready_delay_ms: Some(ready_delay_ms), ..options.clone() };
    let now = replay(series, current, &options);
    let next = replay(series, proposed, &options);
    let request = series.cpu_request_per_pod;
    let recorded_utilization = (0..series.len())
        .map(|i| {
            let (cpu, ready) = (series.cpu[i]?, series.ready[i]?);
            (ready > 0 && request > 0.0)
                .then(|| (f64::from(cpu) * 100.0 / (f64::from(ready) * request)) as f32)
        })
        .collect();
    let recorded_steps = series.recorded_steps();
    Backtest {
        from_ms: series.from_ms,
        step_ms: series.step_ms,
        resolution: series.resolution.clone(),
        window_ms,
        ready_delay_ms,
        ready_delay_measured: measured,
        recorded_steps,
        covered_ms: recorded_steps as i64 * series.step_ms,
        recorded: replay::recorded_figures(series, current),
        fidelity: fidelity(series, &now.trace),
        current: now.figures,
        proposed: next.figures,
        steps: series.len(),
        recorded_span_ms: recorded_span(series),
        series: Steps {
            recorded: (0..series.len())
                .map(|i| series.recorded(i).then(|| series.desired[i]).flatten())
                .collect(),
            current: now.trace.replicas,
            proposed: next.trace.replicas,
            utilization: recorded_utilization,
            current_utilization: now.trace.utilization,
            proposed_utilization: next.trace.utilization,
        },
    }
}

/// A duration in words: `5.5 min`, `7 h`, `6.2 d`.
pub fn span_words(ms: i64) -> String {
    let minutes = ms as f64 / 60_000.0;
    let trim = |x: f64, unit: &str| {
        let text = format!("{x:.1}");
        format!("{} {unit}", text.trim_end_matches('0').trim_end_matches('.'))
    };
    if minutes < 90.0 {
        trim(minutes, "min")
    } else if minutes < 36.0 * 60.0 {
        trim(minutes / 60.0, "h")
    } else {
        trim(minutes / 1440.0, "d")
    }
}

/// The backtest in one line, for the audit log: `backtested on 6.2 d recorded of the last
/// 7 d: overloaded 42 → 0 min, +31 replica-hours, scale events 12 → 14 (…)`.
pub fn summary(b: &Backtest) -> String {
    format!(
        "backtested on {} recorded of the last {}: overloaded {:.0} → {:.0} min, {:+.0} replica-hours, scale events {} → {} (the replay matches the controller within ±1 at {:.0} % of its recorded syncs)",
        span_words(b.covered_ms),
        span_words(b.window_ms),
        b.current.overloaded_minutes,
        b.proposed.overloaded_minutes,
        b.proposed.replica_hours - b.current.replica_hours,
        b.current.scale_events,
        b.proposed.scale_events,
        b.fidelity.within_one * 100.0
    )
}

#[cfg(test)]
mod tests;
