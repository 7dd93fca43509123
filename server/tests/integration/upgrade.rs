//! A database written by an earlier release opens in place: its schema is brought up to date
//! and it reads back the same history, demand and events, with an audit chain that still
//! verifies to the head it had.
//!
//! The fixture (`tests/fixtures/release-2026-12.db`) was written by the release of December
//! 2026 with `write_release_fixture` below, beside what that release read from it
//! (`release-2026-12.expect.json`). It is never rewritten by a later release: it is that
//! release's file.

use std::path::{Path, PathBuf};

use paydeck::history::{Retention, query};
use paydeck::store::sqlite::History;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::support::{self, StackOptions, first_difference};

const FIXTURE: &str = "tests/fixtures/release-2026-12";

/// The workloads whose figures are compared: one with an HPA (scale events), one without
/// (the edit's event).
const WORKLOADS: [(&str, &str); 2] = [("payments-core", "risk-scoring"), ("payments-core", "fx-rates")];

/// What a release read from its own file, for a later release to read the same.
#[derive(Serialize, Deserialize)]
struct Expected {
    /// The last sample's time: queries are made relative to it, not to the wall clock.
    last_sample_ms: i64,
    /// Per workload: its history from raw samples (the three hours recorded, and the minute
    /// after, when the edit was made) and from the 5-minute rollups (the same range asked
    /// three days later), and its demand series.
    workloads: Vec<WorkloadReadings>,
    /// The audit chain's head and its rows by outcome.
    audit_head: String,
    audit_outcomes: Vec<(String, i64)>,
}

#[derive(Serialize, Deserialize)]
struct WorkloadReadings {
    namespace: String,
    name: String,
    raw: Value,
    rollups: Value,
    demand: Value,
}

const THREE_HOURS_MS: i64 = 3 * 3_600_000;
const THREE_DAYS_MS: i64 = 3 * 86_400_000;
const SAMPLE_INTERVAL_MS: i64 = 15_000;

/// Reads back what [`Expected`] holds from an opened database.
async fn readings(history: &History, db: &Path) -> Expected {
    let pool = readonly(db).await;
    let last_sample_ms: i64 =
        sqlx::query_scalar("SELECT MAX(at_ms) FROM samples").fetch_one(&pool).await.unwrap();
    let from = last_sample_ms - THREE_HOURS_MS;
    let to = last_sample_ms + 60_000;
    let mut workloads = Vec::new();
    for (namespace, name) in WORKLOADS {
        let ask = |now_ms| {
            let range = query::Range::new(Some(from), Some(to), Some(60), now_ms).unwrap();
            history.workload_history(namespace, name, range, SAMPLE_INTERVAL_MS, now_ms)
        };
        let raw = ask(to).await.unwrap().expect("recorded");
        let rollups = ask(to + THREE_DAYS_MS).await.unwrap().expect("recorded");
        assert_eq!((raw.source.as_str(), rollups.source.as_str()), ("raw", "5m"));
        let demand = history
            .demand(namespace, name, (from, to), (2.0, 512.0 * 1_048_576.0), None)
            .await
            .unwrap()
            .expect("demand recorded");
        assert!(
            demand.cpu.iter().flatten().count() > 600,
            "{namespace}/{name}: demand over the hours recorded"
        );
        workloads.push(WorkloadReadings {
            namespace: namespace.into(),
            name: name.into(),
            raw: serde_json::to_value(raw).unwrap(),
            rollups: serde_json::to_value(rollups).unwrap(),
            demand: serde_json::to_value(demand).unwrap(),
        });
    }
    let intact = paydeck::audit::verify::verify_with(
        &paydeck::store::sqlite::SqliteAudit::new(pool.clone()),
        &Default::default(),
    )
    .await
    .unwrap()
    .expect("intact");
    let audit_outcomes =
        sqlx::query_as("SELECT outcome, COUNT(*) FROM audit GROUP BY outcome ORDER BY outcome")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    Expected { last_sample_ms, workloads, audit_head: intact.head.to_string(), audit_outcomes }
}

async fn readonly(db: &Path) -> sqlx::SqlitePool {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(db).read_only(true);
    sqlx::SqlitePool::connect_with(options).await.unwrap()
}

fn fixture(ext: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("{FIXTURE}.{ext}"))
}

