//! `paydeck migrate-store --from sqlite:PATH --to postgres://…`: copies a SQLite file's
//! history and audit log to a PostgreSQL server. Rows keep their values, the audit rows their
//! sequence numbers and hashes (the chain verifies on the target); a row already on the
//! target is left as it is, so running it twice copies nothing twice. A target whose audit
//! log is not a copy of the source's is refused before anything is written. Without
//! `--from`, it only brings the target's schema up to date (for an owning role to run once,
//! before Paydeck runs as a role with fewer rights).

use std::collections::HashMap;

use anyhow::Context;
use futures::TryStreamExt;
use sqlx::{PgPool, Postgres, QueryBuilder, Row, SqlitePool};

use super::{
    AuditStore, Location,
    postgres::{self, PgAudit},
    sqlite::{History, SqliteAudit},
};
use crate::history::Retention;

/// A column's kind, for reading it from SQLite and binding it for PostgreSQL.
#[derive(Clone, Copy)]
enum Kind {
    Integer,
    Real,
}

use Kind::{Integer as I, Real as R};

/// A table of workload rows: its name, its columns after `workload_id`, and the key a row is
/// known by on the target (a row with that key there is left as it is).
type Table = (&'static str, &'static [(&'static str, Kind)], &'static str);

/// The tables of one workload's history.
const TABLES: [Table; 4] = [
    (
        "samples",
        &[
            ("at_ms", I),
            ("replicas_desired", I),
            ("replicas_ready", I),
            ("hpa_min", I),
            ("hpa_max", I),
            ("hpa_cpu_target", I),
            ("cpu_requests", R),
            ("cpu_limits", R),
            ("cpu_usage", R),
            ("memory_requests", R),
            ("memory_limits", R),
            ("memory_usage", R),
            ("request_rate", R),
        ],
        "workload_id, at_ms",
    ),
    (
        "rollups",
        &[
            ("resolution_ms", I),
            ("bucket_ms", I),
            ("samples", I),
            ("replicas_desired_min", R),
            ("replicas_desired_avg", R),
            ("replicas_desired_max", R),
            ("replicas_ready_min", R),
            ("replicas_ready_avg", R),
            ("replicas_ready_max", R),
            ("cpu_usage_min", R),
            ("cpu_usage_avg", R),
            ("cpu_usage_max", R),
            ("memory_usage_min", R),
            ("memory_usage_avg", R),
            ("memory_usage_max", R),
            ("request_rate_min", R),
            ("request_rate_avg", R),
            ("request_rate_max", R),
            ("cpu_requests", R),
            ("cpu_limits", R),
            ("memory_requests", R),
            ("memory_limits", R),
            ("hpa_min", R),
            ("hpa_max", R),
            ("hpa_cpu_target", R),
        ],
        "workload_id, resolution_ms, bucket_ms",
    ),
    (
        "demand",
        &[
            ("at_s", I),
            ("cpu_m", I),
            ("memory_mib", I),
            ("rate_c", I),
            ("ready", I),
            ("desired", I),
            ("window_s", I),
        ],
        "workload_id, at_s",
    ),
    ("scale_decisions", &[("at_s", I), ("replicas", I)], "workload_id, at_s"),
];

/// Rows per INSERT: at most 26 values a row, within PostgreSQL's 65,535 per statement.
const ROWS_PER_INSERT: usize = 1_000;

/// What a copy did: per kind of row, how many were added and how many were there already.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Copied {
    pub rows: Vec<(String, u64, u64)>,
    /// The target's audit head after the copy (`SEQ:HASH`), verified.
    pub audit_head: Option<String>,
}

impl std::fmt::Display for Copied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (what, added, present) in &self.rows {
            writeln!(f, "{what:>16}: {added} copied, {present} already there")?;
        }
        if let Some(head) = &self.audit_head {
            writeln!(f, "audit log verified on the target: head {head}")?;
        }
        Ok(())
    }
}

