//! The platform's sums read from the SQLite file (kept in memory by `store::platform_cache`).

use app::dto::PlatformPoint;

use super::{FIVE_MINUTES, History};
use crate::store::decode;

impl History {
    /// [`History::platform`] over the last `range_ms` before `now_ms`, read from the
    /// database once per rollup pass and namespace ([`crate::store::platform_cache`]).
    pub async fn platform_recent(
        &self,
        namespace: Option<&str>,
        range_ms: i64,
        now_ms: i64,
    ) -> sqlx::Result<Vec<PlatformPoint>> {
        // A day's worth of buckets is kept; the window is cut at each answer.
        self.platform
            .recent(namespace, range_ms, now_ms, |from_ms| self.platform(namespace, from_ms, i64::MAX))
            .await
    }

    /// Per 5-minute bucket in `[from_ms, to_ms)`: the sums over the workloads (of one
    /// namespace, when given) of their averages, oldest first. Buckets are complete ones
    /// only (rolled up every minute); a bucket nothing was recorded in is absent.
    pub async fn platform(
        &self,
        namespace: Option<&str>,
        from_ms: i64,
        to_ms: i64,
    ) -> sqlx::Result<Vec<PlatformPoint>> {
        let rows = sqlx::query(
            "SELECT r.bucket_ms, SUM(r.request_rate_avg), SUM(r.replicas_desired_avg), SUM(r.replicas_ready_avg), \
             SUM(r.cpu_requests), SUM(r.cpu_usage_avg), SUM(r.memory_requests), SUM(r.memory_usage_avg) \
             FROM rollups r JOIN workloads w ON w.id = r.workload_id \
             WHERE w.cluster = ? AND r.resolution_ms = ? AND r.bucket_ms >= ? AND r.bucket_ms < ? \
             AND (? IS NULL OR w.namespace = ?) \
             GROUP BY r.bucket_ms ORDER BY r.bucket_ms",
        )
        .bind(self.cluster())
        .bind(FIVE_MINUTES)
        .bind(from_ms)
        .bind(to_ms)
        .bind(namespace)
        .bind(namespace)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(decode::platform_point).collect())
    }
}
