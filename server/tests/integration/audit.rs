//! The audit log in a real SQLite file: appends chain, the table refuses updates and deletes,
//! a row changed behind Paydeck's back (triggers dropped) is found and named, by the library
//! and by `paydeck verify-audit`; a cut tail is caught with the published head; a keyed chain
//! rewritten without the key is caught; intents left open by a stop are settled; and
//! `verify-audit` checks a million rows in bounded memory.

use std::{path::PathBuf, sync::Arc, time::Duration};

use paydeck::{
    audit::{Attempt, AuditKey, AuditLog, AuditQuery, GENESIS, chain, verify},
    history::Retention,
    store::sqlite::{History, SqliteAudit},
};
use serde_json::json;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("paydeck-audit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("paydeck.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn open(db: &std::path::Path, key: Option<AuditKey>) -> (History, Arc<AuditLog>) {
    let history = History::open(db, Retention::default()).await.unwrap();
    let pool = history.audit_pool(Duration::from_secs(2)).await.unwrap();
    (history, Arc::new(AuditLog::new(Arc::new(SqliteAudit::new(pool)), key, Duration::from_secs(2))))
}

async fn record(log: &Arc<AuditLog>, user: &str, outcome: &str, max: i64) -> i64 {
    log.record(&Attempt {
        cluster: "default",
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
        intent_seq: None,
    })
    .await
    .unwrap()
}

/// Runs `paydeck verify-audit --db DB ARGS…`: exit code and what it printed.
fn verify_audit(db: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paydeck"))
        .args(["verify-audit", "--db"])
        .arg(db)
        .args(args)
        .env("PAYDECK_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

#[tokio::test]
async fn tampering_with_one_row_is_found_and_named() {
    let tmp = TempDir::new("tamper");
    let db = tmp.db();
    let (history, log) = open(&db, None).await;
    assert_eq!(record(&log, "operator", "applied", 6).await, 1);
    assert_eq!(record(&log, "viewer", "denied", 7).await, 2);
    assert_eq!(record(&log, "operator", "invalid", 8).await, 3);
    assert_eq!(verify(&SqliteAudit::new(history.pool().clone())).await.unwrap(), Ok(3));

    let listed = log.list(&AuditQuery { user: Some("operator".into()), ..Default::default() }).await.unwrap();
    assert_eq!(listed.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 1], "newest first, filtered");
    assert_eq!(listed[1].after, json!({ "maxReplicas": 6 }));
    let page = log.list(&AuditQuery { limit: Some(1), before: Some(3), ..Default::default() }).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2], "the next page");

    // The table itself refuses changes.
    let refused =
        sqlx::query("UPDATE audit SET reason = 'nothing to see' WHERE seq = 2").execute(history.pool()).await;
    assert!(refused.unwrap_err().to_string().contains("append-only"));
    assert!(sqlx::query("DELETE FROM audit WHERE seq = 2").execute(history.pool()).await.is_err());

    // Someone with the file drops the guard and rewrites row 2.
    sqlx::query("DROP TRIGGER audit_no_update").execute(history.pool()).await.unwrap();
    sqlx::query("UPDATE audit SET outcome = 'applied' WHERE seq = 2").execute(history.pool()).await.unwrap();
    let verdict = verify(&SqliteAudit::new(history.pool().clone())).await.unwrap().unwrap_err();
    assert!(verdict.starts_with("row 2 "), "{verdict}");
    history.close().await;

    let (code, text) = verify_audit(&db, &[]);
    assert_eq!(code, Some(1), "a broken chain fails the command: {text}");
    assert!(text.contains("BROKEN") && text.contains("row 2 "), "{text}");

    // Deleting a row is found too.
    let history = History::open(&db, Retention::default()).await.unwrap();
    sqlx::query("DROP TRIGGER audit_no_delete").execute(history.pool()).await.unwrap();
    sqlx::query("UPDATE audit SET outcome = 'denied' WHERE seq = 2").execute(history.pool()).await.unwrap();
    assert_eq!(verify(&SqliteAudit::new(history.pool().clone())).await.unwrap(), Ok(3), "restored");
    sqlx::query("DELETE FROM audit WHERE seq = 1").execute(history.pool()).await.unwrap();
    assert!(
        verify(&SqliteAudit::new(history.pool().clone()))
            .await
            .unwrap()
            .unwrap_err()
            .contains("row 1 is missing")
    );
    history.close().await;

    let (code, text) = verify_audit(&tmp.0.join("missing.db"), &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(!tmp.0.join("missing.db").exists(), "verify-audit creates nothing");
}

#[tokio::test]
async fn a_cut_tail_is_caught_with_the_published_head_and_numbers_are_never_reused() {
    let tmp = TempDir::new("tail");
    let db = tmp.db();
    let (history, log) = open(&db, None).await;
    for max in 1..=5 {
        record(&log, "operator", "applied", max).await;
    }
    let head = log.head().await.unwrap();
    assert_eq!(head.seq, 5);
    let published = format!("{}:{}", head.seq, head.hash);
    assert_eq!(verify_audit(&db, &["--head", &published]).0, Some(0));

    // Rows 4 and 5 are cut: the chain that is left is consistent in itself…
    sqlx::query("DROP TRIGGER audit_no_delete").execute(history.pool()).await.unwrap();
    sqlx::query("DELETE FROM audit WHERE seq >= 4").execute(history.pool()).await.unwrap();
    assert_eq!(verify(&SqliteAudit::new(history.pool().clone())).await.unwrap(), Ok(3));
    assert_eq!(verify_audit(&db, &[]).0, Some(0), "without the head, a cut tail cannot be seen");
    // …but not with the head kept outside.
    let (code, text) = verify_audit(&db, &["--head", &published]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("ends at row 3") && text.contains("row 5"), "{text}");
    // A head for a row that is there but different is caught as well.
    let (code, text) = verify_audit(&db, &["--head", &format!("2:{}", head.hash)]);
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(verify_audit(&db, &["--head", "5:nothex"]).0, Some(2), "a malformed head is a usage error");

    // The next row gets 6, not 4: a number, once used, is never used again.
    let (_, log) = open(&db, None).await;
    assert_eq!(record(&log, "operator", "applied", 9).await, 6);
    history.close().await;
}

#[tokio::test]
async fn a_keyed_chain_rewritten_without_the_key_is_caught() {
    let tmp = TempDir::new("keyed");
    let db = tmp.db();
    let key_file = tmp.0.join("audit.key");
    std::fs::write(&key_file, format!("{}\n", "k".repeat(40))).unwrap();
    let key = AuditKey::read(&key_file).unwrap();
    let (history, log) = open(&db, Some(key.clone())).await;
    for max in 1..=3 {
        record(&log, "operator", "applied", max).await;
    }
    let key_arg = key_file.to_str().unwrap();
    assert_eq!(verify_audit(&db, &["--audit-key-file", key_arg]).0, Some(0));
    let (code, text) = verify_audit(&db, &[]);
    assert_eq!(code, Some(1), "keyed rows cannot be checked without the key: {text}");
    assert!(text.contains("--audit-key-file"), "{text}");

    // Someone with write access but not the key rewrites row 2 and re-chains the rest with
    // plain SHA-256: consistent without the key, caught with it.
    sqlx::query("DROP TRIGGER audit_no_update").execute(history.pool()).await.unwrap();
    let mut prev = GENESIS.to_string();
    for seq in 1..=3i64 {
        let reason = if seq == 2 { "nothing happened" } else { "CHG-42 evening peak" };
        let at = 1_000 * seq;
        let before = json!({ "maxReplicas": seq - 1 }).to_string();
        let after = json!({ "maxReplicas": seq }).to_string();
        let fields = chain::Fields {
            at_ms: at,
            user: "operator",
            groups: "[\"payments:operators\"]",
            namespace: "payments-core",
            name: "ledger",
            target: "HorizontalPodAutoscaler/ledger",
            before: &before,
            after: &after,
            reason,
            outcome: "applied",
            detail: "",
            intent_seq: None,
            keyed: false,
            format: chain::Format::Whole,
            removed_body: None,
            cluster: "",
        };
        let hash = chain::row_hash(&prev, &fields, None).unwrap();
        sqlx::query(
            "UPDATE audit SET reason = ?, keyed = 0, format = 1, prev_hash = ?, hash = ? WHERE seq = ?",
        )
        .bind(reason)
        .bind(&prev)
        .bind(&hash)
        .bind(seq)
        .execute(history.pool())
        .await
        .unwrap();
        prev = hash;
    }
    assert_eq!(
        verify(&SqliteAudit::new(history.pool().clone())).await.unwrap(),
        Ok(3),
        "plain SHA-256 cannot tell"
    );
    let (code, text) = verify_audit(&db, &["--audit-key-file", key_arg]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("row 1 is not keyed"), "{text}");
    history.close().await;
}

#[tokio::test]
async fn intents_left_open_by_a_stop_are_settled_as_unknown() {
    let tmp = TempDir::new("intents");
    let db = tmp.db();
    let (history, log) = open(&db, None).await;
    let intent = record(&log, "operator", "intent", 6).await;
    let done = record(&log, "operator", "intent", 7).await;
    log.record(&Attempt {
        cluster: "default",
        at_ms: 8_000,
        user: "operator",
        groups: &[],
        namespace: "payments-core",
        name: "ledger",
        target: "HorizontalPodAutoscaler/ledger",
        before: &json!({}),
        after: &json!({}),
        reason: "CHG-43",
        outcome: "applied",
        detail: "",
        intent_seq: Some(done),
    })
    .await
    .unwrap();
    assert_eq!(log.settle_dangling_intents(9_000).await.unwrap(), 1);
    assert_eq!(log.settle_dangling_intents(9_000).await.unwrap(), 0, "settled once");
    let listed = log.list(&AuditQuery::default()).await.unwrap();
    let unknown = listed.iter().find(|e| e.outcome == "unknown").expect("an unknown outcome");
    assert_eq!(unknown.intent_seq, Some(intent));
    assert!(listed.iter().all(|e| e.outcome != "intent"), "intents are listed only when asked for");
    let intents =
        log.list(&AuditQuery { outcome: Some("intent".into()), ..Default::default() }).await.unwrap();
    assert_eq!(intents.len(), 2);
    assert_eq!(verify(&SqliteAudit::new(history.pool().clone())).await.unwrap(), Ok(4));
    history.close().await;
}

/// An intent is written only while the disk keeps room for its outcome: below the reserve it
/// is refused, saying how much is free, and nothing is appended; an outcome is still written.
#[tokio::test]
async fn an_intent_is_refused_when_the_disk_has_no_room_for_its_outcome() {
    let tmp = TempDir::new("reserve");
    let db = tmp.db();
    let (history, log) = open(&db, None).await;
    let first = record(&log, "operator", "previewed", 2).await;
    let pool = history.audit_pool(Duration::from_secs(2)).await.unwrap();
    let cramped = Arc::new(
        AuditLog::new(Arc::new(SqliteAudit::new(pool)), None, Duration::from_secs(2)).with_reserve(u64::MAX),
    );
    let intent = Attempt {
        cluster: "default",
        at_ms: 3_000,
        user: "operator",
        groups: &[],
        namespace: "payments-core",
        name: "ledger",
        target: "HorizontalPodAutoscaler/ledger",
        before: &json!({ "maxReplicas": 2 }),
        after: &json!({ "maxReplicas": 3 }),
        reason: "CHG-44",
        outcome: "intent",
        detail: "sending to the cluster",
        intent_seq: None,
    };
    let refused = cramped.record_intent(&intent).await.unwrap_err();
    assert!(matches!(refused, paydeck::audit::AuditError::LowOnSpace { .. }), "{refused}");
    assert!(refused.to_string().contains("KiB free"), "{refused}");
    assert_eq!(cramped.head().await.unwrap().seq, first, "nothing appended");
    let outcome = cramped.record(&Attempt { outcome: "failed", ..intent.clone() }).await.unwrap();
    assert_eq!(outcome, first + 1, "an outcome is written whatever the reserve");
    assert_eq!(log.record_intent(&intent).await.unwrap(), first + 2, "room under the usual reserve");
    assert_eq!(verify(&SqliteAudit::new(history.pool().clone())).await.unwrap(), Ok(3));
    history.close().await;
}

/// A refused attempt by `user` at `at_ms` that asks for a great deal: a huge body and reason.
fn refusal<'a>(user: &'a str, at_ms: i64, huge: &'a serde_json::Value, reason: &'a str) -> Attempt<'a> {
    Attempt {
        cluster: "default",
        at_ms,
        user,
        groups: &[],
        namespace: "payments-core",
        name: "ledger",
        target: "HorizontalPodAutoscaler/ledger",
        before: huge,
        after: huge,
        reason,
        outcome: "invalid",
        detail: "nothing was sent: maxReplicas must be a whole number",
        intent_seq: None,
    }
}

