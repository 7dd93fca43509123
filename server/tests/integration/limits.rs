//! Nobody fills the disk, exhausts memory or loses an applied change's audit row, against the
//! simulator over HTTPS with a real SQLite file: anonymous and read-only floods write nothing;
//! an apply whose client goes away mid-flight (or whose request times out) still has exactly
//! one outcome row; a full database refuses edits and changes nothing while reads go on; live
//! feeds, body sizes, concurrency and header time are capped, and every refusal carries the
//! security headers; every documented query parameter of every GET endpoint works.

use std::time::{Duration, Instant};

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::Api;
use paydeck::http::Protection;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support;
use support::{Stack, StackOptions, admin, audit_rows};

async fn hpa(s: &Stack, ns: &str, name: &str) -> HorizontalPodAutoscaler {
    Api::<HorizontalPodAutoscaler>::namespaced(admin(&s.server).await, ns).get(name).await.unwrap()
}

fn change_ledger(rv: &str, max: i32, dry_run: bool) -> Value {
    json!({ "spec": { "maxReplicas": max }, "reason": "CHG-77", "resourceVersion": rv, "dryRun": dry_run })
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

fn operator(r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    r.header("X-Forwarded-User", "operator").header("X-Forwarded-Groups", "payments:operators")
}

/// The security headers every answer carries, refusals by middleware included.
fn assert_secured(res: &reqwest::Response, what: &str) {
    let h = res.headers();
    assert_eq!(h.get("x-content-type-options").map(|v| v.to_str().unwrap()), Some("nosniff"), "{what}");
    assert_eq!(h.get("x-frame-options").map(|v| v.to_str().unwrap()), Some("DENY"), "{what}");
    assert!(h.contains_key("content-security-policy"), "{what}");
}

async fn db_bytes(db: &std::path::Path) -> u64 {
    let wal = db.with_extension("db-wal");
    std::fs::metadata(db).map(|m| m.len()).unwrap_or(0) + std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
}

#[tokio::test]
async fn ten_thousand_anonymous_or_read_only_attempts_write_nothing() {
    let s = support::stack(StackOptions::default()).await;
    let before = hpa(&s, "payments-core", "ledger").await;
    let rv = before.metadata.resource_version.clone().unwrap();
    let size = db_bytes(&s.db).await;
    let url = format!("{}/workloads/payments-core/ledger/scaling", s.base);
    let client = http();
    let body = change_ledger(&rv, 30, false);
    let statuses = futures::future::join_all((0..8).map(|_| {
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        async move {
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..1_250 {
                seen.insert(client.post(&url).json(&body).send().await.unwrap().status().as_u16());
            }
            seen
        }
    }))
    .await;
    assert!(statuses.iter().all(|s| s.iter().eq([401].iter())), "{statuses:?}");
    assert_eq!(audit_rows(&s).await, 0, "10,000 anonymous attempts write no row");
    let grown = db_bytes(&s.db).await.saturating_sub(size);
    assert!(grown < 256 * 1024, "the database grew by {grown} bytes");
    assert_eq!(hpa(&s, "payments-core", "ledger").await, before);

    // Over the per-user rate, attempts are refused without a row either.
    let mut codes = Vec::new();
    let invalid = json!({ "spec": { "maxReplicas": "x" }, "reason": "r", "resourceVersion": rv });
    for _ in 0..30 {
        codes.push(operator(client.post(&url)).json(&invalid).send().await.unwrap().status().as_u16());
    }
    assert_eq!(codes.iter().filter(|c| **c == 422).count(), 20, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 429).count(), 10, "{codes:?}");
    assert_eq!(audit_rows(&s).await, 20);
}

