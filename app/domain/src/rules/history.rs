//! The rules judged on a workload's recorded demand: an HPA saturated at its maximum, a
//! minimum that idles, a target too high for the recorded surges, CPU requested far above
//! use. Nothing is judged on less than [`MIN_RECORDED_MS`] of recording.

use super::{
    catalogue::RuleId,
    finding::{Proposal, RuleFinding},
};
use crate::{
    dto::Workload,
    stats::percentile,
    whatif::{self, DEFAULT_READY_DELAY_MS, HpaConfig, Options, Series, estimate_ready_delay},
};

/// The least recording the history rules judge on: six hours.
pub const MIN_RECORDED_MS: i64 = 6 * 3_600_000;
/// Minutes at the maximum above the target that make an HPA saturated.
pub const SATURATED_MINUTES: f64 = 15.0;
/// Share of the recorded time at the minimum, and utilisation there (as a share of the
/// target), below which the minimum idles.
pub const IDLE_SHARE: f64 = 0.75;
pub const IDLE_UTILISATION: f64 = 0.5;
/// The per-pod 95th percentile of CPU use below this share of the request is over-requested.
pub const OVERREQUESTED: f64 = 0.3;
/// The HPA's sync period and the metrics' refresh, added to the start-up delay: how long a
/// surge runs before new pods serve.
const REACTION_MS: i64 = 30_000;

/// How much was recorded, in milliseconds.
pub fn recorded_ms(series: &Series) -> i64 {
    series.desired.iter().filter(|d| d.is_some()).count() as i64 * series.step_ms
}

/// "6 h", "1 d", "7 d".
pub fn span_label(ms: i64) -> String {
    let hours = ms as f64 / 3_600_000.0;
    if hours >= 23.5 { format!("{:.0} d", hours / 24.0) } else { format!("{hours:.0} h") }
}

/// CPU utilisation (percent of requests) at each step with a recording.
fn utilisation(series: &Series) -> impl Iterator<Item = (usize, f64)> + '_ {
    (0..series.len()).filter_map(move |i| {
        let (cpu, ready) = (series.cpu[i]?, series.ready[i]?);
        (ready > 0 && series.cpu_request_per_pod > 0.0)
            .then(|| (i, 100.0 * f64::from(cpu) / (f64::from(ready) * series.cpu_request_per_pod)))
    })
}

