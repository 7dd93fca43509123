//! Durable history in one SQLite file: samples per workload, rollups for long ranges,
//! events, retention. Written by the [`sampler`], read by [`query`].

pub mod demand;
mod platform;
pub mod query;
pub mod sampler;
mod write;

pub use write::{Figures, PastEvent, Steps};

use std::{collections::HashMap, path::Path, str::FromStr, time::Duration};

use anyhow::Context;
use sqlx::{
    Row, SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use tokio::sync::Mutex;

/// The rollup resolutions, finest first.
pub const FIVE_MINUTES: i64 = 300_000;
pub const ONE_HOUR: i64 = 3_600_000;

/// How long each kind of data is kept.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub raw: Duration,
    pub five_minutes: Duration,
    pub hourly: Duration,
    /// The demand series the what-if replays (full resolution, narrow rows).
    pub demand: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            raw: Duration::from_secs(48 * 3600),
            five_minutes: Duration::from_secs(7 * 86_400),
            hourly: Duration::from_secs(400 * 86_400),
            demand: Duration::from_secs(14 * 86_400),
        }
    }
}

/// The figures of a group of raw samples, in the column order of `rollups` (and of history
/// points): min/avg/max of replicas desired and ready, CPU, memory and request rate, then the
/// averages of requests, limits and HPA settings.
pub(crate) fn sample_aggregates() -> &'static str {
    "CAST(MIN(replicas_desired) AS REAL), AVG(replicas_desired), CAST(MAX(replicas_desired) AS REAL), \
     CAST(MIN(replicas_ready) AS REAL), AVG(replicas_ready), CAST(MAX(replicas_ready) AS REAL), \
     MIN(cpu_usage), AVG(cpu_usage), MAX(cpu_usage), \
     MIN(memory_usage), AVG(memory_usage), MAX(memory_usage), \
     MIN(request_rate), AVG(request_rate), MAX(request_rate), \
     AVG(cpu_requests), AVG(cpu_limits), AVG(memory_requests), AVG(memory_limits), \
     AVG(hpa_min), AVG(hpa_max), AVG(hpa_cpu_target)"
}

/// The same figures for a group of rollup buckets: min of mins, sample-weighted average of
/// averages, max of maxes.
pub(crate) fn rollup_aggregates() -> String {
    let avg =
        |c: &str| format!("SUM({c}_avg * samples) / SUM(CASE WHEN {c}_avg IS NULL THEN 0 ELSE samples END)");
    let stat = |c: &str| format!("MIN({c}_min), {}, MAX({c}_max)", avg(c));
    format!(
        "{}, {}, {}, {}, {}, AVG(cpu_requests), AVG(cpu_limits), AVG(memory_requests), AVG(memory_limits), \
         AVG(hpa_min), AVG(hpa_max), AVG(hpa_cpu_target)",
        stat("replicas_desired"),
        stat("replicas_ready"),
        stat("cpu_usage"),
        stat("memory_usage"),
        stat("request_rate")
    )
}

/// The history database.
pub struct History {
    pool: SqlitePool,
    /// How every connection to the file is opened (the audit log's too).
    options: SqliteConnectOptions,
    ids: Mutex<HashMap<(String, String), i64>>,
    pub retention: Retention,
    /// The platform's totals as last read per namespace (see [`History::platform_recent`]).
    platform: platform::PlatformCache,
}

/// Pools that never hand out a connection still counted as inside a transaction. When a write
/// fails because the disk is full, SQLite rolls the transaction back by itself; the rollback
/// the dropped transaction then sends fails, and the connection would go back to the pool
/// still counted at depth 1, refusing every later `BEGIN` ("non-zero transaction depth")
/// after space returned. Such a connection is closed instead.
fn pool_options() -> SqlitePoolOptions {
    use sqlx_core::transaction::TransactionManager;
    SqlitePoolOptions::new().after_release(|conn, _| {
        let clean = <sqlx::Sqlite as sqlx::Database>::TransactionManager::get_transaction_depth(conn) == 0;
        if !clean {
            tracing::warn!("history: a connection left inside a failed transaction is closed");
        }
        Box::pin(async move { Ok(clean) })
    })
}

