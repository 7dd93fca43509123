//! Rows decoded into what the pages read, the same way on every store: both stores select the
//! same columns in the same order, so the figures are read from a row once, here.

use app::dto::{History, HistoryEvent, HistoryPoint, PlatformPoint, Stat};
use sqlx::{ColumnIndex, Decode, Row, Type};

use super::audit::{ChainRow, Entry as AuditEntry};
use crate::history::{
    demand::Reading,
    range::{Range, gaps},
};

/// What a store's rows must decode for these readers.
pub(crate) trait StoreRow: Row
where
    usize: ColumnIndex<Self>,
{
    /// An optional number of column `i` (a figure not recorded is `None`).
    fn number(&self, i: usize) -> Option<f64>;
    /// A whole number of column `i`.
    fn whole(&self, i: usize) -> i64;
    /// An optional whole number of column `i`.
    fn some_whole(&self, i: usize) -> Option<i64>;
    /// The text of column `i`.
    fn text(&self, i: usize) -> String;
    /// An optional text of column `i`.
    fn some_text(&self, i: usize) -> Option<String>;
}

impl<R: Row> StoreRow for R
where
    usize: ColumnIndex<R>,
    for<'r> Option<f64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn number(&self, i: usize) -> Option<f64> {
        self.try_get::<Option<f64>, _>(i).ok().flatten()
    }

    fn whole(&self, i: usize) -> i64 {
        self.get(i)
    }

    fn some_whole(&self, i: usize) -> Option<i64> {
        self.get(i)
    }

    fn text(&self, i: usize) -> String {
        self.get(i)
    }

    fn some_text(&self, i: usize) -> Option<String> {
        self.get(i)
    }
}

/// An audit row as listings show it: seq, at_ms, user, groups, namespace, name, target, before,
/// after, reason, outcome, detail, hash, intent_seq, keyed (as a number).
pub(crate) fn audit_entry<R: StoreRow>(r: &R) -> AuditEntry
where
    usize: ColumnIndex<R>,
{
    let json = |i: usize| serde_json::from_str(&r.text(i)).unwrap_or(serde_json::Value::Null);
    AuditEntry {
        seq: r.whole(0),
        at_ms: r.whole(1),
        user: r.text(2),
        groups: serde_json::from_str(&r.text(3)).unwrap_or_default(),
        namespace: r.text(4),
        name: r.text(5),
        target: r.text(6),
        before: json(7),
        after: json(8),
        reason: r.text(9),
        outcome: r.text(10),
        detail: r.text(11),
        hash: r.text(12),
        intent_seq: r.some_whole(13),
        keyed: r.whole(14) != 0,
        cluster: r.text(15),
    }
}

/// An audit row with everything its hash covers: the listed columns but the hash, then
/// prev_hash, hash, intent_seq, keyed, format, body_digest, pruned (flags as numbers).
pub(crate) fn chain_row<R: StoreRow>(r: &R) -> ChainRow
where
    usize: ColumnIndex<R>,
{
    ChainRow {
        seq: r.whole(0),
        at_ms: r.whole(1),
        user: r.text(2),
        groups: r.text(3),
        namespace: r.text(4),
        name: r.text(5),
        target: r.text(6),
        before: r.text(7),
        after: r.text(8),
        reason: r.text(9),
        outcome: r.text(10),
        detail: r.text(11),
        prev_hash: r.text(12),
        hash: r.text(13),
        intent_seq: r.some_whole(14),
        keyed: r.whole(15) != 0,
        format: r.whole(16),
        body_digest: r.some_text(17),
        pruned: r.whole(18) != 0,
        cluster: r.text(19),
    }
}

fn stat<R: StoreRow>(row: &R, first: usize) -> Option<Stat>
where
    usize: ColumnIndex<R>,
{
    Some(Stat { min: row.number(first)?, avg: row.number(first + 1)?, max: row.number(first + 2)? })
}

/// A workload's history over `range` in buckets of `step` read from `source`: from the rows
/// of its buckets (the bucket's index, then the figures in the column order of `rollups`; a
/// bucket without a row is a gap) and of its events (`at_ms, kind, message`).
pub(crate) fn history<R: StoreRow>(
    range: &Range,
    step: i64,
    source: &str,
    buckets: &[R],
    events: &[R],
    simulated_until_ms: Option<i64>,
) -> History
where
    usize: ColumnIndex<R>,
{
    let count = ((range.to_ms - range.from_ms) + step - 1) / step;
    let mut points: Vec<HistoryPoint> = (0..count)
        .map(|i| HistoryPoint { at_ms: range.from_ms + i * step, ..HistoryPoint::default() })
        .collect();
    fill_points(&mut points, buckets);
    History {
        simulated_until_ms: simulated_until_ms.filter(|until| *until > range.from_ms),
        from_ms: range.from_ms,
        to_ms: range.to_ms,
        step_ms: step,
        source: source.into(),
        gaps: gaps(&points, step, range.to_ms),
        points,
        events: events
            .iter()
            .map(|e| HistoryEvent { at_ms: e.whole(0), kind: e.text(1), message: e.text(2) })
            .collect(),
    }
}

/// Fills `points` from the rows of their buckets; a row for a bucket outside them is ignored.
fn fill_points<R: StoreRow>(points: &mut [HistoryPoint], rows: &[R])
where
    usize: ColumnIndex<R>,
{
    for row in rows {
        let Some(p) = usize::try_from(row.whole(0)).ok().and_then(|b| points.get_mut(b)) else { continue };
        p.replicas_desired = stat(row, 1);
        p.replicas_ready = stat(row, 4);
        p.cpu_usage = stat(row, 7);
        p.memory_usage = stat(row, 10);
        p.request_rate = stat(row, 13);
        p.cpu_requests = row.number(16);
        p.cpu_limits = row.number(17);
        p.memory_requests = row.number(18);
        p.memory_limits = row.number(19);
        p.hpa_min = row.number(20);
        p.hpa_max = row.number(21);
        p.hpa_cpu_target = row.number(22);
    }
}

/// A `demand` row: `at_s, cpu_m, memory_mib, rate_c, ready, desired`.
pub(crate) fn reading<R: StoreRow>(row: &R) -> Reading
where
    usize: ColumnIndex<R>,
{
    Reading {
        at_ms: row.whole(0) * 1000,
        cpu_m: row.some_whole(1),
        memory_mib: row.some_whole(2),
        rate_c: row.some_whole(3),
        ready: row.whole(4),
        desired: row.whole(5),
    }
}

/// A platform row: the bucket, then the sums of request rate, replicas desired and ready, CPU
/// requests and usage, memory requests and usage. A sum over nothing recorded is 0 where a
/// figure always exists, and unknown (`None`) for usage.
pub(crate) fn platform_point<R: StoreRow>(row: &R) -> PlatformPoint
where
    usize: ColumnIndex<R>,
{
    let sum = |i| row.number(i).unwrap_or(0.0);
    PlatformPoint {
        at_ms: row.whole(0),
        request_rate: sum(1),
        replicas_desired: sum(2),
        replicas_ready: sum(3),
        cpu_requests: sum(4),
        cpu_usage: row.number(5),
        memory_requests: sum(6),
        memory_usage: row.number(7),
    }
}

/// A `scale_decisions` row: `at_s, replicas`, as (Unix ms, replicas).
pub(crate) fn decision<R: StoreRow>(row: &R) -> (i64, i64)
where
    usize: ColumnIndex<R>,
{
    (row.whole(0) * 1000, row.whole(1))
}
