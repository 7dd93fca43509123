//! The two stores, one behaviour: the same history written to a SQLite file and to a real
//! PostgreSQL server reads back the same — raw samples, both rollups, gaps, events, demand at
//! the controller's syncs, the platform's sums, retention, a clock stepping back — and each
//! keeps clusters apart. What only PostgreSQL can get wrong (an unreachable server) is tested
//! on it alone.

use std::{sync::Arc, time::Duration};

use paydeck::{
    history::{Decision, Figures, ReadingRow, Retention, Steps, range::Range},
    store::{HistoryStore, postgres::PgHistory, sqlite::History},
};
use serde_json::{Value, json};

use crate::{postgres, support::first_difference};

/// A Thursday, 00:00 UTC: the scenario's "now" (no test here reads the wall clock).
const NOW: i64 = 1_795_651_200_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

const WORKLOADS: [(&str, &str); 3] =
    [("payments-core", "ledger"), ("payments-core", "fx-rates"), ("payments-edge", "gateway")];

async fn sqlite(name: &str, cluster: &str) -> (Arc<dyn HistoryStore>, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("paydeck-stores-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = History::open_for_cluster(&dir.join("paydeck.db"), Retention::default(), None, cluster)
        .await
        .unwrap();
    (Arc::new(store), dir)
}

async fn postgres(url: &str, cluster: &str) -> Arc<dyn HistoryStore> {
    Arc::new(PgHistory::connect(url, Retention::default(), cluster).await.unwrap())
}

/// Figures that differ per workload and move with time, so a misplaced row shows.
fn figures(workload: usize, at_ms: i64) -> Figures {
    let phase = ((at_ms / MINUTE) % 60) as f64 / 60.0;
    let replicas = 2 + workload as i32 + (phase * 4.0) as i32;
    Figures {
        replicas_desired: replicas,
        replicas_ready: replicas - i32::from(phase > 0.9),
        hpa_min: (workload != 1).then_some(2),
        hpa_max: (workload != 1).then_some(10),
        hpa_cpu_target: (workload != 1).then_some(70),
        cpu_requests: f64::from(replicas) * 0.5,
        cpu_limits: (workload != 2).then_some(f64::from(replicas)),
        cpu_usage: Some(0.3 * f64::from(replicas) + phase),
        memory_requests: 512e6 * f64::from(replicas),
        memory_limits: Some(1e9 * f64::from(replicas)),
        memory_usage: (workload != 2 || phase < 0.5).then_some(300e6 * f64::from(replicas)),
        request_rate: Some(100.0 * (1.0 + phase) * (workload + 1) as f64),
    }
}

/// Three hours every 15 s up to [`NOW`], with twenty minutes missing (Paydeck down), a metrics
/// reading per sample, a scale now and then, and one moment written twice (the later wins).
async fn record(store: &dyn HistoryStore) {
    let names: Vec<(String, String)> =
        WORKLOADS.iter().map(|(n, w)| (n.to_string(), w.to_string())).collect();
    let mut at = NOW - 3 * HOUR;
    while at < NOW {
        let down = (NOW - 2 * HOUR..NOW - 2 * HOUR + 20 * MINUTE).contains(&at);
        if !down {
            let mut steps = Steps { workloads: names.clone(), ..Steps::default() };
            steps.steps.push((at, (0..WORKLOADS.len()).map(|i| (i, figures(i, at))).collect()));
            for i in 0..WORKLOADS.len() {
                let f = figures(i, at);
                steps.readings.push((
                    i,
                    ReadingRow {
                        at_ms: at - 3_000,
                        window_ms: 15_000,
                        cpu_millis: (f.cpu_usage.unwrap() * 1000.0) as i64,
                        memory_bytes: f.memory_usage.unwrap_or(0.0),
                        request_rate: f.request_rate,
                        ready: f.replicas_ready,
                        desired: f.replicas_desired,
                    },
                ));
                if (at / 15_000) % 40 == i as i64 {
                    steps.decisions.push((i, Decision { at_ms: at - 1_000, replicas: f.replicas_desired }));
                }
            }
            store.write_steps(&steps, &[]).await.unwrap();
        }
        at += 15_000;
    }
    // The last moment again, with other figures: the later write is the one kept.
    let mut again = Steps { workloads: names.clone(), ..Steps::default() };
    let mut changed = figures(0, NOW - 15_000);
    changed.replicas_desired = 42;
    again.steps.push((NOW - 15_000, vec![(0, changed)]));
    store.write_steps(&again, &[]).await.unwrap();
    store
        .write_event("payments-core", "ledger", NOW - 90 * MINUTE, "scale", "replicas 3 → 5 by HPA ledger")
        .await
        .unwrap();
    store
        .write_event("payments-core", "ledger", NOW - 20 * MINUTE, "edit", "replicas 5 → 6 by ana: CHG-1")
        .await
        .unwrap();
    store.mark_simulated_until(NOW - 150 * MINUTE).await.unwrap();
    store.maintain(NOW).await.unwrap();
}

/// Everything the pages and the what-if read of a store, at `now`.
async fn read(store: &dyn HistoryStore, now: i64) -> Value {
    let mut out = serde_json::Map::new();
    for (namespace, name) in WORKLOADS {
        for (label, from, points) in
            [("hour", NOW - HOUR, 60), ("three", NOW - 3 * HOUR, 36), ("day", NOW - DAY, 24)]
        {
            let range = Range::new(Some(from), Some(NOW), Some(points), now).unwrap();
            let h = store.history(namespace, name, range, 15_000, now).await.unwrap();
            out.insert(format!("{namespace}/{name} {label}"), serde_json::to_value(h).unwrap());
        }
        let demand = store.demand(namespace, name, (NOW - 3 * HOUR, NOW), (0.5, 512e6), None).await.unwrap();
        out.insert(format!("{namespace}/{name} demand"), serde_json::to_value(demand).unwrap());
    }
    for namespace in [None, Some("payments-core")] {
        let points = store.platform_recent(namespace, DAY, now).await.unwrap();
        out.insert(format!("platform {namespace:?}"), serde_json::to_value(points).unwrap());
    }
    let nothing =
        store.history("payments-core", "nope", Range::new(None, None, None, now).unwrap(), 15_000, now).await;
    out.insert("unknown workload".into(), json!(nothing.unwrap().is_none()));
    out.insert("has samples".into(), json!(store.has_samples().await.unwrap()));
    out.insert("simulated until".into(), json!(store.simulated_until().await.unwrap()));
    Value::Object(out)
}

fn same(sqlite: &Value, postgres: &Value, what: &str) {
    if let Some(difference) = first_difference(sqlite, postgres, "") {
        panic!("{what}: PostgreSQL reads otherwise than SQLite at {difference}");
    }
}

#[tokio::test]
async fn the_same_history_reads_the_same_from_sqlite_and_postgresql() {
    let url = postgres::server().database("same").await;
    let (lite, dir) = sqlite("same", "prod-eu").await;
    let pg = postgres(&url, "prod-eu").await;
    for store in [lite.as_ref(), pg.as_ref()] {
        record(store).await;
    }
    let (a, b) = (read(lite.as_ref(), NOW).await, read(pg.as_ref(), NOW).await);
    same(&a, &b, "after recording");
    // Read as it is: what the scenario wrote is there (a wrong scenario would pass the
    // comparison on both stores).
    let ledger = &a["payments-core/ledger hour"];
    assert_eq!(ledger["source"], "raw");
    assert_eq!(ledger["points"].as_array().unwrap().len(), 60);
    assert_eq!(ledger["points"][59]["replicasDesired"]["max"], 42.0, "the later write of a moment is kept");
    assert_eq!(ledger["events"].as_array().unwrap().len(), 1, "the edit in the last hour");
    let three = &a["payments-core/ledger three"];
    assert_eq!(three["gaps"], json!([[NOW - 2 * HOUR, NOW - 2 * HOUR + 20 * MINUTE]]), "the outage is a gap");
    assert_eq!(a["payments-core/ledger day"]["source"], "1h");
    let demand = &a["payments-core/ledger demand"];
    assert!(demand["cpu"].as_array().unwrap().iter().filter(|c| !c.is_null()).count() > 600);
    assert!(!a["platform None"].as_array().unwrap().is_empty());
    assert_eq!(a["simulated until"], json!(NOW - 150 * MINUTE));

    // The clock stepped back half an hour: what is stamped after is forgotten, on both alike,
    // and the rollups of those buckets are made again from what is left.
    let back = NOW - 30 * MINUTE;
    let forgotten = (lite.forget_after(back).await.unwrap(), pg.forget_after(back).await.unwrap());
    assert_eq!(forgotten.0, forgotten.1);
    assert_eq!(forgotten.0, 3 * 119, "the samples after it, of three workloads");
    for store in [lite.as_ref(), pg.as_ref()] {
        store.maintain(NOW).await.unwrap();
    }
    let (a, b) = (read(lite.as_ref(), NOW).await, read(pg.as_ref(), NOW).await);
    same(&a, &b, "after the clock stepped back");
    assert_eq!(a["payments-core/ledger hour"]["events"], json!([]), "the edit after it is forgotten");

    // Three days on: raw samples are gone, the same ranges come from the rollups.
    let later = NOW + 3 * DAY;
    for store in [lite.as_ref(), pg.as_ref()] {
        store.maintain(later).await.unwrap();
    }
    let (a, b) = (read(lite.as_ref(), later).await, read(pg.as_ref(), later).await);
    same(&a, &b, "three days on");
    assert_eq!(a["payments-core/ledger hour"]["source"], "5m");
    assert!(a["payments-core/ledger hour"]["points"][0]["cpuUsage"].is_object(), "the rollups hold the hour");
    lite.close().await;
    pg.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn postgresql_keeps_two_clusters_of_the_same_names_apart() {
    let url = postgres::server().database("clusters").await;
    let (eu, us) = (postgres(&url, "prod-eu").await, postgres(&url, "prod-us").await);
    record(eu.as_ref()).await;
    let range = || Range::new(Some(NOW - HOUR), Some(NOW), Some(10), NOW).unwrap();
    assert!(eu.history("payments-core", "ledger", range(), 15_000, NOW).await.unwrap().is_some());
    assert!(us.history("payments-core", "ledger", range(), 15_000, NOW).await.unwrap().is_none());
    assert!(us.platform_recent(None, DAY, NOW).await.unwrap().is_empty(), "the platform's sums are its own");
    // One cluster's clock stepping back forgets its own later rows only.
    record(us.as_ref()).await;
    let before = us.history("payments-core", "ledger", range(), 15_000, NOW).await.unwrap();
    assert!(eu.forget_after(NOW - 2 * HOUR).await.unwrap() > 0);
    assert_eq!(
        us.history("payments-core", "ledger", range(), 15_000, NOW).await.unwrap(),
        before,
        "us keeps its rows"
    );
    let workloads: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workloads WHERE cluster = 'prod-eu'")
        .fetch_one(&{
            let pg = PgHistory::connect(&url, Retention::default(), "prod-eu").await.unwrap();
            pg.pool().clone()
        })
        .await
        .unwrap();
    assert_eq!(workloads, 3);
}

#[tokio::test]
async fn an_unreachable_postgresql_is_an_error_naming_the_server_and_the_cause() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = std::time::Instant::now();
    let refused = PgHistory::connect(
        &format!("postgres://paydeck@127.0.0.1:{closed}/paydeck"),
        Retention::default(),
        "default",
    )
    .await
    .err()
    .expect("no server there");
    let message = format!("{refused:#}");
    assert!(message.contains(&format!("127.0.0.1:{closed}/paydeck")), "{message}");
    assert!(message.to_lowercase().contains("refused"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(15), "it gives up in bounded time");

    // A server that is there, but no such database: named as well.
    let missing = format!("{}/no_such_database", postgres::server().base());
    let message =
        format!("{:#}", PgHistory::connect(&missing, Retention::default(), "default").await.err().unwrap());
    assert!(message.contains("no_such_database"), "{message}");
    let bad = PgHistory::connect("postgres://[::1", Retention::default(), "default").await.err().unwrap();
    assert!(format!("{bad:#}").contains("URL"), "{bad:#}");
}

#[tokio::test]
async fn postgresql_over_tls_is_verified_against_the_ca_given() {
    let server = postgres::server();
    let url = server.database("tls").await;
    let verified = format!("{url}?sslmode=verify-full&sslrootcert={}", server.ca().display());
    let store = PgHistory::connect(&verified, Retention::default(), "default").await.expect("verified");
    let tls: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(tls, "the connection is encrypted");
    // Every statement is bounded, and the pool too.
    let timeout: String = sqlx::query_scalar("SHOW statement_timeout").fetch_one(store.pool()).await.unwrap();
    assert_eq!(timeout, "10s");
    assert_eq!(store.pool().options().get_max_connections(), paydeck::store::postgres::MAX_CONNECTIONS);
    store.close().await;

    // The same server, checked against another CA: refused, and the message says why.
    let other = std::env::temp_dir().join(format!("paydeck-other-ca-{}.crt", std::process::id()));
    std::fs::write(&other, sim::tls::generate().unwrap().ca_pem).unwrap();
    let wrong = format!("{url}?sslmode=verify-full&sslrootcert={}", other.display());
    let refused =
        PgHistory::connect(&wrong, Retention::default(), "default").await.err().expect("not verified");
    let message = format!("{refused:#}").to_lowercase();
    assert!(message.contains("certificate") || message.contains("issuer"), "{message}");
    let _ = std::fs::remove_file(other);
}

#[tokio::test]
async fn a_full_sqlite_store_says_it_is_full_and_keeps_what_it_took() {
    let dir = std::env::temp_dir().join(format!("paydeck-stores-{}-full", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let lite =
        History::open_limited(&dir.join("paydeck.db"), Retention::default(), Some(512 * 1024)).await.unwrap();
    let store: &dyn HistoryStore = &lite;
    let names: Vec<(String, String)> =
        (0..50).map(|i| ("payments-core".to_string(), format!("service-{i}"))).collect();
    let mut at = NOW - DAY;
    let refused = loop {
        let mut steps = Steps { workloads: names.clone(), ..Steps::default() };
        for _ in 0..20 {
            steps.steps.push((at, (0..names.len()).map(|i| (i, figures(i % 3, at))).collect()));
            at += 15_000;
        }
        match store.write_steps(&steps, &[]).await {
            Ok(()) => assert!(at < NOW, "a 512 KiB store took a day of 50 workloads"),
            Err(e) => break e,
        }
    };
    assert!(matches!(refused, paydeck::store::StoreError::Full(_)), "{refused:?}");
    assert!(refused.to_string().contains("full"), "{refused}");
    let range = Range::new(Some(NOW - DAY), Some(NOW - DAY + HOUR), Some(60), NOW - DAY + HOUR).unwrap();
    let kept = store.history("payments-core", "service-0", range, 15_000, NOW - DAY + HOUR).await.unwrap();
    assert!(kept.is_some_and(|h| h.points[0].replicas_desired.is_some()), "what was taken before reads back");
    lite.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn postgresql_errors_are_typed_by_what_the_caller_can_do() {
    use paydeck::store::StoreError;
    let url = postgres::server().database("errors").await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    // A statement past its timeout is cancelled: busy, to be tried again.
    sqlx::query("SET statement_timeout = '50ms'").execute(&mut *conn).await.unwrap();
    let cancelled = sqlx::query("SELECT pg_sleep(2)").execute(&mut *conn).await.unwrap_err();
    assert!(matches!(StoreError::from(cancelled), StoreError::Busy(_)));
    // A connection the server ends: unreachable, not a failure of the statement.
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *conn).await.unwrap();
    sqlx::query("SELECT pg_terminate_backend($1)").bind(pid).execute(&pool).await.unwrap();
    let ended = sqlx::query("SELECT 1").execute(&mut *conn).await.unwrap_err();
    assert!(matches!(StoreError::from(ended), StoreError::Unavailable(_)));
    // A statement wrong in itself is neither.
    let wrong = sqlx::query("SELECT * FROM no_such_table").execute(&pool).await.unwrap_err();
    assert!(matches!(StoreError::from(wrong), StoreError::Failed(_)));
    drop(conn);
    pool.close().await;
}

/// Fencing, on both stores: a write under a term older than the newest issued is refused and
/// writes nothing, in the transaction that would have made it; a replica not holding its
/// term writes nothing at all; two handles on one store (two replicas) share the terms.
#[tokio::test]
async fn both_stores_refuse_writes_under_a_superseded_term_and_write_nothing() {
    use paydeck::store::{Fence, StoreError};
    let (file, dir) = sqlite("fence", "prod").await;
    let url = postgres::server().database("fence").await;
    let second_file = Arc::new(
        History::open_for_cluster(&dir.join("paydeck.db"), Retention::default(), None, "prod").await.unwrap(),
    ) as Arc<dyn HistoryStore>;
    for (a, b) in [(file, second_file), (postgres(&url, "prod").await, postgres(&url, "prod").await)] {
        let (fence_a, fence_b) = (Fence::elected("paydeck-leader"), Fence::elected("paydeck-leader"));
        a.set_fence(fence_a.clone());
        b.set_fence(fence_b.clone());
        let sample = |at: i64| {
            let mut steps =
                Steps { workloads: vec![("payments-core".into(), "ledger".into())], ..Steps::default() };
            steps.steps.push((at, vec![(0, figures(0, at))]));
            steps
        };
        let far = std::time::Instant::now() + Duration::from_secs(600);
        // Not holding a term: nothing is written, by either kind of write.
        let refused = a.write_steps(&sample(NOW - 2 * MINUTE), &[]).await.unwrap_err();
        assert!(matches!(refused, StoreError::Fenced(_)), "{refused}");
        assert!(matches!(a.maintain(NOW).await, Err(StoreError::Fenced(_))));
        assert!(!a.has_samples().await.unwrap());

        // A leads under term 1 and writes.
        let first = a.claim_term("paydeck-leader", "a", NOW).await.unwrap();
        fence_a.hold(first, far);
        a.write_steps(&sample(NOW - MINUTE), &[]).await.unwrap();
        // B takes over: term 2. A, still believing it leads (paused), is refused in the store.
        let second = b.claim_term("paydeck-leader", "b", NOW).await.unwrap();
        assert_eq!(second, first + 1, "terms only grow");
        fence_b.hold(second, far);
        let stale = a.write_steps(&sample(NOW), &[]).await.unwrap_err();
        assert!(stale.to_string().contains("no longer the newest"), "{stale}");
        assert!(matches!(a.forget_after(NOW - 2 * MINUTE).await, Err(StoreError::Fenced(_))));
        b.write_steps(&sample(NOW + 15_000), &[]).await.unwrap();

        // Exactly what the leaders of their time wrote: A's sample and B's, not A's stale one.
        let range = Range::new(Some(NOW - 2 * MINUTE), Some(NOW + MINUTE), Some(12), NOW + MINUTE).unwrap();
        let h = b.history("payments-core", "ledger", range, 15_000, NOW + MINUTE).await.unwrap().unwrap();
        let stamps: Vec<i64> =
            h.points.iter().filter(|p| p.replicas_desired.is_some()).map(|p| p.at_ms).collect();
        assert_eq!(stamps, vec![NOW - MINUTE, NOW + 15_000]);
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A fleet's clusters on one store: another cluster's handle on the same connections reads and
/// writes only its own rows, on both stores.
#[tokio::test]
async fn a_handle_for_another_cluster_shares_the_store_and_keeps_its_rows_apart() {
    let (file, dir) = sqlite("for-cluster", "eu-prod").await;
    let url = postgres::server().database("for_cluster").await;
    for eu in [file, postgres(&url, "eu-prod").await] {
        let us = eu.for_cluster("us-prod");
        assert_eq!(us.cluster(), "us-prod");
        let mut steps =
            Steps { workloads: vec![("payments-core".into(), "ledger".into())], ..Steps::default() };
        steps.steps.push((NOW, vec![(0, figures(0, NOW))]));
        let reading = ReadingRow {
            at_ms: NOW - 3_000,
            window_ms: 15_000,
            cpu_millis: 300,
            memory_bytes: 3e8,
            request_rate: Some(10.0),
            ready: 2,
            desired: 2,
        };
        steps.readings.push((0, reading));
        us.write_steps(&steps, &[]).await.unwrap();
        let range = || Range::new(Some(NOW - MINUTE), Some(NOW + MINUTE), Some(8), NOW + MINUTE).unwrap();
        assert!(
            us.history("payments-core", "ledger", range(), 15_000, NOW + MINUTE).await.unwrap().is_some()
        );
        assert!(
            eu.history("payments-core", "ledger", range(), 15_000, NOW + MINUTE).await.unwrap().is_none(),
            "eu-prod never recorded ledger"
        );
        // Whether a cluster has history is its own: `--sim-history` records each that has none.
        assert!(us.has_samples().await.unwrap());
        assert!(!eu.has_samples().await.unwrap(), "eu-prod has no samples of its own");
        // Rollups cover every cluster's rows in one pass: the first cluster's handle runs it,
        // and the others' platform sums follow it.
        let later = NOW + 10 * MINUTE;
        us.maintain(later).await.unwrap();
        assert!(us.platform_recent(None, 3_600_000, later).await.unwrap().is_empty(), "left to the first");
        eu.maintain(later).await.unwrap();
        assert!(
            !us.platform_recent(None, 3_600_000, later).await.unwrap().is_empty(),
            "rolled up by the first"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
