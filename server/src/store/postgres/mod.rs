//! The PostgreSQL store: history on a database server, for installs whose database team runs
//! one (and, later, for several Paydeck replicas and clusters sharing it). The same tables as
//! the SQLite store in PostgreSQL's types (`migrations-postgres/`), the same answers: the
//! store's tests run on both.
//!
//! Connections are bounded (a pool of [`MAX_CONNECTIONS`]), every statement has a timeout
//! ([`STATEMENT_TIMEOUT`]), and TLS is as the URL says (`sslmode=verify-full` with
//! `sslrootcert=/path/to/ca.pem` checks the server's certificate and name).

pub mod audit;
mod plans;

pub use audit::PgAudit;
pub use plans::PgPlans;

use std::{collections::HashMap, future::Future, pin::Pin, str::FromStr, time::Duration};

use app::dto::{History as HistoryDto, PlatformPoint};
use domain::whatif::Series;
use sqlx::{
    ConnectOptions, Connection, PgPool, Postgres, QueryBuilder,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use tokio::sync::Mutex;

use super::{
    HistoryStore, StoreFuture, decode,
    encode::{self, READING_COLUMNS, SAMPLE_COLUMNS},
    typed,
};
use crate::history::{
    FIVE_MINUTES, ONE_HOUR, PastEvent, Retention, Steps, check_cluster_name,
    demand::{self, Reading, STALE_MS},
    range::{Range, source},
};

/// Connections one Paydeck process holds at most.
pub const MAX_CONNECTIONS: u32 = 8;

/// The longest any statement may run before the server cancels it.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long connecting may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Rows per INSERT (PostgreSQL takes at most 65,535 bound values in one statement).
const ROWS_PER_INSERT: usize = 500;

/// Workloads per rollup or retention statement, each its own transaction.
const WORKLOADS_PER_CHUNK: i64 = 500;

/// One cluster's history on a PostgreSQL server.
pub struct PgHistory {
    pool: PgPool,
    cluster: String,
    retention: Retention,
    ids: Mutex<HashMap<(String, String), i64>>,
    /// Held while rollups are made and while samples are written or forgotten, as on SQLite.
    rolling: std::sync::Arc<Mutex<()>>,
    /// Whether this handle runs rollups and retention (see the SQLite store's).
    maintains: bool,
    /// The platform's sums as last read per namespace.
    platform: super::platform_cache::PlatformCache,
    /// The term what only the leader writes carries (see [`super::fence`]).
    fence: std::sync::OnceLock<super::Fence>,
}

/// Whether `term` (if any) is the newest its lease was issued, read `FOR SHARE` inside the
/// writing transaction: a new term's claim waits for this transaction to end, so it cannot
/// commit between the check and the write.
async fn term_is_newest(conn: &mut sqlx::PgConnection, term: Option<&super::Term>) -> sqlx::Result<bool> {
    let Some(term) = term else { return Ok(true) };
    let newest: Option<i64> = sqlx::query_scalar("SELECT term FROM leadership WHERE lease = $1 FOR SHARE")
        .bind(&term.lease)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(newest == Some(term.number))
}

/// Where a URL points, for messages: `host:port/database`, never the password.
fn place(options: &PgConnectOptions) -> String {
    format!("{}:{}/{}", options.get_host(), options.get_port(), options.get_database().unwrap_or("postgres"))
}

/// Connects to the server at `url` (`postgres://user@host:port/db?sslmode=verify-full&…`),
/// bounded and with the statement timeout, and, when `migrate`, brings the schema up to
/// date. An unreachable server, a refused login or a certificate that does not verify is an
/// error naming the server and the cause.
pub async fn connect(url: &str, migrate: bool) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| anyhow::anyhow!("the PostgreSQL URL is not one ({e})"))?
        .application_name("paydeck")
        .options([("statement_timeout", format!("{}ms", STATEMENT_TIMEOUT.as_millis()))]);
    let at = place(&options);
    // One connection first, for the cause of a failure: a pool would retry until its
    // timeout and report only that it timed out.
    let first = tokio::time::timeout(CONNECT_TIMEOUT, options.connect())
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "cannot reach the PostgreSQL server at {at}: no answer within {CONNECT_TIMEOUT:?}"
            )
        })?
        .map_err(|e| anyhow::anyhow!("cannot reach the PostgreSQL server at {at}: {e}"))?;
    first.close().await.ok();
    // A request waits no longer for a connection than an edit waits for the audit log: a
    // server lost while Paydeck runs is reported within seconds, not after the connect timeout.
    let pool = PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(super::AUDIT_WAIT)
        .connect_with(options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the PostgreSQL server at {at}: {e}"))?;
    if migrate && !up_to_date(&pool).await? {
        MIGRATIONS
            .run(&pool)
            .await
            .map_err(|e| anyhow::anyhow!("cannot bring the PostgreSQL schema at {at} up to date: {e}"))?;
    }
    Ok(pool)
}

