//! The replay itself: the HPA controller's loop over recorded demand.

use serde::{Deserialize, Serialize};

use super::{Figures, HpaConfig, Series};
use crate::hpa::{Autoscaler, DEFAULT_TOLERANCE, PodReadiness, PodSample, replicas_for_utilization};

/// How the replay models the cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Options {
    /// How long a new pod takes to serve; `None`: measured from the recording.
    pub ready_delay_ms: Option<i64>,
    pub tolerance: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options { ready_delay_ms: None, tolerance: DEFAULT_TOLERANCE }
    }
}

/// Replicas and utilisation per step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Trace {
    pub replicas: Vec<i32>,
    /// CPU use over what the ready pods request, percent; `None` where demand is unknown.
    pub utilization: Vec<Option<f32>>,
}

/// A configuration's trace and figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub trace: Trace,
    pub figures: Figures,
}

/// One replica of the replay: when it serves.
#[derive(Clone, Copy, Debug)]
struct Pod {
    ready_at: i64,
}

/// The figures of a trace, over the recorded steps only (minutes from the step width): a
/// step nothing was recorded at has no demand to judge a configuration by, on any side.
fn figures(series: &Series, config: &HpaConfig, replicas: &[i32], utilization: &[Option<f32>]) -> Figures {
    let step_minutes = series.step_ms as f64 / 60_000.0;
    let step_hours = step_minutes / 60.0;
    let mut f = Figures::default();
    let mut previous: Option<i32> = None;
    for (i, &r) in replicas.iter().enumerate() {
        if !series.recorded(i) {
            previous = None;
            continue;
        }
        f.replica_hours += f64::from(r) * step_hours;
        f.core_hours += f64::from(r) * series.cpu_request_per_pod * step_hours;
        f.peak_replicas = f.peak_replicas.max(r);
        if r <= config.min_replicas {
            f.minutes_at_min += step_minutes;
        }
        if r >= config.max_replicas {
            f.minutes_at_max += step_minutes;
        }
        if previous.is_some_and(|p| p != r) {
            f.scale_events += 1;
        }
        previous = Some(r);
        if let Some(u) = utilization.get(i).copied().flatten() {
            if u > 100.0 {
                f.overloaded_minutes += step_minutes;
            }
            if config.cpu_target.is_some_and(|t| u > t as f32) {
                f.above_target_minutes += step_minutes;
            }
        }
    }
    f
}

/// Utilisation of `cpu` millicores over `ready` pods requesting `request` millicores each,
/// percent.
fn utilization(cpu: Option<i64>, ready: i32, request: i64) -> Option<f32> {
    let cpu = cpu?;
    if request <= 0 {
        return None;
    }
    Some(if ready <= 0 {
        if cpu > 0 { f32::INFINITY } else { 0.0 }
    } else {
        (cpu as f64 * 100.0 / (f64::from(ready) * request as f64)) as f32
    })
}

/// What was recorded, in the same figures (the replicas that were set, over the ready pods).
pub fn recorded_figures(series: &Series, config: &HpaConfig) -> Figures {
    let replicas: Vec<i32> = series.desired.iter().map(|d| d.map_or(0, i32::from)).collect();
    let request = series.cpu_request_millis();
    let util: Vec<Option<f32>> = (0..series.len())
        .map(|i| series.ready[i].and_then(|r| utilization(series.cpu_millis(i), i32::from(r), request)))
        .collect();
    figures(series, config, &replicas, &util)
}

/// `total` spread over `pods` as evenly as whole units allow: the sum stays `total`.
fn share(total: i64, pods: usize, index: usize) -> i64 {
    let n = pods.max(1) as i64;
    total / n + i64::from((index as i64) < total % n)
}

/// Replays `series` through `config`: at each step, the controller's sync at that time on
/// the reading it had, with the replay's own pods (new ones serve after the start-up delay;
/// the demand is shared by those that serve). A step without a reading decides nothing, as
/// the controller keeps the count when it gets no metrics.
pub fn replay(series: &Series, config: &HpaConfig, options: &Options) -> Outcome {
    let n = series.len();
    let mut replicas_out = Vec::with_capacity(n);
    let mut util_out = Vec::with_capacity(n);
    let ready_delay = options.ready_delay_ms.unwrap_or(super::series::DEFAULT_READY_DELAY_MS);
    let cpu_request = series.cpu_request_millis();
    let memory_request = series.memory_request_per_pod.round() as i64;
    let first_recorded =
        series.desired.iter().flatten().next().map_or(config.min_replicas, |d| i32::from(*d));
    let start = first_recorded.clamp(config.min_replicas, config.max_replicas);
    let mut pods: Vec<Pod> = (0..start).map(|_| Pod { ready_at: i64::MIN }).collect();
    let mut memory = Autoscaler::new(series.from_ms.max(0) as u64, start);

    for i in 0..n {
        let t = series.at(i);
        let current = pods.len() as i32;
        let ready = pods.iter().filter(|p| p.ready_at <= t).count();
        let mut desired: Option<i32> = None;
        for (target, total, request) in [
            (config.cpu_target, series.cpu_millis(i), cpu_request),
            (config.memory_target, series.memory[i].map(|m| m.round() as i64), memory_request),
        ] {
            let (Some(target), Some(total)) = (target, total) else { continue };
            let mut serving = 0;
            let samples: Vec<PodSample> = pods
                .iter()
                .map(|p| {
                    if p.ready_at <= t {
                        serving += 1;
                        let usage = share(total, ready, serving - 1);
                        PodSample { readiness: PodReadiness::Ready, usage: Some(usage), request }
                    } else {
                        PodSample { readiness: PodReadiness::Unready, usage: Some(0), request }
                    }
                })
                .collect();
            if let Ok(rec) = replicas_for_utilization(current, &samples, target, options.tolerance) {
                desired = Some(desired.map_or(rec.replicas, |d| d.max(rec.replicas)));
            }
        }
        if let Some(d) = desired {
            let decision = memory.normalize(
                t.max(0) as u64,
                current,
                d,
                config.min_replicas,
                config.max_replicas,
                &config.behavior,
            );
            let next = decision.replicas;
            if next != current {
                memory.record_scale(t.max(0) as u64, current, next, &config.behavior);
                if next > current {
                    pods.extend((current..next).map(|_| Pod { ready_at: t + ready_delay }));
                } else {
                    // The controller's scale-down removes pods that are not ready first.
                    pods.sort_by_key(|p| std::cmp::Reverse(p.ready_at));
                    pods.drain(..(current - next) as usize);
                }
            }
        }
        let ready = pods.iter().filter(|p| p.ready_at <= t).count() as i32;
        replicas_out.push(pods.len() as i32);
        util_out.push(utilization(series.cpu_millis(i), ready, cpu_request));
    }
    let figures = figures(series, config, &replicas_out, &util_out);
    Outcome { trace: Trace { replicas: replicas_out, utilization: util_out }, figures }
}
