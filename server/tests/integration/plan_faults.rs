//! The fault suite's kill test for scheduled plans: Paydeck is SIGKILLed while its leader
//! carries out plan steps — a window's level applied on approval, put back on a cancel — at
//! moments the dice choose, often between a step's intent and its outcome. Each start must
//! carry out what the last one left (none lost) and never send a step twice (none repeated),
//! and the HPAs must end as they began.

use std::time::{Duration, Instant};

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::{Api, api::ListParams};
use serde_json::{Value, json};

use crate::{
    faults::{Dice, TempDir, check_database, count, figures, no_panics, start_paydeck_with},
    support,
};

/// A window open from two minutes ago for three hours, in Paydeck's own clock: against this
/// simulator Paydeck runs as against a real cluster, on the wall clock (any hour will do: the
/// window is one date's, ending the next day when it crosses midnight).
fn open_window(min_replicas: i32) -> Value {
    let now = jiff::Timestamp::now();
    let start = (now - jiff::SignedDuration::from_mins(2)).to_zoned(jiff::tz::TimeZone::UTC);
    let end = (now + jiff::SignedDuration::from_hours(3)).to_zoned(jiff::tz::TimeZone::UTC);
    json!({
        "schedule": {
            "timeZone": "UTC",
            "windows": [{ "repeat": { "every": "once", "date": start.strftime("%Y-%m-%d").to_string() },
                          "start": start.strftime("%H:%M").to_string(), "end": end.strftime("%H:%M").to_string(),
                          "level": { "minReplicas": min_replicas } }]
        },
        "reason": "FAULT plan"
    })
}

/// The plans as the API lists them.
async fn plans(http: &reqwest::Client, url: &str) -> Vec<Value> {
    let listed: Value = http.get(format!("{url}/api/v1/plans")).send().await.unwrap().json().await.unwrap();
    listed.as_array().cloned().unwrap_or_default()
}