/// Copies the store at `from` (a SQLite file) to `to` (a PostgreSQL server). Rows recorded
/// before clusters had names become `cluster`'s.
pub async fn migrate_store(from: Option<&Location>, to: &Location, cluster: &str) -> anyhow::Result<Copied> {
    let Location::Postgres(url) = to else {
        anyhow::bail!(
            "--to must be a postgres:// URL: a store is copied from a SQLite file to a PostgreSQL server"
        );
    };
    let from = match from {
        None => {
            postgres::connect(url, true).await?.close().await;
            return Ok(Copied::default());
        }
        Some(Location::Sqlite(path)) => path,
        Some(Location::Postgres(_)) => {
            anyhow::bail!(
                "--from must be a SQLite file (sqlite:PATH): the store is copied to a PostgreSQL server"
            )
        }
    };
    if !from.is_file() {
        anyhow::bail!("no database at {} (--from)", from.display());
    }
    // Opened as Paydeck opens it: its schema brought up to date, its unnamed rows named.
    let source = History::open_for_cluster(from, Retention::default(), None, cluster)
        .await
        .with_context(|| format!("cannot open {}", from.display()))?;
    let target = postgres::connect(url, true).await?;
    let source_audit = SqliteAudit::new(source.pool().clone());
    let target_audit = PgAudit::on(target.clone());
    check_same_chain(&source_audit, &target_audit).await?;

    let mut copied = Copied::default();
    let ids = copy_workloads(source.pool(), &target, &mut copied).await?;
    for (table, columns, key) in TABLES {
        copy_table(source.pool(), &target, &ids, table, columns, key, &mut copied).await?;
    }
    copy_events(source.pool(), &target, &ids, &mut copied).await?;
    copy_markers(source.pool(), &target).await?;
    copy_plans(source.pool(), &target, &mut copied).await?;
    copy_audit(&source_audit, &target_audit, &mut copied).await?;
    let verdict = crate::audit::verify::verify_with(&target_audit, &Default::default()).await?;
    match verdict {
        Ok(intact) if intact.rows > 0 => copied.audit_head = Some(intact.head.to_string()),
        Ok(_) => {}
        Err(problem) => anyhow::bail!("the audit log copied to {to} does not verify: {problem}"),
    }
    source.close().await;
    target.close().await;
    Ok(copied)
}

/// Refuses a target whose audit log is not the source's, or a prefix of it: the copy would
/// make a chain that verifies nowhere.
async fn check_same_chain(source: &SqliteAudit, target: &PgAudit) -> anyhow::Result<()> {
    let Some((seq, hash)) = target.tip().await? else { return Ok(()) };
    let mut rows = source.chain();
    while let Some(row) = rows.try_next().await? {
        if row.seq == seq {
            if row.hash == hash {
                return Ok(());
            }
            break;
        }
    }
    anyhow::bail!(
        "the audit log at {} is not a copy of this one (its row {seq} is not the source's): nothing was copied",
        target.place()
    )
}