/// Marks the rollups from the bucket holding `at_ms` on (at each resolution) as not made yet,
/// so the next pass makes them again from what their buckets hold now.
async fn roll_up_again_from(conn: &mut sqlx::SqliteConnection, at_ms: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE rollup_progress SET done_until_ms = (?1 / resolution_ms) * resolution_ms \
         WHERE done_until_ms > ?1",
    )
    .bind(at_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// The database page size Paydeck creates files with (SQLite's default).
const PAGE_SIZE: u64 = 4096;

impl History {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub async fn open(path: &Path, retention: Retention) -> anyhow::Result<Self> {
        Self::open_limited(path, retention, None).await
    }

    /// Opens the database, which may not grow beyond `max_bytes` when given (SQLite's
    /// `max_page_count`): writes past it fail, as on a full disk, and reads go on.
    pub async fn open_limited(
        path: &Path,
        retention: Retention,
        max_bytes: Option<u64>,
    ) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the database folder {}", dir.display()))?;
        }
        let mut options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        if let Some(max) = max_bytes {
            options = options.pragma("max_page_count", (max / PAGE_SIZE).max(1).to_string());
        }
        let pool = pool_options()
            .max_connections(4)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("cannot open the history database {}", path.display()))?;
        sqlx::migrate!("./migrations").run(&pool).await.context("cannot migrate the history database")?;
        Ok(History {
            pool,
            options,
            ids: Mutex::new(HashMap::new()),
            retention,
            platform: Default::default(),
        })
    }

    /// A pool for the audit log on the same file: one connection (appends are serialised),
    /// `synchronous=FULL` (a commit is on disk before it returns; history keeps NORMAL), and
    /// a short busy timeout, so an edit is refused quickly rather than hanging on a lock.
    pub async fn audit_pool(&self, busy: Duration) -> sqlx::Result<SqlitePool> {
        let options = self.options.clone().synchronous(SqliteSynchronous::Full).busy_timeout(busy);
        pool_options().max_connections(1).acquire_timeout(busy).connect_with(options).await
    }

    /// Closes the database after the last write (SQLite checkpoints its WAL on close).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The id of a workload, creating its row the first time.
    async fn workload_id(
        &self,
        conn: &mut sqlx::SqliteConnection,
        namespace: &str,
        name: &str,
    ) -> sqlx::Result<i64> {
        let key = (namespace.to_string(), name.to_string());
        if let Some(id) = self.ids.lock().await.get(&key) {
            return Ok(*id);
        }
        sqlx::query("INSERT OR IGNORE INTO workloads (namespace, name) VALUES (?, ?)")
            .bind(namespace)
            .bind(name)
            .execute(&mut *conn)
            .await?;
        let id: i64 = sqlx::query("SELECT id FROM workloads WHERE namespace = ? AND name = ?")
            .bind(namespace)
            .bind(name)
            .fetch_one(&mut *conn)
            .await?
            .get(0);
        self.ids.lock().await.insert(key, id);
        Ok(id)
    }

    /// The id of a workload, if it has any history.
    pub async fn find_workload(&self, namespace: &str, name: &str) -> sqlx::Result<Option<i64>> {
        Ok(sqlx::query("SELECT id FROM workloads WHERE namespace = ? AND name = ?")
            .bind(namespace)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get(0)))
    }

    /// Records an event.
    pub async fn write_event(
        &self,
        namespace: &str,
        name: &str,
        at_ms: i64,
        kind: &str,
        message: &str,
    ) -> sqlx::Result<()> {
        let mut conn = self.pool.acquire().await?;
        let id = self.workload_id(&mut conn, namespace, name).await?;
        sqlx::query("INSERT INTO events (workload_id, at_ms, kind, message) VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(at_ms)
            .bind(kind)
            .bind(message)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Computes the rollups of every complete bucket up to `now_ms`, then applies retention.
    pub async fn maintain(&self, now_ms: i64) -> sqlx::Result<()> {
        self.roll_up(FIVE_MINUTES, "samples", now_ms).await?;
        self.platform.rolled_up();
        self.roll_up(ONE_HOUR, "rollups", now_ms).await?;
        let cut = |d: Duration| now_ms - d.as_millis() as i64;
        sqlx::query("DELETE FROM samples WHERE at_ms < ?")
            .bind(cut(self.retention.raw))
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM rollups WHERE resolution_ms = ? AND bucket_ms < ?")
            .bind(FIVE_MINUTES)
            .bind(cut(self.retention.five_minutes))
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM rollups WHERE resolution_ms = ? AND bucket_ms < ?")
            .bind(ONE_HOUR)
            .bind(cut(self.retention.hourly))
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM demand WHERE at_s < ?")
            .bind(cut(self.retention.demand) / 1000)
            .execute(&self.pool)
            .await?;
        // Events are marked on charts as long as any history of their time is kept.
        sqlx::query("DELETE FROM events WHERE at_ms < ?")
            .bind(cut(self.retention.hourly))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets the history stamped after `now_ms`: after the wall clock stepped back, those
    /// rows carry times that have not come yet, and would later interleave with true ones.
    /// Rollups from then on are made again as their buckets complete. Returns the samples
    /// forgotten.
    pub async fn forget_after(&self, now_ms: i64) -> sqlx::Result<u64> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let samples =
            sqlx::query("DELETE FROM samples WHERE at_ms > ?").bind(now_ms).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM demand WHERE at_s > ?")
            .bind(now_ms.div_euclid(1000))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM events WHERE at_ms > ?").bind(now_ms).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM rollups WHERE bucket_ms >= (?1 / resolution_ms) * resolution_ms")
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        roll_up_again_from(&mut tx, now_ms).await?;
        tx.commit().await?;
        self.platform.rolled_up();
        Ok(samples.rows_affected())
    }

    /// Rolls `source` (raw samples, or the finer rollups) up into buckets of `resolution`.
    async fn roll_up(&self, resolution: i64, source: &str, now_ms: i64) -> sqlx::Result<()> {
        let until = now_ms.div_euclid(resolution) * resolution;
        let done: Option<i64> =
            sqlx::query("SELECT done_until_ms FROM rollup_progress WHERE resolution_ms = ?")
                .bind(resolution)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.get(0));
        let from = done.unwrap_or(0);
        if from >= until {
            return Ok(());
        }
        let sql = if source == "samples" {
            format!(
                "INSERT OR REPLACE INTO rollups SELECT workload_id, ?1, (at_ms / ?1) * ?1, COUNT(*), {} \
                 FROM samples WHERE at_ms >= ?2 AND at_ms < ?3 GROUP BY workload_id, at_ms / ?1",
                sample_aggregates()
            )
        } else {
            format!(
                "INSERT OR REPLACE INTO rollups SELECT workload_id, ?1, (bucket_ms / ?1) * ?1, SUM(samples), {} \
                 FROM rollups WHERE resolution_ms = {FIVE_MINUTES} AND bucket_ms >= ?2 AND bucket_ms < ?3 \
                 GROUP BY workload_id, bucket_ms / ?1",
                rollup_aggregates()
            )
        };
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // The SQL is assembled from constants only; every value is a bound parameter.
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(resolution)
            .bind(from)
            .bind(until)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT OR REPLACE INTO rollup_progress (resolution_ms, done_until_ms) VALUES (?, ?)")
            .bind(resolution)
            .bind(until)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Marks the history up to `until_ms` as generated by the simulator.
    pub async fn mark_simulated_until(&self, until_ms: i64) -> sqlx::Result<()> {
        sqlx::query("INSERT INTO simulated_past (only, until_ms) VALUES (1, ?) ON CONFLICT (only) DO UPDATE SET until_ms = excluded.until_ms")
            .bind(until_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Until when the history was generated by the simulator, if it was.
    pub async fn simulated_until(&self) -> sqlx::Result<Option<i64>> {
        Ok(sqlx::query("SELECT until_ms FROM simulated_past WHERE only = 1")
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get(0)))
    }

    /// Whether any sample was ever recorded.
    pub async fn has_samples(&self) -> sqlx::Result<bool> {
        Ok(sqlx::query("SELECT 1 FROM demand LIMIT 1").fetch_optional(&self.pool).await?.is_some())
    }

    /// The database's size in bytes (pages in use).
    pub async fn size_bytes(&self) -> sqlx::Result<i64> {
        let pages: i64 = sqlx::query("PRAGMA page_count").fetch_one(&self.pool).await?.get(0);
        let size: i64 = sqlx::query("PRAGMA page_size").fetch_one(&self.pool).await?.get(0);
        Ok(pages * size)
    }
}
