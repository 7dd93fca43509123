//! The audit log on both stores: the same attempts make the same chain (hash for hash) in a
//! SQLite file and on a real PostgreSQL server, and read back the same; on PostgreSQL two
//! writers appending at once still make one gapless chain; the database itself refuses
//! UPDATE, DELETE and TRUNCATE, and `verify-audit` names a row changed behind the triggers;
//! docs/deploying.md's role records and reads but cannot rewrite; `migrate-store` copies a file's
//! history and audit log, verifies the chain there, and copies nothing twice.

use std::{sync::Arc, time::Duration};

use futures::TryStreamExt;
use paydeck::{
    audit::{Attempt, AuditKey, AuditLog, AuditQuery, verify},
    history::Retention,
    store::{AuditStore, Store, postgres::PgAudit, sqlite::History},
};
use serde_json::json;

use crate::postgres;

fn key() -> AuditKey {
    AuditKey::new(&[7u8; 32])
}

async fn sqlite_store(name: &str) -> (Store, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("paydeck-audit-stores-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let history = History::open(&dir.join("paydeck.db"), Retention::default()).await.unwrap();
    (Store::sqlite(Arc::new(history)).await.unwrap(), dir)
}

fn log(store: &Store, key: Option<AuditKey>) -> Arc<AuditLog> {
    Arc::new(AuditLog::new(store.audit.clone(), key, Duration::from_secs(3)))
}

fn attempt<'a>(
    at_ms: i64,
    user: &'a str,
    outcome: &'a str,
    after: &'a serde_json::Value,
    intent_seq: Option<i64>,
) -> Attempt<'a> {
    static GROUPS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    static BEFORE: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    Attempt {
        cluster: "default",
        at_ms,
        user,
        groups: GROUPS.get_or_init(|| vec!["payments:operators".to_string()]),
        namespace: "payments-core",
        name: "ledger",
        target: "HorizontalPodAutoscaler/ledger",
        before: BEFORE.get_or_init(|| json!({ "maxReplicas": 6 })),
        after,
        reason: "CHG-42 evening peak",
        outcome,
        detail: if outcome == "denied" { "RBAC: cannot patch" } else { "" },
        intent_seq,
    }
}

/// The same story on a log: applied edits, refusals, a preview, an intent left open.
async fn story(log: &Arc<AuditLog>) {
    let after = json!({ "maxReplicas": 8 });
    log.record(&attempt(1_000, "operator", "previewed", &after, None)).await.unwrap();
    let intent = log.record(&attempt(2_000, "operator", "intent", &after, None)).await.unwrap();
    log.record(&attempt(2_100, "operator", "applied", &after, Some(intent))).await.unwrap();
    log.record(&attempt(3_000, "viewer", "denied", &after, None)).await.unwrap();
    log.record(&attempt(4_000, "operator", "invalid", &json!({ "maxReplicas": -1 }), None)).await.unwrap();
    // Sent, and Paydeck stopped before it recorded the answer.
    log.record(&attempt(5_000, "operator", "intent", &after, None)).await.unwrap();
}

async fn rows(store: &dyn AuditStore) -> Vec<paydeck::store::audit::ChainRow> {
    store.chain().try_collect().await.unwrap()
}