/// Waits until `done` holds of the plans.
async fn until(http: &reqwest::Client, url: &str, what: &str, done: impl Fn(&[Value]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = plans(http, url).await;
        if done(&now) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {now:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn holds(plan: &Value) -> bool {
    !plan["holding"].is_null() && plan["holding"]["sending"].is_null()
}

/// Cancels plan `id` as its author (its restore step follows).
async fn cancel(http: &reqwest::Client, url: &str, id: i64) {
    let plan: Value =
        http.get(format!("{url}/api/v1/plans/{id}")).send().await.unwrap().json().await.unwrap();
    let res = http
        .post(format!("{url}/api/v1/plans/{id}/cancel"))
        .bearer_auth("paydeck-audience-viewer")
        .json(&json!({ "reason": "FAULT done", "version": plan["version"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paydeck_killed_while_carrying_out_plan_steps_loses_none_and_repeats_none() {
    let kills = count("PAYDECK_FAULT_KILLS", 3);
    let seed = std::env::var("PAYDECK_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261207);
    let mut dice = Dice(seed);
    let sim = sim::Cluster::new(&sim::Options {
        speed: Some(1.0),
        start: Some(sim::clock::test_start()),
        ..sim::Options::default()
    });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    // Writes answered 60 ms after they are applied: a window in which a step is in the
    // cluster and its outcome not yet in the audit log.
    sim.set_write_delay(Duration::from_millis(60));
    let dir = TempDir(std::env::temp_dir().join(format!("paydeck-plan-faults-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let kubeconfig = dir.0.join("dashboard.kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig(sim::auth::DASHBOARD_TOKEN)).unwrap();
    let db = dir.0.join("paydeck.db");
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(support::admin(&server).await, "payments-core");
    let bounds = |h: &HorizontalPodAutoscaler| {
        let spec = h.spec.clone().unwrap();
        (spec.min_replicas.unwrap_or(1), spec.max_replicas)
    };
    let mut original: Vec<(String, (i32, i32))> = hpas
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        // Not the HPA Argo CD syncs in the demo: no plan is drafted for what something sets back.
        .filter(|h| paydeck::cluster::snapshot::owners_of(&h.metadata).is_empty())
        .map(|h| (h.metadata.name.clone().unwrap(), bounds(h)))
        .collect();
    original.sort();
    assert!(original.len() >= 3, "HPAs to plan for: {original:?}");
    let http = reqwest::Client::new();

    // Round after round: the last plan's step carried out (whatever the kill cut short), that
    // plan cancelled (its restore step), the next approved (its apply step), and a kill.
    let mut made: Vec<(i64, String)> = Vec::new();
    let mut ready_times = Vec::new();
    for round in 0..=kills {
        let started = Instant::now();
        let mut child = start_paydeck_with(&kubeconfig, &db, &[]);
        let url = support::served_at(&mut child).await;
        support::wait_ready(&url, Duration::from_secs(30), "restarting after a kill").await;
        ready_times.push(started.elapsed());
        if let Some((last, _)) = made.last().cloned() {
            until(&http, &url, "the last plan's step is carried out after the kill", |p| {
                p.iter().any(|p| p["id"] == last && holds(p))
            })
            .await;
            cancel(&http, &url, last).await;
        }
        if round == kills {
            // The last start: every restore carried out, then a clean stop.
            until(&http, &url, "every plan puts back what it held", |p| {
                p.iter().all(|p| p["holding"].is_null())
            })
            .await;
            child.kill().unwrap();
            child.wait().unwrap();
            break;
        }
        let (hpa, (min, _)) = original[round % original.len()].clone();
        until(&http, &url, "the HPA's earlier plans hold nothing", |p| {
            p.iter().filter(|p| p["name"] == hpa.as_str()).all(|p| p["holding"].is_null())
        })
        .await;
        let drafted = http
            .post(format!("{url}/api/v1/workloads/payments-core/{hpa}/plans"))
            .bearer_auth("paydeck-audience-viewer")
            .json(&open_window(min + 1 + (round % 2) as i32))
            .send()
            .await
            .unwrap();
        assert_eq!(drafted.status(), 201, "{}", drafted.text().await.unwrap_or_default());
        let drafted: Value = drafted.json().await.unwrap();
        let id = drafted["id"].as_i64().unwrap();
        let approved = http
            .post(format!("{url}/api/v1/plans/{id}/approve"))
            .bearer_auth("paydeck-audience-operator")
            .json(&json!({ "reason": "FAULT approve", "version": drafted["version"] }))
            .send()
            .await
            .unwrap();
        assert_eq!(approved.status(), 200, "{}", approved.text().await.unwrap_or_default());
        made.push((id, hpa));
        // The runner looks every 2 s: the kill lands before, during or after its steps.
        tokio::time::sleep(Duration::from_millis(dice.below(3_000))).await;
        // SAFETY: a signal to our own child process.
        assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGKILL) }, 0);
        child.wait().unwrap();
    }

    // The HPAs end as they began, read from the cluster.
    for (name, before) in &original {
        assert_eq!(bounds(&hpas.get(name).await.unwrap()), *before, "{name} is put back");
    }
    // Each step of each plan: applied at most once, and applied or sent (its outcome lost to
    // a kill) at least once.
    let store =
        paydeck::store::open_audit_for_reading(&paydeck::store::Location::Sqlite(db.clone())).await.unwrap();
    let rows: Vec<paydeck::store::audit::ChainRow> =
        futures::TryStreamExt::try_collect(store.chain()).await.unwrap();
    let mut cut_short = 0;
    for (id, hpa) in &made {
        for step in ["window opened", "restoring"] {
            let of = |outcome: &str| {
                rows.iter()
                    .filter(|r| {
                        r.outcome == outcome
                            && r.name == *hpa
                            && r.reason.starts_with(&format!("plan {id} ("))
                            && r.reason.contains(step)
                    })
                    .count()
            };
            let (applied, unknown) = (of("applied"), of("unknown"));
            assert!(applied <= 1, "plan {id}'s step “{step}” was applied {applied} times");
            assert!(applied + unknown >= 1, "plan {id}'s step “{step}” was lost");
            cut_short += unknown;
        }
    }
    let dangling = rows
        .iter()
        .filter(|a| a.outcome == "intent" && !rows.iter().any(|b| b.intent_seq == Some(a.seq)))
        .count();
    assert_eq!(dangling, 0, "every intent has an outcome after a start");
    check_database(&db).await;
    no_panics(&db);
    println!(
        "FAULTS | SIGKILL while carrying out plan steps | kills survived {kills}/{kills} | plans {} | steps {} ({cut_short} cut short between intent and outcome) | lost 0, applied twice 0 (goal 0) | time to ready {} | seed {seed}",
        made.len(),
        2 * made.len(),
        figures(&mut ready_times)
    );
}
