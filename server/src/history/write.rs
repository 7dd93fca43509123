//! Writing history: each workload's figures at a sampling moment (a row of `samples`, what
//! the charts and rollups read), its metrics readings (narrow rows of `demand`, at the time
//! each was taken) and its HPA's scales (`scale_decisions`) — the last two what the what-if
//! replays — many rows to a statement.

use app::dto::Workload;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::{History, demand::MIB};

/// Rows per INSERT: one statement per row costs a round trip to SQLite's thread each; a
/// generated past of two weeks is millions of rows. 64 rows × 14 columns stays far below
/// SQLite's limit on bound variables (32,766).
const ROWS_PER_INSERT: usize = 64;

/// Rows from which a write copies its own pages back into the database file (see
/// [`History::write_back`]): a sampler batch of a few hundred workloads and more.
const WRITE_BACK_ROWS: usize = 500;

/// What history keeps of one workload at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Figures {
    pub replicas_desired: i32,
    pub replicas_ready: i32,
    pub hpa_min: Option<i32>,
    pub hpa_max: Option<i32>,
    pub hpa_cpu_target: Option<i32>,
    pub cpu_requests: f64,
    pub cpu_limits: Option<f64>,
    pub cpu_usage: Option<f64>,
    pub memory_requests: f64,
    pub memory_limits: Option<f64>,
    pub memory_usage: Option<f64>,
    pub request_rate: Option<f64>,
}

impl Figures {
    pub fn of(w: &Workload) -> Self {
        let hpa = w.autoscaler.as_ref();
        Figures {
            replicas_desired: w.replicas.desired,
            replicas_ready: w.replicas.ready,
            hpa_min: hpa.map(|h| h.min_replicas),
            hpa_max: hpa.map(|h| h.max_replicas),
            hpa_cpu_target: hpa.and_then(|h| h.cpu_target_percent),
            cpu_requests: w.cpu.requests,
            cpu_limits: w.cpu.limits,
            cpu_usage: w.cpu.usage,
            memory_requests: w.memory.requests,
            memory_limits: w.memory.limits,
            memory_usage: w.memory.usage,
            request_rate: w.request_rate,
        }
    }
}

/// A workload's metrics reading, as the what-if replays it (one `demand` row).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ReadingRow {
    /// When metrics-server took it.
    pub at_ms: i64,
    pub window_ms: i64,
    /// The ready pods' CPU in whole millicores, as the HPA controller sums it.
    pub cpu_millis: i64,
    pub memory_bytes: f64,
    pub request_rate: Option<f64>,
    /// The ready pods the reading covers.
    pub ready: i32,
    /// The Deployment's replica count when it was seen.
    pub desired: i32,
}

impl ReadingRow {
    pub fn of(w: &Workload, r: &app::dto::MetricsReading) -> Self {
        ReadingRow {
            at_ms: r.at_ms,
            window_ms: r.window_ms,
            cpu_millis: r.cpu_millis,
            memory_bytes: r.memory_bytes,
            request_rate: w.request_rate,
            ready: r.pods,
            desired: w.replicas.desired,
        }
    }
}

/// A scale the HPA controller made: at its `lastScaleTime`, to `replicas`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub at_ms: i64,
    pub replicas: i32,
}

/// History to write together: the workloads' names once, then each sampling step's figures,
/// the metrics readings and the HPA decisions, each naming its workload by its index in
/// `workloads`.
#[derive(Debug, Default)]
pub struct Steps {
    pub workloads: Vec<(String, String)>,
    pub steps: Vec<(i64, Vec<(usize, Figures)>)>,
    pub readings: Vec<(usize, ReadingRow)>,
    pub decisions: Vec<(usize, Decision)>,
}

impl Steps {
    /// One step: every workload of a snapshot at `at_ms`.
    pub fn one<W: std::borrow::Borrow<Workload>>(at_ms: i64, workloads: &[W]) -> Self {
        let workloads = workloads.iter().map(W::borrow);
        Steps {
            workloads: workloads.clone().map(|w| (w.namespace.clone(), w.name.clone())).collect(),
            steps: vec![(at_ms, workloads.enumerate().map(|(i, w)| (i, Figures::of(w))).collect())],
            ..Steps::default()
        }
    }

    /// Workload samples in all the steps.
    pub fn samples(&self) -> usize {
        self.steps.iter().map(|(_, s)| s.len()).sum()
    }
}

/// An event of a generated past, written with its steps ([`History::write_steps`]).
#[derive(Clone, Debug)]
pub struct PastEvent {
    pub namespace: String,
    pub name: String,
    pub at_ms: i64,
    pub kind: &'static str,
    pub message: String,
}

impl History {
    /// Records one sample of every workload at `at_ms`, in one transaction.
    pub async fn write_samples<W: std::borrow::Borrow<Workload>>(
        &self,
        at_ms: i64,
        workloads: &[W],
    ) -> sqlx::Result<()> {
        self.write_steps(&Steps::one(at_ms, workloads), &[]).await
    }

