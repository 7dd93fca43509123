//! Scheduled plans end to end on the simulator, whose clock the tests move (the plans'
//! runner reads its windows in it): drafted by one person, approved by another, the window's
//! level applied at its start as the approver and restored at its end — each step through
//! the editor's stages and in the audit log — and every refusal changing nothing.

use std::time::{Duration, Instant};

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::{
    Api,
    api::{Patch, PatchParams},
};
use serde_json::{Value, json};

use crate::support::{self, Stack, StackOptions, admin};

const MINUTE: i64 = 60_000;

/// The ledger HPA's bounds, read from the simulator.
async fn bounds(s: &Stack) -> (i64, i64) {
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(admin(&s.server).await, "payments-core");
    let spec = api.get("ledger").await.unwrap().spec.unwrap();
    (i64::from(spec.min_replicas.unwrap_or(1)), i64::from(spec.max_replicas))
}

fn root(s: &Stack) -> String {
    format!("http://{}/api/v1", s.addr)
}

/// A request as `user` of the operators' group, through the trusted proxy.
fn as_user(request: reqwest::RequestBuilder, user: &str) -> reqwest::RequestBuilder {
    request.header("X-Forwarded-User", user).header("X-Forwarded-Groups", "payments:operators")
}

/// A window today (the simulator's date), 10:00–11:00 UTC, raising the minimum to `min`.
fn one_hour_at_ten(min: i64) -> Value {
    json!({
        "schedule": {
            "timeZone": "UTC",
            "windows": [{ "repeat": { "every": "once", "date": "2026-11-26" }, "start": "10:00", "end": "11:00",
                          "level": { "minReplicas": min } }]
        },
        "reason": "CHG-77 flash sale at ten"
    })
}

