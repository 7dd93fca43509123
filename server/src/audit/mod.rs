//! The audit log: every attempt to change scaling — applied, previewed, rejected by
//! validation, denied by RBAC, in conflict, failed — with who, when, what, before → after,
//! why, and the outcome. Rows are chained: each row's hash is SHA-256 over the previous
//! row's hash and its own fields, so [`verify`] finds the first row changed or removed.

use ring::digest::{SHA256, digest};
use sqlx::{Row, SqlitePool};
use tokio::sync::Mutex;

/// The hash the first row chains from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub use app::scaling::{AuditEntry as Entry, AuditQuery, Outcome};

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
    pub outcome: Outcome,
    pub detail: &'a str,
}

/// The hash of a row: over the previous hash and every field, each length-prefixed so no two
/// different rows hash the same text.
fn chain_hash(prev: &str, fields: &[&str]) -> String {
    let mut text = String::with_capacity(256);
    for part in std::iter::once(prev).chain(fields.iter().copied()) {
        text.push_str(&part.len().to_string());
        text.push(':');
        text.push_str(part);
        text.push('\n');
    }
    digest(&SHA256, text.as_bytes()).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The log, in the history database. Appends are serialised so the chain has one tip.
pub struct AuditLog {
    pool: SqlitePool,
    append: Mutex<()>,
}

impl AuditLog {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool, append: Mutex::new(()) }
    }

    /// Appends an attempt; returns its sequence number.
    pub async fn record(&self, a: &Attempt<'_>) -> sqlx::Result<i64> {
        let _tip = self.append.lock().await;
        // IMMEDIATE takes the write lock first: a read-then-write transaction that found
        // another writer in between would fail at once instead of waiting its turn.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let prev: Option<String> = sqlx::query_scalar("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
        let prev = prev.unwrap_or_else(|| GENESIS.to_string());
        let groups = serde_json::to_string(a.groups).unwrap_or_else(|_| "[]".into());
        let (before, after) = (a.before.to_string(), a.after.to_string());
        let at = a.at_ms.to_string();
        let hash = chain_hash(
            &prev,
            &[
                &at,
                a.user,
                &groups,
                a.namespace,
                a.name,
                a.target,
                &before,
                &after,
                a.reason,
                a.outcome.as_str(),
                a.detail,
            ],
        );
        let seq = sqlx::query(
            "INSERT INTO audit (at_ms, user, groups, namespace, name, target, before, after, reason, outcome, detail, prev_hash, hash) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(a.at_ms)
        .bind(a.user)
        .bind(&groups)
        .bind(a.namespace)
        .bind(a.name)
        .bind(a.target)
        .bind(&before)
        .bind(&after)
        .bind(a.reason)
        .bind(a.outcome.as_str())
        .bind(a.detail)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        tx.commit().await?;
        Ok(seq)
    }

    /// Entries matching the filters, newest first.
    pub async fn list(&self, q: &AuditQuery) -> sqlx::Result<Vec<Entry>> {
        let rows = sqlx::query(
            "SELECT seq, at_ms, user, groups, namespace, name, target, before, after, reason, outcome, detail, hash FROM audit \
             WHERE (?1 IS NULL OR namespace = ?1) AND (?2 IS NULL OR name = ?2) AND (?3 IS NULL OR user = ?3) \
             AND (?4 IS NULL OR outcome = ?4) AND (?5 IS NULL OR at_ms >= ?5) AND (?6 IS NULL OR at_ms < ?6) \
             ORDER BY seq DESC LIMIT ?7",
        )
        .bind(&q.namespace)
        .bind(&q.name)
        .bind(&q.user)
        .bind(&q.outcome)
        .bind(q.from)
        .bind(q.to)
        .bind(q.limit.unwrap_or(500).clamp(1, 10_000))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let json =
                    |i: usize| serde_json::from_str(r.get::<&str, _>(i)).unwrap_or(serde_json::Value::Null);
                Entry {
                    seq: r.get(0),
                    at_ms: r.get(1),
                    user: r.get(2),
                    groups: serde_json::from_str(r.get::<&str, _>(3)).unwrap_or_default(),
                    namespace: r.get(4),
                    name: r.get(5),
                    target: r.get(6),
                    before: json(7),
                    after: json(8),
                    reason: r.get(9),
                    outcome: r.get(10),
                    detail: r.get(11),
                    hash: r.get(12),
                }
            })
            .collect())
    }
}

/// Walks the chain from the first row: `Ok(rows)` when intact, else which row breaks it.
pub async fn verify(pool: &SqlitePool) -> anyhow::Result<Result<i64, String>> {
    let rows = sqlx::query(
        "SELECT seq, at_ms, user, groups, namespace, name, target, before, after, reason, outcome, detail, prev_hash, hash \
         FROM audit ORDER BY seq",
    )
    .fetch_all(pool)
    .await?;
    let mut prev = GENESIS.to_string();
    for (expected_seq, r) in (1i64..).zip(rows.iter()) {
        let seq: i64 = r.get(0);
        if seq != expected_seq {
            return Ok(Err(format!("row {expected_seq} is missing (the next row is {seq})")));
        }
        let text = |i: usize| r.get::<String, _>(i);
        let at = r.get::<i64, _>(1).to_string();
        let fields =
            [at, text(2), text(3), text(4), text(5), text(6), text(7), text(8), text(9), text(10), text(11)];
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        if text(12) != prev {
            return Ok(Err(format!(
                "row {seq} does not follow row {}: its previous hash was changed",
                seq - 1
            )));
        }
        if chain_hash(&prev, &refs) != text(13) {
            return Ok(Err(format!(
                "row {seq} was changed after it was written: its hash does not match its fields"
            )));
        }
        prev = text(13);
    }
    Ok(Ok(rows.len() as i64))
}

/// `paydeck verify-audit`: prints the verdict; `true` when the chain is intact.
pub async fn verify_command(db: &std::path::Path) -> anyhow::Result<bool> {
    if !db.exists() {
        anyhow::bail!("no database at {} (--db / PAYDECK_DB)", db.display());
    }
    let history = crate::history::History::open(db, crate::history::Retention::default()).await?;
    let verdict = verify(history.pool()).await?;
    history.close().await;
    Ok(match verdict {
        Ok(rows) => {
            println!("audit log intact: {rows} row(s) in {}", db.display());
            true
        }
        Err(problem) => {
            println!("audit log BROKEN in {}: {problem}", db.display());
            false
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_depends_on_every_field_and_the_previous_hash() {
        let a = chain_hash(GENESIS, &["1", "ana", "max 4 → 6"]);
        assert_eq!(a.len(), 64);
        assert_ne!(a, chain_hash(GENESIS, &["1", "ana", "max 4 → 7"]));
        assert_ne!(a, chain_hash(&a, &["1", "ana", "max 4 → 6"]));
        // Moving text between fields changes the hash (fields are length-prefixed).
        assert_ne!(chain_hash(GENESIS, &["ab", "c"]), chain_hash(GENESIS, &["a", "bc"]));
    }
}
