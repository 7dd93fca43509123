//! The platform's totals over time: every workload's 5-minute rollups summed per bucket.
//! The Overview asks every few seconds per open tab; the buckets change only when a rollup
//! pass runs (once a minute), so the sums are read once per pass and namespace.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use crate::store::decode;
use app::dto::PlatformPoint;

use super::{FIVE_MINUTES, History};

/// Namespaces whose sums are kept at once (the key comes from a request: bounded).
const CACHED_SCOPES: usize = 64;

/// The sums per namespace as read after the last rollup pass.
#[derive(Default)]
pub(super) struct PlatformCache {
    /// Bumped by every rollup pass: older entries are stale.
    pass: AtomicU64,
    entries: Mutex<HashMap<Option<String>, Sums>>,
}

/// The sums of one scope and the rollup pass they were read after.
type Sums = (u64, Vec<PlatformPoint>);

impl PlatformCache {
    pub(super) fn rolled_up(&self) {
        self.pass.fetch_add(1, Ordering::Relaxed);
    }
}

impl History {
    /// [`History::platform`] over the last `range_ms` before `now_ms`, read from the
    /// database once per rollup pass and namespace.
    pub async fn platform_recent(
        &self,
        namespace: Option<&str>,
        range_ms: i64,
        now_ms: i64,
    ) -> sqlx::Result<Vec<PlatformPoint>> {
        let from_ms = now_ms - range_ms;
        let key = namespace.map(str::to_string);
        let pass = self.platform.pass.load(Ordering::Relaxed);
        let cached = {
            let entries = self.platform.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.get(&key).filter(|(at, _)| *at == pass).map(|(_, points)| points.clone())
        };
        let points = match cached {
            Some(points) => points,
            None => {
                // A day's worth of buckets is kept; the window is cut below at each answer.
                let points = self.platform(namespace, from_ms, i64::MAX).await?;
                let mut entries = self.platform.entries.lock().unwrap_or_else(|e| e.into_inner());
                if entries.len() >= CACHED_SCOPES && !entries.contains_key(&key) {
                    entries.clear();
                }
                entries.insert(key, (pass, points.clone()));
                points
            }
        };
        Ok(points.into_iter().filter(|p| p.at_ms >= from_ms && p.at_ms < now_ms).collect())
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