async fn draft(s: &Stack, http: &reqwest::Client, user: &str, body: &Value) -> reqwest::Response {
    as_user(http.post(format!("{}/workloads/payments-core/ledger/plans", root(s))), user)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn act(
    s: &Stack,
    http: &reqwest::Client,
    user: &str,
    id: i64,
    action: &str,
    version: i64,
) -> reqwest::Response {
    as_user(http.post(format!("{}/plans/{id}/{action}", root(s))), user)
        .json(&json!({ "reason": "CHG-77 reviewed", "version": version }))
        .send()
        .await
        .unwrap()
}

async fn plan(s: &Stack, http: &reqwest::Client, id: i64) -> Value {
    http.get(format!("{}/plans/{id}", root(s))).send().await.unwrap().json().await.unwrap()
}

/// Drafted by ana, approved by operator: the plan's id.
async fn approved(s: &Stack, http: &reqwest::Client, body: &Value) -> i64 {
    let drafted = draft(s, http, "ana", body).await;
    assert_eq!(drafted.status(), 201, "{}", drafted.text().await.unwrap());
    let drafted: Value = drafted.json().await.unwrap();
    let id = drafted["id"].as_i64().unwrap();
    let approved = act(s, http, "operator", id, "approve", drafted["version"].as_i64().unwrap()).await;
    assert_eq!(approved.status(), 200, "{}", approved.text().await.unwrap());
    id
}

/// Waits (the runner looks every 2 s) until `done` holds of the plan.
async fn until_plan(
    s: &Stack,
    http: &reqwest::Client,
    id: i64,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let p = plan(s, http, id).await;
        if done(&p) {
            return p;
        }
        assert!(Instant::now() < deadline, "{what}: {p:#}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The audit rows of the ledger, newest first.
async fn audit(s: &Stack, http: &reqwest::Client) -> Vec<Value> {
    let rows: Value = http
        .get(format!("{}/audit?name=ledger&limit=200", root(s)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    rows.as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_approved_by_another_person_raises_the_minimum_in_its_window_and_restores_it_after() {
    let s = support::stack(StackOptions::default()).await;
    let http = reqwest::Client::new();
    let (min, max) = bounds(&s).await;
    let level = min + 3;

    let drafted = draft(&s, &http, "ana", &one_hour_at_ten(level)).await;
    assert_eq!(drafted.status(), 201);
    let drafted: Value = drafted.json().await.unwrap();
    let id = drafted["id"].as_i64().unwrap();
    assert_eq!((drafted["state"].as_str(), drafted["author"].as_str()), (Some("draft"), Some("ana")));

    // Maker–checker: its author cannot approve it; nothing changes.
    let refused = act(&s, &http, "ana", id, "approve", 1).await;
    assert_eq!(refused.status(), 403);
    let why: Value = refused.json().await.unwrap();
    assert!(why["error"]["message"].as_str().unwrap().contains("another person must approve"), "{why}");
    assert_eq!(plan(&s, &http, id).await["state"], "draft");
    // An approval made on an older version is refused too.
    assert_eq!(act(&s, &http, "operator", id, "approve", 7).await.status(), 409);

    let approved = act(&s, &http, "operator", id, "approve", 1).await;
    assert_eq!(approved.status(), 200);
    let approved: Value = approved.json().await.unwrap();
    assert_eq!(
        (approved["state"].as_str(), approved["approver"].as_str()),
        (Some("active"), Some("operator"))
    );

    // Before the window: nothing sent.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(bounds(&s).await, (min, max));

    // The window opens: the minimum is raised, as the approver, once.
    s.sim.step_clock(61 * MINUTE);
    let raised = until_plan(&s, &http, id, "the window's level applied", |p| {
        !p["holding"].is_null() && p["holding"]["sending"].is_null()
    })
    .await;
    assert_eq!(bounds(&s).await.0, level, "read back from the cluster");
    assert!(
        raised["lastStep"]["text"].as_str().unwrap().contains("window opened 2026-11-26 10:00 UTC"),
        "{raised}"
    );
    let steps = |rows: &[Value]| {
        rows.iter()
            .filter(|r| {
                r["outcome"] == "applied"
                    && r["reason"].as_str().unwrap_or("").starts_with(&format!("plan {id} "))
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    let rows = audit(&s, &http).await;
    let applied = steps(&rows);
    assert_eq!(applied.len(), 1, "one step applied: {rows:#?}");
    assert_eq!(applied[0]["user"], "operator", "made as the approver");
    assert!(rows.iter().any(|r| r["outcome"] == "previewed" && r["user"] == "operator"), "dry run first");
    // The refused approval and the plan's own changes are rows too.
    assert!(
        rows.iter()
            .any(|r| r["outcome"] == "denied" && r["user"] == "ana" && r["target"] == format!("Plan/{id}"))
    );
    assert!(
        rows.iter().any(|r| r["detail"].as_str().unwrap_or("").starts_with(&format!("approved plan {id}")))
    );

    // Later rounds in the window send nothing more.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(steps(&audit(&s, &http).await).len(), 1, "no step applied twice");

    // The window closes: what was there before is put back.
    s.sim.step_clock(60 * MINUTE);
    let restored = until_plan(&s, &http, id, "restored", |p| p["holding"].is_null()).await;
    assert_eq!(bounds(&s).await, (min, max), "read back from the cluster");
    assert!(restored["lastStep"]["text"].as_str().unwrap().contains("restoring"), "{restored}");
    assert_eq!(steps(&audit(&s, &http).await).len(), 2);
    assert_eq!(restored["state"], "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_by_someone_else_during_the_window_pauses_the_plan_at_its_end() {
    let s = support::stack(StackOptions::default()).await;
    let http = reqwest::Client::new();
    let (min, max) = bounds(&s).await;
    let id = approved(&s, &http, &one_hour_at_ten(min + 2)).await;
    // Paydeck was down when the window opened: on taking over it applies what is in force
    // now and says how late.
    s.sim.step_clock(90 * MINUTE);
    let raised = until_plan(&s, &http, id, "applied late", |p| !p["holding"].is_null()).await;
    let text = raised["lastStep"]["text"].as_str().unwrap();
    assert!(text.contains("late") && text.contains("30 min"), "{text}");

    // Someone raises the maximum by hand during the window.
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(admin(&s.server).await, "payments-core");
    let patch = json!({ "spec": { "maxReplicas": max + 5 } });
    api.patch("ledger", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while s
        .state
        .cluster
        .current()
        .workload("payments-core", "ledger")
        .unwrap()
        .autoscaler
        .as_ref()
        .unwrap()
        .max_replicas
        != (max + 5) as i32
    {
        assert!(Instant::now() < deadline, "the watch brings the change");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // At the window's end their change is left and the plan paused, saying why.
    s.sim.step_clock(60 * MINUTE);
    let paused = until_plan(&s, &http, id, "paused", |p| p["state"] == "paused").await;
    assert!(paused["pausedWhy"].as_str().unwrap().contains("changed during the window"), "{paused}");
    assert_eq!(bounds(&s).await, (min + 2, max + 5), "their change stands");
    assert!(audit(&s, &http).await.iter().any(|r| r["user"] == "paydeck"
        && r["detail"].as_str().unwrap_or("").starts_with(&format!("paused plan {id}"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approver_whose_rights_were_removed_gets_the_step_denied_and_nothing_changes() {
    let s = support::stack(StackOptions::default()).await;
    let http = reqwest::Client::new();
    let before = bounds(&s).await;
    let id = approved(&s, &http, &one_hour_at_ten(before.0 + 2)).await;
    // The operators lose the right to scale after the approval.
    s.sim.set_rbac(sim::auth::Rbac::Restricted);
    s.sim.step_clock(61 * MINUTE);
    let denied = until_plan(&s, &http, id, "the step denied", |p| {
        p["lastStep"]["text"].as_str().is_some_and(|t| t.contains("not made (denied)"))
    })
    .await;
    assert!(denied["holding"].is_null(), "nothing held: {denied}");
    assert_eq!(bounds(&s).await, before, "read back: nothing changed");
    let rows = audit(&s, &http).await;
    assert!(
        rows.iter().any(|r| r["outcome"] == "denied"
            && r["user"] == "operator"
            && r["reason"].as_str().unwrap_or("").starts_with(&format!("plan {id} "))),
        "the denied step is audited: {rows:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hpa_something_else_sets_back_gets_no_plan() {
    let s = support::stack(StackOptions::default()).await;
    let http = reqwest::Client::new();
    // KEDA's HPAs carry the ScaledObject's name.
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(admin(&s.server).await, "payments-core");
    let label = json!({ "metadata": { "labels": { "scaledobject.keda.sh/name": "ledger" } } });
    api.patch("ledger", &PatchParams::default(), &Patch::Merge(&label)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while s
        .state
        .cluster
        .current()
        .workload("payments-core", "ledger")
        .unwrap()
        .autoscaler
        .as_ref()
        .unwrap()
        .reverted_by
        .is_none()
    {
        assert!(Instant::now() < deadline, "the watch brings the label");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = draft(&s, &http, "ana", &one_hour_at_ten(6)).await;
    assert_eq!(refused.status(), 403);
    let why: Value = refused.json().await.unwrap();
    assert!(why["error"]["message"].as_str().unwrap().contains("KEDA"), "{why}");
    // Nothing stored; the refusal audited.
    let listed: Value = http.get(format!("{}/plans", root(&s))).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed, json!([]));
    assert!(audit(&s, &http).await.iter().any(|r| r["outcome"] == "denied" && r["target"] == "Plan"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_plans_are_refused_field_by_field_and_nothing_is_stored() {
    let s = support::stack(StackOptions::default()).await;
    let http = reqwest::Client::new();
    let bad = json!({
        "schedule": {
            "timeZone": "Mars/Olympus",
            "windows": [{ "repeat": { "every": "week", "days": ["funday"] }, "start": "25:00", "end": "10:00",
                          "level": { "minReplicas": 0 } }]
        },
        "reason": " "
    });
    let refused = draft(&s, &http, "ana", &bad).await;
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.unwrap();
    let fields: Vec<&str> =
        body["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    for field in
        ["schedule.timeZone", "schedule.windows[0].start", "schedule.windows[0].level.minReplicas", "reason"]
    {
        assert!(fields.contains(&field), "{field} named: {fields:?}");
    }
    // The same schedule replayed before drafting is refused alike.
    let replay =
        as_user(http.post(format!("{}/workloads/payments-core/ledger/plans/backtest", root(&s))), "ana")
            .json(&bad)
            .send()
            .await
            .unwrap();
    assert_eq!(replay.status(), 422);
    // Unknown and repeated fields, and a body that is not JSON, are refused before anything.
    let unknown = json!({ "schedule": one_hour_at_ten(5)["schedule"], "reason": "x", "approver": "me" });
    assert_eq!(draft(&s, &http, "ana", &unknown).await.status(), 422);
    let form = as_user(http.post(format!("{}/workloads/payments-core/ledger/plans", root(&s))), "ana")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("reason=x")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    // Without an identity: 401.
    let anonymous = http
        .post(format!("{}/workloads/payments-core/ledger/plans", root(&s)))
        .json(&one_hour_at_ten(5))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let listed: Value = http.get(format!("{}/plans", root(&s))).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed, json!([]), "nothing stored");
    let stored = s.store.plans.list(None).await.unwrap();
    assert!(stored.is_empty(), "read back from the store: {stored:?}");
}

/// Minutes a Deployment's traffic asked more CPU than its ready pods request, stepping the
/// simulator 15 s at a time from `from` to `to` (ms after midnight UTC of its day); before
/// each step `before_step` may hold the clock (the plan's runner acts in real time).
async fn overloaded_minutes(
    s: &Stack,
    name: &str,
    day_start: i64,
    (from, to): (i64, i64),
    plan: Option<(i64, i64)>,
) -> f64 {
    let http = reqwest::Client::new();
    let now = s.sim.now() as i64;
    s.sim.step_clock(day_start + from - now);
    let mut overloaded = 0;
    let mut at = from;
    while at < to {
        // The plan's window opened: its step is made before the load is read on.
        if let Some((id, opens)) = plan
            && at >= opens
        {
            until_plan(s, &http, id, "the window's step", |p| {
                !p["holding"].is_null() && p["holding"]["sending"].is_null()
            })
            .await;
        }
        s.sim.advance(Duration::from_secs(15));
        at += 15_000;
        let load = s.sim.lock().model.deployment_load("payments-core", name).unwrap();
        if load.demand_cores > load.requested_cores {
            overloaded += 1;
        }
    }
    f64::from(overloaded) / 4.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_proposed_from_recorded_flash_sales_removes_the_next_ones_overload() {
    const HOUR: i64 = 60 * MINUTE;
    // Four recorded days with the daily flash sale at 18:00 UTC.
    let s = support::stack(StackOptions {
        sim_history: Some(Duration::from_secs(4 * 86_400)),
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let service = "ledger";
    let proposal: Value =
        as_user(http.post(format!("{}/workloads/payments-core/{service}/plans/propose", root(&s))), "ana")
            .json(&json!({ "timeZone": "UTC" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let peak = proposal["peaks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["every"] == "day"
                && p["start"].as_str().unwrap() <= "18:00"
                && p["end"].as_str().unwrap() >= "18:30"
        })
        .unwrap_or_else(|| panic!("the sale is found as a daily peak: {proposal:#}"))
        .clone();
    assert!(peak["overloadedMinutesWithout"].as_f64().unwrap() > 0.0, "{peak}");
    let request = proposal["request"].clone();
    assert!(request.is_object(), "a draft is proposed: {proposal:#}");
    let window = request["schedule"]["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["end"].as_str() == peak["end"].as_str())
        .unwrap()
        .clone();
    let opens = {
        let (h, m) = window["start"].as_str().unwrap().split_once(':').unwrap();
        h.parse::<i64>().unwrap() * HOUR + m.parse::<i64>().unwrap() * MINUTE
    };
    assert!(opens < 18 * HOUR, "the window opens before the sale: {window}");

    // Today's sale, as the HPA alone meets it.
    let today = (s.sim.now() as i64).div_euclid(24 * HOUR) * 24 * HOUR;
    let before =
        overloaded_minutes(&s, service, today, (17 * HOUR + 30 * MINUTE, 18 * HOUR + 40 * MINUTE), None)
            .await;
    assert!(before > 0.0, "the sale overloads {service} without a plan");
    // The evening calms down: the HPA scales back before the night.
    for _ in 0..60 {
        s.sim.advance(Duration::from_secs(60));
    }

    // The proposal, drafted by one person, approved by another.
    let drafted = draft_for(&s, &http, service, "ana", &request).await;
    let id = drafted["id"].as_i64().unwrap();
    assert_eq!(
        act_on(&s, &http, "operator", id, "approve", drafted["version"].as_i64().unwrap()).await.status(),
        200
    );

    // Tomorrow's sale, with the plan.
    let tomorrow = today + 24 * HOUR;
    let after = overloaded_minutes(
        &s,
        service,
        tomorrow,
        (17 * HOUR + 30 * MINUTE, 18 * HOUR + 40 * MINUTE),
        Some((id, opens)),
    )
    .await;
    assert!(after < before, "the plan's sale is overloaded {after} min, the one before {before} min");
}

async fn draft_for(s: &Stack, http: &reqwest::Client, name: &str, user: &str, body: &Value) -> Value {
    let r = as_user(http.post(format!("{}/workloads/payments-core/{name}/plans", root(s))), user)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

async fn act_on(
    s: &Stack,
    http: &reqwest::Client,
    user: &str,
    id: i64,
    action: &str,
    version: i64,
) -> reqwest::Response {
    act(s, http, user, id, action, version).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_to_the_hpas_policy_after_approval_puts_the_plan_back_to_a_draft() {
    let s = support::stack(StackOptions::default()).await;
    let http = reqwest::Client::new();
    let (min, _) = bounds(&s).await;
    let id = approved(&s, &http, &one_hour_at_ten(min + 2)).await;
    // Someone changes the HPA's scale-down behaviour: not what the approver saw.
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(admin(&s.server).await, "payments-core");
    let patch = json!({ "spec": { "behavior": { "scaleDown": { "stabilizationWindowSeconds": 900 } } } });
    api.patch("ledger", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    let back = until_plan(&s, &http, id, "a draft again", |p| p["state"] == "draft").await;
    assert!(back["approver"].is_null(), "{back}");
    assert!(back["lastStep"]["text"].as_str().unwrap().contains("approving again"), "{back}");
    // In its window it raises nothing until someone approves it again.
    s.sim.step_clock(61 * MINUTE);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(bounds(&s).await.0, min, "read back: nothing raised");
    assert!(
        audit(&s, &http).await.iter().any(|r| r["user"] == "paydeck" && r["target"] == format!("Plan/{id}"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_windows_report_is_measured_on_the_recording_against_the_week_before() {
    // Nine recorded days: a window of yesterday evening and the same one a week before.
    let s = support::stack(StackOptions {
        sim_history: Some(Duration::from_secs(9 * 86_400)),
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let id = approved(&s, &http, &one_hour_at_ten(4)).await;
    let plan: domain::plan::Plan = serde_json::from_value(plan(&s, &http, id).await).unwrap();
    let editor = s.state.editor.clone().unwrap();
    let until = s.store.history.simulated_until().await.unwrap().expect("recorded");
    let evening = until - 24 * 3_600_000;
    let report = paydeck::plans::backtest::report(&editor, &plan, (evening, evening + 3_600_000))
        .await
        .expect("a report of a recorded window");
    assert!((report.with_plan.recorded_minutes - 60.0).abs() < 1.0, "{report:?}");
    assert!(report.with_plan.replica_hours > 0.0, "{report:?}");
    let before = report.week_before.expect("the week before was recorded");
    assert!(before.recorded_minutes > 59.0 && before.replica_hours > 0.0, "{before:?}");
    // Marked on the service's charts.
    let history: Value = http
        .get(format!(
            "{}/workloads/payments-core/ledger/history?from={}&to={}",
            root(&s),
            evening,
            evening + 4_000_000
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let marked = history["events"].as_array().unwrap().iter().any(|e| {
        e["kind"] == "plan" && e["message"].as_str().unwrap().starts_with(&format!("plan {id} window:"))
    });
    assert!(marked, "{:#}", history["events"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_write_and_a_flood_of_plan_changes_are_refused_and_change_nothing() {
    let s = support::stack(StackOptions::default()).await;
    let http = reqwest::Client::new();
    // A page on another site posting a draft as the signed-in person: refused, nothing kept.
    let forged = as_user(http.post(format!("{}/workloads/payments-core/ledger/plans", root(&s))), "ana")
        .header("Sec-Fetch-Site", "cross-site")
        .header("Origin", "https://evil.example")
        .json(&one_hour_at_ten(5))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(s.store.plans.list(None).await.unwrap().is_empty(), "read back: nothing stored");
    // One person's flood: 20 changes a minute, then 429, and the refused ones store nothing.
    let mut statuses = Vec::new();
    for _ in 0..24 {
        statuses.push(
            draft(&s, &http, "ana", &json!({ "schedule": one_hour_at_ten(5)["schedule"], "reason": " " }))
                .await
                .status(),
        );
    }
    assert!(statuses[..20].iter().all(|s| *s == 422), "{statuses:?}");
    assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
    assert!(s.store.plans.list(None).await.unwrap().is_empty(), "read back: nothing stored");
    // Another person is not held back by it.
    assert_eq!(draft(&s, &http, "operator", &one_hour_at_ten(5)).await.status(), 201);
}
