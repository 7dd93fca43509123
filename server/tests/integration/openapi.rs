//! Every operation in the OpenAPI document carries a working example: each one is sent, as
//! the document describes it, to Paydeck on the simulated cluster, and must be accepted.

use std::time::{Duration, Instant};

use serde_json::Value;

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
    let s = support::stack(StackOptions::default()).await;
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

    let mut sent = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let mut url = format!("{root}{path}");
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
                "post" => {
                    let content = &op["requestBody"]["content"]["application/json"];
                    let mut body = content["example"].clone();
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
                    http.post(&url)
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
            assert_eq!(status, 200, "{method} {path} with its example: {text}");
            sent += 1;
        }
    }
    assert!(sent >= 11, "only {sent} operations");
}
