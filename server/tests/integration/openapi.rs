//! Every operation in the OpenAPI document carries a working example: each one is sent, as
//! the document describes it, to Paydeck on the simulated cluster, and must be accepted.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support;
use support::StackOptions;

/// The example of a parameter (or its schema's).
fn example(param: &Value) -> Option<String> {
    let e = param.get("example").or_else(|| param["schema"].get("example"))?;
    Some(match e {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

#[tokio::test]
async fn every_operation_carries_an_example_that_is_accepted() {
    // The notifications' example names this sink (nothing listens at its URL: the test message
    // is only queued).
    let notifications = paydeck::notify::config::parse(
        "sinks:\n  - { name: payments-oncall, type: webhook, url: \"http://127.0.0.1:9/events\" }",
        &|_: &std::path::Path| Err("no files".into()),
    )
    .unwrap();
    let s =
        support::stack(StackOptions { notifications: Some(notifications), ..StackOptions::default() }).await;
    let http = reqwest::Client::new();
    let root = format!("http://{}", s.addr);
    let doc: Value =
        http.get(format!("{root}/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    // The sampler's first batch gives the workloads a history.
    let deadline = Instant::now() + Duration::from_secs(10);
    while http
        .get(format!("{root}/api/v1/workloads/payments-core/ledger/history"))
        .send()
        .await
        .unwrap()
        .status()
        != 200
    {
        assert!(Instant::now() < deadline, "no history recorded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A plan's operations act on a plan: a fresh draft by another person for each, so that
    // the example's approval is another person's and its version the plan's.
    let as_ana = |request: reqwest::RequestBuilder| {
        request.header("X-Forwarded-User", "ana").header("X-Forwarded-Groups", "payments:operators")
    };
    let draft_example =
        doc["paths"]["/api/v1/workloads/{namespace}/{name}/plans"]["post"]["requestBody"]["content"]["application/json"]["example"].clone();
    let mut sent = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let mut url = format!("{root}{path}");
            let plan = if path.contains("/plans/{id}") {
                let drafted: Value =
                    as_ana(http.post(format!("{root}/api/v1/workloads/payments-core/ledger/plans")))
                        .json(&draft_example)
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                let id = drafted["id"].as_i64().unwrap_or_else(|| panic!("a draft for {path}: {drafted}"));
                url = url.replace("{id}", &id.to_string());
                Some(id)
            } else {
                None
            };
            let mut query = Vec::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let value =
                    example(p).unwrap_or_else(|| panic!("{method} {path}: parameter {name} has no example"));
                match p["in"].as_str() {
                    Some("path") => url = url.replace(&format!("{{{name}}}"), &value),
                    _ => query.push((name.to_string(), value)),
                }
            }
            let request = match method.as_str() {
                "get" => http.get(&url).query(&query),
                "post" | "put" => {
                    let content = &op["requestBody"]["content"]["application/json"];
                    let mut body = content["example"].clone();
                    if plan.is_some() && body.get("version").is_some() {
                        body["version"] = json!(1);
                    }
                    assert!(body.is_object(), "{method} {path}: the request body has an example");
                    // A change is made against the spec the caller saw: a client reads it first.
                    if body.get("specHash").is_some() {
                        let ledger: Value = http
                            .get(format!("{root}/api/v1/workloads/payments-core/ledger"))
                            .send()
                            .await
                            .unwrap()
                            .json()
                            .await
                            .unwrap();
                        body["specHash"] = ledger["autoscaler"]["specHash"].clone();
                    }
                    let request = if method == "put" { http.put(&url) } else { http.post(&url) };
                    request
                        .query(&query)
                        .json(&body)
                        .header("X-Forwarded-User", "operator")
                        .header("X-Forwarded-Groups", "payments:operators")
                }
                other => panic!("{other} {path}: no example runner for this method"),
            };
            let res = request.send().await.unwrap();
            let status = res.status();
            let text = if path.ends_with("/live") { String::new() } else { res.text().await.unwrap() };
            // A draft is created (201), a test message accepted (202), as each operation documents.
            let expected = ["201", "202"]
                .into_iter()
                .find(|code| op["responses"].get(*code).is_some())
                .map_or(200, |code| code.parse().unwrap());
            assert_eq!(status, expected, "{method} {path} with its example: {text}");
            sent += 1;
            // Plans made for an example are cancelled: an HPA has a few open plans at most.
            let made = plan.or_else(|| {
                (expected == 201).then(|| serde_json::from_str::<Value>(&text).ok()?["id"].as_i64()).flatten()
            });
            if let Some(id) = made {
                let current: Value =
                    http.get(format!("{root}/api/v1/plans/{id}")).send().await.unwrap().json().await.unwrap();
                let cancelled = as_ana(http.post(format!("{root}/api/v1/plans/{id}/cancel")))
                    .json(&json!({ "reason": "example done", "version": current["version"] }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(cancelled.status(), 200, "{}", cancelled.text().await.unwrap_or_default());
            }
        }
    }
    assert!(sent >= 11, "only {sent} operations");
}
