//! The platform's totals over time (every workload's 5-minute rollups summed per bucket),
//! kept in memory for both stores. The Overview asks every few seconds per open tab; the
//! buckets change only when a rollup pass runs (once a minute), so the sums are read once per
//! pass and namespace. When the database does not answer, the sums last read are answered
//! (the chart ends where they do).

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use std::future::Future;

use app::dto::PlatformPoint;

/// Namespaces whose sums are kept at once (the key comes from a request: bounded).
const CACHED_SCOPES: usize = 64;

/// The sums per namespace as read after the last rollup pass.
#[derive(Default)]
pub(crate) struct PlatformCache {
    /// Bumped by every rollup pass: older entries are stale. Shared by a fleet's clusters'
    /// caches: one pass rolls up every cluster's rows.
    pass: std::sync::Arc<AtomicU64>,
    entries: Mutex<HashMap<Option<String>, Sums>>,
}

/// The sums of one scope and the rollup pass they were read after.
type Sums = (u64, Vec<PlatformPoint>);

impl PlatformCache {
    /// Another cluster's cache on the same database: its own sums, the same passes.
    pub(crate) fn sharing_passes(&self) -> PlatformCache {
        PlatformCache { pass: self.pass.clone(), entries: Mutex::default() }
    }

    /// A rollup pass ran: the sums read before are stale.
    pub(crate) fn rolled_up(&self) {
        self.pass.fetch_add(1, Ordering::Relaxed);
    }

    /// The sums of `namespace` (all, when `None`) over the last `range_ms` before `now_ms`:
    /// from memory when read since the last pass, else by `read(from_ms)` (every bucket from
    /// `from_ms` on). When `read` fails, the sums last read, if any.
    pub(crate) async fn recent<E: std::fmt::Display, F: Future<Output = Result<Vec<PlatformPoint>, E>>>(
        &self,
        namespace: Option<&str>,
        range_ms: i64,
        now_ms: i64,
        read: impl FnOnce(i64) -> F,
    ) -> Result<Vec<PlatformPoint>, E> {
        let from_ms = now_ms - range_ms;
        let key = namespace.map(str::to_string);
        let pass = self.pass.load(Ordering::Relaxed);
        let (fresh, last) = {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            match entries.get(&key) {
                Some((at, points)) => (*at == pass, Some(points.clone())),
                None => (false, None),
            }
        };
        let points = match (fresh, last) {
            (true, Some(points)) => points,
            (_, last) => match read(from_ms).await {
                Ok(points) => {
                    let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
                    if entries.len() >= CACHED_SCOPES && !entries.contains_key(&key) {
                        entries.clear();
                    }
                    entries.insert(key, (pass, points.clone()));
                    points
                }
                Err(e) => match last {
                    Some(points) => {
                        tracing::warn!("history: the platform's sums are answered from memory ({e})");
                        points
                    }
                    None => return Err(e),
                },
            },
        };
        Ok(points.into_iter().filter(|p| p.at_ms >= from_ms && p.at_ms < now_ms).collect())
    }
}
