//! The JSON API's conventions, held on every operation of its OpenAPI document: names in
//! camelCase, unknown query parameters refused, bodies only as `application/json` with each
//! key once, invalid bodies a 422 — and a refused write changes nothing, in the cluster or in
//! the audit log.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use serde_json::{Value, json};

use crate::support;
use support::{Stack, StackOptions, admin};

async fn setup() -> Stack {
    support::stack(StackOptions { sim_history: Some(Duration::from_secs(3600)), ..StackOptions::default() })
        .await
}

fn root(s: &Stack) -> String {
    format!("http://{}", s.addr)
}

/// Every `(method, path)` of the OpenAPI document, the path's parameters filled in.
async fn operations(s: &Stack) -> Vec<(String, String)> {
    let doc: Value = reqwest::get(format!("{}/openapi.json", s.base)).await.unwrap().json().await.unwrap();
    let fleet: Value = reqwest::get(format!("{}/clusters", s.base)).await.unwrap().json().await.unwrap();
    let cluster = fleet["clusters"][0]["name"].as_str().unwrap().to_string();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let filled = path
                .replace("{namespace}", "payments-core")
                .replace("{name}", "ledger")
                .replace("{cluster}", &cluster);
            out.push((method.clone(), filled));
        }
    }
    assert!(out.len() >= 15, "{out:?}");
    out
}

