//! The audit log: every attempt to change scaling — applied, previewed, rejected by
//! validation, denied by RBAC, in conflict, failed — with who, when, what, before → after,
//! why, and the outcome. An apply is recorded twice: its intent before anything is sent, its
//! outcome after, so no change reaches the cluster unrecorded. Rows are hash-chained
//! ([`chain`]), optionally keyed, and the head (last sequence number and hash) is published
//! so a copy kept elsewhere catches a cut tail ([`verify`]).
//!
//! Appends go through a connection of their own with `synchronous=FULL`: a row is on disk
//! before anyone is told it was recorded. Reads go through read-only connections of their
//! own: no flood of readers can keep an append (an intent, an outcome) waiting.
//!
//! Refused attempts — invalid or denied, with nothing sent — are kept compactly (no full
//! payload), within a daily byte budget per identity, and their bodies may be removed after
//! a retention period ([`AuditLog::prune_refusals`]); the chain still verifies ([`chain`]).
//! Everything that was sent, or may have been, is kept whole and forever.

pub mod chain;
pub mod retention;
pub mod verify;

use std::{path::Path, sync::Arc, time::Duration};

use futures::Stream;
use serde::Serialize;

use crate::store::{
    self, StoreError,
    audit::{AuditStore, NewRow},
};

pub use app::scaling::{AuditEntry as Entry, AuditQuery, Outcome};
pub use chain::{AuditKey, GENESIS};
pub use verify::{verify, verify_command};

/// The outcome written for an attempt before it is sent.
pub const INTENT: &str = "intent";
/// The outcome written at start for an intent whose outcome was never recorded.
pub const UNKNOWN: &str = "unknown";

/// Longest text kept per field; longer input is cut (and says so).
const MAX_REASON_CHARS: usize = app::scaling::validate::MAX_REASON_CHARS;
const MAX_DETAIL_CHARS: usize = 2_000;
const MAX_NAME_CHARS: usize = 253;
const MAX_JSON_BYTES: usize = 8 * 1024;
/// A refused attempt keeps less: what was asked for in short, and why it was refused.
const REFUSAL_JSON_BYTES: usize = 512;
const REFUSAL_REASON_CHARS: usize = 200;
const REFUSAL_DETAIL_CHARS: usize = 500;
/// What a pruned row's removed body is replaced with.
pub const PRUNED_DETAIL: &str = "details removed after the retention period for refused attempts";
/// Most rows one listing returns.
pub const MAX_LIST: i64 = 1_000;
/// Free space an intent leaves on the database's disk, so the outcome of a change that was
/// sent finds room too. A full row is ~30 KiB of text (every field at its bound): a few
/// dozen 4 KiB pages for the intent and the outcome together, with history writing beside.
pub const DISK_RESERVE_BYTES: u64 = 256 * 1024;
/// Refused attempts one identity may add to the log per day: about a thousand compact rows.
pub const DEFAULT_REFUSAL_BUDGET: u64 = 1024 * 1024;

/// How the log is kept.
#[derive(Clone, Debug)]
pub struct AuditSettings {
    /// Makes the chain an HMAC (`--audit-key-file`).
    pub key: Option<AuditKey>,
    /// Bytes of refused attempts one identity may add per day.
    pub refusal_budget: u64,
    /// How long a refused attempt keeps its details; `None`: forever.
    pub refusal_retention: Option<Duration>,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings { key: None, refusal_budget: DEFAULT_REFUSAL_BUDGET, refusal_retention: None }
    }
}

/// An attempt to record.
#[derive(Clone, Debug)]
pub struct Attempt<'a> {
    pub at_ms: i64,
    pub user: &'a str,
    pub groups: &'a [String],
    pub namespace: &'a str,
    pub name: &'a str,
    pub target: &'a str,
    pub before: &'a serde_json::Value,
    pub after: &'a serde_json::Value,
    pub reason: &'a str,
    /// `applied`, `previewed`, …, or [`INTENT`] / [`UNKNOWN`].
    pub outcome: &'a str,
    pub detail: &'a str,
    /// For an outcome row: the intent row it completes.
    pub intent_seq: Option<i64>,
    /// The fleet's name for the cluster the change was for.
    pub cluster: &'a str,
}

