//! The advisor on the simulated cluster, over HTTP: each deliberate misconfiguration of the
//! demo platform is found by the rule that names it, a waiver by annotation marks a finding
//! without hiding it, the counts reach /metrics, and bad filters are clear 400s.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use kube::{
    Api,
    api::{Patch, PatchParams},
};
use serde_json::{Value, json};

use crate::support;
use support::{StackOptions, admin};

async fn findings(base: &str, query: &str) -> (u16, Value) {
    let res = reqwest::get(format!("{base}/findings?{query}")).await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

/// `(rule, waived reason)` of each finding on `namespace/name`.
fn on(report: &Value, namespace: &str, name: &str) -> Vec<(String, Option<String>)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["namespace"] == namespace && f["name"] == name)
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f["waived"].as_str().map(str::to_string)))
        .collect()
}

fn has(found: &[(String, Option<String>)], rule: &str) -> bool {
    found.iter().any(|(r, w)| r == rule && w.is_none())
}

#[tokio::test]
async fn the_demo_platforms_deliberate_problems_are_each_found_by_their_rule() {
    // At 04:00, when traffic is low: at the evening peak the cluster as installed (its HPAs
    // not yet run) has pods near their CPU limits, which is a finding of the moment.
    let today = sim::clock::test_start() / 86_400_000 * 86_400_000;
    let s =
        support::stack(StackOptions { sim_start: Some(today + 4 * 3_600_000), ..StackOptions::default() })
            .await;
    let (status, all) = findings(&s.base, "waived=true").await;
    assert_eq!(status, 200, "{all}");

    let fx = on(&all, "payments-core", "fx-rates");
    assert!(has(&fx, "PD203"), "no limits: {fx:?}");
    assert!(has(&fx, "PD106"), "one replica, no HPA, no PDB: {fx:?}");
    assert!(has(&on(&all, "payments-core", "card-tokeniser"), "PD105"), "critical, not spread");
    assert!(has(&on(&all, "payments-batch", "reconciliation"), "PD201"), "no readiness probe");
    assert_eq!(
        on(&all, "payments-batch", "settlement-batch"),
        [("PD201".to_string(), Some("batch worker: no traffic to gate; CHG-4102".to_string()))],
        "waived by annotation, and shown"
    );
    // The well-run services break nothing on their live state.
    for name in ["payment-api", "ledger"] {
        assert_eq!(on(&all, "payments-core", name), [], "{name}");
    }
    let count = |report: &Value, rule: &str| {
        let c = report["rules"].as_array().unwrap().iter().find(|c| c["rule"] == rule).unwrap().clone();
        (c["open"].as_u64().unwrap(), c["waived"].as_u64().unwrap())
    };
    assert_eq!(count(&all, "PD201"), (1, 1));
    assert_eq!(all["rules"].as_array().unwrap().len(), domain::rules::CATALOGUE.len());

    // Without waived=true the waived finding is counted but not listed.
    let (_, open) = findings(&s.base, "").await;
    assert_eq!(on(&open, "payments-batch", "settlement-batch"), []);
    assert_eq!(count(&open, "PD201"), (1, 1));

    // Filters: a rule, a namespace, a severity.
    let (_, pd203) = findings(&s.base, "rule=pd203").await;
    assert!(pd203["findings"].as_array().unwrap().iter().all(|f| f["rule"] == "PD203"));
    let (_, batch) = findings(&s.base, "namespace=payments-batch").await;
    assert!(batch["findings"].as_array().unwrap().iter().all(|f| f["namespace"] == "payments-batch"));
    assert_eq!(count(&batch, "PD203"), (0, 0), "counts follow the namespace");
    let (_, high) = findings(&s.base, "severity=high").await;
    assert!(high["findings"].as_array().unwrap().iter().all(|f| f["severity"] == "high"));

    // The counts on /metrics.
    let metrics = reqwest::get(format!("http://{}/metrics", s.addr)).await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains(r#"paydeck_findings{rule="PD201",severity="medium",state="waived"} 1"#),
        "{}",
        metrics.lines().filter(|l| l.contains("paydeck_findings")).collect::<Vec<_>>().join("\n")
    );
    assert!(metrics.contains(r#"paydeck_findings{rule="PD203",severity="medium",state="open"} 1"#));
}

#[tokio::test]
async fn a_waiver_annotated_on_the_cluster_marks_the_finding_and_junk_in_it_is_bounded() {
    let s = support::stack(StackOptions::default()).await;
    let deployments: Api<Deployment> = Api::namespaced(admin(&s.server).await, "payments-batch");
    let junk = format!(
        "PD201, {}",
        (0..40).map(|i| format!("NOPE{i}{}", "x".repeat(50))).collect::<Vec<_>>().join(",")
    );
    deployments
        .patch(
            "reconciliation",
            &PatchParams::default(),
            &Patch::Merge(json!({ "metadata": { "annotations": {
                "paydeck.io/waive": junk,
                "paydeck.io/waive-reason": "CHG-9 probe lands next sprint",
            } } })),
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, r) = findings(&s.base, "namespace=payments-batch&waived=true").await;
        if on(&r, "payments-batch", "reconciliation")
            == [("PD201".to_string(), Some("CHG-9 probe lands next sprint".to_string()))]
        {
            break;
        }
        assert!(Instant::now() < deadline, "the waiver was not honoured: {r}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let w: Value = reqwest::get(format!("{}/workloads/payments-batch/reconciliation", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let unknown = w["waivers"]["unknown"].as_array().unwrap();
    assert_eq!(unknown.len(), 10, "at most ten unknown entries are kept");
    assert!(unknown.iter().all(|u| u.as_str().unwrap().chars().count() <= 20), "each cut short");

    // A reason of 200 KB (annotations may hold 256 KiB) is cut before it is copied into every
    // finding and every live event.
    deployments
        .patch(
            "reconciliation",
            &PatchParams::default(),
            &Patch::Merge(
                json!({ "metadata": { "annotations": { "paydeck.io/waive-reason": "r".repeat(200_000) } } }),
            ),
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let reason = loop {
        let (_, r) = findings(&s.base, "namespace=payments-batch&waived=true").await;
        let found = on(&r, "payments-batch", "reconciliation");
        if let Some((_, Some(reason))) =
            found.first().filter(|(_, w)| w.as_deref().is_some_and(|w| w.starts_with("rrr")))
        {
            break reason.clone();
        }
        assert!(Instant::now() < deadline, "the new reason never arrived: {r}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(reason.chars().count(), domain::rules::MAX_WAIVER_REASON_CHARS);
    assert!(reason.ends_with('…'));
}

#[tokio::test]
async fn bad_filters_are_clear_errors() {
    let s = support::stack(StackOptions::default()).await;
    for (query, says) in [
        ("rule=PD999", "unknown rule \"PD999\": the rules are PD101"),
        ("severity=urgent", "unknown severity \"urgent\": high, medium or low"),
        ("name=ledger", "name needs namespace"),
        ("waived=maybe", "waived"),
        ("sevrity=high", "sevrity"),
    ] {
        let (status, body) = findings(&s.base, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(says), "{query}: {body}");
    }
}
