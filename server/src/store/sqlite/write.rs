//! Writing history to SQLite: many rows to a statement, one transaction per batch.

use app::dto::Workload;
use sqlx::{QueryBuilder, Sqlite};

use super::History;
use crate::{
    history::{Figures, PastEvent, ReadingRow, Steps},
    store::encode::{self, READING_COLUMNS, SAMPLE_COLUMNS},
};

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
        self.write_steps_as(None, steps, events).await.map(|_| ())
    }

    /// [`History::write_steps`] under `term`: `false`, and nothing written, when the term is
    /// not the newest.
    pub(crate) async fn write_steps_as(
        &self,
        term: Option<&crate::store::Term>,
        steps: &Steps,
        events: &[PastEvent],
    ) -> sqlx::Result<bool> {
        let _rolling = self.rolling.lock().await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        if !super::term_is_newest(&mut tx, term).await? {
            return Ok(false);
        }
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
        let mut rows: Vec<((i64, i64), &Figures)> = steps
            .steps
            .iter()
            .flat_map(|(at_ms, samples)| samples.iter().map(|(i, f)| ((ids[*i], *at_ms), f)))
            .collect();
        // In key order (workload, then time), so each table page is filled in one go. Step by
        // step, every step visits every workload's page; with more pages than SQLite's cache
        // holds, each row read its page back and wrote it out again: an hour of 100 workloads
        // made ten times the writes, and 30 days took 2.6 times as long. A stable sort keeps
        // the later of two rows for one moment last, so it is the one kept, as before.
        rows.sort_by_key(|(key, _)| *key);
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut q =
                QueryBuilder::<Sqlite>::new(format!("INSERT OR REPLACE INTO samples ({SAMPLE_COLUMNS}) "));
            encode::push_samples(&mut q, chunk);
            q.build().execute(&mut *tx).await?;
        }
        let mut readings: Vec<((i64, i64), &ReadingRow)> =
            steps.readings.iter().map(|(i, r)| ((ids[*i], r.at_ms.div_euclid(1000)), r)).collect();
        readings.sort_by_key(|((id, _), r)| (*id, r.at_ms));
        for chunk in readings.chunks(ROWS_PER_INSERT) {
            let mut q =
                QueryBuilder::<Sqlite>::new(format!("INSERT OR REPLACE INTO demand ({READING_COLUMNS}) "));
            encode::push_readings(&mut q, chunk);
            q.build().execute(&mut *tx).await?;
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
        Ok(true)
    }
}