/// The last row: what to keep outside to catch a truncated log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Head {
    /// 0 for an empty log.
    pub seq: i64,
    pub hash: String,
}

impl std::fmt::Display for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

/// Why an attempt could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("the audit log is full (the database reached its size limit or the disk is full)")]
    Full,
    #[error(
        "the disk under the audit log has {} KiB free, less than the {} KiB an edit keeps for recording its outcome",
        .free / 1024,
        .reserve / 1024
    )]
    LowOnSpace { free: u64, reserve: u64 },
    #[error(
        "the audit log did not answer within {0:?} (locked by another writer, or its database is unreachable)"
    )]
    Busy(Duration),
    #[error(
        "not recorded: {user} has used today's {} KiB of the audit log for refused attempts",
        .budget / 1024
    )]
    OverBudget { user: String, budget: u64 },
    #[error("the audit log cannot be written: {0}")]
    Store(StoreError),
}

impl AuditError {
    fn of(e: StoreError, deadline: Duration) -> Self {
        match e {
            StoreError::Full(_) => AuditError::Full,
            StoreError::Busy(_) => AuditError::Busy(deadline),
            other => AuditError::Store(other),
        }
    }
}

/// Cuts `text` to `max` characters, marking the cut.
fn cap(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The JSON as text, or a note of its size when it is larger than `max` bytes.
fn capped_json(value: &serde_json::Value, max: usize) -> String {
    let text = value.to_string();
    if text.len() <= max {
        text
    } else {
        serde_json::json!({ "omitted": format!("{} bytes", text.len()) }).to_string()
    }
}

/// An attempt as it is stored: owned, every field within its bound, its body's digest made.
#[derive(Clone, Debug)]
struct StoredRow(NewRow);

/// Whether an attempt was refused with nothing sent: kept compactly, within a budget, its
/// body removable after the retention period.
pub fn is_refusal(outcome: &str, intent_seq: Option<i64>) -> bool {
    intent_seq.is_none() && matches!(outcome, "invalid" | "denied")
}

impl StoredRow {
    fn capped(a: &Attempt<'_>, keyed: bool) -> Self {
        let refusal = is_refusal(a.outcome, a.intent_seq);
        let (json, reason, detail) = if refusal {
            (REFUSAL_JSON_BYTES, REFUSAL_REASON_CHARS, REFUSAL_DETAIL_CHARS)
        } else {
            (MAX_JSON_BYTES, MAX_REASON_CHARS, MAX_DETAIL_CHARS)
        };
        let mut row = NewRow {
            at_ms: a.at_ms,
            user: cap(a.user, MAX_NAME_CHARS),
            groups: serde_json::to_string(a.groups).unwrap_or_else(|_| "[]".into()),
            namespace: cap(a.namespace, MAX_NAME_CHARS),
            name: cap(a.name, MAX_NAME_CHARS),
            target: cap(a.target, MAX_NAME_CHARS * 2),
            // What the workload was is on the rows of the changes that were made.
            before: if refusal { "null".into() } else { capped_json(a.before, json) },
            after: capped_json(a.after, json),
            reason: cap(a.reason, reason),
            outcome: a.outcome.to_string(),
            detail: cap(a.detail, detail),
            intent_seq: a.intent_seq,
            keyed,
            format: chain::Format::Clustered.number(),
            body_digest: String::new(),
            cluster: cap(a.cluster, MAX_NAME_CHARS),
        };
        row.body_digest = chain::body_digest(&StoredRow::fields_of(&row));
        StoredRow(row)
    }

    fn is_refusal(&self) -> bool {
        is_refusal(&self.0.outcome, self.0.intent_seq)
    }

    /// Bytes the row's text takes (what the budget for refused attempts counts).
    fn bytes(&self) -> u64 {
        let r = &self.0;
        [&r.user, &r.groups, &r.namespace, &r.name, &r.target, &r.before, &r.after]
            .iter()
            .chain([&r.reason, &r.outcome, &r.detail].iter())
            .map(|t| t.len() as u64)
            .sum::<u64>()
            // The hashes, the digest and the numbers.
            + 3 * 64
            + 40
    }

    /// What the hash covers of a sealed row.
    fn fields_of(r: &NewRow) -> chain::Fields<'_> {
        chain::Fields {
            at_ms: r.at_ms,
            user: &r.user,
            groups: &r.groups,
            namespace: &r.namespace,
            name: &r.name,
            target: &r.target,
            before: &r.before,
            after: &r.after,
            reason: &r.reason,
            outcome: &r.outcome,
            detail: &r.detail,
            intent_seq: r.intent_seq,
            keyed: r.keyed,
            format: chain::Format::Clustered,
            removed_body: None,
            cluster: &r.cluster,
        }
    }
}

