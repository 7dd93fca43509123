//! The platform's totals over time: every workload's 5-minute rollups summed per bucket.

use app::dto::PlatformPoint;
use sqlx::Row;

use super::{FIVE_MINUTES, History};

impl History {
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
             WHERE r.resolution_ms = ? AND r.bucket_ms >= ? AND r.bucket_ms < ? AND (? IS NULL OR w.namespace = ?) \
             GROUP BY r.bucket_ms ORDER BY r.bucket_ms",
        )
        .bind(FIVE_MINUTES)
        .bind(from_ms)
        .bind(to_ms)
        .bind(namespace)
        .bind(namespace)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| PlatformPoint {
                at_ms: r.get(0),
                request_rate: r.get::<Option<f64>, _>(1).unwrap_or(0.0),
                replicas_desired: r.get::<Option<f64>, _>(2).unwrap_or(0.0),
                replicas_ready: r.get::<Option<f64>, _>(3).unwrap_or(0.0),
                cpu_requests: r.get::<Option<f64>, _>(4).unwrap_or(0.0),
                cpu_usage: r.get(5),
                memory_requests: r.get::<Option<f64>, _>(6).unwrap_or(0.0),
                memory_usage: r.get(7),
            })
            .collect())
    }
}
