//! History at fleet size: `make bench-history`. Writes through Paydeck's own history code
//! into each store — a real SQLite file (under `target/bench-history`) and a real PostgreSQL
//! server the bench starts as the tests do — and prints, for each, then side by side:
//! - the database's size per workload-day over 30 generated days (workloads sampled every
//!   15 s, rolled up and expired as the sampler does), and what that makes at 10,000;
//! - at 10,000 workloads: the sampler's CPU per 15-s batch (target ≤ 5 % of one core), how
//!   long each maintenance pass (rollups and retention) runs, and the longest any other write
//!   (an event, as an audit append would) waits while it runs (target ≤ 100 ms);
//! - the 30-day chart query on the 30-day database (target p99 ≤ 50 ms).
//!
//! `BENCH_HISTORY_STORE=sqlite|postgres` measures one store only; `BENCH_HISTORY_WORKLOADS`
//! (default 100) sizes the 30-day database; `BENCH_HISTORY_HOURS` (default 5) the past the
//! fleet's maintenance passes work over.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use paydeck::history::{Figures, ReadingRow, Retention, Steps, query};
use paydeck::store::{HistoryStore, postgres::PgHistory, sqlite::History};
use sqlx::Row;
use tokio::sync::Mutex;

#[path = "support/figures.rs"]
mod figures;
use figures::{cpu_seconds, percentile, verdict};

// The tests' PostgreSQL server: initdb in a temporary folder, a free port, stopped at exit.
#[allow(dead_code)]
#[path = "../tests/integration/postgres.rs"]
mod postgres;

const STEP_MS: i64 = 15_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const FLEET: usize = 10_000;

fn main() -> anyhow::Result<()> {
    let workloads: usize = match std::env::var("BENCH_HISTORY_WORKLOADS") {
        Ok(s) => s
            .parse()
            .ok()
            .filter(|n| (1..=FLEET).contains(n))
            .ok_or_else(|| anyhow::anyhow!("BENCH_HISTORY_WORKLOADS must be 1 to {FLEET}, not {s:?}"))?,
        Err(_) => 100,
    };
    let dir = PathBuf::from("target/bench-history");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let only: Option<String> = std::env::var("BENCH_HISTORY_STORE").ok();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut measured = Vec::new();
    rt.block_on(async {
        let end = (now_ms() / HOUR_MS) * HOUR_MS;
        for kind in [Kind::Sqlite, Kind::Postgres] {
            if only.as_deref().is_some_and(|o| o != kind.name()) {
                continue;
            }
            println!("#### {}", kind.title());
            let mut m = Measured { kind, ..Measured::default() };
            let sized = Kept::open(kind, &dir, "thirty_days", Retention::default()).await?;
            size_over_thirty_days(&sized, workloads, end, &mut m).await?;
            chart_query(&sized, workloads, end, &mut m).await?;
            sized.close().await;
            let fleet = Kept::open(kind, &dir, "fleet", short_retention()).await?;
            maintenance_at_fleet_size(&fleet, end, &mut m).await?;
            fleet.close().await;
            measured.push(m);
        }
        anyhow::Ok(())
    })?;
    side_by_side(&measured, workloads);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// Which store a run measures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
enum Kind {
    #[default]
    Sqlite,
    Postgres,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Kind::Sqlite => "SQLite (a file beside Paydeck)",
            Kind::Postgres => "PostgreSQL (a server on this machine, over TCP)",
        }
    }
}

/// A store under measurement, with what only its kind can tell (its size, its tables).
enum Kept {
    Sqlite(Arc<History>),
    Postgres(Arc<PgHistory>),
}

impl Kept {
    async fn open(kind: Kind, dir: &Path, name: &str, retention: Retention) -> anyhow::Result<Kept> {
        Ok(match kind {
            Kind::Sqlite => {
                Kept::Sqlite(Arc::new(History::open(&dir.join(format!("{name}.db")), retention).await?))
            }
            Kind::Postgres => {
                let url = postgres::server().database(name).await;
                Kept::Postgres(Arc::new(PgHistory::connect(&url, retention, "default").await?))
            }
        })
    }

    fn store(&self) -> &dyn HistoryStore {
        match self {
            Kept::Sqlite(h) => h.as_ref(),
            Kept::Postgres(h) => h.as_ref(),
        }
    }

    fn shared(&self) -> Arc<dyn HistoryStore> {
        match self {
            Kept::Sqlite(h) => h.clone(),
            Kept::Postgres(h) => h.clone(),
        }
    }

