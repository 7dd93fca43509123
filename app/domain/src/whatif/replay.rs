//! The replay itself: the HPA controller's loop over recorded demand.

use serde::{Deserialize, Serialize};

use super::{Figures, HpaConfig, Series};
use crate::hpa::{Autoscaler, DEFAULT_TOLERANCE, PodReadiness, PodSample, replicas_for_utilization};

/// How the replay models the cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Options {
    /// How often the HPA controller decides (Kubernetes: 15 s).
    pub sync_period_ms: i64,
    /// How often the metrics API refreshes a pod's usage (metrics-server: 15–60 s); the
    /// controller sees the last refresh, not the instant.
    pub metrics_resolution_ms: i64,
    /// How long a new pod takes to serve; `None`: measured from the recording.
    pub ready_delay_ms: Option<i64>,
    pub tolerance: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sync_period_ms: 15_000,
            metrics_resolution_ms: 15_000,
            ready_delay_ms: None,
            tolerance: DEFAULT_TOLERANCE,
        }
    }
}

/// Replicas and utilisation per step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Trace {
    pub replicas: Vec<i32>,
    /// CPU use over what the ready pods request, percent; `None` where demand is unknown.
    pub utilization: Vec<Option<f32>>,
}

/// A configuration's trace and figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub trace: Trace,
    pub figures: Figures,
}

/// One replica of the replay: when it serves.
#[derive(Clone, Copy, Debug)]
struct Pod {
    ready_at: i64,
}

/// The figures of a trace over the series (minutes from the step width).
fn figures(series: &Series, config: &HpaConfig, replicas: &[i32], utilization: &[Option<f32>]) -> Figures {
    let step_minutes = series.step_ms as f64 / 60_000.0;
    let step_hours = step_minutes / 60.0;
    let mut f = Figures::default();
    let mut previous: Option<i32> = None;
    for (i, &r) in replicas.iter().enumerate() {
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

/// Utilisation of `cpu` cores over `ready` pods' requests, percent.
fn utilization(cpu: Option<f32>, ready: i32, request: f64) -> Option<f32> {
    let cpu = cpu?;
    if request <= 0.0 {
        return None;
    }
    Some(if ready <= 0 {
        if cpu > 0.0 { f32::INFINITY } else { 0.0 }
    } else {
        (f64::from(cpu) * 100.0 / (f64::from(ready) * request)) as f32
    })
}

/// What was recorded, in the same figures (the replicas that were set, over the ready pods).
pub fn recorded_figures(series: &Series, config: &HpaConfig) -> Figures {
    let replicas: Vec<i32> = series.desired.iter().map(|d| d.map_or(0, i32::from)).collect();
    let util: Vec<Option<f32>> = (0..series.len())
        .map(|i| {
            series.ready[i].and_then(|r| utilization(series.cpu[i], i32::from(r), series.cpu_request_per_pod))
        })
        .collect();
    figures(series, config, &replicas, &util)
}

/// The demand the controller sees at `t`: the step holding the last metrics refresh at or
/// before `t`.
fn reported_step(series: &Series, t: i64, resolution_ms: i64) -> Option<usize> {
    let resolution = resolution_ms.max(1);
    let refreshed = (t.div_euclid(resolution)) * resolution;
    let i = (refreshed - series.from_ms).div_euclid(series.step_ms.max(1));
    (0..series.len() as i64).contains(&i).then_some(i as usize)
}

/// Replays `series` through `config`.
pub fn replay(series: &Series, config: &HpaConfig, options: &Options) -> Outcome {
    let n = series.len();
    let mut replicas_out = Vec::with_capacity(n);
    let mut util_out = Vec::with_capacity(n);
    let ready_delay = options.ready_delay_ms.unwrap_or(super::series::DEFAULT_READY_DELAY_MS);
    let sync = options.sync_period_ms.max(1);
    let first_recorded =
        series.desired.iter().flatten().next().map_or(config.min_replicas, |d| i32::from(*d));
    let start = first_recorded.clamp(config.min_replicas, config.max_replicas);
    let mut pods: Vec<Pod> = (0..start).map(|_| Pod { ready_at: i64::MIN }).collect();
    let mut memory = Autoscaler::new(series.from_ms.max(0) as u64, start);
    // The first sync at or after the first step.
    let mut next_sync = (series.from_ms + sync - 1).div_euclid(sync) * sync;

    for i in 0..n {
        // Every sync up to this step's time: what was recorded at a step includes the
        // controller's decisions until then.
        while next_sync <= series.at(i) {
            let t = next_sync;
            next_sync += sync;
            let Some(at) = reported_step(series, t, options.metrics_resolution_ms) else { continue };
            let current = pods.len() as i32;
            let ready = pods.iter().filter(|p| p.ready_at <= t).count();
            let mut desired: Option<i32> = None;
            for (target, total, request) in [
                (
                    config.cpu_target,
                    series.cpu[at].map(|c| f64::from(c) * 1000.0),
                    series.cpu_request_per_pod * 1000.0,
                ),
                (config.memory_target, series.memory[at].map(f64::from), series.memory_request_per_pod),
            ] {
                let (Some(target), Some(total)) = (target, total) else { continue };
                let per_pod = if ready == 0 { None } else { Some(total / ready as f64) };
                let samples: Vec<PodSample> = pods
                    .iter()
                    .map(|p| {
                        if p.ready_at <= t {
                            PodSample { readiness: PodReadiness::Ready, usage: per_pod, request }
                        } else {
                            PodSample { readiness: PodReadiness::Unready, usage: Some(0.0), request }
                        }
                    })
                    .collect();
                if let Ok(rec) = replicas_for_utilization(current, &samples, target, options.tolerance) {
                    desired = Some(desired.map_or(rec.replicas, |d| d.max(rec.replicas)));
                }
            }
            let decision = match desired {
                Some(d) => memory.normalize(
                    t.max(0) as u64,
                    current,
                    d,
                    config.min_replicas,
                    config.max_replicas,
                    &config.behavior,
                ),
                None => continue,
            };
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
        let t = series.at(i);
        let ready = pods.iter().filter(|p| p.ready_at <= t).count() as i32;
        replicas_out.push(pods.len() as i32);
        util_out.push(utilization(series.cpu[i], ready, series.cpu_request_per_pod));
    }
    let figures = figures(series, config, &replicas_out, &util_out);
    Outcome { trace: Trace { replicas: replicas_out, utilization: util_out }, figures }
}
