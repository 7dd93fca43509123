//! What one client may take, over HTTP against the simulator: requests in progress (probes
//! never counted), backtests and audit reads per minute, and the audit log only for someone
//! signed in unless the server allows otherwise. Each refusal says what and when to retry,
//! and a client is the address a trusted forwarder names, not the forwarder.

use std::time::{Duration, Instant};

use paydeck::http::Protection;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{self, StackOptions, audit_rows};

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

fn as_user(r: reqwest::RequestBuilder, user: &str) -> reqwest::RequestBuilder {
    r.header("X-Forwarded-User", user).header("X-Forwarded-Groups", "payments:operators")
}

/// Starts a write whose body never finishes: the connection, to read the answer from.
async fn stalled_write(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        b"POST /api/v1/workloads/payments-core/ledger/scaling HTTP/1.1\r\nHost: paydeck\r\n\
          X-Forwarded-User: operator\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"re",
    )
    .await
    .unwrap();
    tcp
}

async fn answer_of(mut tcp: tokio::net::TcpStream) -> String {
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf)).await.unwrap().unwrap();
    String::from_utf8_lossy(&buf[..n]).to_string()
}

#[tokio::test]
async fn a_client_s_requests_in_progress_are_capped_probes_are_not_and_bodies_must_arrive() {
    let s = support::stack(StackOptions {
        protection: Protection {
            requests_per_client: 2,
            body_timeout: Duration::from_secs(2),
            ..Protection::default()
        },
        ..StackOptions::default()
    })
    .await;
    // Two writes that never finish their bodies hold this address's two places…
    let started = Instant::now();
    let held = [stalled_write(s.addr).await, stalled_write(s.addr).await];
    tokio::time::sleep(Duration::from_millis(300)).await;
    // … so its next request is refused at once, saying why,
    let res = http().get(format!("{}/overview", s.base)).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("2 requests in progress"), "{body}");
    // while the probes answer, and another client — as the trusted proxy names it — is served.
    assert_eq!(http().get(format!("http://{}/healthz", s.addr)).send().await.unwrap().status(), 200);
    assert_eq!(http().get(format!("http://{}/readyz", s.addr)).send().await.unwrap().status(), 200);
    let other = http().get(format!("{}/overview", s.base)).header("X-Forwarded-For", "203.0.113.9");
    assert_eq!(other.send().await.unwrap().status(), 200);
    // The stalled bodies are given up on after the body time: 408, nothing done.
    for tcp in held {
        let answer = answer_of(tcp).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("did not arrive within 2 s"), "{answer}");
    }
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(2) && waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(audit_rows(&s).await, 0, "nothing was recorded");
    assert_eq!(
        http().get(format!("{}/overview", s.base)).send().await.unwrap().status(),
        200,
        "places given back"
    );
}

#[tokio::test]
async fn backtests_are_counted_per_client_once_well_formed() {
    let s = support::stack(StackOptions {
        protection: Protection { backtests_per_minute: 2, ..Protection::default() },
        ..StackOptions::default()
    })
    .await;
    let url = format!("{}/workloads/payments-core/ledger/backtest", s.base);
    let backtest =
        |user: &str| as_user(http().post(&url), user).json(&json!({ "spec": { "maxReplicas": 20 } }));
    // A malformed request is refused for what it is and spends nothing.
    for _ in 0..3 {
        let res = as_user(http().post(&url), "ana")
            .json(&json!({ "spec": { "maxReplicas": "x" } }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
    }
    for _ in 0..2 {
        let status = backtest("ana").send().await.unwrap().status();
        assert_ne!(status, 429, "within the budget");
    }
    let res = backtest("ana").send().await.unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = res.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("2 backtests in the last minute"), "{body}");
    // Another user has a budget of their own; so has an address without a user.
    assert_ne!(backtest("ben").send().await.unwrap().status(), 429);
    let anonymous = http().post(&url).json(&json!({ "spec": { "maxReplicas": 20 } }));
    assert_ne!(anonymous.send().await.unwrap().status(), 429);
}

#[tokio::test]
async fn the_audit_log_is_read_by_someone_signed_in_and_so_often_only() {
    let s = support::stack(StackOptions {
        anonymous_audit_reads: false,
        protection: Protection { audit_reads_per_minute: 3, ..Protection::default() },
        ..StackOptions::default()
    })
    .await;
    let audit = format!("{}/audit", s.base);
    // Without an identity: refused on the API and on the page (its server function asks the
    // same backend).
    let res = http().get(&audit).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("sign in to read the audit log"), "{body}");
    let page = http().get(format!("http://{}/audit", s.addr)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Sign in to read the audit log"), "the page says how to see it");
    // The head names no one: it stays public, for copies kept outside.
    assert_eq!(http().get(format!("{audit}/head")).send().await.unwrap().status(), 200);

    // Signed in: so many reads a minute, each user their own.
    for _ in 0..3 {
        assert_eq!(as_user(http().get(&audit), "ana").send().await.unwrap().status(), 200);
    }
    let res = as_user(http().get(format!("{audit}?format=csv")), "ana").send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("3 times in the last minute"), "{body}");
    assert_eq!(as_user(http().get(&audit), "ben").send().await.unwrap().status(), 200);
}
