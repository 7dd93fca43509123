//! The store: what the rest of the server asks of the database, as interfaces with typed
//! errors. The sampler, the pages, the what-if, the advisor and the edits hold an
//! `Arc<dyn HistoryStore>`, the audit log an `Arc<dyn AuditStore>` ([`audit`]), and never a
//! pool or a line of SQL. The SQLite file ([`sqlite`]) and a PostgreSQL server
//! ([`postgres`]) implement both; [`Location`] says which one `--db` names.
//!
//! Each handle is one cluster's history: every workload row it reads or writes is keyed by
//! its [`HistoryStore::cluster`] as well as namespace and name.

pub mod audit;
mod decode;
mod encode;
pub mod fence;
mod location;
pub mod migrate;
pub mod outbox;
pub mod plans;
mod platform_cache;
pub mod postgres;
pub mod sqlite;

pub use audit::AuditStore;
pub use fence::{Fence, Term};
pub use location::{AUDIT_WAIT, Location, Store, open, open_audit_for_reading};
pub use outbox::OutboxStore;
pub use plans::PlanStore;

use std::{future::Future, pin::Pin};

use app::dto::{History as HistoryDto, PlatformPoint};
use domain::whatif::Series;

use crate::history::{PastEvent, Retention, Steps, range::Range};

/// What a store answers with.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Why the store did not do what it was asked. Each says what a caller can do about it: a
/// full or busy store takes the write later; an unreachable one may come back.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No room: the disk, or the size the database may grow to (`--db-max-size`).
    #[error("the history store is full: {0}")]
    Full(String),
    /// It did not answer in time: locked by another writer, or every connection in use.
    #[error("the history store is busy: {0}")]
    Busy(String),
    /// It cannot be reached or opened.
    #[error("the history store cannot be reached: {0}")]
    Unavailable(String),
    /// Anything else it reported.
    #[error("the history store failed: {0}")]
    Failed(String),
    /// A write only the leader makes, from a replica that does not lead (any more): its term
    /// is not the newest the store has issued ([`fence`]). Dropped, never retried.
    #[error("refused: {0}")]
    Fenced(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        let text = e.to_string();
        let kind = match &e {
            sqlx::Error::Database(db) => {
                if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                    sqlite_kind(db.code().as_deref())
                } else if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                    postgres_kind(pg.code())
                } else {
                    StoreError::Failed
                }
            }
            sqlx::Error::PoolTimedOut => StoreError::Busy,
            sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => StoreError::Unavailable,
            _ => StoreError::Failed,
        };
        kind(text)
    }
}

/// SQLite's primary result codes (an extended code keeps its primary one in the low byte):
/// FULL; BUSY and LOCKED.
fn sqlite_kind(code: Option<&str>) -> fn(String) -> StoreError {
    match code.and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff) {
        Some(13) => StoreError::Full,
        Some(5 | 6) => StoreError::Busy,
        _ => StoreError::Failed,
    }
}

/// PostgreSQL's SQLSTATE: disk full and out of memory; a statement cancelled (its timeout),
/// a lock not granted, a deadlock or a serialization failure; a connection lost, the server
/// shutting down or not accepting connections yet.
fn postgres_kind(sqlstate: &str) -> fn(String) -> StoreError {
    match sqlstate {
        "53100" | "53200" => StoreError::Full,
        "57014" | "55P03" | "40P01" | "40001" | "53300" => StoreError::Busy,
        "57P01" | "57P02" | "57P03" => StoreError::Unavailable,
        class if class.starts_with("08") => StoreError::Unavailable,
        _ => StoreError::Failed,
    }
}

/// Runs a store call, its error typed.
pub(crate) fn typed<'a, T: Send + 'a>(
    call: impl Future<Output = sqlx::Result<T>> + Send + 'a,
) -> StoreFuture<'a, T> {
    Box::pin(async move { call.await.map_err(StoreError::from) })
}

/// One cluster's recorded history: samples, rollups, demand, events, retention.
pub trait HistoryStore: Send + Sync + 'static {
    /// The cluster whose history this is.
    fn cluster(&self) -> &str;

    /// How long each kind of data is kept (queries choose their source by it).
    fn retention(&self) -> Retention;

    /// Another cluster's history in the same database, on the same connections.
    fn for_cluster(&self, cluster: &str) -> std::sync::Arc<dyn HistoryStore>;

    /// From now on, what only the leader writes (samples, readings, rollups, forgetting)
    /// carries `fence`'s term and is refused without a current one. Set before the first write;
    /// a later call is ignored.
    fn set_fence(&self, fence: Fence);

    /// Issues the next leadership term of `lease` to `holder`, at `now_ms`: from its commit on,
    /// a write under an older term is refused.
    fn claim_term<'a>(&'a self, lease: &'a str, holder: &'a str, now_ms: i64) -> StoreFuture<'a, i64>;

    /// Writes steps of samples, metrics readings and scale decisions, with `events`, all or
    /// nothing.
    fn write_steps<'a>(&'a self, steps: &'a Steps, events: &'a [PastEvent]) -> StoreFuture<'a, ()>;

    /// Records an event (a scale, a rollout, an edit) of a workload.
    fn write_event<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        at_ms: i64,
        kind: &'a str,
        message: &'a str,
    ) -> StoreFuture<'a, ()>;

    /// Makes the rollups of every complete bucket up to `now_ms` and applies retention. Under a
    /// fence the term is checked before it starts, not in each of its transactions: rollups are
    /// made again from the samples and retention removes only what is old, so a stale run
    /// writes what the leader's would.
    fn maintain(&self, now_ms: i64) -> StoreFuture<'_, ()>;

    /// Forgets what is stamped after `now_ms` (the clock stepped back); the samples forgotten.
    fn forget_after(&self, now_ms: i64) -> StoreFuture<'_, u64>;

    /// Marks the history up to `until_ms` as generated by the simulator.
    fn mark_simulated_until(&self, until_ms: i64) -> StoreFuture<'_, ()>;

    /// Until when the history was generated by the simulator, if it was.
    fn simulated_until(&self) -> StoreFuture<'_, Option<i64>>;

    /// Whether anything was ever sampled.
    fn has_samples(&self) -> StoreFuture<'_, bool>;

    /// The bytes the store holds.
    fn size_bytes(&self) -> StoreFuture<'_, i64>;

    /// A workload's history over `range`, or `None` when it was never recorded.
    fn history<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        range: Range,
        sample_interval_ms: i64,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<HistoryDto>>;

    /// A workload's recorded demand over `[from_s, to_s)`, as the what-if replays it, or
    /// `None` when it was never recorded.
    fn demand<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        span_ms: (i64, i64),
        requests: (f64, f64),
        phase_hint_ms: Option<i64>,
    ) -> StoreFuture<'a, Option<Series>>;

    /// The platform's sums per 5-minute bucket over the last `range_ms` before `now_ms`.
    fn platform_recent<'a>(
        &'a self,
        namespace: Option<&'a str>,
        range_ms: i64,
        now_ms: i64,
    ) -> StoreFuture<'a, Vec<PlatformPoint>>;

    /// Closes the store after its last write.
    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}
