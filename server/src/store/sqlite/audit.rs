//! The audit log in the SQLite file: appends on one connection of its own with
//! `synchronous=FULL` (a row is on disk before anyone is told it was recorded), serialised in
//! the process and by the file's write lock (`BEGIN IMMEDIATE`); listings on read-only
//! connections, so no flood of readers keeps an append waiting.

use std::path::{Path, PathBuf};

use futures::{StreamExt, TryStreamExt, stream::BoxStream};
use sqlx::{Row, SqlitePool};
use tokio::sync::Mutex;

use crate::store::{
    StoreError, StoreFuture,
    audit::{AuditQuery, AuditStore, ChainRow, Entry, NewRow, Seal, Tip},
    decode, typed,
};

const COLUMNS: &str = "seq, at_ms, user, groups, namespace, name, target, before, after, reason, outcome, detail, hash, intent_seq, keyed, cluster";

/// The log's rows in one SQLite file.
pub struct SqliteAudit {
    /// One connection: appends are serialised, so the chain has one tip.
    pool: SqlitePool,
    /// Read-only connections for listings and exports.
    readers: SqlitePool,
    /// Serialises appends within the process before they queue for the connection.
    appending: Mutex<()>,
    /// The folder of the file (`None` in memory).
    disk: Option<PathBuf>,
}

impl SqliteAudit {
    /// The log over `pool` (one connection with `synchronous=FULL`: see
    /// `History::audit_pool`), read through the same pool until [`Self::with_readers`].
    pub fn new(pool: SqlitePool) -> Self {
        let file = pool.connect_options().get_filename().to_path_buf();
        let disk = (!file.as_os_str().is_empty() && file.as_os_str() != ":memory:")
            .then(|| file.parent().map(Path::to_path_buf).unwrap_or_default())
            .map(|dir| if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir });
        SqliteAudit { readers: pool.clone(), pool, appending: Mutex::new(()), disk }
    }

    /// The same log, read through `readers` (read-only connections to the same file).
    pub fn with_readers(mut self, readers: SqlitePool) -> Self {
        self.readers = readers;
        self
    }

    async fn append_row(&self, row: &NewRow, seal: Seal<'_>) -> sqlx::Result<(i64, String)> {
        // IMMEDIATE takes the file's write lock first, so another writer is waited for (up to
        // the busy timeout) rather than failing the append. The transaction is driven by
        // hand: after a failed write (a full disk) it is always rolled back, so the
        // connection is clean for the next one.
        let _one = self.appending.lock().await;
        let mut conn = self.pool.acquire().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        match insert(&mut conn, row, seal).await {
            Ok(appended) => Ok(appended),
            Err(e) => {
                // SQLite may already have rolled back (it does on SQLITE_FULL); either way the
                // connection leaves without an open transaction.
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                Err(e)
            }
        }
    }
}

/// Inserts `row` after the current tip and commits: its sequence number and hash.
async fn insert(
    conn: &mut sqlx::SqliteConnection,
    row: &NewRow,
    seal: Seal<'_>,
) -> sqlx::Result<(i64, String)> {
    let prev: Option<String> = sqlx::query_scalar("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    let (prev_hash, hash) = seal(prev.as_deref());
    let seq = sqlx::query(
        "INSERT INTO audit (at_ms, user, groups, namespace, name, target, before, after, reason, outcome, detail, prev_hash, hash, intent_seq, keyed, format, body_digest, cluster) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(row.at_ms)
    .bind(&row.user)
    .bind(&row.groups)
    .bind(&row.namespace)
    .bind(&row.name)
    .bind(&row.target)
    .bind(&row.before)
    .bind(&row.after)
    .bind(&row.reason)
    .bind(&row.outcome)
    .bind(&row.detail)
    .bind(&prev_hash)
    .bind(&hash)
    .bind(row.intent_seq)
    .bind(i64::from(row.keyed))
    .bind(row.format)
    .bind(&row.body_digest)
    .bind(&row.cluster)
    .execute(&mut *conn)
    .await?
    .last_insert_rowid();
    sqlx::query("COMMIT").execute(&mut *conn).await?;
    Ok((seq, hash))
}

/// The filtered, newest-first query behind listings and exports: a condition for each
/// filter given only, so SQLite can walk the index that filter has.
fn filtered(
    q: &AuditQuery,
    limit: i64,
) -> sqlx::query::Query<'static, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    let mut conditions: Vec<&str> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let mut numbers: Vec<i64> = Vec::new();
    for (condition, value) in [
        ("namespace = ?", &q.namespace),
        ("name = ?", &q.name),
        ("user = ?", &q.user),
        ("outcome = ?", &q.outcome),
    ] {
        if let Some(value) = value {
            conditions.push(condition);
            texts.push(value.clone());
        }
    }
    if q.outcome.is_none() {
        conditions.push("outcome != 'intent'");
    }
    if let Some(cluster) = &q.cluster {
        conditions.push("cluster IN (?, '')");
        texts.push(cluster.clone());
    }
    for (condition, value) in [("at_ms >= ?", q.from), ("at_ms < ?", q.to), ("seq < ?", q.before)] {
        if let Some(value) = value {
            conditions.push(condition);
            numbers.push(value);
        }
    }
    // Assembled from the constants above only; every value is a bound parameter, the texts
    // bound before the numbers as their conditions come.
    let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit WHERE {} ORDER BY seq DESC LIMIT ?",
        conditions.join(" AND ")
    )));
    for text in texts {
        query = query.bind(text);
    }
    for number in numbers {
        query = query.bind(number);
    }
    query.bind(limit)
}

