//! A proposed level from the what-if: the smallest minimum that removes the recorded overload
//! from a plan's windows. Each window's recorded demand is replayed through the HPA with its
//! minimum raised from the window's start; pods counted at the start serve at once, so the
//! window must open one start-up delay before the load (the lead the HPA lacked).

use crate::{
    plan::{FoundPeak, Level, PlanProposal, PlanRequest, Repeat, Schedule, WindowRule},
    whatif::{DEFAULT_READY_DELAY_MS, Figures, HpaConfig, Options, Series, estimate_ready_delay, replay},
};

use super::peaks::{self, Every, Peak};

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

/// A plan from `series` read in `time_zone`: its recurring peaks, each a window that opens
/// one start-up delay (at least five minutes, in whole five minutes) before the rise, with the
/// smallest minimum that removes the recorded overload from it.
pub fn from_history(
    series: &Series,
    time_zone: &str,
    config: &HpaConfig,
    ceiling: i32,
) -> Result<PlanProposal, super::schedule::ScheduleError> {
    let tz = jiff::tz::TimeZone::get(time_zone).map_err(|_| super::schedule::ScheduleError {
        field: "timeZone".into(),
        message: format!("{time_zone:?} is not an IANA time zone (e.g. Asia/Shanghai, Europe/Berlin, UTC)"),
    })?;
    let ready_delay_ms = estimate_ready_delay(series).unwrap_or(DEFAULT_READY_DELAY_MS);
    let options = Options { ready_delay_ms: Some(ready_delay_ms), ..Options::default() };
    let lead = ((ready_delay_ms.max(300_000) + 299_999) / 300_000 * 5) as u32;
    let points: Vec<(i64, f64)> =
        (0..series.len()).filter_map(|i| Some((series.at(i), f64::from(series.cpu[i]?)))).collect();
    let mut found = Vec::new();
    let mut windows = Vec::new();
    for peak in peaks::find(&points, &tz) {
        let start_minute = peak.start_minute.saturating_sub(lead);
        let rule = WindowRule {
            repeat: repeat_of(&peak),
            start: hhmm(start_minute),
            end: hhmm(peak.end_minute % 1440),
            // The HPA's own minimum while the windows are found; the proposal's below.
            level: Level { min_replicas: Some(config.min_replicas), max_replicas: None },
        };
        let schedule =
            Schedule { time_zone: time_zone.into(), windows: vec![rule.clone()], exclusions: vec![] };
        let spans: Vec<(i64, i64)> = match schedule.check() {
            Ok(checked) => checked
                .occurrences(series.from_ms, series.at(series.len()))
                .iter()
                .map(|o| (o.start_ms, o.end_ms))
                .collect(),
            Err(_) => vec![],
        };
        let proposal = smallest_minimum(series, config, &spans, &options, ceiling);
        let without = over_windows(series, config, &spans, &options).overloaded_minutes;
        let (min_replicas, with, note) = match &proposal {
            Some(p) => (Some(p.min_replicas), p.with.overloaded_minutes, None),
            None if without <= 0.0 => {
                (None, 0.0, Some("never overloaded: the HPA keeps up as it is".to_string()))
            }
            None => (
                None,
                without,
                Some(format!(
                    "no minimum up to {ceiling} removes the overload: requests or the maximum are the limit"
                )),
            ),
        };
        if let Some(p) = &proposal {
            windows.push(WindowRule {
                level: Level {
                    min_replicas: Some(p.min_replicas),
                    max_replicas: (p.max_replicas > config.max_replicas).then_some(p.max_replicas),
                },
                ..rule
            });
        }
        found.push(FoundPeak {
            every: every_word(&peak),
            start: hhmm(peak.start_minute),
            end: hhmm(peak.end_minute % 1440),
            regularity: peak.regularity,
            height: peak.height,
            lead_minutes: i64::from(peak.start_minute - start_minute),
            min_replicas,
            overloaded_minutes_without: without,
            overloaded_minutes_with: with,
            note,
        });
    }
    // The days actually recorded, not the span asked for.
    let days_read = series.recorded_steps() as f64 * series.step_ms as f64 / 86_400_000.0;
    let request = (!windows.is_empty()).then(|| PlanRequest {
        schedule: Schedule { time_zone: time_zone.into(), windows, exclusions: vec![] },
        reason: format!("Proposed from {days_read:.1} days of recorded demand"),
        version: None,
    });
    Ok(PlanProposal { peaks: found, request, days_read, ready_delay_ms })
}

fn repeat_of(peak: &Peak) -> Repeat {
    match peak.every {
        Every::Day => Repeat::Day,
        Every::Week(_) => Repeat::Week { days: vec![every_word(peak)] },
    }
}

fn every_word(peak: &Peak) -> String {
    match peak.every {
        Every::Day => "day".into(),
        Every::Week(day) => format!("{day:?}").to_lowercase(),
    }
}

fn hhmm(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
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
    fn a_plan_is_proposed_from_the_recorded_evenings() {
        // Four evenings, read in UTC: a daily peak from 18:00, its window opening a start-up
        // delay before it, with a minimum that removes the overload.
        let mut series = two_evenings();
        let more = two_evenings();
        series.cpu.extend(more.cpu.iter().copied());
        series.ready.extend(more.ready.iter().copied());
        series.desired.extend(more.desired.iter().copied());
        series.memory.extend(more.memory.iter().copied());
        series.rate.extend(more.rate.iter().copied());
        // Each evening the HPA asked for 12 and got them two minutes later: the start-up
        // delay the proposal measures and opens its window ahead by.
        for day in 0..4 {
            let rise = day * 5_760 + 18 * 240;
            for i in rise..rise + 240 {
                series.desired[i] = Some(12);
                series.ready[i] = Some(if i < rise + 8 { 3 } else { 12 });
            }
        }
        let proposal = from_history(&series, "UTC", &hpa(), 30).unwrap();
        assert_eq!(proposal.peaks.len(), 1, "{proposal:?}");
        let peak = &proposal.peaks[0];
        assert_eq!((peak.every.as_str(), peak.start.as_str(), peak.end.as_str()), ("day", "18:00", "19:00"));
        assert!(peak.lead_minutes >= 5 && peak.overloaded_minutes_with == 0.0, "{peak:?}");
        let request = proposal.request.clone().unwrap_or_else(|| panic!("a draft: {proposal:?}"));
        let window = &request.schedule.windows[0];
        assert_eq!((window.repeat.clone(), window.end.as_str()), (Repeat::Day, "19:00"));
        assert_eq!(window.level.min_replicas, peak.min_replicas);
        assert!(request.schedule.check().is_ok());
        // A zone that is not one is named.
        assert_eq!(from_history(&series, "Mars/Olympus", &hpa(), 30).unwrap_err().field, "timeZone");
        // Flat demand: no peak, no draft.
        let flat = Series { cpu: vec![Some(2.0); series.len()], ..series };
        let none = from_history(&flat, "UTC", &hpa(), 30).unwrap();
        assert!(none.peaks.is_empty() && none.request.is_none());
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