    /// Several sampling steps, readings and decisions, and their events, in one transaction:
    /// a generated past would otherwise spend most of its time committing, one step at a time.
    pub async fn write_steps(&self, steps: &Steps, events: &[PastEvent]) -> sqlx::Result<()> {
        let _rolling = self.rolling.lock().await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut ids = Vec::with_capacity(steps.workloads.len());
        for (namespace, name) in &steps.workloads {
            ids.push(self.workload_id(&mut tx, namespace, name).await?);
        }
        for e in events {
            let id = self.workload_id(&mut tx, &e.namespace, &e.name).await?;
            sqlx::query("INSERT INTO events (workload_id, at_ms, kind, message) VALUES (?, ?, ?, ?)")
                .bind(id)
                .bind(e.at_ms)
                .bind(e.kind)
                .bind(&e.message)
                .execute(&mut *tx)
                .await?;
        }
        let mut rows: Vec<(i64, i64, &Figures)> = steps
            .steps
            .iter()
            .flat_map(|(at_ms, samples)| samples.iter().map(|(i, f)| (ids[*i], *at_ms, f)))
            .collect();
        // In key order (workload, then time), so each table page is filled in one go. Step by
        // step, every step visits every workload's page; with more pages than SQLite's cache
        // holds, each row read its page back and wrote it out again: an hour of 100 workloads
        // made ten times the writes, and 30 days took 2.6 times as long. A stable sort keeps
        // the later of two rows for one moment last, so it is the one kept, as before.
        rows.sort_by_key(|(id, at_ms, _)| (*id, *at_ms));
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            insert_samples(&mut tx, chunk).await?;
        }
        let mut readings: Vec<(i64, &ReadingRow)> =
            steps.readings.iter().map(|(i, r)| (ids[*i], r)).collect();
        readings.sort_by_key(|(id, r)| (*id, r.at_ms));
        for chunk in readings.chunks(ROWS_PER_INSERT) {
            insert_readings(&mut tx, chunk).await?;
        }
        for chunk in steps.decisions.chunks(ROWS_PER_INSERT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT OR REPLACE INTO scale_decisions (workload_id, at_s, replicas) ",
            );
            q.push_values(chunk, |mut row, (i, d)| {
                row.push_bind(ids[*i]).push_bind(d.at_ms.div_euclid(1000)).push_bind(d.replicas);
            });
            q.build().execute(&mut *tx).await?;
        }
        // Samples stamped before the rollups already made (written late, after the database
        // refused them for a while; or stamped by a clock that stepped back) have their
        // buckets rolled up again, so no bucket keeps a partial figure.
        if let Some(earliest) = steps.steps.iter().map(|(at_ms, _)| *at_ms).min() {
            super::roll_up_again_from(&mut tx, earliest).await?;
        }
        tx.commit().await?;
        if rows.len() + readings.len() >= WRITE_BACK_ROWS {
            self.write_back().await;
        }
        Ok(())
    }
}

async fn insert_samples(conn: &mut SqliteConnection, rows: &[(i64, i64, &Figures)]) -> sqlx::Result<()> {
    let mut q = QueryBuilder::<Sqlite>::new(
        "INSERT OR REPLACE INTO samples (workload_id, at_ms, replicas_desired, replicas_ready, hpa_min, hpa_max, \
         hpa_cpu_target, cpu_requests, cpu_limits, cpu_usage, memory_requests, memory_limits, memory_usage, request_rate) ",
    );
    q.push_values(rows, |mut row, (id, at_ms, f)| {
        row.push_bind(*id)
            .push_bind(*at_ms)
            .push_bind(f.replicas_desired)
            .push_bind(f.replicas_ready)
            .push_bind(f.hpa_min)
            .push_bind(f.hpa_max)
            .push_bind(f.hpa_cpu_target)
            .push_bind(f.cpu_requests)
            .push_bind(f.cpu_limits)
            .push_bind(f.cpu_usage)
            .push_bind(f.memory_requests)
            .push_bind(f.memory_limits)
            .push_bind(f.memory_usage)
            .push_bind(f.request_rate);
    });
    q.build().execute(conn).await?;
    Ok(())
}

/// The demand row of a reading: millicores (exactly as the controller counts them), MiB and
/// centi-requests per second as integers, at the reading's own time and window (narrow rows
/// for fourteen days).
async fn insert_readings(conn: &mut SqliteConnection, rows: &[(i64, &ReadingRow)]) -> sqlx::Result<()> {
    let mut q = QueryBuilder::<Sqlite>::new(
        "INSERT OR REPLACE INTO demand (workload_id, at_s, cpu_m, memory_mib, rate_c, ready, desired, window_s) ",
    );
    q.push_values(rows, |mut row, (id, r)| {
        row.push_bind(*id)
            .push_bind(r.at_ms.div_euclid(1000))
            .push_bind(r.cpu_millis)
            .push_bind((r.memory_bytes / MIB).round() as i64)
            .push_bind(r.request_rate.map(|v| (v * 100.0).round() as i64))
            .push_bind(r.ready)
            .push_bind(r.desired)
            .push_bind(r.window_ms.div_euclid(1000));
    });
    q.build().execute(conn).await?;
    Ok(())
}