    /// Bytes the data takes: SQLite's pages in use (the file keeps freed pages for reuse)
    /// after the WAL is checkpointed; PostgreSQL's tables and indexes after a VACUUM.
    async fn bytes_in_use(&self) -> anyhow::Result<i64> {
        match self {
            Kept::Sqlite(history) => {
                let pool = history.pool();
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await?;
                let free: i64 = sqlx::query("PRAGMA freelist_count").fetch_one(pool).await?.get(0);
                let page: i64 = sqlx::query("PRAGMA page_size").fetch_one(pool).await?.get(0);
                Ok(history.size_bytes().await? - free * page)
            }
            Kept::Postgres(history) => {
                sqlx::query("VACUUM").execute(history.pool()).await?;
                Ok(sqlx::query_scalar(
                    "SELECT SUM(pg_total_relation_size(relid))::BIGINT FROM pg_stat_user_tables",
                )
                .fetch_one(history.pool())
                .await?)
            }
        }
    }

    async fn count(&self, table: &str) -> anyhow::Result<i64> {
        // Assembled from the bench's own table names.
        let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
        Ok(match self {
            Kept::Sqlite(h) => sqlx::query_scalar(sql).fetch_one(h.pool()).await?,
            Kept::Postgres(h) => sqlx::query_scalar(sql).fetch_one(h.pool()).await?,
        })
    }

    /// The five largest tables and indexes.
    async fn largest(&self) -> anyhow::Result<Vec<(String, i64)>> {
        Ok(match self {
            Kept::Sqlite(h) => {
                sqlx::query_as("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 5")
                    .fetch_all(h.pool())
                    .await?
            }
            Kept::Postgres(h) => {
                sqlx::query_as(
                    "SELECT relname::TEXT, pg_relation_size(oid) FROM pg_class WHERE relnamespace = 'public'::regnamespace \
                     ORDER BY 2 DESC LIMIT 5",
                )
                .fetch_all(h.pool())
                .await?
            }
        })
    }

    async fn close(&self) {
        self.store().close().await;
    }
}

/// CPU seconds the PostgreSQL server's processes have used (they do the store's work outside
/// this process).
fn server_cpu_seconds() -> f64 {
    let mut ticks = 0.0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        if !stat.contains("(postgres)") {
            continue;
        }
        let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
        ticks += fields.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
            + fields.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    }
    ticks / 100.0
}

/// What one store measured, for the table at the end.
#[derive(Default)]
struct Measured {
    kind: Kind,
    kb_per_workload_day: f64,
    chart_p99_ms: f64,
    sampler_share: f64,
    server_share: f64,
    pass_p50_ms: f64,
    pass_longest_ms: f64,
    wait_p99_ms: f64,
    wait_longest_ms: f64,
}