#[tokio::test]
async fn the_same_attempts_make_the_same_chain_on_both_stores() {
    let (file, dir) = sqlite_store("same").await;
    let server =
        Store::postgres(&postgres::server().database("audit_same").await, Retention::default(), "default")
            .await
            .unwrap();
    for store in [&file, &server] {
        let log = log(store, Some(key()));
        story(&log).await;
        assert_eq!(log.settle_dangling_intents(9_000).await.unwrap(), 1, "{}", store.audit.place());
        assert_eq!(log.settle_dangling_intents(9_000).await.unwrap(), 0, "settled once");
        assert_eq!(
            log.prune_refusals(3_500).await.unwrap(),
            1,
            "the denied attempt, not the invalid one yet"
        );
    }
    let (on_file, on_server) = (rows(file.audit.as_ref()).await, rows(server.audit.as_ref()).await);
    assert_eq!(on_file.len(), 7);
    assert_eq!(on_file, on_server, "row for row, hash for hash");
    assert!(on_file[3].pruned && on_file[3].detail.contains("removed"), "{:?}", on_file[3]);

    for store in [&file, &server] {
        let log = log(store, Some(key()));
        let expect = paydeck::audit::verify::Expect { key: Some(key()), ..Default::default() };
        let intact =
            paydeck::audit::verify::verify_with(store.audit.as_ref(), &expect).await.unwrap().unwrap();
        assert_eq!((intact.rows, intact.keyed_rows), (7, 7));
        assert_eq!(log.head().await.unwrap(), intact.head);
        // Listings: newest first, filtered, paged; intents only when asked for.
        let seqs = |entries: Vec<paydeck::audit::Entry>| entries.iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(seqs(log.list(&AuditQuery::default()).await.unwrap()), vec![7, 5, 4, 3, 1]);
        let operator = AuditQuery { user: Some("operator".into()), ..Default::default() };
        assert_eq!(seqs(log.list(&operator).await.unwrap()), vec![7, 5, 3, 1]);
        let intents = AuditQuery { outcome: Some("intent".into()), ..Default::default() };
        assert_eq!(seqs(log.list(&intents).await.unwrap()), vec![6, 2]);
        let page = AuditQuery { limit: Some(2), before: Some(5), from: Some(1_500), ..Default::default() };
        assert_eq!(seqs(log.list(&page).await.unwrap()), vec![4, 3]);
        let exported: Vec<_> = log.stream(AuditQuery::default()).try_collect().await.unwrap();
        assert_eq!(seqs(exported), vec![7, 5, 4, 3, 1]);
    }
    file.history.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn two_writers_appending_at_once_make_one_gapless_chain_on_postgres() {
    let url = postgres::server().database("audit_two").await;
    // Two stores with pools of their own, as two Paydeck processes have.
    let first = Store::postgres(&url, Retention::default(), "default").await.unwrap();
    let second = Store::postgres(&url, Retention::default(), "default").await.unwrap();
    let (a, b) = (log(&first, None), log(&second, None));
    let mut appends = Vec::new();
    for writer in 0..8 {
        let log = if writer % 2 == 0 { a.clone() } else { b.clone() };
        appends.push(tokio::spawn(async move {
            let after = json!({ "maxReplicas": writer });
            let mut seqs = Vec::new();
            for i in 0..25 {
                seqs.push(log.record(&attempt(i, "operator", "applied", &after, None)).await.unwrap());
            }
            seqs
        }));
    }
    let mut seqs: Vec<i64> = Vec::new();
    for append in appends {
        seqs.extend(append.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (1..=200).collect::<Vec<_>>(), "every append its own number, none skipped");
    assert_eq!(verify(first.audit.as_ref()).await.unwrap(), Ok(200));
    assert_eq!(a.head().await.unwrap(), b.head().await.unwrap(), "both see the one tip");
}

/// Runs `paydeck ARGS…`: exit code and what it printed.
fn paydeck(args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paydeck"))
        .args(args)
        .env("PAYDECK_LOG", "error")
        .env_remove("PAYDECK_DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.code(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

#[tokio::test]
async fn postgres_keeps_the_log_append_only_and_verify_audit_names_a_changed_row() {
    let url = postgres::server().database("audit_guard").await;
    let store = Store::postgres(&url, Retention::default(), "default").await.unwrap();
    story(&log(&store, None)).await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    for statement in [
        "UPDATE audit SET outcome = 'applied' WHERE seq = 4",
        "UPDATE audit SET detail = '' WHERE seq = 3",
        "DELETE FROM audit WHERE seq = 6",
        "TRUNCATE audit",
    ] {
        let refused = sqlx::query(statement).execute(&pool).await.unwrap_err().to_string();
        assert!(refused.contains("append-only"), "{statement}: {refused}");
    }
    // Pruning a refusal is the one update allowed, and only its body.
    let sneaky = "UPDATE audit SET pruned = TRUE, detail = '', user_name = 'nobody' WHERE seq = 4";
    assert!(sqlx::query(sneaky).execute(&pool).await.is_err(), "the header stays");
    let (code, text) = paydeck(&["--database-url", &url, "verify-audit"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("6 row(s)") && !text.contains(url.split('@').next().unwrap_or("")), "{text}");

    // Someone with the owner's rights drops the guard and rewrites row 4.
    sqlx::query("ALTER TABLE audit DISABLE TRIGGER audit_no_update").execute(&pool).await.unwrap();
    sqlx::query("UPDATE audit SET outcome = 'applied' WHERE seq = 4").execute(&pool).await.unwrap();
    let (code, text) = paydeck(&["--database-url", &url, "verify-audit"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("BROKEN") && text.contains("row 4 "), "{text}");
    // A cut tail is caught with the published head.
    sqlx::query("UPDATE audit SET outcome = 'denied' WHERE seq = 4").execute(&pool).await.unwrap();
    let head = log(&store, None).head().await.unwrap();
    sqlx::query("DELETE FROM audit WHERE seq = 6").execute(&pool).await.unwrap();
    let (code, text) = paydeck(&["--database-url", &url, "verify-audit", "--head", &head.to_string()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("rows were cut from the end"), "{text}");
    // A database Paydeck never wrote is an error of its own, and is left as it was.
    let empty = postgres::server().database("audit_empty").await;
    let (code, text) = paydeck(&["--database-url", &empty, "verify-audit"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("no audit log"), "{text}");
    let empty_pool = sqlx::PgPool::connect(&empty).await.unwrap();
    let tables: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'")
        .fetch_one(&empty_pool)
        .await
        .unwrap();
    assert_eq!(tables, 0, "verify-audit creates nothing");
}

#[tokio::test]
async fn the_documented_role_records_and_reads_but_cannot_rewrite_the_log() {
    let url = postgres::server().database("audit_role").await;
    // The owner brings the schema up to date, then runs the documented SQL.
    let (code, text) = paydeck(&["migrate-store", "--to", &url]);
    assert_eq!(code, Some(0), "{text}");
    let owner = sqlx::PgPool::connect(&url).await.unwrap();
    let roles = include_str!("../../../k8s/postgres/roles.sql");
    sqlx::raw_sql(sqlx::AssertSqlSafe(
        "DO $$ BEGIN DROP ROLE IF EXISTS paydeck_app; EXCEPTION WHEN dependent_objects_still_exist THEN NULL; END $$;",
    ))
    .execute(&owner)
    .await
    .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(roles)).execute(&owner).await.unwrap();

    // Paydeck as that role: history and the audit log work, retention too.
    let app_url = url.replacen("postgres://paydeck@", "postgres://paydeck_app@", 1);
    let store = Store::postgres(&app_url, Retention::default(), "default").await.unwrap();
    let log = log(&store, None);
    story(&log).await;
    assert_eq!(log.settle_dangling_intents(9_000).await.unwrap(), 1);
    assert_eq!(log.prune_refusals(10_000).await.unwrap(), 2, "both refusals' bodies removed");
    store.history.write_event("payments-core", "ledger", 1_000, "scaled", "2 → 3").await.unwrap();
    store.history.maintain(Duration::from_secs(90 * 86_400).as_millis() as i64).await.unwrap();
    // A leader's term is claimed, and writes under it go through, as that role.
    let fence = paydeck::store::Fence::elected("paydeck-leader");
    store.history.set_fence(fence.clone());
    let term = store.history.claim_term("paydeck-leader", "replica-a", 2_000).await.unwrap();
    assert_eq!(store.history.claim_term("paydeck-leader", "replica-b", 3_000).await.unwrap(), term + 1);
    fence.hold(term + 1, std::time::Instant::now() + Duration::from_secs(60));
    store.history.write_steps(&paydeck::history::Steps::default(), &[]).await.unwrap();
    store.history.maintain(Duration::from_secs(90 * 86_400).as_millis() as i64).await.unwrap();
    assert_eq!(verify(store.audit.as_ref()).await.unwrap(), Ok(7));

    // …but it cannot rewrite the log, even past the trigger's one allowed update.
    let app = sqlx::PgPool::connect(&app_url).await.unwrap();
    for statement in [
        "UPDATE audit SET outcome = 'applied' WHERE seq = 4",
        "DELETE FROM audit WHERE seq = 7",
        "TRUNCATE audit",
        "ALTER TABLE audit DISABLE TRIGGER audit_no_update",
        "DROP TRIGGER audit_no_update ON audit",
    ] {
        let refused =
            sqlx::query(sqlx::AssertSqlSafe(statement)).execute(&app).await.unwrap_err().to_string();
        assert!(
            refused.contains("permission denied") || refused.contains("must be owner"),
            "{statement}: {refused}"
        );
    }
    assert_eq!(verify(store.audit.as_ref()).await.unwrap(), Ok(7), "nothing changed");
}

#[tokio::test]
async fn migrate_store_copies_a_file_to_postgres_once_and_the_chain_verifies_there() {
    // A file with hours of history and an audit chain, as a single-cluster install has.
    let (file, dir) = sqlite_store("migrate").await;
    let db = dir.join("paydeck.db");
    paydeck::cluster::simulated::record_history(
        file.history.as_ref(),
        paydeck::cluster::SimProfile::Demo,
        sim::Options::default().seed,
        Duration::from_secs(2 * 3600),
    )
    .await
    .unwrap();
    story(&log(&file, None)).await;
    let now = file.history.simulated_until().await.unwrap().expect("simulated history");
    let plan: domain::plan::Plan = serde_json::from_value(json!({
        "id": 0, "cluster": "default", "namespace": "payments-core", "name": "ledger", "autoscaler": "ledger",
        "reason": "CHG-1 evenings", "state": "draft", "author": "ana", "approver": null, "approvedSpec": null,
        "schedule": { "timeZone": "Asia/Shanghai", "windows": [{ "repeat": { "every": "day" }, "start": "17:45",
                      "end": "21:15", "level": { "minReplicas": 8, "maxReplicas": null } }], "exclusions": [] },
        "createdMs": now, "updatedMs": now, "version": 1
    }))
    .unwrap();
    let plan_id = file.plans.insert(&plan).await.unwrap();
    file.history.close().await;

    let url = postgres::server().database("migrate").await;
    let from = format!("sqlite:{}", db.display());
    let (code, first) = paydeck(&["migrate-store", "--from", &from, "--to", &url]);
    assert_eq!(code, Some(0), "{first}");
    assert!(first.contains("audit log verified on the target"), "{first}");
    let (code, second) = paydeck(&["migrate-store", "--from", &from, "--to", &url]);
    assert_eq!(code, Some(0), "{second}");
    for line in second.lines().filter(|l| l.contains("copied,")) {
        assert!(line.trim_start().split(':').nth(1).unwrap().trim().starts_with("0 copied"), "{second}");
    }

    // The copy reads back as the file does, and its chain verifies with the same head.
    let file = Arc::new(History::open(&db, Retention::default()).await.unwrap());
    let workloads: Vec<(String, String)> =
        sqlx::query_as("SELECT namespace, name FROM workloads ORDER BY id")
            .fetch_all(file.pool())
            .await
            .unwrap();
    assert!(workloads.len() >= 9, "{workloads:?}");
    let source = Store::sqlite(file).await.unwrap();
    let target = Store::postgres(&url, Retention::default(), "default").await.unwrap();
    let range =
        || paydeck::history::range::Range::new(Some(now - 3 * 3_600_000), Some(now), Some(120), now).unwrap();
    for (namespace, name) in &workloads {
        let a = source.history.history(namespace, name, range(), 15_000, now).await.unwrap();
        let b = target.history.history(namespace, name, range(), 15_000, now).await.unwrap();
        assert!(a.is_some(), "{namespace}/{name} was recorded");
        let (a, b) = (serde_json::to_value(a).unwrap(), serde_json::to_value(b).unwrap());
        assert_eq!(crate::support::first_difference(&b, &a, name), None);
    }
    assert_eq!(rows(source.audit.as_ref()).await, rows(target.audit.as_ref()).await);
    // Plans keep their numbers (audit rows name them); new ones are numbered after them.
    assert_eq!(target.plans.get(plan_id).await.unwrap(), source.plans.get(plan_id).await.unwrap());
    assert!(target.plans.get(plan_id).await.unwrap().is_some());
    assert!(target.plans.insert(&plan).await.unwrap() > plan_id);
    let (code, text) = paydeck(&["--database-url", &url, "verify-audit"]);
    assert_eq!(code, Some(0), "{text}");

    // A target with another chain is refused, and nothing is written to it.
    let other_url = postgres::server().database("migrate_other").await;
    let other = Store::postgres(&other_url, Retention::default(), "default").await.unwrap();
    log(&other, None).record(&attempt(42, "someone", "previewed", &json!({}), None)).await.unwrap();
    let (code, text) = paydeck(&["migrate-store", "--from", &from, "--to", &other_url]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("not a copy of this one") && text.contains("nothing was copied"), "{text}");
    assert!(!other.history.has_samples().await.unwrap(), "no history copied");
    assert_eq!(verify(other.audit.as_ref()).await.unwrap(), Ok(1));
    // Bad arguments are named.
    let (code, text) = paydeck(&["migrate-store", "--from", "sqlite:/nonexistent/p.db", "--to", &url]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("no database at /nonexistent/p.db"), "{text}");
    assert!(!std::path::Path::new("/nonexistent/p.db").exists());
    let (code, text) = paydeck(&["migrate-store", "--from", &from, "--to", "sqlite:/tmp/x.db"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("postgres://"), "{text}");
    source.history.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_postgres_store_is_kept_apart_per_cluster_while_its_audit_log_is_one() {
    let url = postgres::server().database("audit_clusters").await;
    let eu = Store::postgres(&url, Retention::default(), "eu-west").await.unwrap();
    let us = Store::postgres(&url, Retention::default(), "us-east").await.unwrap();
    log(&eu, None).record(&attempt(1, "operator", "previewed", &json!({}), None)).await.unwrap();
    log(&us, None).record(&attempt(2, "operator", "previewed", &json!({}), None)).await.unwrap();
    assert_eq!(verify(eu.audit.as_ref()).await.unwrap(), Ok(2), "one chain in one database");
    assert_eq!(eu.history.cluster(), "eu-west");
    assert_eq!(
        PgAudit::on(sqlx::PgPool::connect(&url).await.unwrap()).tip().await.unwrap().map(|t| t.0),
        Some(2)
    );
}

#[test]
fn the_docs_give_the_role_sql_that_is_tested() {
    let statements = |sql: &str| -> Vec<String> {
        let code: String =
            sql.lines().map(|l| l.split("--").next().unwrap_or_default()).collect::<Vec<_>>().join(" ");
        code.split(';')
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty())
            .collect()
    };
    let deploying = include_str!("../../../docs/deploying.md");
    let section = deploying.split("## Which store").nth(1).expect("docs/deploying.md's store section");
    let block = section.split("```sql").nth(1).and_then(|b| b.split("```").next()).expect("its SQL");
    let tested = include_str!("../../../k8s/postgres/roles.sql");
    assert_eq!(statements(block), statements(tested), "docs/deploying.md and k8s/postgres/roles.sql differ");
}
