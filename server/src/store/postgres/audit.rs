//! The audit log on PostgreSQL. Several Paydeck processes may append to one log: each append
//! takes the chain's advisory transaction lock, reads the tip, numbers its row one after it
//! and commits, so the chain has one tip and no gaps however many write. A commit returns
//! once the row is durable (the server's `synchronous_commit`), before anyone is told it was
//! recorded. Append-only is the database's to enforce: triggers refuse UPDATE (but the
//! retention's), DELETE and TRUNCATE (`migrations-postgres/0002_audit.sql`).

use std::path::Path;

use futures::{StreamExt, TryStreamExt, stream::BoxStream};
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::store::{
    AUDIT_WAIT, StoreError, StoreFuture,
    audit::{AuditQuery, AuditStore, ChainRow, Entry, NewRow, Seal, Tip},
    decode, typed,
};

/// The advisory lock that serialises appends to the chain ("paydeck" in ASCII).
const CHAIN_LOCK: i64 = 0x0070_6179_6465_636b;

/// The columns of a listed row, as the SQLite store's (flags as numbers).
const COLUMNS: &str = "seq, at_ms, user_name, groups, namespace, name, target, before, after, reason, outcome, detail, hash, intent_seq, keyed::INT::BIGINT, cluster";

/// The log's rows on a PostgreSQL server.
pub struct PgAudit {
    pool: PgPool,
    place: String,
}

impl PgAudit {
    /// The log on `pool`, whose schema is up to date.
    pub fn on(pool: PgPool) -> Self {
        let place = super::pool_place(&pool);
        PgAudit { pool, place }
    }

    /// The pool, for tests that read the table themselves.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn append_row(&self, row: &NewRow, seal: Seal<'_>) -> sqlx::Result<(i64, String)> {
        let mut tx = self.pool.begin().await?;
        // Another process's append is waited for as long as on SQLite, then refused as busy.
        // Assembled from a constant only.
        sqlx::query(sqlx::AssertSqlSafe(format!("SET LOCAL lock_timeout = '{}ms'", AUDIT_WAIT.as_millis())))
            .execute(&mut *tx)
            .await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(CHAIN_LOCK).execute(&mut *tx).await?;
        // Read after the lock is held: this statement's snapshot has every earlier append.
        let tip: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        let seq = tip.as_ref().map_or(1, |(seq, _)| seq + 1);
        let (prev_hash, hash) = seal(tip.as_ref().map(|(_, hash)| hash.as_str()));
        sqlx::query(
            "INSERT INTO audit (seq, at_ms, user_name, groups, namespace, name, target, before, after, reason, outcome, \
             detail, prev_hash, hash, intent_seq, keyed, format, body_digest, cluster) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
        )
        .bind(seq)
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
        .bind(row.keyed)
        .bind(row.format as i16)
        .bind(&row.body_digest)
        .bind(&row.cluster)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((seq, hash))
    }
}

/// The filtered, newest-first query behind listings and exports: a condition for each
/// filter given only, each value bound.
fn filtered(q: &AuditQuery, limit: i64) -> QueryBuilder<Postgres> {
    let mut query = QueryBuilder::new(format!("SELECT {COLUMNS} FROM audit WHERE TRUE"));
    for (column, value) in
        [("namespace", &q.namespace), ("name", &q.name), ("user_name", &q.user), ("outcome", &q.outcome)]
    {
        if let Some(value) = value {
            query.push(format!(" AND {column} = ")).push_bind(value.clone());
        }
    }
    if q.outcome.is_none() {
        query.push(" AND outcome <> 'intent'");
    }
    if let Some(cluster) = &q.cluster {
        query.push(" AND cluster IN (").push_bind(cluster.clone()).push(", '')");
    }
    for (condition, value) in [(" AND at_ms >= ", q.from), (" AND at_ms < ", q.to), (" AND seq < ", q.before)]
    {
        if let Some(value) = value {
            query.push(condition).push_bind(value);
        }
    }
    query.push(" ORDER BY seq DESC LIMIT ").push_bind(limit);
    query
}

impl AuditStore for PgAudit {
    fn tip(&self) -> StoreFuture<'_, Tip> {
        typed(
            sqlx::query_as("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&self.pool),
        )
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
            // A thousand rows per statement, each its own transaction.
            let mut pruned = 0;
            loop {
                let done = sqlx::query(
                    "UPDATE audit SET groups = '[]', target = '', before = 'null', after = 'null', reason = '', \
                     detail = $1, pruned = TRUE WHERE seq IN (SELECT seq FROM audit WHERE NOT pruned AND format IN (2, 3) \
                     AND intent_seq IS NULL AND outcome IN ('invalid', 'denied') AND at_ms < $2 LIMIT 1000)",
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
            let mut query = filtered(q, limit);
            Ok(query.build().fetch_all(&self.pool).await?.iter().map(decode::audit_entry).collect())
        })
    }

    fn chain(&self) -> BoxStream<'_, Result<ChainRow, StoreError>> {
        sqlx::query(
            "SELECT seq, at_ms, user_name, groups, namespace, name, target, before, after, reason, outcome, detail, \
             prev_hash, hash, intent_seq, keyed::INT::BIGINT, format::BIGINT, body_digest, pruned::INT::BIGINT, cluster FROM audit ORDER BY seq",
        )
        .fetch(&self.pool)
        .map_ok(|r| decode::chain_row(&r))
        .map_err(StoreError::from)
        .boxed()
    }

    fn import<'a>(&'a self, rows: &'a [ChainRow]) -> StoreFuture<'a, u64> {
        typed(async move {
            if rows.is_empty() {
                return Ok(0);
            }
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(CHAIN_LOCK).execute(&mut *tx).await?;
            let mut added = 0;
            // 20 values a row: well under PostgreSQL's 65,535 per statement.
            for chunk in rows.chunks(1_000) {
                let mut q = QueryBuilder::<Postgres>::new(
                    "INSERT INTO audit (seq, at_ms, user_name, groups, namespace, name, target, before, after, reason, \
                     outcome, detail, prev_hash, hash, intent_seq, keyed, format, body_digest, pruned, cluster) ",
                );
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(r.seq)
                        .push_bind(r.at_ms)
                        .push_bind(&r.user)
                        .push_bind(&r.groups)
                        .push_bind(&r.namespace)
                        .push_bind(&r.name)
                        .push_bind(&r.target)
                        .push_bind(&r.before)
                        .push_bind(&r.after)
                        .push_bind(&r.reason)
                        .push_bind(&r.outcome)
                        .push_bind(&r.detail)
                        .push_bind(&r.prev_hash)
                        .push_bind(&r.hash)
                        .push_bind(r.intent_seq)
                        .push_bind(r.keyed)
                        .push_bind(r.format as i16)
                        .push_bind(&r.body_digest)
                        .push_bind(r.pruned)
                        .push_bind(&r.cluster);
                });
                q.push(" ON CONFLICT (seq) DO NOTHING");
                added += q.build().execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            Ok(added)
        })
    }

    fn disk(&self) -> Option<&Path> {
        None
    }

    fn place(&self) -> String {
        self.place.clone()
    }
}
