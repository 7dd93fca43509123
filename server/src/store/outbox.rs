//! What notifications ask of a store: an outbox of messages per sink, written in one
//! transaction with the position of what produced them (the audit log's last row read) and
//! the conditions they open or resolve, so a restart neither loses nor repeats one; then
//! taken out due, held while in flight, and marked delivered, retried later or given up.
//!
//! The SQL is the same on SQLite and PostgreSQL (numbered parameters, `ON CONFLICT`), so one
//! implementation serves both pools ([`outbox_store!`]).

use super::StoreFuture;

/// A message to queue for one sink.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub sink: String,
    /// One message per key and sink: a finding's episode, an audit row.
    pub dedupe_key: String,
    pub cluster: String,
    pub kind: String,
    /// The event, JSON.
    pub body: String,
    /// When it was queued, and when it is first sent (later, to go with others of a burst):
    /// Unix ms of the wall clock.
    pub at_ms: i64,
    pub due_ms: i64,
}

/// A queued message, as the deliverer takes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Queued {
    pub id: i64,
    pub sink: String,
    pub body: String,
    pub attempts: i64,
    pub created_ms: i64,
}

/// A condition that is open: what was told when it opened (JSON), to tell its resolution.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub cluster: String,
    pub key: String,
    pub opened_ms: i64,
    pub body: String,
}

/// Everything one look at the sources produced, written all or nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    pub messages: Vec<Outgoing>,
    /// A source's new position.
    pub cursor: Option<(String, i64)>,
    pub opened: Vec<Condition>,
    /// `(cluster, key)` of conditions resolved.
    pub closed: Vec<(String, String)>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.cursor.is_none() && self.opened.is_empty() && self.closed.is_empty()
    }
}

/// One sink's queue at a glance.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SinkCounts {
    pub sink: String,
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
    /// The last error of a message still pending or given up, if any.
    pub last_error: String,
    pub last_delivered_ms: Option<i64>,
    /// The oldest pending message's time.
    pub oldest_pending_ms: Option<i64>,
}

/// The outbox in a database.
pub trait OutboxStore: Send + Sync + 'static {
    /// How far the source `name` was read, if it ever was.
    fn cursor<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<i64>>;

    /// The conditions open on `cluster`.
    fn conditions<'a>(&'a self, cluster: &'a str) -> StoreFuture<'a, Vec<Condition>>;

    /// Writes `batch` in one transaction; a message already queued under its key for its sink
    /// is not queued again.
    fn record<'a>(&'a self, batch: &'a Batch) -> StoreFuture<'a, ()>;

    /// Pending messages due at `now_ms`, oldest first, at most `limit`.
    fn due(&self, now_ms: i64, limit: i64) -> StoreFuture<'_, Vec<Queued>>;

    /// Holds `ids` until `until_ms` (in flight: another look does not take them; a process
    /// that stops while sending leaves them to be sent again then).
    fn hold<'a>(&'a self, ids: &'a [i64], until_ms: i64) -> StoreFuture<'a, ()>;

    /// Marks `ids` delivered at `now_ms`.
    fn delivered<'a>(&'a self, ids: &'a [i64], now_ms: i64) -> StoreFuture<'a, ()>;

    /// One more failed attempt of `ids`: tried again at `next_at_ms`, or, with `give_up`,
    /// never.
    fn failed<'a>(
        &'a self,
        ids: &'a [i64],
        error: &'a str,
        next_at_ms: i64,
        give_up: bool,
        now_ms: i64,
    ) -> StoreFuture<'a, ()>;

    /// Every sink's counts (sinks with no message are absent).
    fn counts(&self) -> StoreFuture<'_, Vec<SinkCounts>>;

    /// Forgets messages delivered or given up before `before_ms`; how many.
    fn forget_before(&self, before_ms: i64) -> StoreFuture<'_, u64>;
}

