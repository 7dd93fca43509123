//! Right-sizing and the peak capacity planner on a recorded day of the demo platform, over
//! HTTP: `notifications` (no HPA, 2 cores requested, a tenth used) gets a lower CPU request;
//! `risk-scoring` (HPA maximum 4, saturated every evening) gets a maximum that holds the
//! recorded peak; at four times the peak the planner says how many nodes are missing. Bad
//! parameters are clear 400s.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support;
use support::StackOptions;

async fn get(base: &str, path: &str) -> (u16, Value) {
    let res = reqwest::get(format!("{base}/{path}")).await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

fn row<'a>(report: &'a Value, key: &str, name: &str) -> &'a Value {
    report[key]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

fn recommendation<'a>(sizing: &'a Value, kind: &str) -> &'a Value {
    sizing["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {sizing}"))
}

#[tokio::test]
async fn a_recorded_day_gives_right_sizing_and_a_capacity_plan() {
    let started = Instant::now();
    let s = support::stack(StackOptions {
        sample_interval: Duration::from_secs(15),
        // A day and an hour: a full day of samples after the first minutes of warm-up.
        sim_history: Some(Duration::from_secs(25 * 3600)),
        ..StackOptions::default()
    })
    .await;
    println!("25 h recorded and served in {:.0} s", started.elapsed().as_secs_f64());
    // The advisor's first sweep follows the sync.
    let deadline = Instant::now() + Duration::from_secs(60);
    let report = loop {
        let (status, report) = get(&s.base, "sizing").await;
        assert_eq!(status, 200, "{report}");
        if report["judgedAtMs"].is_i64() {
            break report;
        }
        assert!(Instant::now() < deadline, "the advisor never judged the recorded demand");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(report["window"], "7 d");

    // notifications: no HPA, requests 2 cores a pod and uses about a tenth.
    let notifications = &row(&report, "rows", "notifications")["sizing"];
    assert_eq!(notifications["confidence"], "low", "one day recorded: {notifications}");
    let cpu = recommendation(notifications, "RS3");
    let (current, recommended) = (cpu["current"].as_f64().unwrap(), cpu["recommended"].as_f64().unwrap());
    assert_eq!(current, 2.0);
    assert!(recommended < 0.5 * current, "a much lower request: {cpu}");
    assert!(cpu["effect"]["coreHoursPerWeek"].as_f64().unwrap() < -500.0, "{cpu}");
    assert!(cpu["evidence"]["daysCovered"].as_f64().unwrap() >= 1.0);
    assert!(cpu.get("proposal").is_none(), "requests are changed in the manifest, not by the scaling form");

    // risk-scoring: HPA max 4 at 60 % of 1 core, saturated at the evening peak.
    let risk = &row(&report, "rows", "risk-scoring")["sizing"];
    let max = recommendation(risk, "RS2");
    let needed = max["recommended"].as_f64().unwrap();
    assert_eq!(max["current"], 4.0);
    let peak = max["evidence"]["percentiles"].as_array().unwrap().last().unwrap()[1].as_f64().unwrap();
    assert!(
        needed * 0.6 * 1.0 >= peak,
        "{needed} pods at 60 % of a core hold the recorded peak of {peak} cores"
    );
    assert_eq!(max["proposal"]["maxReplicas"].as_f64(), Some(needed));
    assert!(max["effect"]["saturatedMinutesAvoidedPerWeek"].as_f64().unwrap() > 0.0, "{max}");
    assert!(max["backtest"].as_str().unwrap().starts_with("backtested on "));
    assert!(
        risk["recommendations"].as_array().unwrap().iter().all(|r| r["kind"] != "RS3"),
        "the HPA scales on CPU: no CPU request from utilisation"
    );
    assert!(risk["notes"][0].as_str().unwrap().contains("scales on CPU"));

    // Scoped to one workload.
    let (status, one) = get(&s.base, "sizing?namespace=payments-core&name=risk-scoring").await;
    assert_eq!(status, 200);
    assert_eq!(one["rows"].as_array().unwrap().len(), 1);

    // The planner at four times the recorded peak.
    let (status, plan) = get(&s.base, "plan?peak=4x").await;
    assert_eq!(status, 200, "{plan}");
    let p = &plan["plan"];
    let risk = row(p, "rows", "risk-scoring");
    assert!(risk["fit"]["alpha"].as_f64().unwrap() > 0.0, "{risk}");
    assert!(risk["needed"].as_i64().unwrap() > 4);
    assert_eq!(risk["maxAllows"], false);
    assert_eq!(risk["proposal"]["maxReplicas"], risk["needed"]);
    let missing = p["nodesMissing"].as_u64().unwrap();
    assert!(missing >= 1, "four times the evening peak does not fit four nodes: {p}");
    let short = p["addedCpu"].as_f64().unwrap() - p["room"]["freeCpu"].as_f64().unwrap();
    let per_node = p["room"]["nodeCpu"].as_f64().unwrap();
    assert!(missing as f64 >= (short / per_node).ceil(), "nodes for the CPU at least");
    let batch = row(p, "rows", "settlement-batch");
    assert!(batch["note"].as_str().unwrap().contains("no requests"), "{batch}");

    // A gateway rate, spread by recorded share.
    let (status, spread) = get(&s.base, "plan?peak=2000").await;
    assert_eq!(status, 200, "{spread}");
    let entry = spread["plan"]["entry"].as_str().unwrap().to_string();
    let entry_name = entry.split('/').nth(1).unwrap();
    assert_eq!(row(&spread["plan"], "rows", entry_name)["plannedRate"], 2000.0);

    // The Overview's platform card: a day of 5-minute totals from the recorded past, then now.
    let rpc = |body: &'static str| {
        reqwest::Client::new()
            .post(format!("http://{}{}/platform", s.addr, app::SERVER_FN_PREFIX))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let all: app::dto::Platform = rpc("").await.unwrap().json().await.unwrap();
    assert!(all.recorded);
    assert!((280..=290).contains(&all.points.len()), "288 buckets and now: {}", all.points.len());
    assert!(all.points.windows(2).all(|p| p[0].at_ms < p[1].at_ms), "oldest first");
    let now = all.points.last().unwrap();
    let live = s.state.cluster.current();
    assert_eq!(
        now.replicas_desired,
        live.workloads.iter().map(|w| f64::from(w.replicas.desired)).sum::<f64>()
    );
    let peak = all.points.iter().map(|p| p.request_rate).fold(0.0, f64::max);
    assert!(peak > 5_000.0, "the platform's evening peak, summed: {peak}");
    assert!(all.cpu_allocatable >= 32.0 && all.points[0].cpu_requests > 0.0);
    let batch: app::dto::Platform = rpc("namespace=payments-batch").await.unwrap().json().await.unwrap();
    assert!(batch.points[0].cpu_requests < all.points[0].cpu_requests, "narrowed to one namespace");

    // Bad parameters: a 400 that names the problem; nothing else changes (read back: the
    // HPA the plan finds short, and the audit log).
    let hpas = kube::Api::<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler>::namespaced(
        support::admin(&s.server).await,
        "payments-core",
    );
    let hpa_before = hpas.get("risk-scoring").await.unwrap();
    let audit_before = support::audit_rows(&s).await;
    for (query, says) in [
        ("plan?peak=0x", "above 0"),
        ("plan?peak=1000x", "at most 100"),
        ("plan?peak=-5", "above 0"),
        ("plan?peak=lots", "neither a multiple"),
        ("plan?peak=NaNx", "above 0"),
        ("plan?times=4", "times"),
        ("sizing?name=ledger", "namespace"),
    ] {
        let (status, body) = get(&s.base, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{query}: {message}");
    }
    let hpa_after = hpas.get("risk-scoring").await.unwrap();
    assert_eq!(hpa_after.spec, hpa_before.spec);
    assert_eq!(hpa_after.metadata.generation, hpa_before.metadata.generation);
    assert_eq!(support::audit_rows(&s).await, audit_before, "nothing audited: nothing was attempted");
}
