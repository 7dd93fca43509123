//! History queries: any range comes back as at most the requested number of points, from
//! the finest data kept for that range, with empty buckets marked as gaps.

use app::dto::{History as HistoryDto, HistoryEvent, HistoryPoint, Stat};
use sqlx::{Row, sqlite::SqliteRow};

use super::{FIVE_MINUTES, History, ONE_HOUR, rollup_aggregates, sample_aggregates};

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
/// else the 5-minute rollups while kept, else the hourly ones.
fn source(history: &History, range: &Range, step: i64, now_ms: i64) -> (&'static str, i64) {
    let kept_since = |d: std::time::Duration| now_ms - d.as_millis() as i64;
    if step < FIVE_MINUTES && range.from_ms >= kept_since(history.retention.raw) {
        ("raw", 0)
    } else if step < ONE_HOUR && range.from_ms >= kept_since(history.retention.five_minutes) {
        ("5m", FIVE_MINUTES)
    } else {
        ("1h", ONE_HOUR)
    }
}

fn stat(row: &SqliteRow, first: usize) -> Option<Stat> {
    let min: Option<f64> = row.try_get(first).ok()?;
    let avg: Option<f64> = row.try_get(first + 1).ok()?;
    let max: Option<f64> = row.try_get(first + 2).ok()?;
    Some(Stat { min: min?, avg: avg?, max: max? })
}

fn value(row: &SqliteRow, i: usize) -> Option<f64> {
    row.try_get::<Option<f64>, _>(i).ok().flatten()
}

/// A workload's history, or `None` when Paydeck has never recorded it.
pub async fn history(
    history: &History,
    namespace: &str,
    name: &str,
    range: Range,
    sample_interval_ms: i64,
    now_ms: i64,
) -> sqlx::Result<Option<HistoryDto>> {
    let Some(id) = history.find_workload(namespace, name).await? else { return Ok(None) };
    let step = range.step(sample_interval_ms);
    let (source_name, resolution) = source(history, &range, step, now_ms);
    // Both sources yield the bucket index, then the figures in the order of `rollups`.
    let sql = if resolution == 0 {
        format!(
            "SELECT (at_ms - ?2) / ?3 AS b, {} FROM samples WHERE workload_id = ?1 AND at_ms >= ?2 AND at_ms < ?4 GROUP BY b",
            sample_aggregates()
        )
    } else {
        format!(
            "SELECT (bucket_ms - ?2) / ?3 AS b, {} FROM rollups \
             WHERE workload_id = ?1 AND resolution_ms = {resolution} AND bucket_ms >= ?2 AND bucket_ms < ?4 GROUP BY b",
            rollup_aggregates()
        )
    };
    // The SQL is assembled from constants only; every value is a bound parameter.
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(range.from_ms)
        .bind(step)
        .bind(range.to_ms)
        .fetch_all(history.pool())
        .await?;

    let buckets = ((range.to_ms - range.from_ms) + step - 1) / step;
    let mut points: Vec<HistoryPoint> = (0..buckets)
        .map(|i| HistoryPoint { at_ms: range.from_ms + i * step, ..HistoryPoint::default() })
        .collect();
    for row in &rows {
        let b: i64 = row.get(0);
        let Some(p) = points.get_mut(b as usize) else { continue };
        p.replicas_desired = stat(row, 1);
        p.replicas_ready = stat(row, 4);
        p.cpu_usage = stat(row, 7);
        p.memory_usage = stat(row, 10);
        p.request_rate = stat(row, 13);
        p.cpu_requests = value(row, 16);
        p.cpu_limits = value(row, 17);
        p.memory_requests = value(row, 18);
        p.memory_limits = value(row, 19);
        p.hpa_min = value(row, 20);
        p.hpa_max = value(row, 21);
        p.hpa_cpu_target = value(row, 22);
    }
    let gaps = gaps(&points, step, range.to_ms);

    let events = sqlx::query("SELECT at_ms, kind, message FROM events WHERE workload_id = ? AND at_ms >= ? AND at_ms < ? ORDER BY at_ms LIMIT 500")
        .bind(id)
        .bind(range.from_ms)
        .bind(range.to_ms)
        .fetch_all(history.pool())
        .await?
        .iter()
        .map(|r| HistoryEvent { at_ms: r.get(0), kind: r.get(1), message: r.get(2) })
        .collect();
    let simulated_until_ms = history.simulated_until().await?.filter(|until| *until > range.from_ms);
    Ok(Some(HistoryDto {
        simulated_until_ms,
        from_ms: range.from_ms,
        to_ms: range.to_ms,
        step_ms: step,
        source: source_name.into(),
        points,
        gaps,
        events,
    }))
}

/// A history query with its request checked: `Err(Invalid)` names what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Invalid(#[from] RangeError),
    #[error(transparent)]
    Database(#[from] crate::store::StoreError),
}

/// Checks `from`/`to`/`points` (defaults: the last hour before `now`, 300 points) and runs
/// the query.
pub async fn lookup(
    store: &dyn crate::store::HistoryStore,
    namespace: &str,
    name: &str,
    (from_ms, to_ms, points): (Option<i64>, Option<i64>, Option<i64>),
    sample_interval_ms: i64,
    now: i64,
) -> Result<Option<HistoryDto>, LookupError> {
    let range = Range::new(from_ms, to_ms, points, now)?;
    store.history(namespace, name, range, sample_interval_ms, now).await.map_err(|e| {
        tracing::warn!("history query for {namespace}/{name} failed: {e}");
        LookupError::Database(e)
    })
}

/// The history store as the app's server functions see it.
pub struct HistoryService {
    pub store: std::sync::Arc<dyn crate::store::HistoryStore>,
    pub sample_interval_ms: i64,
}

impl domain::ports::HistorySource for HistoryService {
    fn recent<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        range_ms: i64,
        points: i64,
    ) -> domain::ports::HistoryFuture<'a> {
        Box::pin(async move {
            let now = crate::clock::unix_ms();
            let span = (Some(now.saturating_sub(range_ms)), Some(now), Some(points));
            lookup(self.store.as_ref(), namespace, name, span, self.sample_interval_ms, now).await.map_err(
                |e| match e {
                    LookupError::Invalid(range) => range.to_string(),
                    LookupError::Database(_) => "the history database did not answer; try again".into(),
                },
            )
        })
    }

    fn platform<'a>(
        &'a self,
        namespace: Option<&'a str>,
        range_ms: i64,
    ) -> domain::ports::BoxFuture<'a, Result<Vec<app::dto::PlatformPoint>, String>> {
        Box::pin(async move {
            self.store
                .platform_recent(namespace, range_ms, crate::clock::unix_ms())
                .await
                .map_err(|_| "the history database did not answer; try again".to_string())
        })
    }
}

/// Runs of buckets without any data, as `[from, to)` spans.
fn gaps(points: &[HistoryPoint], step: i64, to_ms: i64) -> Vec<[i64; 2]> {
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