/// The schema's migrations (`migrations-postgres/`).
static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations-postgres");

/// Whether every migration has been applied already. Then nothing is run: a role that may
/// not create tables (docs/deploying.md's role without rights to change the audit log) starts once
/// an owning role has brought the schema up to date (`paydeck migrate-store`).
async fn up_to_date(pool: &PgPool) -> anyhow::Result<bool> {
    let present: bool =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(pool).await?;
    if !present {
        return Ok(false);
    }
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(pool).await?;
    Ok(MIGRATIONS.iter().all(|m| applied.contains(&m.version)))
}

/// Where a pool's server is, for messages: `host:port/database`.
pub fn pool_place(pool: &PgPool) -> String {
    place(&pool.connect_options())
}

impl PgHistory {
    /// Connects to the server at `url` as `cluster`'s history (see [`connect`]).
    pub async fn connect(url: &str, retention: Retention, cluster: &str) -> anyhow::Result<Self> {
        check_cluster_name(cluster).map_err(anyhow::Error::msg)?;
        Ok(Self::on(connect(url, true).await?, retention, cluster))
    }

    /// `cluster`'s history on `pool`, whose schema is up to date.
    pub fn on(pool: PgPool, retention: Retention, cluster: &str) -> Self {
        PgHistory {
            pool,
            cluster: cluster.to_string(),
            retention,
            ids: Mutex::new(HashMap::new()),
            rolling: Default::default(),
            maintains: true,
            platform: Default::default(),
            fence: std::sync::OnceLock::new(),
        }
    }