/// A refused attempt (nothing sent) is kept compactly and within a daily budget per identity;
/// once past its retention its details go and the chain still verifies; a change that was made
/// is kept whole, can be neither pruned by Paydeck nor passed off as pruned.
#[tokio::test]
async fn refused_attempts_are_compact_budgeted_and_pruned_while_the_chain_holds() {
    let tmp = TempDir::new("refusals");
    let db = tmp.db();
    let history = History::open(&db, Retention::default()).await.unwrap();
    let pool = history.audit_pool(Duration::from_secs(2)).await.unwrap();
    let log = Arc::new(
        AuditLog::new(Arc::new(SqliteAudit::new(pool)), None, Duration::from_secs(2))
            .with_refusal_budget(8 * 1024),
    );
    let huge = json!({ "maxReplicas": "9".repeat(20_000) });
    let reason = "r".repeat(5_000);
    let day = 86_400_000;
    let mut recorded = 0;
    let refused = loop {
        match log.record(&refusal("mallory", 10 * day + recorded, &huge, &reason)).await {
            Ok(_) => recorded += 1,
            Err(e) => break e,
        }
        assert!(recorded < 100, "the budget ends");
    };
    assert!(matches!(refused, paydeck::audit::AuditError::OverBudget { .. }), "{refused}");
    assert!(refused.to_string().contains("mallory has used today's 8 KiB"), "{refused}");
    let widest: i64 = sqlx::query_scalar(
        "SELECT MAX(length(groups) + length(target) + length(before) + length(after) + length(reason) + length(detail)) FROM audit",
    )
    .fetch_one(history.pool())
    .await
    .unwrap();
    assert!(widest < 1_500, "a refused attempt takes {widest} bytes (a full one up to ~30 KB)");
    assert!(recorded >= 5, "{recorded} refused attempts fit in 8 KiB");
    // Someone else, the next day, and a change that was made are not held to mallory's budget.
    log.record(&refusal("ben", 10 * day, &huge, &reason)).await.unwrap();
    log.record(&refusal("mallory", 11 * day, &huge, &reason)).await.unwrap();
    let applied = record(&log, "mallory", "applied", 12 * day).await;

    // Past the retention: the refused attempts lose their details, not their place.
    let pruned = log.prune_refusals(11 * day).await.unwrap();
    assert_eq!(pruned, recorded as u64 + 1, "mallory's and ben's of day 10");
    let rows = log.list(&AuditQuery::default()).await.unwrap();
    let gone: Vec<_> = rows.iter().filter(|e| e.detail == paydeck::audit::PRUNED_DETAIL).collect();
    assert_eq!(gone.len(), pruned as usize);
    assert!(gone.iter().all(|e| e.outcome == "invalid" && e.reason.is_empty() && e.after.is_null()));
    assert!(rows.iter().any(|e| e.seq == applied && e.after["maxReplicas"] == 12 * day));
    assert_eq!(
        verify(&SqliteAudit::new(history.pool().clone())).await.unwrap(),
        Ok(recorded + 3),
        "the chain verifies"
    );

    // Paydeck's own database refuses to prune a change that was made…
    let refused = sqlx::query("UPDATE audit SET reason = '', pruned = 1 WHERE seq = ?")
        .bind(applied)
        .execute(history.pool())
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("append-only"), "{refused}");
    // … and someone who gets past that is caught by the check.
    sqlx::query("DROP TRIGGER audit_no_update").execute(history.pool()).await.unwrap();
    sqlx::query("UPDATE audit SET reason = '', after = 'null', pruned = 1 WHERE seq = ?")
        .bind(applied)
        .execute(history.pool())
        .await
        .unwrap();
    let broken = verify(&SqliteAudit::new(history.pool().clone())).await.unwrap().unwrap_err();
    assert!(
        broken.contains(&format!("row {applied} had its details removed, but it is not a refused attempt")),
        "{broken}"
    );
    history.close().await;
}