/// Bytes of refused attempts recorded per identity, per UTC day.
#[derive(Debug)]
struct RefusalBudget {
    per_day: u64,
    spent: std::sync::Mutex<std::collections::HashMap<String, (i64, u64)>>,
}

impl RefusalBudget {
    /// Takes `bytes` from `user`'s budget for the day of `at_ms`; `false` when it is spent.
    fn take(&self, user: &str, at_ms: i64, bytes: u64) -> bool {
        let day = at_ms.div_euclid(86_400_000);
        let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        if spent.len() > 10_000 {
            spent.retain(|_, (d, _)| *d == day);
        }
        let (d, used) = spent.entry(user.to_string()).or_insert((day, 0));
        if *d != day {
            (*d, *used) = (day, 0);
        }
        if *used + bytes > self.per_day {
            return false;
        }
        *used += bytes;
        true
    }
}

/// The log, in a store ([`AuditStore`]): SQLite beside the history, or PostgreSQL.
pub struct AuditLog {
    store: Arc<dyn AuditStore>,
    refusal_budget: RefusalBudget,
    key: Option<AuditKey>,
    /// How long an append waits for the database's lock, for messages.
    deadline: Duration,
    reserve: u64,
}

/// Bytes an unprivileged writer may still use on the filesystem holding `dir`.
fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())?;
    // SAFETY: statvfs fills the zeroed struct it is given from a valid, NUL-terminated path.
    let mut fs: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut fs) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((fs.f_bavail as u64).saturating_mul(fs.f_frsize as u64))
}

impl AuditLog {
    /// The log in `store`, keyed with `key` when given; an append waits `deadline` for the
    /// database's lock.
    pub fn new(store: Arc<dyn AuditStore>, key: Option<AuditKey>, deadline: Duration) -> Self {
        Self {
            store,
            key,
            deadline,
            reserve: DISK_RESERVE_BYTES,
            refusal_budget: RefusalBudget { per_day: DEFAULT_REFUSAL_BUDGET, spent: Default::default() },
        }
    }

    /// The log in `store`, kept as `settings` say.
    pub fn open(store: Arc<dyn AuditStore>, settings: &AuditSettings) -> Arc<AuditLog> {
        Arc::new(
            AuditLog::new(store, settings.key.clone(), store::AUDIT_WAIT)
                .with_refusal_budget(settings.refusal_budget),
        )
    }

    /// The store the log is kept in.
    pub fn store(&self) -> &Arc<dyn AuditStore> {
        &self.store
    }

    /// The same log, recording at most `bytes` of refused attempts per identity per day.
    pub fn with_refusal_budget(mut self, bytes: u64) -> Self {
        self.refusal_budget.per_day = bytes;
        self
    }

    /// The same log, keeping `bytes` free on the disk before an intent (tests: a reserve
    /// no disk has).
    pub fn with_reserve(mut self, bytes: u64) -> Self {
        self.reserve = bytes;
        self
    }

    /// Whether new rows are keyed.
    pub fn keyed(&self) -> bool {
        self.key.is_some()
    }