    /// The pool, for tests that read the tables themselves.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The id of a workload, creating its row the first time.
    async fn workload_id(
        &self,
        conn: &mut sqlx::PgConnection,
        namespace: &str,
        name: &str,
    ) -> sqlx::Result<i64> {
        let key = (namespace.to_string(), name.to_string());
        if let Some(id) = self.ids.lock().await.get(&key) {
            return Ok(*id);
        }
        sqlx::query(
            "INSERT INTO workloads (cluster, namespace, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(&self.cluster)
        .bind(namespace)
        .bind(name)
        .execute(&mut *conn)
        .await?;
        let id: i64 = sqlx::query_scalar(
            "SELECT id FROM workloads WHERE cluster = $1 AND namespace = $2 AND name = $3",
        )
        .bind(&self.cluster)
        .bind(namespace)
        .bind(name)
        .fetch_one(&mut *conn)
        .await?;
        self.ids.lock().await.insert(key, id);
        Ok(id)
    }

    async fn find_workload(&self, namespace: &str, name: &str) -> sqlx::Result<Option<i64>> {
        sqlx::query_scalar("SELECT id FROM workloads WHERE cluster = $1 AND namespace = $2 AND name = $3")
            .bind(&self.cluster)
            .bind(namespace)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
    }

    fn fence(&self) -> &super::Fence {
        static UNFENCED: super::Fence = super::Fence::unfenced();
        self.fence.get().unwrap_or(&UNFENCED)
    }

    /// Writes `steps` under `term`: `false`, and nothing written, when it is not the newest.
    async fn write_steps_now(
        &self,
        term: Option<&super::Term>,
        steps: &Steps,
        events: &[PastEvent],
    ) -> sqlx::Result<bool> {
        let _rolling = self.rolling.lock().await;
        let mut tx = self.pool.begin().await?;
        if !term_is_newest(&mut tx, term).await? {
            return Ok(false);
        }
        let mut ids = Vec::with_capacity(steps.workloads.len());
        for (namespace, name) in &steps.workloads {
            ids.push(self.workload_id(&mut tx, namespace, name).await?);
        }
        for e in events {
            let id = self.workload_id(&mut tx, &e.namespace, &e.name).await?;
            sqlx::query("INSERT INTO events (workload_id, at_ms, kind, message) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(e.at_ms)
                .bind(e.kind)
                .bind(&e.message)
                .execute(&mut *tx)
                .await?;
        }
        // One row per key, the later of two for one moment (as SQLite's INSERT OR REPLACE
        // keeps): PostgreSQL refuses a statement that updates one row twice.
        let samples = last_per_key(
            steps.steps.iter().flat_map(|(at_ms, s)| s.iter().map(|(i, f)| ((ids[*i], *at_ms), f))).collect(),
        );
        for chunk in samples.chunks(ROWS_PER_INSERT) {
            let mut q = QueryBuilder::<Postgres>::new(format!("INSERT INTO samples ({SAMPLE_COLUMNS}) "));
            encode::push_samples(&mut q, chunk);
            q.push(
                " ON CONFLICT (workload_id, at_ms) DO UPDATE SET replicas_desired = EXCLUDED.replicas_desired, \
                 replicas_ready = EXCLUDED.replicas_ready, hpa_min = EXCLUDED.hpa_min, hpa_max = EXCLUDED.hpa_max, \
                 hpa_cpu_target = EXCLUDED.hpa_cpu_target, cpu_requests = EXCLUDED.cpu_requests, \
                 cpu_limits = EXCLUDED.cpu_limits, cpu_usage = EXCLUDED.cpu_usage, \
                 memory_requests = EXCLUDED.memory_requests, memory_limits = EXCLUDED.memory_limits, \
                 memory_usage = EXCLUDED.memory_usage, request_rate = EXCLUDED.request_rate",
            );
            q.build().execute(&mut *tx).await?;
        }
        let readings = last_per_key(
            steps.readings.iter().map(|(i, r)| ((ids[*i], r.at_ms.div_euclid(1000)), r)).collect(),
        );
        for chunk in readings.chunks(ROWS_PER_INSERT) {
            let mut q = QueryBuilder::<Postgres>::new(format!("INSERT INTO demand ({READING_COLUMNS}) "));
            encode::push_readings(&mut q, chunk);
            q.push(
                " ON CONFLICT (workload_id, at_s) DO UPDATE SET cpu_m = EXCLUDED.cpu_m, memory_mib = EXCLUDED.memory_mib, \
                 rate_c = EXCLUDED.rate_c, ready = EXCLUDED.ready, desired = EXCLUDED.desired, window_s = EXCLUDED.window_s",
            );
            q.build().execute(&mut *tx).await?;
        }
        let decisions = last_per_key(
            steps.decisions.iter().map(|(i, d)| ((ids[*i], d.at_ms.div_euclid(1000)), d.replicas)).collect(),
        );
        for chunk in decisions.chunks(ROWS_PER_INSERT) {
            let mut q =
                QueryBuilder::<Postgres>::new("INSERT INTO scale_decisions (workload_id, at_s, replicas) ");
            q.push_values(chunk, |mut row, ((id, at_s), replicas)| {
                row.push_bind(*id).push_bind(*at_s).push_bind(i64::from(*replicas));
            });
            q.push(" ON CONFLICT (workload_id, at_s) DO UPDATE SET replicas = EXCLUDED.replicas");
            q.build().execute(&mut *tx).await?;
        }
        // Samples stamped before the rollups already made have their buckets made again.
        if let Some(earliest) = steps.steps.iter().map(|(at_ms, _)| *at_ms).min() {
            roll_up_again_from(&mut tx, earliest).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn maintain_now(&self, now_ms: i64) -> sqlx::Result<()> {
        self.roll_up(FIVE_MINUTES, now_ms).await?;
        self.platform.rolled_up();
        self.roll_up(ONE_HOUR, now_ms).await?;
        let cut = |d: Duration| now_ms - d.as_millis() as i64;
        let r = &self.retention;
        let rollups = "DELETE FROM rollups WHERE workload_id BETWEEN $1 AND $2 AND resolution_ms = $3 AND bucket_ms < $4";
        let expiry: [(&str, Vec<i64>); 6] = [
            ("DELETE FROM samples WHERE workload_id BETWEEN $1 AND $2 AND at_ms < $3", vec![cut(r.raw)]),
            (rollups, vec![FIVE_MINUTES, cut(r.five_minutes)]),
            (rollups, vec![ONE_HOUR, cut(r.hourly)]),
            (
                "DELETE FROM demand WHERE workload_id BETWEEN $1 AND $2 AND at_s < $3",
                vec![cut(r.demand) / 1000],
            ),
            (
                "DELETE FROM scale_decisions WHERE workload_id BETWEEN $1 AND $2 AND at_s < $3",
                vec![cut(r.demand) / 1000],
            ),
            // Events are marked on charts as long as any history of their time is kept.
            ("DELETE FROM events WHERE workload_id BETWEEN $1 AND $2 AND at_ms < $3", vec![cut(r.hourly)]),
        ];
        for (sql, values) in expiry {
            self.per_chunk(sql, &values).await?;
        }
        Ok(())
    }

    /// Runs `sql` over the workloads with ids from $1 to $2, a chunk of them at a time, each
    /// chunk its own statement, with `values` as $3 on: every statement seeks by the primary
    /// key (workload first), and no transaction holds rows for long.
    async fn per_chunk(&self, sql: &str, values: &[i64]) -> sqlx::Result<()> {
        let Some(last): Option<i64> =
            sqlx::query_scalar("SELECT MAX(id) FROM workloads").fetch_one(&self.pool).await?
        else {
            return Ok(());
        };
        let mut first = 1;
        while first <= last {
            // Assembled from constants only; every value is bound.
            let mut statement = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .bind(first)
                .bind(first + WORKLOADS_PER_CHUNK - 1);
            for value in values {
                statement = statement.bind(*value);
            }
            statement.execute(&self.pool).await?;
            first += WORKLOADS_PER_CHUNK;
        }
        Ok(())
    }

    /// Rolls raw samples (for five minutes) or the five-minute rollups (for hours) up into
    /// buckets of `resolution`, from where the last pass stopped to the last complete bucket.
    async fn roll_up(&self, resolution: i64, now_ms: i64) -> sqlx::Result<()> {
        let _rolling = self.rolling.lock().await;
        let until = now_ms.div_euclid(resolution) * resolution;
        let done: Option<i64> =
            sqlx::query_scalar("SELECT done_until_ms FROM rollup_progress WHERE resolution_ms = $1")
                .bind(resolution)
                .fetch_optional(&self.pool)
                .await?;
        let from = done.unwrap_or(0);
        if from >= until {
            return Ok(());
        }
        self.per_chunk(&rollup_sql(resolution), &[resolution, from, until]).await?;
        sqlx::query(
            "INSERT INTO rollup_progress (resolution_ms, done_until_ms) VALUES ($1, $2) \
             ON CONFLICT (resolution_ms) DO UPDATE SET done_until_ms = EXCLUDED.done_until_ms",
        )
        .bind(resolution)
        .bind(until)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn forget_after_now(&self, term: Option<&super::Term>, now_ms: i64) -> sqlx::Result<Option<u64>> {
        // Only this cluster's rows: another cluster sharing the database keeps its own clock.
        const OURS: &str = "workload_id IN (SELECT id FROM workloads WHERE cluster = $2)";
        let _rolling = self.rolling.lock().await;
        let mut tx = self.pool.begin().await?;
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
                "DELETE FROM {table} WHERE {column} > $1 AND {OURS}"
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
            "DELETE FROM rollups WHERE bucket_ms >= ($1 / resolution_ms) * resolution_ms AND {OURS}"
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

    async fn history_now(
        &self,
        namespace: &str,
        name: &str,
        range: Range,
        sample_interval_ms: i64,
        now_ms: i64,
    ) -> sqlx::Result<Option<HistoryDto>> {
        let Some(id) = self.find_workload(namespace, name).await? else { return Ok(None) };
        let step = range.step(sample_interval_ms);
        let (source_name, resolution) = source(&self.retention, &range, step, now_ms);
        let sql = if resolution == 0 {
            format!(
                "SELECT (at_ms - $2) / $3 AS b, {} FROM samples WHERE workload_id = $1 AND at_ms >= $2 AND at_ms < $4 GROUP BY b",
                sample_aggregates()
            )
        } else {
            format!(
                "SELECT (bucket_ms - $2) / $3 AS b, {} FROM rollups \
                 WHERE workload_id = $1 AND resolution_ms = {resolution} AND bucket_ms >= $2 AND bucket_ms < $4 GROUP BY b",
                rollup_aggregates()
            )
        };
        // Assembled from constants only; every value is bound.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(range.from_ms)
            .bind(step)
            .bind(range.to_ms)
            .fetch_all(&self.pool)
            .await?;
        let events = sqlx::query(
            "SELECT at_ms, kind, message FROM events WHERE workload_id = $1 AND at_ms >= $2 AND at_ms < $3 \
             ORDER BY at_ms, id LIMIT 500",
        )
        .bind(id)
        .bind(range.from_ms)
        .bind(range.to_ms)
        .fetch_all(&self.pool)
        .await?;
        let simulated_until_ms = self.simulated_until_now().await?;
        Ok(Some(decode::history(&range, step, source_name, &rows, &events, simulated_until_ms)))
    }

    async fn demand_now(
        &self,
        namespace: &str,
        name: &str,
        (from_ms, to_ms): (i64, i64),
        requests: (f64, f64),
        phase_hint_ms: Option<i64>,
    ) -> sqlx::Result<Option<Series>> {
        let Some(id) = self.find_workload(namespace, name).await? else { return Ok(None) };
        let readings: Vec<Reading> = sqlx::query(
            "SELECT at_s, cpu_m, memory_mib, rate_c, ready, desired FROM demand \
             WHERE workload_id = $1 AND at_s >= $2 AND at_s < $3 ORDER BY at_s",
        )
        .bind(id)
        .bind((from_ms - STALE_MS).div_euclid(1000))
        .bind(to_ms.div_euclid(1000) + 1)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(decode::reading)
        .collect();
        let decisions: Vec<(i64, i64)> = sqlx::query(
            "SELECT at_s, replicas FROM scale_decisions WHERE workload_id = $1 AND at_s >= $2 AND at_s < $3 ORDER BY at_s",
        )
        .bind(id)
        .bind(from_ms.div_euclid(1000))
        .bind(to_ms.div_euclid(1000) + 1)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(decode::decision)
        .collect();
        let before: Option<(i64, i64)> = sqlx::query(
            "SELECT at_s, replicas FROM scale_decisions WHERE workload_id = $1 AND at_s < $2 ORDER BY at_s DESC LIMIT 1",
        )
        .bind(id)
        .bind(from_ms.div_euclid(1000))
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(decode::decision);
        Ok(Some(demand::at_syncs(&readings, decisions, before, (from_ms, to_ms), requests, phase_hint_ms)))
    }

    /// Per 5-minute bucket in `[from_ms, to_ms)`: the sums over the workloads (of one
    /// namespace, when given) of their averages, oldest first.
    async fn platform_between(
        &self,
        namespace: Option<&str>,
        from_ms: i64,
        to_ms: i64,
    ) -> sqlx::Result<Vec<PlatformPoint>> {
        let rows = sqlx::query(
            "SELECT r.bucket_ms, SUM(r.request_rate_avg), SUM(r.replicas_desired_avg), SUM(r.replicas_ready_avg), \
             SUM(r.cpu_requests), SUM(r.cpu_usage_avg), SUM(r.memory_requests), SUM(r.memory_usage_avg) \
             FROM rollups r JOIN workloads w ON w.id = r.workload_id \
             WHERE w.cluster = $1 AND r.resolution_ms = $2 AND r.bucket_ms >= $3 AND r.bucket_ms < $4 \
             AND ($5::TEXT IS NULL OR w.namespace = $5) \
             GROUP BY r.bucket_ms ORDER BY r.bucket_ms",
        )
        .bind(&self.cluster)
        .bind(FIVE_MINUTES)
        .bind(from_ms)
        .bind(to_ms)
        .bind(namespace)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(decode::platform_point).collect())
    }

    async fn simulated_until_now(&self) -> sqlx::Result<Option<i64>> {
        sqlx::query_scalar("SELECT until_ms FROM simulated_past").fetch_optional(&self.pool).await
    }
}

/// The entries of `rows` sorted by key, the last of each key kept.
fn last_per_key<K: Ord + Copy, V>(mut rows: Vec<(K, V)>) -> Vec<(K, V)> {
    rows.reverse();
    // Stable: of equal keys, the one written last comes first now, and is the one kept.
    rows.sort_by_key(|(k, _)| *k);
    rows.dedup_by_key(|(k, _)| *k);
    rows
}

/// Marks the rollups from the bucket holding `at_ms` on as not made yet.
async fn roll_up_again_from(conn: &mut sqlx::PgConnection, at_ms: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE rollup_progress SET done_until_ms = ($1 / resolution_ms) * resolution_ms WHERE done_until_ms > $1",
    )
    .bind(at_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// The figures of a group of raw samples, in the column order of `rollups` (as on SQLite).
fn sample_aggregates() -> &'static str {
    "MIN(replicas_desired)::FLOAT8, AVG(replicas_desired)::FLOAT8, MAX(replicas_desired)::FLOAT8, \
     MIN(replicas_ready)::FLOAT8, AVG(replicas_ready)::FLOAT8, MAX(replicas_ready)::FLOAT8, \
     MIN(cpu_usage), AVG(cpu_usage), MAX(cpu_usage), \
     MIN(memory_usage), AVG(memory_usage), MAX(memory_usage), \
     MIN(request_rate), AVG(request_rate), MAX(request_rate), \
     AVG(cpu_requests), AVG(cpu_limits), AVG(memory_requests), AVG(memory_limits), \
     AVG(hpa_min)::FLOAT8, AVG(hpa_max)::FLOAT8, AVG(hpa_cpu_target)::FLOAT8"
}

/// The same figures for a group of rollup buckets: min of mins, sample-weighted average of
/// averages, max of maxes.
fn rollup_aggregates() -> String {
    let avg = |c: &str| {
        format!("SUM({c}_avg * samples) / NULLIF(SUM(CASE WHEN {c}_avg IS NULL THEN 0 ELSE samples END), 0)")
    };
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

/// The statement rolling raw samples (into five minutes) or five-minute rollups (into
/// hours) up into buckets of $3 from $4 to $5, for the workloads with ids $1 to $2.
fn rollup_sql(resolution: i64) -> String {
    let columns = "workload_id, resolution_ms, bucket_ms, samples, \
        replicas_desired_min, replicas_desired_avg, replicas_desired_max, \
        replicas_ready_min, replicas_ready_avg, replicas_ready_max, \
        cpu_usage_min, cpu_usage_avg, cpu_usage_max, memory_usage_min, memory_usage_avg, memory_usage_max, \
        request_rate_min, request_rate_avg, request_rate_max, cpu_requests, cpu_limits, memory_requests, memory_limits, \
        hpa_min, hpa_max, hpa_cpu_target";
    let updates = columns
        .split(',')
        .map(str::trim)
        .filter(|c| !["workload_id", "resolution_ms", "bucket_ms"].contains(c))
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let select = if resolution == FIVE_MINUTES {
        format!(
            "SELECT workload_id, $3::BIGINT, (at_ms / $3) * $3, COUNT(*), {} FROM samples \
             WHERE workload_id BETWEEN $1 AND $2 AND at_ms >= $4 AND at_ms < $5 GROUP BY workload_id, at_ms / $3",
            sample_aggregates()
        )
    } else {
        format!(
            "SELECT workload_id, $3::BIGINT, (bucket_ms / $3) * $3, SUM(samples), {} FROM rollups \
             WHERE workload_id BETWEEN $1 AND $2 AND resolution_ms = {FIVE_MINUTES} AND bucket_ms >= $4 AND bucket_ms < $5 \
             GROUP BY workload_id, bucket_ms / $3",
            rollup_aggregates()
        )
    };
    format!(
        "INSERT INTO rollups ({columns}) {select} ON CONFLICT (workload_id, resolution_ms, bucket_ms) DO UPDATE SET {updates}"
    )
}

impl HistoryStore for PgHistory {
    fn cluster(&self) -> &str {
        &self.cluster
    }

    fn retention(&self) -> Retention {
        self.retention
    }

    fn for_cluster(&self, cluster: &str) -> std::sync::Arc<dyn HistoryStore> {
        // The rows of every cluster are rolled up by one pass, under one lock.
        std::sync::Arc::new(PgHistory {
            rolling: self.rolling.clone(),
            maintains: false,
            platform: self.platform.sharing_passes(),
            ..PgHistory::on(self.pool.clone(), self.retention, cluster)
        })
    }

    fn set_fence(&self, fence: super::Fence) {
        let _ = self.fence.set(fence);
    }

    fn claim_term<'a>(&'a self, lease: &'a str, holder: &'a str, now_ms: i64) -> StoreFuture<'a, i64> {
        typed(
            sqlx::query_scalar(
                "INSERT INTO leadership (lease, term, holder, since_ms) VALUES ($1, 1, $2, $3) \
                 ON CONFLICT (lease) DO UPDATE SET term = leadership.term + 1, holder = EXCLUDED.holder, \
                 since_ms = EXCLUDED.since_ms RETURNING term",
            )
            .bind(lease)
            .bind(holder)
            .bind(now_ms)
            .fetch_one(&self.pool),
        )
    }

    fn write_steps<'a>(&'a self, steps: &'a Steps, events: &'a [PastEvent]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let term = self.fence().term()?;
            match self.write_steps_now(term.as_ref(), steps, events).await.map_err(super::StoreError::from)? {
                true => Ok(()),
                false => Err(super::fence::superseded(term.as_ref())),
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
        typed(async move {
            let mut conn = self.pool.acquire().await?;
            let id = self.workload_id(&mut conn, namespace, name).await?;
            sqlx::query("INSERT INTO events (workload_id, at_ms, kind, message) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(at_ms)
                .bind(kind)
                .bind(message)
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    }

    fn maintain(&self, now_ms: i64) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.fence().term()?;
            if !self.maintains {
                return Ok(());
            }
            self.maintain_now(now_ms).await.map_err(super::StoreError::from)
        })
    }

    fn forget_after(&self, now_ms: i64) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let term = self.fence().term()?;
            self.forget_after_now(term.as_ref(), now_ms)
                .await
                .map_err(super::StoreError::from)?
                .ok_or_else(|| super::fence::superseded(term.as_ref()))
        })
    }

    fn mark_simulated_until(&self, until_ms: i64) -> StoreFuture<'_, ()> {
        typed(async move {
            sqlx::query(
                "INSERT INTO simulated_past (single, until_ms) VALUES (TRUE, $1) \
                 ON CONFLICT (single) DO UPDATE SET until_ms = EXCLUDED.until_ms",
            )
            .bind(until_ms)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    fn simulated_until(&self) -> StoreFuture<'_, Option<i64>> {
        typed(self.simulated_until_now())
    }

    fn has_samples(&self) -> StoreFuture<'_, bool> {
        typed(async move {
            // This cluster's: a fleet's clusters share the database, each recorded for itself.
            Ok(sqlx::query(
                "SELECT 1 FROM demand d JOIN workloads w ON w.id = d.workload_id WHERE w.cluster = $1 LIMIT 1",
            )
            .bind(&self.cluster)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
        })
    }

    fn size_bytes(&self) -> StoreFuture<'_, i64> {
        typed(async move {
            sqlx::query_scalar(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND c.relkind = 'r'",
            )
            .fetch_one(&self.pool)
            .await
        })
    }

    fn history<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        range: Range,
        sample_interval_ms: i64,
        now_ms: i64,
    ) -> StoreFuture<'a, Option<HistoryDto>> {
        typed(self.history_now(namespace, name, range, sample_interval_ms, now_ms))
    }

    fn demand<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        span_ms: (i64, i64),
        requests: (f64, f64),
        phase_hint_ms: Option<i64>,
    ) -> StoreFuture<'a, Option<Series>> {
        typed(self.demand_now(namespace, name, span_ms, requests, phase_hint_ms))
    }

    fn platform_recent<'a>(
        &'a self,
        namespace: Option<&'a str>,
        range_ms: i64,
        now_ms: i64,
    ) -> StoreFuture<'a, Vec<PlatformPoint>> {
        // A day's worth of buckets is kept; the window is cut at each answer.
        typed(self.platform.recent(namespace, range_ms, now_ms, move |from_ms| {
            self.platform_between(namespace, from_ms, i64::MAX)
        }))
    }

    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.pool.close())
    }
}