fn side_by_side(measured: &[Measured], workloads: usize) {
    if measured.is_empty() {
        return;
    }
    println!();
    println!("== the stores side by side (sizes from {workloads} workloads; the rest at {FLEET})");
    let header: Vec<String> = measured.iter().map(|m| format!("{:>16}", m.kind.name())).collect();
    println!("  {:<44}{} {:>10}", "", header.join(""), "target");
    let row =
        |what: &str, cell: &dyn Fn(&Measured) -> String, target: &str, ok: &dyn Fn(&Measured) -> bool| {
            let cells: Vec<String> = measured.iter().map(|m| format!("{:>16}", cell(m))).collect();
            let verdicts: Vec<&str> = measured.iter().map(|m| verdict(ok(m))).collect();
            println!("  {what:<44}{} {target:>10} {}", cells.join(""), verdicts.join(" / "));
        };
    row("sampler CPU, Paydeck (% of a core)", &|m| format!("{:.2} %", m.sampler_share), "≤ 5 %", &|m| {
        m.sampler_share <= 5.0
    });
    row(
        "  the database server's CPU besides",
        &|m| {
            if m.kind == Kind::Postgres { format!("{:.2} %", m.server_share) } else { "(in Paydeck)".into() }
        },
        "—",
        &|_| true,
    );
    row(
        "maintenance pass p50 / longest (ms)",
        &|m| format!("{:.0} / {:.0}", m.pass_p50_ms, m.pass_longest_ms),
        "≤ 60 s",
        &|m| m.pass_longest_ms <= 60_000.0,
    );
    row(
        "another write during a pass p99 / longest (ms)",
        &|m| format!("{:.1} / {:.1}", m.wait_p99_ms, m.wait_longest_ms),
        "≤ 100 ms",
        &|m| m.wait_longest_ms <= 100.0,
    );
    row("30-day chart query p99 (ms)", &|m| format!("{:.1}", m.chart_p99_ms), "≤ 50 ms", &|m| {
        m.chart_p99_ms <= 50.0
    });
    row("bytes per workload-day (KB)", &|m| format!("{:.0}", m.kb_per_workload_day), "—", &|_| true);
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn names(count: usize) -> Vec<(String, String)> {
    (0..count).map(|i| (format!("team-{:03}", i / 20), format!("service-{i:05}"))).collect()
}

/// A workload's figures at a moment: a daily cycle of load, replicas following it, steady
/// requests and limits, and some noise, so that values vary as real ones do.
fn figures(workload: usize, at_ms: i64) -> Figures {
    let day = (at_ms % DAY_MS) as f64 / DAY_MS as f64;
    let load = 0.5 - 0.4 * (day * std::f64::consts::TAU).cos();
    let noise =
        ((at_ms / STEP_MS) as u64).wrapping_mul(2_654_435_761).wrapping_add(workload as u64 * 97) % 1000;
    let noise = noise as f64 / 1000.0 - 0.5;
    let base = 2 + (workload % 5) as i32;
    let replicas = base + (load * 8.0).round() as i32;
    let per_pod = 0.25 + 0.05 * (workload % 4) as f64;
    Figures {
        replicas_desired: replicas,
        replicas_ready: replicas - i32::from(noise > 0.45),
        hpa_min: Some(base),
        hpa_max: Some(base + 10),
        hpa_cpu_target: Some(70),
        cpu_requests: per_pod * replicas as f64,
        cpu_limits: Some(2.0 * per_pod * replicas as f64),
        cpu_usage: Some(per_pod * replicas as f64 * (0.55 + 0.2 * load + 0.1 * noise)),
        memory_requests: 268_435_456.0 * replicas as f64,
        memory_limits: Some(536_870_912.0 * replicas as f64),
        memory_usage: Some(201_326_592.0 * replicas as f64 * (1.0 + 0.05 * noise)),
        request_rate: Some(40.0 * replicas as f64 * (0.9 + 0.2 * load + 0.1 * noise)),
    }
}

/// The steps from `from_ms` (inclusive) to `to_ms` (exclusive), every workload in each, with a
/// metrics reading per workload per step (metrics-server's 15 s, taken a little before).
fn steps(names: &[(String, String)], from_ms: i64, to_ms: i64) -> Steps {
    let steps: Vec<(i64, Vec<(usize, Figures)>)> = (from_ms..to_ms)
        .step_by(STEP_MS as usize)
        .map(|at| (at, (0..names.len()).map(|w| (w, figures(w, at))).collect()))
        .collect();
    let readings = steps
        .iter()
        .flat_map(|(at, figures)| {
            figures.iter().map(move |(w, f)| {
                let reading = ReadingRow {
                    at_ms: at - 3_000,
                    window_ms: 15_000,
                    cpu_millis: (f.cpu_usage.unwrap_or(0.0) * 1000.0).ceil() as i64,
                    memory_bytes: f.memory_usage.unwrap_or(0.0),
                    request_rate: f.request_rate,
                    ready: f.replicas_ready,
                    desired: f.replicas_desired,
                };
                (*w, reading)
            })
        })
        .collect();
    Steps { workloads: names.to_vec(), steps, readings, decisions: Vec::new() }
}

async fn size_over_thirty_days(
    kept: &Kept,
    workloads: usize,
    end: i64,
    m: &mut Measured,
) -> anyhow::Result<()> {
    println!("== size: {workloads} workloads sampled every 15 s for 30 generated days, default retention");
    let history = kept.store();
    let names = names(workloads);
    let started = Instant::now();
    let start = end - 30 * DAY_MS;
    let mut at_day_15 = 0;
    for hour in 0..30 * 24 {
        let from = start + hour * HOUR_MS;
        history.write_steps(&steps(&names, from, from + HOUR_MS), &[]).await?;
        // The sampler maintains every minute; an hour's passes at once leave the same rows.
        history.maintain(from + HOUR_MS).await?;
        if hour + 1 == 15 * 24 {
            at_day_15 = kept.bytes_in_use().await?;
        }
    }
    let total = kept.bytes_in_use().await?;
    let per_day = total as f64 / (workloads * 30) as f64;
    let growth = (total - at_day_15) as f64 / (workloads * 15) as f64;
    let mut counts = Vec::new();
    for table in ["samples", "demand", "rollups", "events"] {
        counts.push(format!("{table} {}", kept.count(table).await?));
    }
    println!("  written in {:.0} s; rows kept: {}", started.elapsed().as_secs_f64(), counts.join(", "));
    let tables = kept.largest().await?;
    let tables: Vec<String> =
        tables.iter().map(|(name, bytes)| format!("{name} {:.1} MB", *bytes as f64 / 1e6)).collect();
    println!("  largest tables and indexes: {}", tables.join(", "));
    println!(
        "  database: {:.1} MB in use, {:.1} KB per workload-day over 30 days; growth from day 15 to 30: {:.1} KB per workload-day",
        total as f64 / 1e6,
        per_day / 1e3,
        growth / 1e3
    );
    println!(
        "  at {FLEET} workloads: {:.1} GB after 30 days, then {:.0} MB a day until the hourly rollups' 400 days are full",
        per_day * (FLEET * 30) as f64 / 1e9,
        growth * FLEET as f64 / 1e6
    );
    m.kb_per_workload_day = per_day / 1e3;
    Ok(())
}

async fn chart_query(kept: &Kept, workloads: usize, end: i64, m: &mut Measured) -> anyhow::Result<()> {
    let history = kept.store();
    let names = names(workloads);
    let mut latencies = Vec::new();
    for i in 0..100 {
        let (namespace, name) = &names[i % workloads];
        let range = query::Range::new(Some(end - 30 * DAY_MS), Some(end), Some(300), end)
            .map_err(anyhow::Error::msg)?;
        let t = Instant::now();
        let found = history.history(namespace, name, range, STEP_MS, end).await?;
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        let points = found.map(|h| h.points.len()).unwrap_or(0);
        anyhow::ensure!(
            points > 250,
            "the 30-day query of {namespace}/{name} came back with {points} points"
        );
    }
    latencies.sort_by(f64::total_cmp);
    let p99 = percentile(&latencies, 0.99);
    println!(
        "  30-day chart query at 300 points: p50 {:.1} ms, p99 {p99:.1} ms (target ≤ 50 ms) {}",
        percentile(&latencies, 0.5),
        verdict(p99 <= 50.0)
    );
    m.chart_p99_ms = p99;
    Ok(())
}

/// Retention shortened so that, within a few generated hours, every kind of row expires in
/// each pass as it does at the default retention. Each pass's work is what it is at the
/// defaults; the tables are smaller than after weeks (which makes a pass that scans whole
/// tables look better than it is, not worse).
fn short_retention() -> Retention {
    Retention {
        raw: Duration::from_secs(2 * 3600),
        five_minutes: Duration::from_secs(3 * 3600),
        hourly: Duration::from_secs(4 * 3600),
        demand: Duration::from_secs(3 * 3600),
    }
}

async fn maintenance_at_fleet_size(kept: &Kept, end: i64, m: &mut Measured) -> anyhow::Result<()> {
    // The past the passes work over (BENCH_HISTORY_HOURS, 1 to 24; default 5).
    let generated_hours: i64 = std::env::var("BENCH_HISTORY_HOURS")
        .ok()
        .and_then(|h| h.parse().ok())
        .filter(|h| (1..=24).contains(h))
        .unwrap_or(5);
    const LIVE_MINUTES: i64 = 20;
    println!(
        "== maintenance: {FLEET} workloads, {generated_hours} generated hours, then {LIVE_MINUTES} minutes of 15-s batches with a pass each minute"
    );
    let history = kept.shared();
    let names = names(FLEET);
    let started = Instant::now();
    let live_from = end - LIVE_MINUTES * 60_000;
    let start = live_from - generated_hours * HOUR_MS;
    let mut from = start;
    while from < live_from {
        let to = (from + 10 * 60_000).min(live_from);
        history.write_steps(&steps(&names, from, to), &[]).await?;
        from = to;
        if from % HOUR_MS == 0 {
            history.maintain(from).await?;
        }
    }
    history.maintain(live_from).await?;
    let rows = kept.count("samples").await?;
    println!("  generated in {:.0} s; {rows} raw samples kept", started.elapsed().as_secs_f64());

    // Another writer, as an audit append or an event is: one small write every 20 ms,
    // timed, each tagged with whether maintenance was running when it started.
    let maintaining = Arc::new(AtomicBool::new(false));
    let waits: Arc<Mutex<(Vec<f64>, Vec<f64>)>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let probe = {
        let (history, maintaining, waits, stop) =
            (history.clone(), maintaining.clone(), waits.clone(), stop.clone());
        tokio::spawn(async move {
            let mut at = live_from;
            while !stop.load(Ordering::Relaxed) {
                let during = maintaining.load(Ordering::Relaxed);
                let t = Instant::now();
                at += 1;
                if let Err(e) = history.write_event("team-000", "service-00000", at, "probe", "").await {
                    eprintln!("probe write failed: {e}");
                }
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                let mut w = waits.lock().await;
                if during || maintaining.load(Ordering::Relaxed) {
                    w.0.push(ms)
                } else {
                    w.1.push(ms)
                }
                drop(w);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    let (mut write_cpu, mut write_wall, mut server_cpu) = (Vec::new(), Vec::new(), Vec::new());
    let mut passes = Vec::new();
    let mut at = live_from;
    while at < end {
        let batch = steps(&names, at, at + STEP_MS);
        let (cpu, server, t) = (cpu_seconds(), server_cpu_seconds(), Instant::now());
        history.write_steps(&batch, &[]).await?;
        write_cpu.push(cpu_seconds() - cpu);
        server_cpu.push(server_cpu_seconds() - server);
        write_wall.push(t.elapsed().as_secs_f64() * 1000.0);
        at += STEP_MS;
        tokio::time::sleep(Duration::from_millis(200)).await;
        if at % 60_000 == 0 {
            maintaining.store(true, Ordering::Relaxed);
            let t = Instant::now();
            history.maintain(at).await?;
            passes.push(t.elapsed().as_secs_f64() * 1000.0);
            maintaining.store(false, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    probe.await?;

    let cpu_per_batch = write_cpu.iter().sum::<f64>() / write_cpu.len() as f64;
    let share = 100.0 * cpu_per_batch * 1000.0 / STEP_MS as f64;
    m.sampler_share = share;
    if matches!(kept, Kept::Postgres(_)) {
        let per_batch = server_cpu.iter().sum::<f64>() / server_cpu.len() as f64;
        m.server_share = 100.0 * per_batch * 1000.0 / STEP_MS as f64;
        println!(
            "  the PostgreSQL server's processes besides: {:.0} ms CPU per batch ({:.2} % of one core)",
            per_batch * 1000.0,
            m.server_share
        );
    }
    write_wall.sort_by(f64::total_cmp);
    println!(
        "  sampler: {:.0} ms CPU per batch of {FLEET} (wall p50 {:.0} ms, longest {:.0} ms); {share:.2} % of one core at one batch per 15 s (target ≤ 5 %) {}",
        cpu_per_batch * 1000.0,
        percentile(&write_wall, 0.5),
        write_wall.last().copied().unwrap_or(0.0),
        verdict(share <= 5.0)
    );
    passes.sort_by(f64::total_cmp);
    println!(
        "  maintenance pass (rollups and retention, once a minute): p50 {:.0} ms, longest {:.0} ms ({} passes)",
        percentile(&passes, 0.5),
        passes.last().copied().unwrap_or(0.0),
        passes.len()
    );
    let (mut during, mut outside) = std::mem::take(&mut *waits.lock().await);
    during.sort_by(f64::total_cmp);
    outside.sort_by(f64::total_cmp);
    let longest = during.last().copied().unwrap_or(0.0);
    (m.pass_p50_ms, m.pass_longest_ms) = (percentile(&passes, 0.5), passes.last().copied().unwrap_or(0.0));
    (m.wait_p99_ms, m.wait_longest_ms) = (percentile(&during, 0.99), longest);
    println!(
        "  another write while maintenance runs: p50 {:.1} ms, p99 {:.1} ms, longest {longest:.1} ms over {} writes (target ≤ 100 ms) {}",
        percentile(&during, 0.5),
        percentile(&during, 0.99),
        during.len(),
        verdict(!during.is_empty() && longest <= 100.0)
    );
    println!(
        "  the same write otherwise (behind the sampler's own batches too): p50 {:.1} ms, p99 {:.1} ms, longest {:.1} ms over {} writes",
        percentile(&outside, 0.5),
        percentile(&outside, 0.99),
        outside.last().copied().unwrap_or(0.0),
        outside.len()
    );
    Ok(())
}