#[tokio::test]
async fn a_database_of_the_previous_release_upgrades_in_place_and_reads_the_same() {
    let dir = std::env::temp_dir().join(format!("paydeck-upgrade-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("paydeck.db");
    std::fs::copy(fixture("db"), &db).unwrap();
    let expected: Expected =
        serde_json::from_str(&std::fs::read_to_string(fixture("expect.json")).unwrap()).unwrap();

    // Opened as a cluster named by its kubeconfig context: rows recorded before clusters had
    // names become that cluster's.
    let history =
        History::open_for_cluster(&db, Retention::default(), None, "arn:aws:eks:eu-west-1:1:cluster/prod")
            .await
            .expect("the old file opens and migrates");
    let read = readings(&history, &db).await;
    let pool = readonly(&db).await;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&pool).await.unwrap();
    let dangling: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT \"table\", rowid FROM pragma_foreign_key_check")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!((integrity.as_str(), dangling), ("ok", vec![]), "the rebuilt tables are whole");
    pool.close().await;
    assert_eq!(read.last_sample_ms, expected.last_sample_ms);
    for (now, then) in read.workloads.iter().zip(&expected.workloads) {
        let what = format!("{}/{}", then.namespace, then.name);
        for (part, now, then) in [
            ("raw history", &now.raw, &then.raw),
            ("rolled-up history", &now.rollups, &then.rollups),
            ("demand", &now.demand, &then.demand),
        ] {
            if let Some(difference) = first_difference(now, then, "") {
                panic!("{what}: {part} reads otherwise: {difference}");
            }
        }
    }
    let events = |w: &WorkloadReadings| w.raw["events"].as_array().map_or(0, Vec::len);
    assert!(expected.workloads.iter().all(|w| events(w) > 0), "the fixture holds scale and edit events");
    assert_eq!(read.audit_outcomes, expected.audit_outcomes);
    assert_eq!(read.audit_head, expected.audit_head, "the chain verifies to the head it had");
    history.close().await;
    // Opened again, by the same name, it reads the same; by another name, that cluster has
    // recorded nothing.
    let again =
        History::open_for_cluster(&db, Retention::default(), None, "arn:aws:eks:eu-west-1:1:cluster/prod")
            .await
            .unwrap();
    assert_eq!(readings(&again, &db).await.workloads[0].raw, read.workloads[0].raw);
    again.close().await;
    let other = History::open_for_cluster(&db, Retention::default(), None, "staging").await.unwrap();
    let (namespace, name) = WORKLOADS[0];
    assert_eq!(other.find_workload(namespace, name).await.unwrap(), None, "history is keyed by cluster");
    other.close().await;

    // `paydeck verify-audit` itself passes on the upgraded file, pinned to the old head.
    let verdict = std::process::Command::new(env!("CARGO_BIN_EXE_paydeck"))
        .args(["verify-audit", "--db"])
        .arg(&db)
        .args(["--head", &expected.audit_head])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&verdict.stdout);
    assert!(verdict.status.success(), "{printed}{}", String::from_utf8_lossy(&verdict.stderr));
    assert!(printed.contains("audit log intact"), "{printed}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Writes the fixture: two hours of the simulated platform, an applied edit, a refused and
/// an invalid attempt. Run by hand for a new fixture, never by `make test`:
/// `cargo test -p paydeck --test integration upgrade::write_release_fixture -- --ignored`.
#[tokio::test]
#[ignore = "writes the fixture of a release"]
async fn write_release_fixture() {
    let s = support::stack(StackOptions {
        sim_history: Some(std::time::Duration::from_secs(3 * 3600)),
        ..StackOptions::default()
    })
    .await;
    let history = s.sqlite.clone().expect("a SQLite stack");
    let post = |user: &str, groups: &str, body: Value| {
        reqwest::Client::new()
            .post(format!("{}/workloads/payments-core/fx-rates/scaling", s.base))
            .header("X-Forwarded-User", user)
            .header("X-Forwarded-Groups", groups)
            .json(&body)
            .send()
    };
    let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(support::admin(&s.server).await, "payments-core");
    let rv = deployments.get("fx-rates").await.unwrap().metadata.resource_version.unwrap();
    let applied = post(
        "operator",
        "payments:operators",
        json!({ "replicas": 2, "reason": "CHG-1 fixture", "resourceVersion": rv }),
    )
    .await
    .unwrap();
    assert_eq!(applied.status(), 200, "{}", applied.text().await.unwrap());
    let refused = post(
        "viewer",
        "payments:viewers",
        json!({ "replicas": 3, "reason": "CHG-2 fixture", "resourceVersion": rv }),
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), 403);
    let invalid = post(
        "operator",
        "payments:operators",
        json!({ "replicas": -1, "reason": "CHG-3 fixture", "resourceVersion": rv }),
    )
    .await
    .unwrap();
    assert_eq!(invalid.status(), 422);

    let last: i64 =
        sqlx::query_scalar("SELECT MAX(at_ms) FROM samples").fetch_one(history.pool()).await.unwrap();
    history.maintain(last + 1).await.unwrap();
    let out = fixture("db");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&out);
    sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{}'", out.display())))
        .execute(history.pool())
        .await
        .unwrap();
    let expected = readings(&history, &out).await;
    std::fs::write(fixture("expect.json"), serde_json::to_string(&expected).unwrap()).unwrap();
    println!("fixture written: {} ({} bytes)", out.display(), std::fs::metadata(&out).unwrap().len());
}
