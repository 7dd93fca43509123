//! Writing history to SQLite: many rows to a statement, one transaction per batch.

use app::dto::Workload;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::History;
use crate::history::{Figures, PastEvent, ReadingRow, Steps, demand::MIB};

/// Rows per INSERT: one statement per row costs a round trip to SQLite's thread each; a
/// generated past of two weeks is millions of rows. 64 rows × 14 columns stays far below
/// SQLite's limit on bound variables (32,766).
const ROWS_PER_INSERT: usize = 64;

/// Rows from which a write copies its own pages back into the database file (see
/// [`History::write_back`]): a sampler batch of a few hundred workloads and more.
const WRITE_BACK_ROWS: usize = 500;

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