/// The history findings of `w` over `series`, with its waivers applied; none when the
/// recording is shorter than [`MIN_RECORDED_MS`].
pub fn evaluate(w: &Workload, series: &Series) -> Vec<RuleFinding> {
    let covered = recorded_ms(series);
    if covered < MIN_RECORDED_MS {
        return Vec::new();
    }
    let span = span_label(covered);
    let step_minutes = series.step_ms as f64 / 60_000.0;
    let mut out = Vec::new();
    let cpu_target = w.autoscaler.as_ref().and_then(|a| a.cpu_target_percent);

    if let (Some(a), Some(target)) = (&w.autoscaler, cpu_target) {
        let target = f64::from(target);
        let max = a.max_replicas;
        // PD301: at the maximum with utilisation above the target.
        let mut saturated = 0.0;
        let mut peak = 0.0_f64;
        for (i, u) in utilisation(series) {
            if series.desired[i].is_some_and(|d| i32::from(d) >= max) && u > target {
                saturated += step_minutes;
                peak = peak.max(u);
            }
        }
        if saturated >= SATURATED_MINUTES {
            let demand = series.cpu.iter().flatten().fold(0.0_f32, |m, &c| m.max(c));
            let needed = (f64::from(demand) / (target / 100.0 * series.cpu_request_per_pod)).ceil() as i32;
            out.push(
                RuleFinding::new(
                    RuleId::PD301,
                    format!(
                        "at its maximum of {max} with CPU above its {target:.0} % target for {saturated:.0} min of the last {span} (up to {peak:.0} %); about {needed} replicas would have held the recorded peak at the target"
                    ),
                )
                .proposing(Proposal { max_replicas: Some(needed.max(max + 1)), ..Proposal::default() }),
            );
        }

        // PD302: held at the minimum with little to do.
        let min = a.min_replicas;
        let floor = if w.critical { 2 } else { 1 };
        if min > floor {
            let at_min: Vec<(usize, f64)> = utilisation(series)
                .filter(|(i, _)| series.desired[*i].is_some_and(|d| i32::from(d) <= min))
                .collect();
            let recorded = utilisation(series).count();
            let share = at_min.len() as f64 / recorded.max(1) as f64;
            let mean = at_min.iter().map(|(_, u)| u).sum::<f64>() / at_min.len().max(1) as f64;
            if share >= IDLE_SHARE && mean < IDLE_UTILISATION * target {
                let mut busy: Vec<f64> =
                    at_min.iter().filter_map(|(i, _)| series.cpu[*i].map(f64::from)).collect();
                let p95 = percentile(&mut busy, 0.95).unwrap_or(0.0);
                let enough = ((p95 / (target / 100.0 * series.cpu_request_per_pod)).ceil() as i32).max(floor);
                if enough < min {
                    out.push(
                        RuleFinding::new(
                            RuleId::PD302,
                            format!(
                                "at its minimum of {min} for {:.0} % of the last {span}, at {mean:.0} % CPU on average (target {target:.0} %); {enough} would have carried the 95th percentile there at the target",
                                100.0 * share
                            ),
                        )
                        .proposing(Proposal { min_replicas: Some(enough), ..Proposal::default() }),
                    );
                }
            }
        }

        // PD303: the fastest recorded surge over the reaction time, at the target, beyond the limit.
        let per_pod_limit: Option<f64> = w.containers.iter().map(|c| c.cpu_limit).sum();
        if let Some(limit) = per_pod_limit.filter(|l| *l > 0.0 && series.cpu_request_per_pod > 0.0) {
            let delay = estimate_ready_delay(series).unwrap_or(DEFAULT_READY_DELAY_MS) + REACTION_MS;
            let k = ((delay as f64 / series.step_ms as f64).ceil() as usize).max(1);
            let top = series.cpu.iter().flatten().fold(0.0_f32, |m, &c| m.max(c));
            let mut growth = 1.0_f64;
            for i in 0..series.len().saturating_sub(k) {
                if let (Some(a), Some(b)) = (series.cpu[i], series.cpu[i + k])
                    && a > 0.1 * top
                {
                    growth = growth.max(f64::from(b) / f64::from(a));
                }
            }
            let limit_percent = 100.0 * limit / series.cpu_request_per_pod;
            let reached = target * growth;
            if reached > limit_percent {
                // The highest target (in steps of 5) from which the same surge stays within the limit.
                let safe = ((limit_percent / growth / 5.0).floor() * 5.0) as i32;
                let finding = RuleFinding::new(
                    RuleId::PD303,
                    format!(
                        "demand rose {growth:.1}× within {} s in the last {span}; from the {target:.0} % target, pods reach {reached:.0} % of their request before new pods serve, beyond their limit at {limit_percent:.0} %",
                        delay / 1000
                    ),
                );
                out.push(if (10..target as i32).contains(&safe) {
                    finding.proposing(Proposal { cpu_target: Some(safe), ..Proposal::default() })
                } else {
                    finding
                });
            }
        }
    }

    // PD206: CPU requested far above use, where no HPA scales on CPU (there the request sets
    // the scaling point; the HPA rules speak instead).
    if cpu_target.is_none() && series.cpu_request_per_pod > 0.0 {
        let mut per_pod: Vec<f64> = (0..series.len())
            .filter_map(|i| {
                let (cpu, ready) = (series.cpu[i]?, series.ready[i]?);
                (ready > 0).then(|| f64::from(cpu) / f64::from(ready))
            })
            .collect();
        if let Some(p95) = percentile(&mut per_pod, 0.95)
            && p95 < OVERREQUESTED * series.cpu_request_per_pod
        {
            out.push(RuleFinding::new(
                RuleId::PD206,
                format!(
                    "pods request {:.2} cores and use {p95:.2} at the 95th percentile of the last {span} ({:.0} %)",
                    series.cpu_request_per_pod,
                    100.0 * p95 / series.cpu_request_per_pod
                ),
            ));
        }
    }
    backtest_proposals(w, series, &mut out);
    w.waivers.apply(&mut out);
    out
}

/// Each proposed HPA change replayed against the current HPA over the same recording.
fn backtest_proposals(w: &Workload, series: &Series, findings: &mut [RuleFinding]) {
    let Some(current) = w.autoscaler.as_ref().map(HpaConfig::of) else { return };
    for f in findings {
        if let Some(p) = &f.proposal {
            let b = whatif::backtest(
                series,
                series.span_ms(),
                &current,
                &p.applied_to(&current),
                &Options::default(),
            );
            f.backtest = Some(whatif::summary(&b));
        }
    }
}