/// Listings go through read-only connections of their own: while every one of them is busy,
/// an append still lands at once.
#[tokio::test]
async fn readers_cannot_keep_an_append_waiting() {
    let tmp = TempDir::new("readers");
    let db = tmp.db();
    let history = History::open(&db, Retention::default()).await.unwrap();
    let pool = history.audit_pool(Duration::from_secs(2)).await.unwrap();
    let readers = history.audit_readers().await.unwrap();
    let log = Arc::new(AuditLog::new(
        Arc::new(SqliteAudit::new(pool).with_readers(readers.clone())),
        None,
        Duration::from_secs(2),
    ));
    record(&log, "operator", "applied", 2).await;
    // Both reader connections held, each inside a read transaction.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut conn = readers.acquire().await.unwrap();
        sqlx::query("BEGIN").execute(&mut *conn).await.unwrap();
        let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit").fetch_one(&mut *conn).await.unwrap();
        held.push(conn);
    }
    let started = std::time::Instant::now();
    record(&log, "operator", "applied", 3).await;
    assert!(started.elapsed() < Duration::from_millis(500), "appended in {:?}", started.elapsed());
    // A reader connection cannot write.
    let refused = sqlx::query("DELETE FROM samples").execute(&mut *held[0]).await.unwrap_err();
    assert!(refused.to_string().contains("readonly"), "{refused}");
    for mut conn in held {
        sqlx::query("ROLLBACK").execute(&mut *conn).await.unwrap();
    }
    assert_eq!(log.list(&AuditQuery::default()).await.unwrap().len(), 2);
    history.close().await;
}

