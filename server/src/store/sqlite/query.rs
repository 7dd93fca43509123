//! History queries on SQLite: a range from the finest table that keeps it, grouped into at
//! most the requested number of buckets.

use app::dto::History as HistoryDto;

use super::{History, rollup_aggregates, sample_aggregates};
use crate::history::range::{Range, source};
use crate::store::decode;

impl History {
    /// A workload's history over `range`, or `None` when Paydeck has never recorded it.
    pub async fn workload_history(
        &self,
        namespace: &str,
        name: &str,
        range: Range,
        sample_interval_ms: i64,
        now_ms: i64,
    ) -> sqlx::Result<Option<HistoryDto>> {
        let history = self;
        let Some(id) = history.find_workload(namespace, name).await? else { return Ok(None) };
        let step = range.step(sample_interval_ms);
        let (source_name, resolution) = source(&history.retention, &range, step, now_ms);
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

        let events = sqlx::query(
            "SELECT at_ms, kind, message FROM events WHERE workload_id = ? AND at_ms >= ? AND at_ms < ? \
             ORDER BY at_ms LIMIT 500",
        )
        .bind(id)
        .bind(range.from_ms)
        .bind(range.to_ms)
        .fetch_all(history.pool())
        .await?;
        let simulated_until_ms = history.simulated_until().await?;
        Ok(Some(decode::history(&range, step, source_name, &rows, &events, simulated_until_ms)))
    }
}
