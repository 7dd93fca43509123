//! Where the store is (`--db`): a SQLite file, the embedded default, or a PostgreSQL server
//! named by its URL; and the store opened there, history and audit log together.

use std::{path::PathBuf, str::FromStr, sync::Arc, time::Duration};

use anyhow::Context;

use super::{
    AuditStore, HistoryStore, OutboxStore, PlanStore,
    outbox::{PgOutbox, SqliteOutbox},
    postgres::{self, PgAudit, PgHistory, PgPlans},
    sqlite::{History, SqliteAudit, SqlitePlans},
};
use crate::history::Retention;

/// How long an audit append waits for another writer before it is refused as busy: an edit
/// is refused quickly rather than left hanging on a lock.
pub const AUDIT_WAIT: Duration = Duration::from_secs(3);

/// Where history and the audit log are kept.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file (created when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL server: `postgres://user@host:port/db?sslmode=verify-full&sslrootcert=…`.
    Postgres(String),
}

impl Location {
    /// `postgres://…` or `postgresql://…` is a server; `sqlite:PATH` or any other text a file.
    pub fn parse(text: &str) -> Result<Location, String> {
        let text = text.trim();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            sqlx::postgres::PgConnectOptions::from_str(text)
                .map_err(|e| format!("{} is not a PostgreSQL URL: {e}", redact(text)))?;
            return Ok(Location::Postgres(text.to_string()));
        }
        if text.contains("://") && !text.starts_with("sqlite://") {
            return Err(format!(
                "{} is neither a file nor a postgres:// URL (Paydeck keeps its store in SQLite or PostgreSQL)",
                redact(text)
            ));
        }
        let path = text.strip_prefix("sqlite://").or_else(|| text.strip_prefix("sqlite:")).unwrap_or(text);
        if path.is_empty() {
            return Err("the database path is empty".into());
        }
        Ok(Location::Sqlite(PathBuf::from(path)))
    }
}

impl FromStr for Location {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Location::parse(text)
    }
}

/// A URL with its password, if any, replaced: for messages and logs.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (authority, path) = rest.split_once('/').map_or((rest, None), |(a, p)| (a, Some(p)));
    let authority = match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split_once(':').map_or(credentials, |(user, _)| user);
            format!("{user}:…@{host}")
        }
        None => authority.to_string(),
    };
    // The query may carry a password too (`?password=`): it is left out.
    let path = path.map(|p| p.split_once('?').map_or(p, |(p, _)| p));
    match path {
        Some(path) => format!("{scheme}://{authority}/{path}"),
        None => format!("{scheme}://{authority}"),
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Location({self})")
    }
}

/// One cluster's history, the audit log, the plans and the notifications' outbox, in one
/// store.
#[derive(Clone)]
pub struct Store {
    pub history: Arc<dyn HistoryStore>,
    pub audit: Arc<dyn AuditStore>,
    pub plans: Arc<dyn PlanStore>,
    pub outbox: Arc<dyn OutboxStore>,
}

impl Store {
    /// The store in a SQLite file already open as `history`.
    pub async fn sqlite(history: Arc<History>) -> anyhow::Result<Store> {
        let audit = Arc::new(history.audit_store(AUDIT_WAIT).await?);
        let plans = Arc::new(SqlitePlans::new(history.pool().clone()));
        let outbox = Arc::new(SqliteOutbox::on(history.pool().clone()));
        Ok(Store { history, audit, plans, outbox })
    }

    /// The store on the PostgreSQL server at `url`, as `cluster`'s history.
    pub async fn postgres(url: &str, retention: Retention, cluster: &str) -> anyhow::Result<Store> {
        crate::history::check_cluster_name(cluster).map_err(anyhow::Error::msg)?;
        let pool = postgres::connect(url, true).await?;
        Ok(Store {
            history: Arc::new(PgHistory::on(pool.clone(), retention, cluster)),
            audit: Arc::new(PgAudit::on(pool.clone())),
            plans: Arc::new(PgPlans::on(pool.clone())),
            outbox: Arc::new(PgOutbox::on(pool)),
        })
    }
}

/// Opens (creating or migrating as needed) the store at `location` as `cluster`'s history.
/// `max_bytes` bounds a SQLite file; a server's size is its own to bound.
pub async fn open(
    location: &Location,
    retention: Retention,
    max_bytes: Option<u64>,
    cluster: &str,
) -> anyhow::Result<Store> {
    match location {
        Location::Sqlite(path) => {
            let history = History::open_for_cluster(path, retention, max_bytes, cluster).await?;
            Store::sqlite(Arc::new(history)).await
        }
        Location::Postgres(url) => {
            if max_bytes.is_some() {
                anyhow::bail!(
                    "--db-max-size bounds a SQLite file; a PostgreSQL server's size is bounded on the server (drop the flag or use a file)"
                );
            }
            Store::postgres(url, retention, cluster).await
        }
    }
}

/// The audit log at `location`, opened for reading only: nothing is created or migrated.
pub async fn open_audit_for_reading(location: &Location) -> anyhow::Result<Box<dyn AuditStore>> {
    match location {
        Location::Sqlite(path) => {
            if !path.exists() {
                anyhow::bail!("no database at {} (--db / PAYDECK_DB)", path.display());
            }
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .read_only(true)
                .create_if_missing(false);
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .with_context(|| format!("cannot open {}", path.display()))?;
            Ok(Box::new(SqliteAudit::new(pool)))
        }
        Location::Postgres(url) => {
            let pool = postgres::connect(url, false).await?;
            let present: bool = sqlx::query_scalar("SELECT to_regclass('audit') IS NOT NULL")
                .fetch_one(&pool)
                .await
                .with_context(|| format!("cannot read {location}"))?;
            if !present {
                anyhow::bail!("no audit log at {location}: Paydeck has not written to this database");
            }
            Ok(Box::new(PgAudit::on(pool)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_is_a_file_unless_it_is_a_postgres_url() {
        assert_eq!(Location::parse("data/paydeck.db"), Ok(Location::Sqlite("data/paydeck.db".into())));
        assert_eq!(Location::parse("sqlite:/var/lib/p.db"), Ok(Location::Sqlite("/var/lib/p.db".into())));
        assert_eq!(Location::parse("sqlite:///var/lib/p.db"), Ok(Location::Sqlite("/var/lib/p.db".into())));
        assert!(matches!(Location::parse("postgres://paydeck@db:5432/paydeck"), Ok(Location::Postgres(_))));
        assert!(matches!(Location::parse("postgresql://db/paydeck"), Ok(Location::Postgres(_))));
        assert!(Location::parse("mysql://db/paydeck").unwrap_err().contains("neither"));
        assert!(Location::parse("").is_err());
    }

    #[test]
    fn a_password_is_never_shown() {
        let at = Location::parse(
            "postgres://paydeck:s3cret@db.internal:5432/paydeck?sslmode=verify-full&password=x",
        )
        .unwrap();
        let shown = format!("{at} {at:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("password=x"), "{shown}");
        assert!(shown.contains("paydeck:…@db.internal:5432/paydeck"), "{shown}");
        let bad = Location::parse("postgres://paydeck:s3cret@db:notaport/paydeck").unwrap_err();
        assert!(!bad.contains("s3cret"), "{bad}");
    }
}