/// Peak resident memory of a child process, in KiB, once it has exited.
#[allow(clippy::zombie_processes)] // reaped by wait4, which also reports its peak memory
fn run_measuring(mut command: std::process::Command) -> (i32, i64) {
    let child = command.stdout(std::process::Stdio::null()).spawn().unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; `status` and `usage` are valid for writing.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t);
    (libc::WEXITSTATUS(status), usage.ru_maxrss)
}

#[tokio::test]
async fn a_million_rows_are_verified_in_bounded_memory() {
    const ROWS: i64 = 1_000_000;
    const BOUND_KIB: i64 = 96 * 1024;
    let tmp = TempDir::new("million");
    let db = tmp.db();
    History::open(&db, Retention::default()).await.unwrap().close().await;
    // Generated fast: no journal, no syncing (the test is about reading it back).
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&db)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Off)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Off);
    let history = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let mut tx = history.begin().await.unwrap();
    let mut prev = GENESIS.to_string();
    let before =
        json!({ "maxReplicas": 4, "minReplicas": 2, "targetCPUUtilizationPercentage": 70 }).to_string();
    let after =
        json!({ "maxReplicas": 6, "minReplicas": 2, "targetCPUUtilizationPercentage": 70 }).to_string();
    let reason = "CHG-42 evening peak, raising the maximum before the flash sale";
    // Rows are chained here and inserted 500 at a time.
    let mut batch: Vec<(i64, String, String)> = Vec::with_capacity(500);
    for seq in 1..=ROWS {
        let fields = chain::Fields {
            at_ms: seq,
            user: "operator",
            groups: "[\"payments:operators\"]",
            namespace: "payments-core",
            name: "ledger",
            target: "HorizontalPodAutoscaler/ledger",
            before: &before,
            after: &after,
            reason,
            outcome: "applied",
            detail: "the cluster accepted the change.",
            intent_seq: None,
            keyed: false,
            format: chain::Format::Whole,
            removed_body: None,
            cluster: "",
        };
        let hash = chain::row_hash(&prev, &fields, None).unwrap();
        batch.push((seq, std::mem::replace(&mut prev, hash.clone()), hash));
        if batch.len() == 500 || seq == ROWS {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO audit (at_ms, user, groups, namespace, name, target, before, after, reason, outcome, detail, prev_hash, hash) ",
            );
            insert.push_values(batch.drain(..), |mut row, (at, prev_hash, hash)| {
                row.push_bind(at)
                    .push_bind("operator")
                    .push_bind("[\"payments:operators\"]")
                    .push_bind("payments-core")
                    .push_bind("ledger")
                    .push_bind("HorizontalPodAutoscaler/ledger")
                    .push_bind(before.clone())
                    .push_bind(after.clone())
                    .push_bind(reason)
                    .push_bind("applied")
                    .push_bind("the cluster accepted the change.")
                    .push_bind(prev_hash)
                    .push_bind(hash);
            });
            insert.build().execute(&mut *tx).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
    history.close().await;
    let size = std::fs::metadata(&db).unwrap().len();
    assert!(size > 300 << 20, "the log is large: {size} bytes");

    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_paydeck"));
    command.args(["verify-audit", "--db"]).arg(&db).args(["--head", &format!("{ROWS}:{prev}")]);
    command.env("PAYDECK_LOG", "error");
    let (code, peak_kib) = run_measuring(command);
    assert_eq!(code, 0, "the million-row chain is intact");
    println!(
        "verify-audit: {ROWS} rows, peak resident memory {} MiB (bound {} MiB)",
        peak_kib / 1024,
        BOUND_KIB / 1024
    );
    assert!(
        peak_kib < BOUND_KIB,
        "verify-audit peaked at {} MiB for {ROWS} rows (bound {} MiB)",
        peak_kib / 1024,
        BOUND_KIB / 1024
    );
}
