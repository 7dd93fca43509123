//! A proposed level from the what-if: the smallest minimum that removes the recorded overload
//! from a plan's windows. Each window's recorded demand is replayed through the HPA with its
//! minimum raised from the window's start; pods counted at the start serve at once, so the
//! window must open one start-up delay before the load (the lead the HPA lacked).

use crate::whatif::{Figures, HpaConfig, Options, Series, replay};

/// What a minimum does over the windows, against the HPA as it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    pub min_replicas: i32,
    /// The maximum the minimum needs (the HPA's, or the minimum when that is higher).
    pub max_replicas: i32,
    /// Over the windows: the HPA as it is, and with the plan.
    pub without: Figures,
    pub with: Figures,
}

/// The figures of `config` over every window of `series` (each replayed on its own).
pub fn over_windows(
    series: &Series,
    config: &HpaConfig,
    windows: &[(i64, i64)],
    options: &Options,
) -> Figures {
    let mut total = Figures::default();
    for &(from_ms, to_ms) in windows {
        let f = replay(&series.slice(from_ms, to_ms), config, options).figures;
        total.overloaded_minutes += f.overloaded_minutes;
        total.above_target_minutes += f.above_target_minutes;
        total.replica_hours += f.replica_hours;
        total.core_hours += f.core_hours;
        total.scale_events += f.scale_events;
        total.minutes_at_min += f.minutes_at_min;
        total.minutes_at_max += f.minutes_at_max;
        total.peak_replicas = total.peak_replicas.max(f.peak_replicas);
    }
    total
}

/// The smallest minimum, up to `ceiling`, with which the windows are never overloaded; `None`
/// when they are not overloaded as it is, or when no minimum up to `ceiling` removes it (then
/// requests or the maximum are the limit, not the minimum).
pub fn smallest_minimum(
    series: &Series,
    config: &HpaConfig,
    windows: &[(i64, i64)],
    options: &Options,
    ceiling: i32,
) -> Option<Proposal> {
    let without = over_windows(series, config, windows, options);
    if without.overloaded_minutes <= 0.0 {
        return None;
    }
    (config.min_replicas + 1..=ceiling).find_map(|min| {
        let raised =
            HpaConfig { min_replicas: min, max_replicas: config.max_replicas.max(min), ..config.clone() };
        let with = over_windows(series, &raised, windows, options);
        (with.overloaded_minutes <= 0.0).then(|| Proposal {
            min_replicas: min,
            max_replicas: raised.max_replicas,
            without: without.clone(),
            with,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hpa::Behavior;

    const STEP: i64 = 15_000;

    /// Two days of 15-s steps: 2 cores of demand, 12 cores from 18:00 to 19:00 each day, with
    /// the 2 pods (1 core each) the HPA kept before each peak.
    fn two_evenings() -> Series {
        let steps = 2 * 5_760;
        let cpu: Vec<Option<f32>> = (0..steps)
            .map(|i| {
                let minute = (i as i64 * STEP / 60_000) % 1440;
                Some(if (18 * 60..19 * 60).contains(&minute) { 12.0 } else { 2.0 })
            })
            .collect();
        Series {
            from_ms: 0,
            step_ms: STEP,
            resolution: "15 s samples".into(),
            cpu_request_per_pod: 1.0,
            memory_request_per_pod: 1.0,
            memory: vec![None; steps],
            rate: vec![None; steps],
            ready: vec![Some(3); steps],
            desired: vec![Some(3); steps],
            cpu,
        }
    }

    fn hpa() -> HpaConfig {
        HpaConfig {
            min_replicas: 3,
            max_replicas: 30,
            cpu_target: Some(70),
            memory_target: None,
            behavior: Behavior::default(),
        }
    }

    fn evenings() -> Vec<(i64, i64)> {
        let hour = 3_600_000;
        vec![(18 * hour, 19 * hour), (42 * hour, 43 * hour)]
    }

    #[test]
    fn the_smallest_minimum_that_removes_the_overload_at_the_peaks_start() {
        let options = Options { ready_delay_ms: Some(120_000), ..Default::default() };
        let p = smallest_minimum(&two_evenings(), &hpa(), &evenings(), &options, 30).expect("a proposal");
        assert!(p.without.overloaded_minutes > 0.0, "the HPA alone is late: {:?}", p.without);
        assert_eq!(p.with.overloaded_minutes, 0.0);
        // One less would not do.
        let less = HpaConfig { min_replicas: p.min_replicas - 1, ..hpa() };
        assert!(over_windows(&two_evenings(), &less, &evenings(), &options).overloaded_minutes > 0.0);
        assert!(p.with.replica_hours > p.without.replica_hours, "it costs replica-hours");
        // 12 cores of demand over 1-core pods: at least 12 from the start.
        assert!(p.min_replicas >= 12, "{p:?}");
    }

    #[test]
    fn no_proposal_where_nothing_is_overloaded_or_no_minimum_helps() {
        let options = Options { ready_delay_ms: Some(120_000), ..Default::default() };
        let calm: Vec<(i64, i64)> = vec![(6 * 3_600_000, 7 * 3_600_000)];
        assert_eq!(smallest_minimum(&two_evenings(), &hpa(), &calm, &options, 30), None);
        // A ceiling below what the peak needs: the minimum is not the answer.
        assert_eq!(smallest_minimum(&two_evenings(), &hpa(), &evenings(), &options, 8), None);
    }
}