    /// The last row's sequence number and hash, as the database has it now (another
    /// process may have appended since this one did).
    pub async fn head(&self) -> Result<Head, StoreError> {
        Ok(match self.store.tip().await? {
            Some((seq, hash)) => Head { seq, hash },
            None => Head { seq: 0, hash: GENESIS.to_string() },
        })
    }

    /// Appends the intent of a change about to be sent, as [`record`](Self::record) does —
    /// but only while the database's disk keeps [`DISK_RESERVE_BYTES`] free. SQLite writes a
    /// small row into space its files already hold, so an intent can fit on a disk that is
    /// full for everything else; the change it opens must not go out when its outcome then
    /// has nowhere to go. (A database server keeps its own disk: it refuses the intent.)
    pub async fn record_intent(self: &Arc<Self>, a: &Attempt<'_>) -> Result<i64, AuditError> {
        if let Some(dir) = self.store.disk() {
            match free_bytes(dir) {
                Ok(free) if free < self.reserve => {
                    return Err(AuditError::LowOnSpace { free, reserve: self.reserve });
                }
                Ok(_) => {}
                // The append below still fails on a disk with no room at all.
                Err(e) => tracing::warn!("audit: cannot tell the free space of {}: {e}", dir.display()),
            }
        }
        self.record(a).await
    }

    /// Appends an attempt, durably; returns its sequence number. Fails when the database
    /// cannot take it (full, unreachable, or locked beyond the deadline). The append runs as
    /// a task of its own: a caller that goes away cannot leave it half done.
    pub async fn record(self: &Arc<Self>, a: &Attempt<'_>) -> Result<i64, AuditError> {
        let row = StoredRow::capped(a, self.key.is_some());
        if row.is_refusal() && !self.refusal_budget.take(&row.0.user, row.0.at_ms, row.bytes()) {
            return Err(AuditError::OverBudget {
                user: row.0.user.clone(),
                budget: self.refusal_budget.per_day,
            });
        }
        let log = self.clone();
        let deadline = self.deadline;
        // The caller waits a bounded time: a database server lost mid-append (no answer, not
        // even a reset) must not hold an edit until its request times out. The append goes on.
        let appending = tokio::spawn(async move { log.append(row).await });
        match tokio::time::timeout(deadline * 2, appending).await {
            Ok(Ok(result)) => result.map_err(|e| AuditError::of(e, deadline)),
            Ok(Err(e)) => Err(AuditError::Store(StoreError::Failed(format!("the audit task failed: {e}")))),
            Err(_) => Err(AuditError::Busy(deadline * 2)),
        }
    }

