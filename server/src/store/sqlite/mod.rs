//! The SQLite store: one file beside Paydeck (WAL), the embedded default. History is written
//! many rows to a statement and maintained a chunk of workloads at a time, so the file's one
//! write lock is never held for long; the audit log lives in the same file on connections
//! of its own ([`SqliteAudit`]).

mod audit;
mod demand;
mod plans;
mod platform;
mod port;
mod query;
mod write;

pub use audit::SqliteAudit;
pub use plans::SqlitePlans;

use std::{
    collections::HashMap,
    path::Path,
    str::FromStr,
    time::{Duration, Instant},
};

use anyhow::Context;
use sqlx::{
    Row, SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use tokio::sync::Mutex;

use crate::history::{DEFAULT_CLUSTER, FIVE_MINUTES, ONE_HOUR, Retention, check_cluster_name};

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

/// The history database, as one cluster's history: every workload row it reads or writes is
/// keyed by [`History::cluster`] as well as namespace and name.
pub struct History {
    pool: SqlitePool,
    /// The cluster this handle records and reads.
    cluster: String,
    /// How every connection to the file is opened (the audit log's too).
    options: SqliteConnectOptions,
    ids: Mutex<HashMap<(String, String), i64>>,
    pub retention: Retention,
    /// The platform's totals as last read per namespace (see [`History::platform_recent`]).
    platform: crate::store::platform_cache::PlatformCache,
    /// Held while rollups are made and while samples are written or forgotten: a rollup is
    /// made in chunks, and a sample written between two of them into a bucket already
    /// rolled up would otherwise be missed from it.
    rolling: std::sync::Arc<Mutex<()>>,
    /// Whether this handle runs rollups and retention: they cover every cluster's rows, so a
    /// fleet's other clusters ([`History::for_cluster`]) leave them to the first's.
    maintains: bool,
    /// The term what only the leader writes carries (see [`crate::store::fence`]).
    fence: std::sync::OnceLock<crate::store::Fence>,
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

/// Whether `term` (if any) is the newest its lease was issued, read inside the writing
/// transaction: SQLite's one writer at a time (`BEGIN IMMEDIATE`) keeps a new term from
/// committing between this check and the write.
async fn term_is_newest(
    conn: &mut sqlx::SqliteConnection,
    term: Option<&crate::store::Term>,
) -> sqlx::Result<bool> {
    let Some(term) = term else { return Ok(true) };
    let newest: Option<i64> = sqlx::query_scalar("SELECT term FROM leadership WHERE lease = ?")
        .bind(&term.lease)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(newest == Some(term.number))
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

/// Workloads per rollup or retention statement. SQLite has one write lock per file: a pass
/// over every workload at once held it for seconds at fleet size, and an audit append or an
/// event waited behind it. A chunk of this many takes a few milliseconds.
const WORKLOADS_PER_CHUNK: usize = 200;

/// The rows of the workloads with ids ?1 to ?2, which SQLite finds by each table's primary
/// key (workload first) instead of scanning the whole table for a time range.
const CHUNK: &str = "workload_id IN (SELECT id FROM workloads WHERE id BETWEEN ?1 AND ?2)";

/// The statement rolling `source` (raw samples, or the five-minute rollups) up into buckets of
/// ?3 from ?4 to ?5, for the workloads of [`CHUNK`].
fn rollup_sql(source: &str) -> String {
    if source == "samples" {
        format!(
            "INSERT OR REPLACE INTO rollups SELECT workload_id, ?3, (at_ms / ?3) * ?3, COUNT(*), {} \
             FROM samples WHERE {CHUNK} AND at_ms >= ?4 AND at_ms < ?5 GROUP BY workload_id, at_ms / ?3",
            sample_aggregates()
        )
    } else {
        format!(
            "INSERT OR REPLACE INTO rollups SELECT workload_id, ?3, (bucket_ms / ?3) * ?3, SUM(samples), {} \
             FROM rollups WHERE {CHUNK} AND resolution_ms = {FIVE_MINUTES} AND bucket_ms >= ?4 AND bucket_ms < ?5 \
             GROUP BY workload_id, bucket_ms / ?3",
            rollup_aggregates()
        )
    }
}

/// Gives the rows recorded before clusters had names (migration 0009) to `cluster`, the first
/// cluster to open the file. A row it already has under its own name keeps that one.
async fn adopt_unnamed_rows(pool: &SqlitePool, cluster: &str) -> sqlx::Result<()> {
    let adopted = sqlx::query("UPDATE OR IGNORE workloads SET cluster = ? WHERE cluster = ''")
        .bind(cluster)
        .execute(pool)
        .await?
        .rows_affected();
    if adopted > 0 {
        tracing::info!(
            "history: {adopted} workload(s) recorded before clusters had names are now cluster {cluster}'s"
        );
    }
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
        Self::open_for_cluster(path, retention, max_bytes, DEFAULT_CLUSTER).await
    }

    /// Opens the database as `cluster`'s history. Rows recorded before clusters had names
    /// become this cluster's the first time a cluster opens the file.
    pub async fn open_for_cluster(
        path: &Path,
        retention: Retention,
        max_bytes: Option<u64>,
        cluster: &str,
    ) -> anyhow::Result<Self> {
        check_cluster_name(cluster).map_err(anyhow::Error::msg)?;
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
        adopt_unnamed_rows(&pool, cluster).await.context("cannot name the history's cluster")?;
        Ok(History {
            pool,
            cluster: cluster.to_string(),
            options,
            ids: Mutex::new(HashMap::new()),
            retention,
            platform: Default::default(),
            rolling: Default::default(),
            maintains: true,
            fence: std::sync::OnceLock::new(),
        })
    }

    /// `cluster`'s history in the same file, on the same connections: a fleet's clusters share
    /// one pool rather than open one each.
    pub fn for_cluster(&self, cluster: &str) -> History {
        History {
            pool: self.pool.clone(),
            cluster: cluster.to_string(),
            options: self.options.clone(),
            ids: Mutex::new(HashMap::new()),
            retention: self.retention,
            // The rows of every cluster are rolled up by one pass, under one lock.
            platform: self.platform.sharing_passes(),
            rolling: self.rolling.clone(),
            maintains: false,
            fence: std::sync::OnceLock::new(),
        }
    }

    /// A pool for the audit log on the same file: one connection (appends are serialised),
    /// `synchronous=FULL` (a commit is on disk before it returns; history keeps NORMAL), and
    /// a short busy timeout, so an edit is refused quickly rather than hanging on a lock.
    pub async fn audit_pool(&self, busy: Duration) -> sqlx::Result<SqlitePool> {
        let options = self.options.clone().synchronous(SqliteSynchronous::Full).busy_timeout(busy);
        pool_options().max_connections(1).acquire_timeout(busy).connect_with(options).await
    }

    /// Read-only connections for the audit log's listings and exports: readers of their own,
    /// so no number of them keeps an append waiting (in WAL mode readers never block the
    /// writer). Beyond them, a read waits up to 2 s and is then refused as busy.
    pub async fn audit_readers(&self) -> sqlx::Result<SqlitePool> {
        let options = self.options.clone().read_only(true).create_if_missing(false);
        pool_options().max_connections(2).acquire_timeout(Duration::from_secs(2)).connect_with(options).await
    }

    /// Closes the database after the last write (SQLite checkpoints its WAL on close).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The cluster whose history this is.
    /// Whether rollups and retention are this handle's to run.
    pub fn maintains(&self) -> bool {
        self.maintains
    }

    pub fn cluster(&self) -> &str {
        &self.cluster
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
        sqlx::query("INSERT OR IGNORE INTO workloads (cluster, namespace, name) VALUES (?, ?, ?)")
            .bind(&self.cluster)
            .bind(namespace)
            .bind(name)
            .execute(&mut *conn)
            .await?;
        let id: i64 =
            sqlx::query("SELECT id FROM workloads WHERE cluster = ? AND namespace = ? AND name = ?")
                .bind(&self.cluster)
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
        Ok(sqlx::query("SELECT id FROM workloads WHERE cluster = ? AND namespace = ? AND name = ?")
            .bind(&self.cluster)
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

    /// Computes the rollups of every complete bucket up to `now_ms`, then applies retention,
    /// a chunk of workloads at a time (see [`WORKLOADS_PER_CHUNK`]).
    pub async fn maintain(&self, now_ms: i64) -> sqlx::Result<()> {
        self.roll_up(FIVE_MINUTES, "samples", now_ms).await?;
        self.platform.rolled_up();
        self.roll_up(ONE_HOUR, "rollups", now_ms).await?;
        for (sql, values) in self.expiry(now_ms) {
            self.per_chunk(&sql, &values).await?;
        }
        Ok(())
    }

    /// Copies the pages the write-ahead log holds into the database file. Big writes and
    /// maintenance call it themselves: otherwise the next commit past SQLite's threshold
    /// (1,000 pages) does it, and that may be an audit append or an event, waiting while a
    /// 10,000-workload batch's pages are copied and synced (hundreds of milliseconds at
    /// fleet size). It does not hold the write lock. A write back that fails (a full disk)
    /// leaves the pages in the log, where SQLite reads them, and the data written stands.
    pub async fn write_back(&self) {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&self.pool).await {
            tracing::debug!("history: write back of the log postponed ({e})");
        }
    }

    /// Retention's statements at `now_ms`, each on the rows of [`CHUNK`], with its values.
    fn expiry(&self, now_ms: i64) -> [(String, Vec<i64>); 6] {
        let cut = |d: Duration| now_ms - d.as_millis() as i64;
        let rollups = format!("DELETE FROM rollups WHERE {CHUNK} AND resolution_ms = ?3 AND bucket_ms < ?4");
        [
            (format!("DELETE FROM samples WHERE {CHUNK} AND at_ms < ?3"), vec![cut(self.retention.raw)]),
            (rollups.clone(), vec![FIVE_MINUTES, cut(self.retention.five_minutes)]),
            (rollups, vec![ONE_HOUR, cut(self.retention.hourly)]),
            (
                format!("DELETE FROM demand WHERE {CHUNK} AND at_s < ?3"),
                vec![cut(self.retention.demand) / 1000],
            ),
            (
                format!("DELETE FROM scale_decisions WHERE {CHUNK} AND at_s < ?3"),
                vec![cut(self.retention.demand) / 1000],
            ),
            // Events are marked on charts as long as any history of their time is kept.
            (format!("DELETE FROM events WHERE {CHUNK} AND at_ms < ?3"), vec![cut(self.retention.hourly)]),
        ]
    }

    /// Runs `sql`, a statement on the rows of [`CHUNK`] taking `values` as ?3 on, once per
    /// chunk of workloads, each chunk its own transaction. After each chunk it writes back
    /// the pages it changed (a chunk touches a page or more per workload, so a pass would
    /// otherwise leave the next small writer to copy thousands), then pauses as long as
    /// the chunk took, so that a writer waiting for the lock gets it.
    async fn per_chunk(&self, sql: &str, values: &[i64]) -> sqlx::Result<()> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM workloads ORDER BY id").fetch_all(&self.pool).await?;
        let mut took = Duration::ZERO;
        for (i, chunk) in ids.chunks(WORKLOADS_PER_CHUNK).enumerate() {
            if i > 0 {
                self.write_back().await;
                tokio::time::sleep(took).await;
            }
            let started = Instant::now();
            // The SQL is assembled from constants only; every value is a bound parameter.
            let mut statement =
                sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).bind(chunk[0]).bind(chunk[chunk.len() - 1]);
            for value in values {
                statement = statement.bind(*value);
            }
            statement.execute(&self.pool).await?;
            took = started.elapsed();
        }
        self.write_back().await;
        Ok(())
    }

    /// Forgets the history stamped after `now_ms`: after the wall clock stepped back, those
    /// rows carry times that have not come yet, and would later interleave with true ones.
    /// Rollups from then on are made again as their buckets complete. Returns the samples
    /// forgotten.
    pub async fn forget_after(&self, now_ms: i64) -> sqlx::Result<u64> {
        Ok(self.forget_after_as(None, now_ms).await?.unwrap_or(0))
    }

    /// [`History::forget_after`] under `term`: `None` when the term is not the newest.
    pub(crate) async fn forget_after_as(
        &self,
        term: Option<&crate::store::Term>,
        now_ms: i64,
    ) -> sqlx::Result<Option<u64>> {
        // Only this cluster's rows: another cluster sharing the file keeps its own clock.
        const OURS: &str = "workload_id IN (SELECT id FROM workloads WHERE cluster = ?2)";
        let _rolling = self.rolling.lock().await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        if !term_is_newest(&mut tx, term).await? {
            return Ok(None);
        }
        let mut samples = 0;
        for (table, column, at) in [
            ("samples", "at_ms", now_ms),
            ("demand", "at_s", now_ms.div_euclid(1000)),
            ("scale_decisions", "at_s", now_ms.div_euclid(1000)),
            ("events", "at_ms", now_ms),
        ] {
            // Assembled from the constants above only.
            let deleted = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE {column} > ?1 AND {OURS}"
            )))
            .bind(at)
            .bind(&self.cluster)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if table == "samples" {
                samples = deleted;
            }
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM rollups WHERE bucket_ms >= (?1 / resolution_ms) * resolution_ms AND {OURS}"
        )))
        .bind(now_ms)
        .bind(&self.cluster)
        .execute(&mut *tx)
        .await?;
        roll_up_again_from(&mut tx, now_ms).await?;
        tx.commit().await?;
        self.platform.rolled_up();
        Ok(Some(samples))
    }

    /// The fence this handle's leader-only writes go under.
    pub(crate) fn fence(&self) -> &crate::store::Fence {
        static UNFENCED: crate::store::Fence = crate::store::Fence::unfenced();
        self.fence.get().unwrap_or(&UNFENCED)
    }

    pub(crate) fn set_fence(&self, fence: crate::store::Fence) {
        let _ = self.fence.set(fence);
    }

    /// Issues the next term of `lease` to `holder` (see [`crate::store::fence`]).
    pub async fn claim_term(&self, lease: &str, holder: &str, now_ms: i64) -> sqlx::Result<i64> {
        sqlx::query_scalar(
            "INSERT INTO leadership (lease, term, holder, since_ms) VALUES (?1, 1, ?2, ?3) \
             ON CONFLICT (lease) DO UPDATE SET term = leadership.term + 1, holder = excluded.holder, \
             since_ms = excluded.since_ms RETURNING term",
        )
        .bind(lease)
        .bind(holder)
        .bind(now_ms)
        .fetch_one(&self.pool)
        .await
    }

    /// Rolls `source` (raw samples, or the finer rollups) up into buckets of `resolution`.
    async fn roll_up(&self, resolution: i64, source: &str, now_ms: i64) -> sqlx::Result<()> {
        let _rolling = self.rolling.lock().await;
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
        self.per_chunk(&rollup_sql(source), &[resolution, from, until]).await?;
        sqlx::query("INSERT OR REPLACE INTO rollup_progress (resolution_ms, done_until_ms) VALUES (?, ?)")
            .bind(resolution)
            .bind(until)
            .execute(&self.pool)
            .await?;
        Ok(())
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
        // This cluster's: a fleet's clusters share the file, and each is recorded for itself.
        Ok(sqlx::query(
            "SELECT 1 FROM demand d JOIN workloads w ON w.id = d.workload_id WHERE w.cluster = ? LIMIT 1",
        )
        .bind(&self.cluster)
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }

    /// The database's size in bytes (pages in use).
    pub async fn size_bytes(&self) -> sqlx::Result<i64> {
        let pages: i64 = sqlx::query("PRAGMA page_count").fetch_one(&self.pool).await?.get(0);
        let size: i64 = sqlx::query("PRAGMA page_size").fetch_one(&self.pool).await?.get(0);
        Ok(pages * size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every statement maintenance runs finds its rows by a primary key or an index, workload
    /// first. One that scans a whole table holds the write lock for the whole scan: seconds
    /// at 10,000 workloads, while edits wait to be audited.
    #[tokio::test]
    async fn maintenance_seeks_rows_and_never_scans_a_table() {
        let dir = std::env::temp_dir().join(format!("paydeck-history-plans-{}", std::process::id()));
        let history = History::open(&dir.join("history.db"), Retention::default()).await.unwrap();
        let mut statements: Vec<(String, usize)> =
            history.expiry(0).into_iter().map(|(s, v)| (s, v.len())).collect();
        statements.push((rollup_sql("samples"), 3));
        statements.push((rollup_sql("rollups"), 3));
        for (sql, values) in statements {
            let mut plan =
                sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"))).bind(1).bind(200);
            for _ in 0..values {
                plan = plan.bind(0);
            }
            let steps: Vec<String> = plan
                .fetch_all(history.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>("detail"))
                .collect();
            assert!(steps.iter().all(|s| !s.starts_with("SCAN")), "{sql}\nscans: {steps:?}");
            assert!(
                steps.iter().any(|s| s.starts_with("SEARCH") && s.contains("(workload_id=?")),
                "{sql}\ndoes not seek each workload's rows: {steps:?}"
            );
        }
        history.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
