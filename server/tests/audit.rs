//! The audit log in a real SQLite file: appends chain, the table refuses updates and deletes,
//! and a row changed behind Paydeck's back (triggers dropped) is found and named, by the
//! library and by `paydeck verify-audit`.

use paydeck::{
    audit::{Attempt, AuditLog, AuditQuery, Outcome, verify},
    history::{History, Retention},
};
use serde_json::json;

async fn record(log: &AuditLog, user: &str, outcome: Outcome, max: i64) -> i64 {
    log.record(&Attempt {
        at_ms: 1_000 * max,
        user,
        groups: &["payments:operators".to_string()],
        namespace: "payments-core",
        name: "ledger",
        target: "HorizontalPodAutoscaler/ledger",
        before: &json!({ "maxReplicas": max - 1 }),
        after: &json!({ "maxReplicas": max }),
        reason: "CHG-42 evening peak",
        outcome,
        detail: "",
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn tampering_with_one_row_is_found_and_named() {
    let dir = std::env::temp_dir().join(format!("paydeck-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("paydeck.db");
    let history = History::open(&db, Retention::default()).await.unwrap();
    let log = AuditLog::new(history.pool().clone());
    assert_eq!(record(&log, "operator", Outcome::Applied, 6).await, 1);
    assert_eq!(record(&log, "viewer", Outcome::Denied, 7).await, 2);
    assert_eq!(record(&log, "operator", Outcome::Invalid, 8).await, 3);
    assert_eq!(verify(history.pool()).await.unwrap(), Ok(3));

    let listed = log.list(&AuditQuery { user: Some("operator".into()), ..Default::default() }).await.unwrap();
    assert_eq!(listed.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 1], "newest first, filtered");
    assert_eq!(listed[1].after, json!({ "maxReplicas": 6 }));

    // The table itself refuses changes.
    let refused =
        sqlx::query("UPDATE audit SET reason = 'nothing to see' WHERE seq = 2").execute(history.pool()).await;
    assert!(refused.unwrap_err().to_string().contains("append-only"));
    assert!(sqlx::query("DELETE FROM audit WHERE seq = 2").execute(history.pool()).await.is_err());

    // Someone with the file drops the guard and rewrites row 2.
    sqlx::query("DROP TRIGGER audit_no_update").execute(history.pool()).await.unwrap();
    sqlx::query("UPDATE audit SET outcome = 'applied' WHERE seq = 2").execute(history.pool()).await.unwrap();
    let verdict = verify(history.pool()).await.unwrap().unwrap_err();
    assert!(verdict.starts_with("row 2 "), "{verdict}");
    history.close().await;

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paydeck"))
        .args(["verify-audit", "--db"])
        .arg(&db)
        .env("PAYDECK_LOG", "error")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a broken chain fails the command");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("BROKEN") && text.contains("row 2 "), "{text}");

    // Deleting a row is found too.
    let history = History::open(&db, Retention::default()).await.unwrap();
    sqlx::query("DROP TRIGGER audit_no_delete").execute(history.pool()).await.unwrap();
    sqlx::query("UPDATE audit SET outcome = 'denied' WHERE seq = 2").execute(history.pool()).await.unwrap();
    assert_eq!(verify(history.pool()).await.unwrap(), Ok(3), "restored");
    sqlx::query("DELETE FROM audit WHERE seq = 1").execute(history.pool()).await.unwrap();
    assert!(verify(history.pool()).await.unwrap().unwrap_err().contains("row 1 is missing"));
    history.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