#[tokio::test]
async fn an_apply_cut_off_mid_flight_still_has_exactly_one_outcome_row() {
    let s =
        support::stack(StackOptions { request_timeout: Duration::from_secs(2), ..StackOptions::default() })
            .await;
    let before = hpa(&s, "payments-core", "ledger").await;
    let max = before.spec.as_ref().unwrap().max_replicas;
    // The cluster applies at once but answers 3 s later.
    s.sim.set_write_delay(Duration::from_secs(3));
    let url = format!("{}/workloads/payments-core/ledger/scaling", s.base);

    // 1. The client gives up after 300 ms (closes the connection).
    let rv = before.metadata.resource_version.clone().unwrap();
    let gone = operator(http().post(&url).timeout(Duration::from_millis(300)))
        .json(&change_ledger(&rv, max + 1, false))
        .send()
        .await;
    assert!(gone.is_err(), "the client went away");
    // 2. Paydeck's own request timeout (2 s) answers 408 before the cluster does.
    let rv = wait_for_max(&s, max + 1).await;
    let timed_out =
        operator(http().post(&url)).json(&change_ledger(&rv, max + 2, false)).send().await.unwrap();
    assert_eq!(timed_out.status(), 408);
    assert_secured(&timed_out, "408");
    wait_for_max(&s, max + 2).await;
    s.sim.set_write_delay(Duration::ZERO);

    let audit = wait_for_outcomes(&s, 2).await;
    let applied: Vec<&Value> = audit.iter().filter(|e| e["outcome"] == "applied").collect();
    assert_eq!(applied.len(), 2, "exactly one outcome row per applied change: {audit:?}");
    let intents: Vec<Value> =
        http().get(format!("{}/audit?outcome=intent", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(intents.len(), 2);
    for row in applied {
        let intent = row["intentSeq"].as_i64().expect("the outcome names its intent");
        assert!(intents.iter().any(|i| i["seq"] == intent), "{row}");
        assert!(intent < row["seq"].as_i64().unwrap(), "the intent was written first");
    }
}

/// Waits until the cluster's ledger HPA has `max`; its resourceVersion then.
async fn wait_for_max(s: &Stack, max: i32) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let h = hpa(s, "payments-core", "ledger").await;
        if h.spec.as_ref().unwrap().max_replicas == max {
            return h.metadata.resource_version.unwrap();
        }
        assert!(Instant::now() < deadline, "the change never reached the cluster");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `n` applied outcomes are recorded; the audit listing then.
async fn wait_for_outcomes(s: &Stack, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let audit: Vec<Value> =
            http().get(format!("{}/audit", s.base)).send().await.unwrap().json().await.unwrap();
        if audit.iter().filter(|e| e["outcome"] == "applied").count() >= n {
            tokio::time::sleep(Duration::from_millis(300)).await;
            return http().get(format!("{}/audit", s.base)).send().await.unwrap().json().await.unwrap();
        }
        assert!(Instant::now() < deadline, "outcomes never recorded: {audit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_full_database_refuses_edits_and_changes_nothing_while_reads_go_on() {
    let s = support::stack(StackOptions { db_max_bytes: Some(512 * 1024), ..StackOptions::default() }).await;
    let history = s.sqlite.clone().expect("a SQLite stack");
    // History fills the database to its limit…
    let workloads: Vec<app::dto::Workload> = (0..200)
        .map(|i| app::dto::Workload {
            namespace: "filler".into(),
            name: format!("w{i}"),
            ..Default::default()
        })
        .collect();
    // Recent samples: the sampler's retention pass (at its first tick, which a slow machine
    // may reach only now) must not free the room again by deleting old ones.
    let start = paydeck::clock::unix_ms() - 24 * 3_600_000;
    let mut at = start;
    for batch in [&workloads[..], &workloads[..1]] {
        loop {
            match history.write_samples(at, batch).await {
                Ok(()) => {}
                Err(e) => {
                    assert!(e.to_string().contains("full"), "{e}");
                    break;
                }
            }
            at += 15_000;
            assert!(at < start + 15_000 * 100_000, "the database never filled");
        }
    }
    // …and refused attempts (small rows, by many users) use the last room in the audit table.
    let before = hpa(&s, "payments-core", "ledger").await;
    let rv = before.metadata.resource_version.clone().unwrap();
    let url = format!("{}/workloads/payments-core/ledger/scaling", s.base);
    let mut full = false;
    for i in 0..200 {
        let answer: Value = http()
            .post(&url)
            .header("X-Forwarded-User", format!("filler-{i}"))
            .json(&json!({ "spec": { "maxReplicas": "x" }, "reason": "r", "resourceVersion": rv }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if answer["message"].as_str().unwrap().contains("could not record") {
            full = true;
            break;
        }
    }
    assert!(full, "the audit table filled up");

    let res = operator(http().post(&url)).json(&change_ledger(&rv, 20, false)).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["outcome"], "unrecorded", "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("full") && message.contains("nothing was sent"), "{message}");
    assert_eq!(hpa(&s, "payments-core", "ledger").await, before, "the cluster is unchanged");

    // Reading goes on.
    for path in ["/overview", "/workloads", "/workloads/payments-core/ledger", "/audit", "/audit/head"] {
        let res = http().get(format!("{}{path}", s.base)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }
    let res = http().get(format!("http://{}/services", s.addr)).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn live_feeds_are_capped_per_client_and_in_all() {
    let s = support::stack(StackOptions {
        protection: Protection { live_per_client: 2, live_total: 3, ..Protection::default() },
        ..StackOptions::default()
    })
    .await;
    let feed = |user: Option<&str>| {
        let mut r = http().get(format!("{}/live?workloads=names", s.base));
        if let Some(u) = user {
            r = r.header("X-Forwarded-User", u);
        }
        r.send()
    };
    let a1 = feed(None).await.unwrap();
    let _a2 = feed(None).await.unwrap();
    assert_eq!((a1.status().as_u16(), _a2.status().as_u16()), (200, 200));
    let refused = feed(None).await.unwrap();
    assert_eq!(refused.status(), 429, "a third feed from the same address");
    assert!(refused.headers().contains_key("retry-after"));
    assert_secured(&refused, "429");
    let _ana = feed(Some("ana")).await.unwrap();
    assert_eq!(_ana.status(), 200, "a signed-in user has places of their own");
    assert_eq!(feed(Some("ben")).await.unwrap().status(), 429, "three in all");
    drop(a1);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let again = feed(Some("ben")).await.unwrap();
        if again.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "a closed feed gives its place back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn slow_headers_oversized_bodies_and_floods_are_cut_off() {
    let s = support::stack(StackOptions {
        protection: Protection { header_timeout: Duration::from_secs(1), ..Protection::default() },
        ..StackOptions::default()
    })
    .await;

    // A client that starts its headers and never finishes them is disconnected.
    let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(b"GET /api/v1/overview HTTP/1.1\r\nHost: paydeck\r\nX-Slow: ").await.unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "still connected after 5 s");
    assert!(started.elapsed() < Duration::from_secs(4), "cut off after {:?}", started.elapsed());
    let text = String::from_utf8_lossy(&buf);
    assert!(!text.contains("200 OK"), "{text}");
    assert_eq!(http().get(format!("{}/overview", s.base)).send().await.unwrap().status(), 200);

    // Bodies over 64 KiB: 413 before any handler, on the API and the server functions alike.
    let big = "x".repeat(65 * 1024);
    for path in ["/api/v1/workloads/payments-core/ledger/scaling", "/rpc/scaling-submit"] {
        let res = operator(http().post(format!("http://{}{path}", s.addr)))
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 413, "{path}");
        assert_secured(&res, "413");
        let answer: Value = res.json().await.unwrap();
        assert!(answer["error"]["message"].as_str().unwrap().contains("64 KiB"), "{answer}");
    }
    // A chunked body (no length given) is cut off just the same.
    let stream = futures::stream::iter((0..100).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 1024])));
    let res = operator(http().post(format!("{}/workloads/payments-core/ledger/scaling", s.base)))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(audit_rows(&s).await, 0);

    // Middleware refusals carry the security headers: 401 …
    let strict = support::stack(StackOptions { require_identity: true, ..StackOptions::default() }).await;
    let res = http().get(format!("{}/overview", strict.base)).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_secured(&res, "401");
    // … and 403 (cross-site).
    let res = operator(http().post(format!("{}/workloads/payments-core/ledger/scaling", s.base)))
        .header("Origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_secured(&res, "403");
}

#[tokio::test]
async fn requests_beyond_the_concurrency_cap_are_refused_at_once() {
    let s = support::stack(StackOptions {
        protection: Protection { max_concurrent_requests: 1, ..Protection::default() },
        ..StackOptions::default()
    })
    .await;
    // One slow apply holds the only place…
    s.sim.set_write_delay(Duration::from_secs(2));
    let before = hpa(&s, "payments-core", "ledger").await;
    let rv = before.metadata.resource_version.clone().unwrap();
    let url = format!("{}/workloads/payments-core/ledger/scaling", s.base);
    let slow = tokio::spawn(operator(http().post(&url)).json(&change_ledger(&rv, 13, false)).send());
    tokio::time::sleep(Duration::from_millis(500)).await;
    // … so another request is told to come back.
    let res = http().get(format!("{}/overview", s.base)).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    assert_secured(&res, "503");
    assert_eq!(slow.await.unwrap().unwrap().status(), 200);
    assert_eq!(http().get(format!("{}/overview", s.base)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn every_documented_query_parameter_works() {
    let s = support::stack(StackOptions::default()).await;
    // Something to find in the audit log.
    let before = hpa(&s, "payments-core", "ledger").await;
    let rv = before.metadata.resource_version.clone().unwrap();
    let url = format!("{}/workloads/payments-core/ledger/scaling", s.base);
    for _ in 0..3 {
        let res = operator(http().post(&url)).json(&change_ledger(&rv, 12, true)).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }
    let now = paydeck::clock::unix_ms();
    let hour_ago = now - 3_600_000;
    let queries = [
        "/overview?namespace=payments-core".to_string(),
        "/workloads?namespace=payments-core&q=led&health=healthy&sort=cpu&order=desc&offset=0&limit=5".into(),
        "/workloads?sort=utilization&order=asc&limit=2000".into(),
        "/workloads/payments-core/ledger".into(),
        format!("/workloads/payments-core/ledger/history?from={hour_ago}&to={now}&points=60"),
        "/workloads/payments-core/ledger/rights".into(),
        format!(
            "/audit?namespace=payments-core&name=ledger&user=operator&outcome=previewed&from={hour_ago}&to={}&limit=2&before=100&format=json",
            now + 60_000
        ),
        "/audit?limit=2".into(),
        format!("/audit?from={hour_ago}&format=csv"),
        "/audit/head".into(),
        "/whoami".into(),
        "/openapi.json".into(),
    ];
    for q in &queries {
        let res = operator(http().get(format!("{}{q}", s.base))).send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(status == 200 || (q.contains("/history") && status == 404), "{q}: {status} {text}");
        if q.contains("limit=2&before") || q.ends_with("limit=2") {
            let rows: Vec<Value> = serde_json::from_str(&text).unwrap();
            assert_eq!(rows.len(), 2, "{q}: the limit applies");
        }
        if q.contains("format=csv") {
            assert!(text.starts_with("seq,atMs") && text.lines().count() == 4, "{q}: {text}");
        }
    }
    let head: Value =
        http().get(format!("{}/audit/head", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(head["seq"], 3);
    // The live feed with its parameter: the first event arrives.
    let mut live = http().get(format!("{}/live?workloads=names", s.base)).send().await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), live.chunk()).await.unwrap().unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: snapshot"));
    // And wrong values are a 400 that says why.
    for bad in ["/audit?limit=two", "/audit?outcome=exploded", "/audit?limit=0", "/audit?colour=red"] {
        let res = http().get(format!("{}{bad}", s.base)).send().await.unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn a_change_is_always_conditional_and_csv_cells_never_run() {
    let s = support::stack(StackOptions::default()).await;
    let before = hpa(&s, "payments-core", "ledger").await;
    let url = format!("{}/workloads/payments-core/ledger/scaling", s.base);
    let res = operator(http().post(&url)).json(&change_ledger(" ", 12, false)).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["errors"][0]["field"], "resourceVersion", "{answer}");
    assert_eq!(hpa(&s, "payments-core", "ledger").await, before);

    let mut formula = change_ledger(" ", 12, false);
    formula["reason"] = json!("=HYPERLINK(\"https://evil.example\",\"ticket\")");
    operator(http().post(&url)).json(&formula).send().await.unwrap();
    let csv = http().get(format!("{}/audit?format=csv", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(!csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"), "{csv}");
}