/// Object keys that are not camelCase, with where they are.
fn snake_keys(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k.contains('_') {
                    out.push(format!("{at}.{k}"));
                }
                snake_keys(v, &format!("{at}.{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate().take(3) {
                snake_keys(v, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn every_operation_refuses_an_unknown_query_parameter_and_reads_in_camel_case() {
    let s = setup().await;
    let http = reqwest::Client::new();
    for (method, path) in operations(&s).await {
        let url = format!("{}{path}", root(&s));
        let send = |query: &[(&str, &str)]| {
            let request = match method.as_str() {
                "get" => http.get(&url),
                "put" => http.put(&url).json(&json!({})),
                _ => http.post(&url).json(&json!({})),
            };
            request
                .query(query)
                .header("X-Forwarded-User", "viewer")
                .header("X-Forwarded-Groups", "payments:viewers")
        };
        let res = send(&[("bogusParameter", "1")]).send().await.unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 400, "{method} {path}?bogusParameter=1: {body}");
        assert!(
            body["error"]["message"].as_str().unwrap_or_default().contains("bogusParameter"),
            "{method} {path}: the parameter is named: {body}"
        );
    }

    // What the reads answer, every key camelCase.
    for read in [
        "overview",
        "workloads",
        "workloads/payments-core/ledger",
        "workloads/payments-core/ledger/history",
        "workloads/payments-core/ledger/demand",
        "workloads/payments-core/ledger/rights",
        "findings",
        "sizing",
        "plan?peak=2x",
        "whoami",
        "audit",
        "audit/head",
    ] {
        let res = http.get(format!("{}/{read}", s.base)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{read}");
        let body: Value = res.json().await.unwrap();
        let mut bad = Vec::new();
        snake_keys(&body, read, &mut bad);
        assert!(bad.is_empty(), "not camelCase: {bad:?}");
    }
    let backtest: Value = http
        .post(format!("{}/workloads/payments-core/ledger/backtest", s.base))
        .json(&json!({ "spec": { "maxReplicas": 20 } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut bad = Vec::new();
    snake_keys(&backtest, "backtest", &mut bad);
    assert!(bad.is_empty(), "not camelCase: {bad:?}");
    assert!(backtest["series"]["current"].is_array(), "{backtest}");
}

/// fx-rates' replicas and the audit log's rows, as they stand.
async fn state(s: &Stack) -> (Option<i32>, i64) {
    let d =
        Api::<Deployment>::namespaced(admin(&s.server).await, "payments-core").get("fx-rates").await.unwrap();
    (d.spec.unwrap().replicas, support::audit_rows(s).await)
}

#[tokio::test]
async fn a_body_not_sent_as_json_or_with_a_key_twice_changes_nothing() {
    let s = setup().await;
    let fx =
        Api::<Deployment>::namespaced(admin(&s.server).await, "payments-core").get("fx-rates").await.unwrap();
    let generation = fx.metadata.generation.unwrap();
    let replicas = fx.spec.unwrap().replicas.unwrap();
    let before = state(&s).await;
    let body = json!({ "replicas": replicas + 1, "reason": "CHG-9", "generation": generation }).to_string();
    let url = format!("{}/workloads/payments-core/fx-rates/scaling", s.base);
    let post = |content_type: Option<&'static str>, body: String| {
        let mut request = reqwest::Client::new()
            .post(&url)
            .header("X-Forwarded-User", "operator")
            .header("X-Forwarded-Groups", "payments:operators")
            .body(body);
        if let Some(ct) = content_type {
            request = request.header("Content-Type", ct);
        }
        request.send()
    };
    // The same valid edit, declared as anything but JSON: not read, not recorded.
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
        Some("application/json; charset=latin1"),
    ] {
        let res = post(content_type, body.clone()).await.unwrap();
        assert_eq!(res.status(), 415, "{content_type:?}");
        let answer: Value = res.json().await.unwrap();
        assert!(answer["error"]["message"].as_str().unwrap().contains("application/json"), "{answer}");
        assert_eq!(state(&s).await, before, "nothing changed after {content_type:?}");
    }
    let backtest = reqwest::Client::new()
        .post(format!("{}/workloads/payments-core/ledger/backtest", s.base))
        .header("Content-Type", "text/plain")
        .body(r#"{"spec": {"maxReplicas": 20}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(backtest.status(), 415);

    // The last of two keys would win in most readers: `dryRun` false after true would apply.
    let twice = format!(
        r#"{{"replicas": {}, "reason": "CHG-9", "generation": {generation}, "dryRun": true, "dryRun": false}}"#,
        replicas + 1
    );
    let res = post(Some("application/json"), twice).await.unwrap();
    assert_eq!(res.status(), 422);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["errors"][0]["field"], "dryRun", "{answer}");
    assert!(answer["errors"][0]["message"].as_str().unwrap().contains("appears twice"), "{answer}");
    let (replicas_after, rows_after) = state(&s).await;
    assert_eq!(replicas_after, before.0, "the cluster is as it was");
    assert_eq!(rows_after, before.1 + 1, "one row: the refused attempt, recorded as invalid");
    let last: Value = reqwest::get(format!("{}/audit?limit=1", s.base)).await.unwrap().json().await.unwrap();
    assert_eq!(last[0]["outcome"], "invalid", "{last}");
}

#[tokio::test]
async fn an_invalid_backtest_body_is_a_422_naming_the_field() {
    let s = setup().await;
    let backtest = |workload: &'static str, body: &'static str| {
        let url = format!("{}/workloads/payments-core/{workload}/backtest", s.base);
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    for (workload, body, field) in [
        (
            "ledger",
            r#"{"spec": {"maxReplicas": 20}, "metricsResolutionSeconds": 15}"#,
            "metricsResolutionSeconds",
        ),
        ("ledger", r#"{"spec": {"maxReplicas": "20"}}"#, "spec.maxReplicas"),
        ("ledger", r#"{"spec": {"maxReplicas": 20}, "window": "3d"}"#, "window"),
        ("ledger", r#"{"spec": {"maxReplicas": 20}, "readyDelaySeconds": 9000}"#, "readyDelaySeconds"),
        ("ledger", r#"{"spec": {"maxReplicas": null}}"#, "spec.maxReplicas"),
        ("ledger", r#"{"spec": {"maxReplicas": 20}, "window": "1d", "window": "7d"}"#, "window"),
        ("ledger", r#"{"spec": {"maxReplicas": 0}}"#, "spec.maxReplicas"),
        ("ledger", r#"{"spec":"#, "(body)"),
        // A valid body for a Deployment no HPA targets.
        ("fx-rates", r#"{"spec": {"maxReplicas": 20}}"#, "spec"),
    ] {
        let (status, answer) = backtest(workload, body).await;
        assert_eq!(status, 422, "{body}: {answer}");
        let named: Vec<&str> =
            answer["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert!(named.contains(&field), "{body}: {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
    }
}