/// The longest error text kept per message.
pub const MAX_ERROR: usize = 300;

/// Implements [`OutboxStore`] for a pool type whose database takes `$N` parameters (SQLite
/// and PostgreSQL both do).
macro_rules! outbox_store {
    ($store:ident, $pool:ty) => {
        /// The outbox on this database's connections.
        pub struct $store {
            pool: $pool,
        }

        impl $store {
            pub fn on(pool: $pool) -> Self {
                $store { pool }
            }
        }

        impl $crate::store::outbox::OutboxStore for $store {
            fn cursor<'a>(&'a self, name: &'a str) -> $crate::store::StoreFuture<'a, Option<i64>> {
                $crate::store::typed(
                    sqlx::query_scalar("SELECT position FROM notification_cursors WHERE name = $1")
                        .bind(name)
                        .fetch_optional(&self.pool),
                )
            }

            fn conditions<'a>(
                &'a self,
                cluster: &'a str,
            ) -> $crate::store::StoreFuture<'a, Vec<$crate::store::outbox::Condition>> {
                $crate::store::typed(async move {
                    let rows: Vec<(String, i64, String)> = sqlx::query_as(
                        "SELECT key, opened_ms, body FROM notification_conditions WHERE cluster = $1 ORDER BY key",
                    )
                    .bind(cluster)
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows
                        .into_iter()
                        .map(|(key, opened_ms, body)| $crate::store::outbox::Condition {
                            cluster: cluster.to_string(),
                            key,
                            opened_ms,
                            body,
                        })
                        .collect())
                })
            }

            fn record<'a>(
                &'a self,
                batch: &'a $crate::store::outbox::Batch,
            ) -> $crate::store::StoreFuture<'a, ()> {
                $crate::store::typed(async move {
                    let mut tx = self.pool.begin().await?;
                    for m in &batch.messages {
                        sqlx::query(
                            "INSERT INTO notification_outbox (sink, dedupe_key, cluster, kind, body, created_ms, next_at_ms) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sink, dedupe_key) DO NOTHING",
                        )
                        .bind(&m.sink)
                        .bind(&m.dedupe_key)
                        .bind(&m.cluster)
                        .bind(&m.kind)
                        .bind(&m.body)
                        .bind(m.at_ms)
                        .bind(m.due_ms)
                        .execute(&mut *tx)
                        .await?;
                    }
                    for c in &batch.opened {
                        sqlx::query(
                            "INSERT INTO notification_conditions (cluster, key, opened_ms, body) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (cluster, key) DO NOTHING",
                        )
                        .bind(&c.cluster)
                        .bind(&c.key)
                        .bind(c.opened_ms)
                        .bind(&c.body)
                        .execute(&mut *tx)
                        .await?;
                    }
                    for (cluster, key) in &batch.closed {
                        sqlx::query("DELETE FROM notification_conditions WHERE cluster = $1 AND key = $2")
                            .bind(cluster)
                            .bind(key)
                            .execute(&mut *tx)
                            .await?;
                    }
                    if let Some((name, position)) = &batch.cursor {
                        sqlx::query(
                            "INSERT INTO notification_cursors (name, position) VALUES ($1, $2) \
                             ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                        )
                        .bind(name)
                        .bind(position)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await
                })
            }

            fn due(
                &self,
                now_ms: i64,
                limit: i64,
            ) -> $crate::store::StoreFuture<'_, Vec<$crate::store::outbox::Queued>> {
                $crate::store::typed(async move {
                    let rows: Vec<(i64, String, String, i64, i64)> = sqlx::query_as(
                        "SELECT id, sink, body, attempts, created_ms FROM notification_outbox \
                         WHERE state = 'pending' AND next_at_ms <= $1 ORDER BY id LIMIT $2",
                    )
                    .bind(now_ms)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows
                        .into_iter()
                        .map(|(id, sink, body, attempts, created_ms)| $crate::store::outbox::Queued {
                            id,
                            sink,
                            body,
                            attempts,
                            created_ms,
                        })
                        .collect())
                })
            }

            fn hold<'a>(&'a self, ids: &'a [i64], until_ms: i64) -> $crate::store::StoreFuture<'a, ()> {
                $crate::store::typed(async move {
                    let mut tx = self.pool.begin().await?;
                    for id in ids {
                        sqlx::query("UPDATE notification_outbox SET next_at_ms = $1 WHERE id = $2 AND state = 'pending'")
                            .bind(until_ms)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await
                })
            }

            fn delivered<'a>(&'a self, ids: &'a [i64], now_ms: i64) -> $crate::store::StoreFuture<'a, ()> {
                $crate::store::typed(async move {
                    let mut tx = self.pool.begin().await?;
                    for id in ids {
                        sqlx::query(
                            "UPDATE notification_outbox SET state = 'delivered', attempts = attempts + 1, done_ms = $1, \
                             last_error = '' WHERE id = $2",
                        )
                        .bind(now_ms)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await
                })
            }

            fn failed<'a>(
                &'a self,
                ids: &'a [i64],
                error: &'a str,
                next_at_ms: i64,
                give_up: bool,
                now_ms: i64,
            ) -> $crate::store::StoreFuture<'a, ()> {
                $crate::store::typed(async move {
                    let error: String = error.chars().take($crate::store::outbox::MAX_ERROR).collect();
                    let (state, done) = if give_up { ("failed", Some(now_ms)) } else { ("pending", None) };
                    let mut tx = self.pool.begin().await?;
                    for id in ids {
                        sqlx::query(
                            "UPDATE notification_outbox SET state = $1, attempts = attempts + 1, next_at_ms = $2, \
                             last_error = $3, done_ms = $4 WHERE id = $5",
                        )
                        .bind(state)
                        .bind(next_at_ms)
                        .bind(&error)
                        .bind(done)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await
                })
            }

            fn counts(&self) -> $crate::store::StoreFuture<'_, Vec<$crate::store::outbox::SinkCounts>> {
                $crate::store::typed(async move {
                    let rows: Vec<(String, i64, i64, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
                        "SELECT sink, \
                         SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), \
                         SUM(CASE WHEN state = 'delivered' THEN 1 ELSE 0 END), \
                         SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), \
                         MAX(CASE WHEN state = 'delivered' THEN done_ms END), \
                         MIN(CASE WHEN state = 'pending' THEN created_ms END) \
                         FROM notification_outbox GROUP BY sink ORDER BY sink",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    let mut counts = Vec::with_capacity(rows.len());
                    for (sink, pending, delivered, failed, last_delivered_ms, oldest_pending_ms) in rows {
                        let last_error: Option<String> = sqlx::query_scalar(
                            "SELECT last_error FROM notification_outbox WHERE sink = $1 AND state <> 'delivered' \
                             AND last_error <> '' ORDER BY id DESC LIMIT 1",
                        )
                        .bind(&sink)
                        .fetch_optional(&self.pool)
                        .await?;
                        counts.push($crate::store::outbox::SinkCounts {
                            sink,
                            pending,
                            delivered,
                            failed,
                            last_error: last_error.unwrap_or_default(),
                            last_delivered_ms,
                            oldest_pending_ms,
                        });
                    }
                    Ok(counts)
                })
            }

            fn forget_before(&self, before_ms: i64) -> $crate::store::StoreFuture<'_, u64> {
                $crate::store::typed(async move {
                    Ok(sqlx::query("DELETE FROM notification_outbox WHERE state <> 'pending' AND done_ms < $1")
                        .bind(before_ms)
                        .execute(&self.pool)
                        .await?
                        .rows_affected())
                })
            }
        }
    };
}

outbox_store!(SqliteOutbox, sqlx::SqlitePool);
outbox_store!(PgOutbox, sqlx::PgPool);