    /// Appends the outcome of a change that was sent, retrying until it lands: an intent
    /// without its outcome is what the log exists to prevent. The append runs as a task of
    /// its own, on after its caller stops waiting; `retried` counts each failed try.
    pub fn record_outcome(
        self: &Arc<Self>,
        a: &Attempt<'_>,
        retried: Arc<crate::metrics::CounterFamily<crate::metrics::ReasonLabel>>,
    ) -> tokio::task::JoinHandle<i64> {
        let row = StoredRow::capped(a, self.key.is_some());
        let log = self.clone();
        tokio::spawn(async move {
            let mut wait = Duration::from_millis(50);
            loop {
                match log.append(row.clone()).await {
                    Ok(seq) => return seq,
                    Err(e) => {
                        crate::metrics::count(&retried, "outcome_retried");
                        tracing::warn!(
                            intent = row.0.intent_seq,
                            "audit: the outcome is not recorded yet ({}); trying again in {wait:?}",
                            AuditError::of(e, log.deadline)
                        );
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(2));
                    }
                }
            }
        })
    }

    async fn append(&self, row: StoredRow) -> Result<i64, StoreError> {
        let fields = StoredRow::fields_of(&row.0);
        let key = self.key.as_ref();
        let seal = |prev: Option<&str>| {
            let prev = prev.unwrap_or(GENESIS).to_string();
            let hash = chain::row_hash(&prev, &fields, key).expect("the key is there when keyed");
            (prev, hash)
        };
        let (seq, hash) = self.store.append(&row.0, &seal).await?;
        tracing::info!(audit_seq = seq, audit_hash = %hash, outcome = row.0.outcome, "audit head");
        Ok(seq)
    }

    /// Records an `unknown` outcome for every intent that has none: Paydeck stopped between
    /// sending a change and recording what the cluster answered. Run at start by a single
    /// replica.
    pub async fn settle_dangling_intents(self: &Arc<Self>, now_ms: i64) -> Result<usize, AuditError> {
        self.settle_intents_before(i64::MAX, now_ms).await
    }

    /// Settles, as [`AuditLog::settle_dangling_intents`], only intents recorded before
    /// `before_ms`: with several replicas, a younger one may be another replica's edit still
    /// on its way.
    pub async fn settle_intents_before(
        self: &Arc<Self>,
        before_ms: i64,
        now_ms: i64,
    ) -> Result<usize, AuditError> {
        let mut intents =
            self.store.dangling_intents().await.map_err(|e| AuditError::of(e, self.deadline))?;
        intents.retain(|e| e.at_ms <= before_ms);
        for e in &intents {
            self.record(&Attempt {
                at_ms: now_ms,
                user: &e.user,
                groups: &e.groups,
                namespace: &e.namespace,
                name: &e.name,
                target: &e.target,
                before: &e.before,
                after: &e.after,
                reason: &e.reason,
                outcome: UNKNOWN,
                detail: "Paydeck stopped before it recorded the cluster's answer: check the object's current values",
                intent_seq: Some(e.seq),
                cluster: &e.cluster,
            })
            .await?;
        }
        Ok(intents.len())
    }

    /// Removes the bodies of refused attempts recorded before `before_ms` (their header and
    /// body digest stay: the chain still verifies); how many rows.
    pub async fn prune_refusals(&self, before_ms: i64) -> Result<u64, StoreError> {
        self.store.prune_refusals(before_ms, PRUNED_DETAIL).await
    }

    /// Entries matching the filters, newest first, at most [`MAX_LIST`]; intents only when
    /// asked for by outcome.
    pub async fn list(&self, q: &AuditQuery) -> Result<Vec<Entry>, StoreError> {
        let limit = q.limit.unwrap_or(500).clamp(1, MAX_LIST);
        self.store.page(q, limit).await
    }

    /// Every entry matching the filters (up to `q.limit` when given), newest first, read a
    /// page at a time: an export of millions of rows holds one page in memory.
    pub fn stream(&self, q: AuditQuery) -> impl Stream<Item = Result<Entry, StoreError>> + Send + 'static {
        const PAGE: i64 = 500;
        let store = self.store.clone();
        let total = q.limit.filter(|l| *l > 0);
        let state = (q, Vec::<Entry>::new(), 0i64, false);
        futures::stream::unfold(state, move |(mut q, mut page, mut sent, mut done)| {
            let store = store.clone();
            async move {
                if total.is_some_and(|t| sent >= t) {
                    return None;
                }
                if page.is_empty() {
                    if done {
                        return None;
                    }
                    let want = total.map_or(PAGE, |t| (t - sent).min(PAGE));
                    match store.page(&q, want).await {
                        Ok(rows) => {
                            done = (rows.len() as i64) < want;
                            page = rows.into_iter().rev().collect();
                        }
                        Err(e) => return Some((Err(e), (q, page, sent, true))),
                    }
                }
                let next = page.pop()?;
                q.before = Some(next.seq);
                sent += 1;
                Some((Ok(next), (q, page, sent, done)))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_fields_are_cut_and_say_so() {
        assert_eq!(cap("short", 10), "short");
        let cut = cap(&"é".repeat(600), 500);
        assert_eq!(cut.chars().count(), 500);
        assert!(cut.ends_with('…'));
        let big = serde_json::json!({ "x": "y".repeat(10_000) });
        assert!(capped_json(&big, MAX_JSON_BYTES).contains("omitted"));
    }
}
