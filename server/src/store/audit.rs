//! The audit log's rows as the store keeps them, and what the log asks of a store: append
//! after the tip (serialised by the database, so two processes still make one chain), read
//! the tip, page through rows newest first, stream the chain oldest first for verification,
//! find intents without an outcome, and remove refused attempts' bodies after their
//! retention. The chain's hashing stays in [`crate::audit`]: a store appends the row it is
//! given with the hashes the seal makes from the tip it finds.

use std::path::Path;

use futures::stream::BoxStream;

pub use app::scaling::{AuditEntry as Entry, AuditQuery};

use super::{StoreError, StoreFuture};

/// A row to append: every field within its bound, the body's digest made.
#[derive(Clone, Debug)]
pub struct NewRow {
    pub at_ms: i64,
    pub user: String,
    /// JSON array.
    pub groups: String,
    pub namespace: String,
    pub name: String,
    pub target: String,
    /// JSON.
    pub before: String,
    /// JSON.
    pub after: String,
    pub reason: String,
    pub outcome: String,
    pub detail: String,
    pub intent_seq: Option<i64>,
    pub keyed: bool,
    /// How its hash is made (`audit::chain::Format::number`).
    pub format: i64,
    pub body_digest: String,
    /// The fleet's name for the cluster the change was for.
    pub cluster: String,
}

/// A stored row with everything its hash covers, as `verify-audit` and `migrate-store` read
/// it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainRow {
    pub seq: i64,
    pub at_ms: i64,
    pub user: String,
    pub groups: String,
    pub namespace: String,
    pub name: String,
    pub target: String,
    pub before: String,
    pub after: String,
    pub reason: String,
    pub outcome: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
    pub intent_seq: Option<i64>,
    pub keyed: bool,
    pub format: i64,
    pub body_digest: Option<String>,
    pub pruned: bool,
    /// Empty on rows written before the clustered format.
    pub cluster: String,
}

/// Makes a row's hashes from the tip's hash (`None`: the log is empty): the previous hash to
/// store and the row's own.
pub type Seal<'a> = &'a (dyn Fn(Option<&str>) -> (String, String) + Send + Sync);

/// The last row: its sequence number and hash.
pub type Tip = Option<(i64, String)>;

/// The audit log's rows in a database.
pub trait AuditStore: Send + Sync + 'static {
    /// The last row, read from the database (another process may have appended).
    fn tip(&self) -> StoreFuture<'_, Tip>;

    /// Appends `row` after the tip, durably, with the hashes `seal` makes from it: its
    /// sequence number and hash. Appends are serialised by the database, across processes.
    fn append<'a>(&'a self, row: &'a NewRow, seal: Seal<'a>) -> StoreFuture<'a, (i64, String)>;

    /// Intents that have no outcome row, oldest first.
    fn dangling_intents(&self) -> StoreFuture<'_, Vec<Entry>>;

    /// Replaces the bodies of refused attempts recorded before `before_ms` with `detail` (the
    /// header and body digest stay); how many rows.
    fn prune_refusals<'a>(&'a self, before_ms: i64, detail: &'a str) -> StoreFuture<'a, u64>;

    /// Rows matching `q`, newest first, at most `limit`; intents only when asked for by
    /// outcome.
    fn page<'a>(&'a self, q: &'a AuditQuery, limit: i64) -> StoreFuture<'a, Vec<Entry>>;

    /// Every row, oldest first, read as it is walked.
    fn chain(&self) -> BoxStream<'_, Result<ChainRow, StoreError>>;

    /// Copies rows as they are (hashes and all), skipping those whose sequence number is
    /// there already: `migrate-store`. How many were added.
    fn import<'a>(&'a self, rows: &'a [ChainRow]) -> StoreFuture<'a, u64>;

    /// The folder on whose disk rows are written, when the store is a local file: an intent
    /// is refused when it has no room left for its outcome.
    fn disk(&self) -> Option<&Path>;

    /// Where the log is, for messages.
    fn place(&self) -> String;
}
