//! History rows as both stores write them: the same columns, the same values, bound once here.
//! Each store adds its own verb (SQLite replaces a row, PostgreSQL updates it on conflict).

use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::history::{Figures, ReadingRow, demand::MIB};

/// The columns of `samples`, in the order [`push_samples`] binds them.
pub(crate) const SAMPLE_COLUMNS: &str = "workload_id, at_ms, replicas_desired, replicas_ready, hpa_min, hpa_max, \
     hpa_cpu_target, cpu_requests, cpu_limits, cpu_usage, memory_requests, memory_limits, memory_usage, request_rate";

/// The columns of `demand`, in the order [`push_readings`] binds them.
pub(crate) const READING_COLUMNS: &str =
    "workload_id, at_s, cpu_m, memory_mib, rate_c, ready, desired, window_s";

/// The VALUES of samples keyed by (workload id, at_ms).
pub(crate) fn push_samples<DB: Database>(q: &mut QueryBuilder<DB>, rows: &[((i64, i64), &Figures)])
where
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> i32: Encode<'t, DB> + Type<DB>,
    for<'t> Option<i32>: Encode<'t, DB> + Type<DB>,
    for<'t> f64: Encode<'t, DB> + Type<DB>,
    for<'t> Option<f64>: Encode<'t, DB> + Type<DB>,
{
    q.push_values(rows, |mut row, ((id, at_ms), f)| {
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
}

/// The VALUES of metrics readings keyed by (workload id, at_s): millicores (exactly as the
/// controller counts them), MiB and centi-requests per second as integers, at the reading's
/// own time and window (narrow rows, kept for weeks).
pub(crate) fn push_readings<DB: Database>(q: &mut QueryBuilder<DB>, rows: &[((i64, i64), &ReadingRow)])
where
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> i32: Encode<'t, DB> + Type<DB>,
    for<'t> Option<i64>: Encode<'t, DB> + Type<DB>,
{
    q.push_values(rows, |mut row, ((id, at_s), r)| {
        row.push_bind(*id)
            .push_bind(*at_s)
            .push_bind(r.cpu_millis)
            .push_bind((r.memory_bytes / MIB).round() as i64)
            .push_bind(r.request_rate.map(|v| (v * 100.0).round() as i64))
            .push_bind(r.ready)
            .push_bind(r.desired)
            .push_bind(r.window_ms.div_euclid(1000));
    });
}
