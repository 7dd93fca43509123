//! The SQLite file as the server's store: [`HistoryStore`] over [`History`], its errors
//! typed, and the audit log's store in the same file.

use std::{future::Future, pin::Pin, time::Duration};

use anyhow::Context;
use app::dto::{History as HistoryDto, PlatformPoint};
use domain::whatif::Series;

use super::{History, SqliteAudit};
use crate::{
    history::{PastEvent, Retention, Steps, range::Range},
    store::{Fence, HistoryStore, StoreError, StoreFuture, fence, typed},
};

impl History {
    /// The audit log in the same file: appends on a connection of their own
    /// (`synchronous=FULL`) waiting up to `deadline` for the file's lock, listings on
    /// read-only ones.
    pub async fn audit_store(&self, deadline: Duration) -> anyhow::Result<SqliteAudit> {
        let pool = self.audit_pool(deadline).await.context("cannot open the audit log")?;
        let readers = self.audit_readers().await.context("cannot open the audit log for reading")?;
        Ok(SqliteAudit::new(pool).with_readers(readers))
    }
}

impl HistoryStore for History {
    fn cluster(&self) -> &str {
        History::cluster(self)
    }

    fn retention(&self) -> Retention {
        self.retention
    }

    fn for_cluster(&self, cluster: &str) -> std::sync::Arc<dyn HistoryStore> {
        std::sync::Arc::new(History::for_cluster(self, cluster))
    }

    fn set_fence(&self, fence: Fence) {
        History::set_fence(self, fence);
    }

    fn claim_term<'a>(&'a self, lease: &'a str, holder: &'a str, now_ms: i64) -> StoreFuture<'a, i64> {
        typed(History::claim_term(self, lease, holder, now_ms))
    }

    fn write_steps<'a>(&'a self, steps: &'a Steps, events: &'a [PastEvent]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let term = self.fence().term()?;
            match self.write_steps_as(term.as_ref(), steps, events).await.map_err(StoreError::from)? {
                true => Ok(()),
                false => Err(fence::superseded(term.as_ref())),
            }
        })
    }

    fn write_event<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        at_ms: i64,
        kind: &'a str,
        message: &'a str,
    ) -> StoreFuture<'a, ()> {
        typed(History::write_event(self, namespace, name, at_ms, kind, message))
    }

    fn maintain(&self, now_ms: i64) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.fence().term()?;
            if !self.maintains() {
                return Ok(());
            }
            History::maintain(self, now_ms).await.map_err(StoreError::from)
        })
    }

    fn forget_after(&self, now_ms: i64) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let term = self.fence().term()?;
            self.forget_after_as(term.as_ref(), now_ms)
                .await
                .map_err(StoreError::from)?
                .ok_or_else(|| fence::superseded(term.as_ref()))
        })
    }

    fn mark_simulated_until(&self, until_ms: i64) -> StoreFuture<'_, ()> {
        typed(History::mark_simulated_until(self, until_ms))
    }

    fn simulated_until(&self) -> StoreFuture<'_, Option<i64>> {
        typed(History::simulated_until(self))
    }

    fn has_samples(&self) -> StoreFuture<'_, bool> {
        typed(History::has_samples(self))
    }

    fn size_bytes(&self) -> StoreFuture<'_, i64> {
        typed(History::size_bytes(self))
    }

    fn history<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        range: Range,
        sample_interval_ms: i64,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<HistoryDto>> {
        typed(History::workload_history(self, namespace, name, range, sample_interval_ms, now_ms))
    }

    fn demand<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        span_ms: (i64, i64),
        requests: (f64, f64),
        phase_hint_ms: Option<i64>,
    ) -> StoreFuture<'a, Option<Series>> {
        typed(History::demand(self, namespace, name, span_ms, requests, phase_hint_ms))
    }

    fn platform_recent<'a>(
        &'a self,
        namespace: Option<&'a str>,
        range_ms: i64,
        now_ms: i64,
    ) -> StoreFuture<'a, Vec<PlatformPoint>> {
        typed(History::platform_recent(self, namespace, range_ms, now_ms))
    }

    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(History::close(self))
    }
}