impl AuditStore for SqliteAudit {
    fn tip(&self) -> StoreFuture<'_, Tip> {
        typed(async move {
            Ok(sqlx::query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&self.pool)
                .await?
                .map(|r| (r.get(0), r.get(1))))
        })
    }

    fn append<'a>(&'a self, row: &'a NewRow, seal: Seal<'a>) -> StoreFuture<'a, (i64, String)> {
        typed(self.append_row(row, seal))
    }

    fn dangling_intents(&self) -> StoreFuture<'_, Vec<Entry>> {
        typed(async move {
            // Assembled from constants only.
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM audit a WHERE outcome = 'intent' \
                 AND NOT EXISTS (SELECT 1 FROM audit b WHERE b.intent_seq = a.seq) ORDER BY seq"
            )))
            .fetch_all(&self.pool)
            .await?;
            Ok(rows.iter().map(decode::audit_entry).collect())
        })
    }

    fn prune_refusals<'a>(&'a self, before_ms: i64, detail: &'a str) -> StoreFuture<'a, u64> {
        typed(async move {
            // A thousand rows per transaction, so appends wait at most for one batch.
            let mut pruned = 0;
            loop {
                let done = sqlx::query(
                    "UPDATE audit SET groups = '[]', target = '', before = 'null', after = 'null', reason = '', \
                     detail = ?, pruned = 1 WHERE seq IN (SELECT seq FROM audit WHERE pruned = 0 AND format IN (2, 3) \
                     AND intent_seq IS NULL AND outcome IN ('invalid', 'denied') AND at_ms < ? LIMIT 1000)",
                )
                .bind(detail)
                .bind(before_ms)
                .execute(&self.pool)
                .await?
                .rows_affected();
                pruned += done;
                if done < 1000 {
                    return Ok(pruned);
                }
            }
        })
    }

    fn page<'a>(&'a self, q: &'a AuditQuery, limit: i64) -> StoreFuture<'a, Vec<Entry>> {
        typed(async move {
            Ok(filtered(q, limit).fetch_all(&self.readers).await?.iter().map(decode::audit_entry).collect())
        })
    }

    fn chain(&self) -> BoxStream<'_, Result<ChainRow, StoreError>> {
        let pool = &self.readers;
        futures::stream::once(async move {
            // A database from before sealed rows has no format columns: every row is whole.
            let sealed: bool = sqlx::query_scalar(
                "SELECT COUNT(*) > 0 FROM pragma_table_info('audit') WHERE name = 'body_digest'",
            )
            .fetch_one(pool)
            .await?;
            // … and one from before clustered rows no cluster column.
            let clustered: bool = sqlx::query_scalar(
                "SELECT COUNT(*) > 0 FROM pragma_table_info('audit') WHERE name = 'cluster'",
            )
            .fetch_one(pool)
            .await?;
            let format_columns = match (sealed, clustered) {
                (true, true) => "format, body_digest, pruned, cluster",
                (true, false) => "format, body_digest, pruned, '' AS cluster",
                _ => "1 AS format, NULL AS body_digest, 0 AS pruned, '' AS cluster",
            };
            // Assembled from constants only.
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT seq, at_ms, user, groups, namespace, name, target, before, after, reason, outcome, detail, \
                 prev_hash, hash, intent_seq, keyed, {format_columns} FROM audit ORDER BY seq"
            )))
            .fetch(pool)
            .map_ok(|r| decode::chain_row(&r));
            Ok::<_, sqlx::Error>(rows)
        })
        .try_flatten()
        .map_err(StoreError::from)
        .boxed()
    }

    fn import<'a>(&'a self, rows: &'a [ChainRow]) -> StoreFuture<'a, u64> {
        typed(async move {
            let _one = self.appending.lock().await;
            let mut tx = self.pool.begin().await?;
            let mut added = 0;
            for r in rows {
                added += sqlx::query(
                    "INSERT OR IGNORE INTO audit (seq, at_ms, user, groups, namespace, name, target, before, after, reason, \
                     outcome, detail, prev_hash, hash, intent_seq, keyed, format, body_digest, pruned, cluster) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(r.seq)
                .bind(r.at_ms)
                .bind(&r.user)
                .bind(&r.groups)
                .bind(&r.namespace)
                .bind(&r.name)
                .bind(&r.target)
                .bind(&r.before)
                .bind(&r.after)
                .bind(&r.reason)
                .bind(&r.outcome)
                .bind(&r.detail)
                .bind(&r.prev_hash)
                .bind(&r.hash)
                .bind(r.intent_seq)
                .bind(i64::from(r.keyed))
                .bind(r.format)
                .bind(&r.body_digest)
                .bind(i64::from(r.pruned))
                .bind(&r.cluster)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await?;
            Ok(added)
        })
    }

    fn disk(&self) -> Option<&Path> {
        self.disk.as_deref()
    }

    fn place(&self) -> String {
        self.pool.connect_options().get_filename().display().to_string()
    }
}