/// Every workload, by its cluster, namespace and name: source id → target id.
async fn copy_workloads(
    source: &SqlitePool,
    target: &PgPool,
    copied: &mut Copied,
) -> anyhow::Result<HashMap<i64, i64>> {
    let rows: Vec<(i64, String, String, String)> =
        sqlx::query_as("SELECT id, cluster, namespace, name FROM workloads").fetch_all(source).await?;
    let mut ids = HashMap::new();
    let mut added = 0;
    for (id, cluster, namespace, name) in &rows {
        added += sqlx::query(
            "INSERT INTO workloads (cluster, namespace, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(cluster)
        .bind(namespace)
        .bind(name)
        .execute(target)
        .await?
        .rows_affected();
        let target_id: i64 = sqlx::query_scalar(
            "SELECT id FROM workloads WHERE cluster = $1 AND namespace = $2 AND name = $3",
        )
        .bind(cluster)
        .bind(namespace)
        .bind(name)
        .fetch_one(target)
        .await?;
        ids.insert(*id, target_id);
    }
    copied.rows.push(("workloads".into(), added, rows.len() as u64 - added));
    Ok(ids)
}

/// One table of workload rows, streamed from the file and written a thousand rows at a time.
async fn copy_table(
    source: &SqlitePool,
    target: &PgPool,
    ids: &HashMap<i64, i64>,
    table: &str,
    columns: &[(&str, Kind)],
    key: &str,
    copied: &mut Copied,
) -> anyhow::Result<()> {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let list = format!("workload_id, {}", names.join(", "));
    // Assembled from the constants above only.
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {list} FROM {table}"))).fetch(source);
    let (mut added, mut seen) = (0u64, 0u64);
    let mut batch = Vec::with_capacity(ROWS_PER_INSERT);
    let flush = async |batch: &mut Vec<sqlx::sqlite::SqliteRow>| -> anyhow::Result<u64> {
        if batch.is_empty() {
            return Ok(0);
        }
        let mut q = QueryBuilder::<Postgres>::new(format!("INSERT INTO {table} ({list}) "));
        q.push_values(batch.iter(), |mut b, r| {
            let id: i64 = r.get(0);
            b.push_bind(ids.get(&id).copied().unwrap_or(id));
            for (i, (_, kind)) in columns.iter().enumerate() {
                match kind {
                    Kind::Integer => b.push_bind(r.get::<Option<i64>, _>(i + 1)),
                    Kind::Real => b.push_bind(r.get::<Option<f64>, _>(i + 1)),
                };
            }
        });
        q.push(format!(" ON CONFLICT ({key}) DO NOTHING"));
        let added = q.build().execute(target).await?.rows_affected();
        batch.clear();
        Ok(added)
    };
    while let Some(row) = rows.try_next().await? {
        seen += 1;
        batch.push(row);
        if batch.len() == ROWS_PER_INSERT {
            added += flush(&mut batch).await?;
        }
    }
    added += flush(&mut batch).await?;
    copied.rows.push((table.into(), added, seen - added));
    Ok(())
}

/// Events have no key of their own: one with the same workload, time, kind and message is
/// the same event.
async fn copy_events(
    source: &SqlitePool,
    target: &PgPool,
    ids: &HashMap<i64, i64>,
    copied: &mut Copied,
) -> anyhow::Result<()> {
    let mut rows = sqlx::query_as::<_, (i64, i64, String, String)>(
        "SELECT workload_id, at_ms, kind, message FROM events ORDER BY id",
    )
    .fetch(source);
    let (mut added, mut seen) = (0u64, 0u64);
    while let Some((id, at_ms, kind, message)) = rows.try_next().await? {
        seen += 1;
        added += sqlx::query(
            "INSERT INTO events (workload_id, at_ms, kind, message) SELECT $1, $2, $3, $4 WHERE NOT EXISTS \
             (SELECT 1 FROM events WHERE workload_id = $1 AND at_ms = $2 AND kind = $3 AND message = $4)",
        )
        .bind(ids.get(&id).copied().unwrap_or(id))
        .bind(at_ms)
        .bind(&kind)
        .bind(&message)
        .execute(target)
        .await?
        .rows_affected();
    }
    copied.rows.push(("events".into(), added, seen - added));
    Ok(())
}

/// How far rollups were made, and until when the history was simulated.
async fn copy_markers(source: &SqlitePool, target: &PgPool) -> anyhow::Result<()> {
    let progress: Vec<(i64, i64)> =
        sqlx::query_as("SELECT resolution_ms, done_until_ms FROM rollup_progress").fetch_all(source).await?;
    for (resolution, done) in progress {
        sqlx::query(
            "INSERT INTO rollup_progress (resolution_ms, done_until_ms) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(resolution)
        .bind(done)
        .execute(target)
        .await?;
    }
    let simulated: Option<i64> =
        sqlx::query_scalar("SELECT until_ms FROM simulated_past").fetch_optional(source).await?;
    if let Some(until) = simulated {
        sqlx::query("INSERT INTO simulated_past (until_ms) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(until)
            .execute(target)
            .await?;
    }
    Ok(())
}

/// The plans with their numbers (the audit rows name them), then the target's numbering
/// moved past them.
async fn copy_plans(source: &SqlitePool, target: &PgPool, copied: &mut Copied) -> anyhow::Result<()> {
    type PlanRow = (i64, String, String, String, String, i64, i64, String);
    let rows: Vec<PlanRow> = sqlx::query_as(
        "SELECT id, cluster, namespace, name, state, version, updated_ms, body FROM plans ORDER BY id",
    )
    .fetch_all(source)
    .await?;
    let mut added = 0;
    for (id, cluster, namespace, name, state, version, updated_ms, body) in &rows {
        added += sqlx::query(
            "INSERT INTO plans (id, cluster, namespace, name, state, version, updated_ms, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(cluster)
        .bind(namespace)
        .bind(name)
        .bind(state)
        .bind(version)
        .bind(updated_ms)
        .bind(body)
        .execute(target)
        .await?
        .rows_affected();
    }
    sqlx::query(
        "SELECT setval(pg_get_serial_sequence('plans', 'id'), GREATEST((SELECT MAX(id) FROM plans), 1))",
    )
    .execute(target)
    .await?;
    copied.rows.push(("plans".into(), added, rows.len() as u64 - added));
    Ok(())
}

/// The audit rows, sequence numbers and hashes as they are, a thousand at a time.
async fn copy_audit(source: &SqliteAudit, target: &PgAudit, copied: &mut Copied) -> anyhow::Result<()> {
    let mut rows = source.chain();
    let (mut added, mut seen) = (0u64, 0u64);
    let mut batch = Vec::with_capacity(ROWS_PER_INSERT);
    while let Some(row) = rows.try_next().await? {
        seen += 1;
        batch.push(row);
        if batch.len() == ROWS_PER_INSERT {
            added += target.import(&batch).await?;
            batch.clear();
        }
    }
    added += target.import(&batch).await?;
    copied.rows.push(("audit".into(), added, seen - added));
    Ok(())
}

/// `paydeck migrate-store` as a process: prints what was copied; 0 done, 1 refused or failed.
pub async fn exit_code(
    from: Option<&Location>,
    to: Option<&Location>,
    cluster: &str,
) -> std::process::ExitCode {
    let Some(to) = to else {
        eprintln!("paydeck: migrate-store needs --to postgres://… (or PAYDECK_DATABASE_URL)");
        return std::process::ExitCode::from(2);
    };
    match migrate_store(from, to, cluster).await {
        Ok(copied) if from.is_none() => {
            debug_assert!(copied.rows.is_empty());
            println!("the schema at {to} is up to date");
            std::process::ExitCode::SUCCESS
        }
        Ok(copied) => {
            print!("copied {} to {to}:\n{copied}", from.map(ToString::to_string).unwrap_or_default());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("paydeck: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
