//! A range of history as asked for: checked, at most [`MAX_POINTS`] buckets, from the finest
//! data kept for it (`source`), with empty buckets marked as gaps (`gaps`).

use app::dto::HistoryPoint;

use super::{FIVE_MINUTES, ONE_HOUR, Retention};

/// The most points one query returns.
pub const MAX_POINTS: i64 = 2000;

/// A validated history request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub from_ms: i64,
    pub to_ms: i64,
    pub points: i64,
}

/// The latest time a range may name: the last millisecond of the year 9999, as RFC 3339 can
/// write it. Bounding times keeps every bucket's arithmetic far from overflow.
pub const LAST_MS: i64 = 253_402_300_799_999;

/// What is wrong with a requested range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("{name} must be Unix milliseconds from 0 to {LAST_MS}, got {value}")]
    OutOfTime { name: &'static str, value: i64 },
    #[error("from ({from_ms}) must be before to ({to_ms})")]
    Backwards { from_ms: i64, to_ms: i64 },
    #[error("points must be between 1 and {MAX_POINTS}, got {0}")]
    Points(i64),
}

impl Range {
    /// Checks a request; `now_ms` fills in defaults (the last hour, 300 points).
    pub fn new(
        from_ms: Option<i64>,
        to_ms: Option<i64>,
        points: Option<i64>,
        now_ms: i64,
    ) -> Result<Range, RangeError> {
        let in_time = |name, value: i64| match value {
            0..=LAST_MS => Ok(value),
            _ => Err(RangeError::OutOfTime { name, value }),
        };
        let to_ms = in_time("to", to_ms.unwrap_or(now_ms))?;
        let from_ms = in_time("from", from_ms.unwrap_or(to_ms.saturating_sub(ONE_HOUR).max(0)))?;
        let points = points.unwrap_or(300);
        if from_ms >= to_ms {
            return Err(RangeError::Backwards { from_ms, to_ms });
        }
        if !(1..=MAX_POINTS).contains(&points) {
            return Err(RangeError::Points(points));
        }
        Ok(Range { from_ms, to_ms, points })
    }

    /// The bucket width: the range over the points, never finer than `sample_interval_ms`.
    pub fn step(&self, sample_interval_ms: i64) -> i64 {
        ((self.to_ms - self.from_ms) as f64 / self.points as f64).ceil().max(sample_interval_ms as f64) as i64
    }
}

/// Which table serves a query: raw samples while they are kept and the step is fine enough,
/// else the 5-minute rollups while kept, else the hourly ones. Its name, and the rollups'
/// resolution (0 for raw samples).
pub(crate) fn source(retention: &Retention, range: &Range, step: i64, now_ms: i64) -> (&'static str, i64) {
    let kept_since = |d: std::time::Duration| now_ms - d.as_millis() as i64;
    if step < FIVE_MINUTES && range.from_ms >= kept_since(retention.raw) {
        ("raw", 0)
    } else if step < ONE_HOUR && range.from_ms >= kept_since(retention.five_minutes) {
        ("5m", FIVE_MINUTES)
    } else {
        ("1h", ONE_HOUR)
    }
}

/// Runs of buckets without any data, as `[from, to)` spans.
pub(crate) fn gaps(points: &[HistoryPoint], step: i64, to_ms: i64) -> Vec<[i64; 2]> {
    let mut out: Vec<[i64; 2]> = Vec::new();
    for p in points.iter().filter(|p| p.replicas_desired.is_none()) {
        let end = (p.at_ms + step).min(to_ms);
        match out.last_mut() {
            Some(last) if last[1] == p.at_ms => last[1] = end,
            _ => out.push([p.at_ms, end]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::dto::Stat;

    #[test]
    fn ranges_are_checked_and_defaulted() {
        let r = Range::new(None, None, None, 10 * ONE_HOUR).unwrap();
        assert_eq!((r.from_ms, r.to_ms, r.points), (9 * ONE_HOUR, 10 * ONE_HOUR, 300));
        assert!(Range::new(Some(5), Some(5), None, 0).unwrap_err().to_string().contains("before"));
        assert!(Range::new(Some(0), Some(10), Some(0), 0).unwrap_err().to_string().contains("points"));
        assert!(Range::new(Some(0), Some(10), Some(MAX_POINTS + 1), 0).is_err());
    }

    /// Found by the property tests: `from=-9223372036854775808` overflowed the step.
    #[test]
    fn times_outside_the_calendar_are_refused() {
        let e = Range::new(Some(i64::MIN), Some(1), None, 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("from must be Unix milliseconds from 0 to {LAST_MS}, got {}", i64::MIN)
        );
        assert!(Range::new(None, Some(i64::MAX), None, 0).unwrap_err().to_string().starts_with("to must be"));
        let first_hour = Range::new(None, Some(1000), None, 0).unwrap();
        assert_eq!(first_hour.from_ms, 0, "the default start stops at the epoch");
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(5000))]

            /// Whatever `?from=&to=&points=` say, a range is refused with a reason or is sound:
            /// ordered, in time, its buckets cover it and are never finer than the samples.
            #[test]
            fn any_query_is_refused_or_sound(
                from in prop_oneof![any::<i64>(), 0..LAST_MS].prop_map(Some).boxed().prop_union(Just(None).boxed()),
                to in prop_oneof![any::<i64>(), 0..LAST_MS].prop_map(Some).boxed().prop_union(Just(None).boxed()),
                points in prop_oneof![any::<i64>(), -5i64..MAX_POINTS + 5].prop_map(Some).boxed().prop_union(Just(None).boxed()),
                now in 0..LAST_MS,
                interval in 1i64..3_600_000,
            ) {
                match Range::new(from, to, points, now) {
                    Ok(r) => {
                        prop_assert!(0 <= r.from_ms && r.from_ms < r.to_ms && r.to_ms <= LAST_MS);
                        prop_assert!((1..=MAX_POINTS).contains(&r.points));
                        let step = r.step(interval);
                        prop_assert!(step >= interval);
                        prop_assert!(step.checked_mul(r.points).is_some_and(|covered| covered >= r.to_ms - r.from_ms));
                    }
                    Err(e) => prop_assert!(!e.to_string().is_empty()),
                }
            }
        }
    }

    #[test]
    fn the_step_never_goes_below_the_sample_interval() {
        let r = Range::new(Some(0), Some(60_000), Some(300), 0).unwrap();
        assert_eq!(r.step(15_000), 15_000);
        let month = Range::new(Some(0), Some(30 * 86_400_000), Some(300), 0).unwrap();
        assert_eq!(month.step(15_000), 8_640_000);
    }

    #[test]
    fn adjacent_empty_buckets_merge_into_one_gap() {
        let filled = HistoryPoint { replicas_desired: Some(Stat::default()), ..Default::default() };
        let points = vec![
            HistoryPoint { at_ms: 0, ..filled.clone() },
            HistoryPoint { at_ms: 10, ..Default::default() },
            HistoryPoint { at_ms: 20, ..Default::default() },
            HistoryPoint { at_ms: 30, ..filled },
            HistoryPoint { at_ms: 40, ..Default::default() },
        ];
        assert_eq!(gaps(&points, 10, 45), vec![[10, 30], [40, 45]]);
    }
}
