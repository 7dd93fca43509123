//! A plan replayed over recorded weeks (a week with nothing recorded is left out): each
//! window of the schedule that fell in the recording is replayed through the HPA as it is and with the window's level, and the
//! differences are counted per week and in total — overloaded minutes and minutes above
//! target avoided, replica-hours and core-hours spent.

use super::{
    propose::over_windows,
    schedule::Checked,
    steps::{Bounds, raised},
};
use crate::{
    plan::{Backtest, PlanFigures, PlanWeek, WindowFigures},
    whatif::{Figures, HpaConfig, Options, Series, replay},
};

const WEEK_MS: i64 = 7 * 86_400_000;

/// The schedule over `series`, week by week from its first step, made at `at_ms`.
pub fn weeks(
    series: &Series,
    schedule: &Checked,
    config: &HpaConfig,
    options: &Options,
    at_ms: i64,
) -> Backtest {
    let end_ms = series.at(series.len());
    let now = Bounds { min_replicas: config.min_replicas, max_replicas: config.max_replicas };
    let mut out = Backtest { at_ms, weeks: vec![], total: PlanFigures::default() };
    let mut from_ms = series.from_ms;
    while from_ms < end_ms {
        let to_ms = (from_ms + WEEK_MS).min(end_ms);
        if series.slice(from_ms, to_ms).recorded_steps() == 0 {
            from_ms = to_ms;
            continue;
        }
        // Only the windows something was recorded in: a window before the recording began
        // would count as one the plan changed nothing in.
        let windows: Vec<_> = schedule
            .occurrences(from_ms, to_ms)
            .into_iter()
            .filter(|w| series.slice(w.start_ms.max(from_ms), w.end_ms.min(to_ms)).recorded_steps() > 0)
            .collect();
        let mut figures = PlanFigures::default();
        let mut occurrences = Vec::with_capacity(windows.len());
        for w in &windows {
            let span = [(w.start_ms.max(from_ms), w.end_ms.min(to_ms))];
            let without = over_windows(series, config, &span, options);
            let level = raised(now, w.level);
            let planned = HpaConfig {
                min_replicas: level.min_replicas,
                max_replicas: level.max_replicas,
                ..config.clone()
            };
            let with = replay(&series.slice(span[0].0, span[0].1), &planned, options).figures;
            add(&mut figures, &without, &with);
            let mut own = PlanFigures::default();
            add(&mut own, &without, &with);
            occurrences.push(WindowFigures { start_ms: span[0].0, end_ms: span[0].1, figures: own });
        }
        let t = &mut out.total;
        t.overloaded_minutes_without += figures.overloaded_minutes_without;
        t.overloaded_minutes_with += figures.overloaded_minutes_with;
        t.above_target_minutes_without += figures.above_target_minutes_without;
        t.above_target_minutes_with += figures.above_target_minutes_with;
        t.extra_replica_hours += figures.extra_replica_hours;
        t.extra_core_hours += figures.extra_core_hours;
        out.weeks.push(PlanWeek { from_ms, to_ms, windows: windows.len(), figures, occurrences });
        from_ms = to_ms;
    }
    out
}

fn add(into: &mut PlanFigures, without: &Figures, with: &Figures) {
    into.overloaded_minutes_without += without.overloaded_minutes;
    into.overloaded_minutes_with += with.overloaded_minutes;
    into.above_target_minutes_without += without.above_target_minutes;
    into.above_target_minutes_with += with.above_target_minutes;
    into.extra_replica_hours += with.replica_hours - without.replica_hours;
    into.extra_core_hours += with.core_hours - without.core_hours;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        hpa::Behavior,
        plan::{Level, Repeat, Schedule, WindowRule},
    };

    /// Nine days of 15-s steps from the epoch: 2 cores of demand, 12 from 18:00 to 19:00 UTC.
    fn evenings(days: usize) -> Series {
        let steps = days * 5_760;
        let cpu = (0..steps)
            .map(|i| {
                let minute = (i as i64 * 15_000 / 60_000) % 1440;
                Some(if (18 * 60..19 * 60).contains(&minute) { 12.0 } else { 2.0 })
            })
            .collect();
        Series {
            from_ms: 0,
            step_ms: 15_000,
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

    #[test]
    fn a_plan_is_counted_week_by_week_over_the_recording() {
        let schedule = Schedule {
            time_zone: "UTC".into(),
            windows: vec![WindowRule {
                repeat: Repeat::Day,
                start: "17:55".into(),
                end: "19:00".into(),
                level: Level { min_replicas: Some(12), max_replicas: None },
            }],
            exclusions: vec![],
        }
        .check()
        .unwrap();
        let hpa = HpaConfig {
            min_replicas: 3,
            max_replicas: 30,
            cpu_target: Some(70),
            memory_target: None,
            behavior: Behavior::default(),
        };
        let options = Options { ready_delay_ms: Some(120_000), ..Default::default() };
        let b = weeks(&evenings(9), &schedule, &hpa, &options, 42);
        // Nine days: a week and two days, each evening's window in its week.
        assert_eq!(b.weeks.iter().map(|w| w.windows).collect::<Vec<_>>(), vec![7, 2]);
        assert!(b.total.overloaded_minutes_without > 0.0, "{:?}", b.total);
        assert_eq!(b.total.overloaded_minutes_with, 0.0, "{:?}", b.total);
        assert!(b.total.extra_replica_hours > 0.0 && b.total.extra_core_hours > 0.0, "{:?}", b.total);
        // Each window on its own, adding up to its week.
        assert_eq!(b.weeks[0].occurrences.len(), 7);
        let summed: f64 = b.weeks[0].occurrences.iter().map(|o| o.figures.overloaded_minutes_without).sum();
        assert!((summed - b.weeks[0].figures.overloaded_minutes_without).abs() < 1e-9);
        let week = b.weeks[0].figures.overloaded_minutes_without;
        assert!(
            (b.total.overloaded_minutes_without - week - b.weeks[1].figures.overloaded_minutes_without).abs()
                < 1e-9
        );
        // A week with nothing recorded is not counted.
        let mut gap = evenings(9);
        gap.cpu[..7 * 5_760].iter_mut().for_each(|c| *c = None);
        let b = weeks(&gap, &schedule, &hpa, &options, 42);
        assert_eq!(b.weeks.iter().map(|w| w.windows).collect::<Vec<_>>(), vec![2]);
        // Nor is a window of a recorded week that fell before the recording began.
        let mut late = evenings(9);
        late.cpu[..3 * 5_760].iter_mut().for_each(|c| *c = None);
        let b = weeks(&late, &schedule, &hpa, &options, 42);
        assert_eq!(b.weeks.iter().map(|w| w.windows).collect::<Vec<_>>(), vec![4, 2]);
    }
}
