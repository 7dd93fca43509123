//! Scaling edits end to end against the simulator over HTTPS: a dry run changes nothing, an
//! apply changes exactly what was asked, a stale resourceVersion is a conflict, users without
//! rights get a clear 403, bad input gets field errors — and after every refusal the cluster
//! reads back exactly as before. Every attempt lands in the audit log, whose chain holds.

use k8s_openapi::api::{apps::v1::Deployment, autoscaling::v2::HorizontalPodAutoscaler};
use kube::Api;
use serde_json::{Value, json};

use crate::support;
use support::{Stack as Setup, StackOptions, admin};

async fn setup() -> Setup {
    support::stack(StackOptions::default()).await
}

/// The HPA as the cluster has it now.
async fn hpa(server: &sim::RunningServer, ns: &str, name: &str) -> HorizontalPodAutoscaler {
    Api::<HorizontalPodAutoscaler>::namespaced(admin(server).await, ns).get(name).await.unwrap()
}

/// A whole HPA spec as the JSON API takes it: Kubernetes' field names, numbers as numbers
/// (a value that is not a number is sent as given, to be refused).
fn hpa_form(min: &str, max: &str, cpu: &str, reason: &str) -> Value {
    let number = |s: &str| s.parse::<i64>().map_or_else(|_| json!(s), |n| json!(n));
    let utilization = |name: &str, target: Value| json!({ "type": "Resource", "resource": { "name": name, "target": { "type": "Utilization", "averageUtilization": target } } });
    json!({
        "spec": {
            "minReplicas": number(min), "maxReplicas": number(max),
            "metrics": [utilization("cpu", number(cpu)), utilization("memory", json!(80))],
            "behavior": {
                "scaleUp": { "stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
                    { "type": "Percent", "value": 100, "periodSeconds": 15 }, { "type": "Pods", "value": 4, "periodSeconds": 15 } ] },
                "scaleDown": { "stabilizationWindowSeconds": 600, "selectPolicy": "Min", "policies": [
                    { "type": "Pods", "value": 1, "periodSeconds": 60 }, { "type": "Percent", "value": 10, "periodSeconds": 60 } ] }
            }
        },
        "reason": reason,
    })
}

/// Posts an edit as `user` in `groups` (through the trusted proxy headers).
async fn post(
    s: &Setup,
    path: &str,
    user: Option<(&str, &str)>,
    mut body: Value,
    rv: &str,
    dry_run: bool,
) -> (u16, Value) {
    body["resourceVersion"] = json!(rv);
    body["dryRun"] = json!(dry_run);
    let mut req = reqwest::Client::new().post(format!("{}/workloads/{path}/scaling", s.base)).json(&body);
    if let Some((user, groups)) = user {
        req = req.header("X-Forwarded-User", user).header("X-Forwarded-Groups", groups);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

const OPERATOR: Option<(&str, &str)> = Some(("operator", "payments:operators"));
const VIEWER: Option<(&str, &str)> = Some(("viewer", "payments:viewers"));

#[tokio::test]
async fn hpa_edits_preview_apply_conflict_and_refuse_without_changing_anything() {
    let s = setup().await;
    let before = hpa(&s.server, "payments-core", "ledger").await;
    let rv = before.metadata.resource_version.clone().unwrap();
    let max_before = before.spec.as_ref().unwrap().max_replicas;
    let wanted_max = (max_before + 2).to_string();

    // Preview: the cluster's dry run answers; nothing changes.
    let (status, preview) =
        post(&s, "payments-core/ledger", OPERATOR, hpa_form("3", &wanted_max, "70", "CHG-7 peak"), &rv, true)
            .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["outcome"], "previewed");
    assert_eq!(preview["diff"]["maxReplicas"], json!([max_before, max_before + 2]));
    assert_eq!(hpa(&s.server, "payments-core", "ledger").await, before, "a dry run changes nothing");

    // Every refusal leaves the HPA exactly as it was.
    let refusals = [
        (VIEWER, hpa_form("3", &wanted_max, "70", "CHG-7"), rv.clone(), 403, "denied"),
        (None, hpa_form("3", &wanted_max, "70", "CHG-7"), rv.clone(), 401, "denied"),
        (OPERATOR, hpa_form("3", "many", "70", "CHG-7"), rv.clone(), 422, "invalid"),
        (OPERATOR, hpa_form("9", "4", "70", "CHG-7"), rv.clone(), 422, "invalid"),
        (OPERATOR, hpa_form("3", &wanted_max, "70", " "), rv.clone(), 422, "invalid"),
        (OPERATOR, hpa_form("1", &wanted_max, "70", "CHG-7"), rv.clone(), 422, "invalid"), // ledger is critical
    ];
    for (who, body, rv, code, outcome) in refusals {
        let (status, answer) = post(&s, "payments-core/ledger", who, body.clone(), &rv, false).await;
        assert_eq!((status, answer["outcome"].as_str().unwrap()), (code, outcome), "{body} → {answer}");
        assert!(
            !answer["message"].as_str().unwrap().is_empty()
                || !answer["errors"].as_array().unwrap().is_empty()
        );
        assert_eq!(
            hpa(&s.server, "payments-core", "ledger").await,
            before,
            "refused ({outcome}) and unchanged"
        );
    }
    let (_, invalid) =
        post(&s, "payments-core/ledger", OPERATOR, hpa_form("9", "4", "70", "x"), &rv, false).await;
    assert_eq!(invalid["errors"][0]["field"], "spec.maxReplicas");
    assert!(invalid["errors"][0]["message"].as_str().unwrap().contains("below the minimum"));

    // Apply: exactly what was asked.
    let (status, applied) = post(
        &s,
        "payments-core/ledger",
        OPERATOR,
        hpa_form("3", &wanted_max, "70", "CHG-7 peak"),
        &rv,
        false,
    )
    .await;
    assert_eq!((status, applied["outcome"].as_str().unwrap()), (200, "applied"), "{applied}");
    let after = hpa(&s.server, "payments-core", "ledger").await;
    assert_eq!(after.spec.as_ref().unwrap().max_replicas, max_before + 2);
    assert_eq!(after.spec.as_ref().unwrap().min_replicas, Some(3));

    // The same (now stale) resourceVersion again: a conflict, not an overwrite.
    let (status, conflict) =
        post(&s, "payments-core/ledger", OPERATOR, hpa_form("3", "20", "70", "CHG-8"), &rv, false).await;
    assert_eq!((status, conflict["outcome"].as_str().unwrap()), (409, "conflict"), "{conflict}");
    assert_eq!(hpa(&s.server, "payments-core", "ledger").await, after, "nothing overwritten");

    // Operators may not touch payments-batch: the cluster's RBAC says so, and Paydeck relays it.
    let batch = hpa(&s.server, "payments-batch", "settlement-batch").await;
    let batch_rv = batch.metadata.resource_version.clone().unwrap();
    let (status, denied) = post(
        &s,
        "payments-batch/settlement-batch",
        OPERATOR,
        hpa_form("1", "8", "75", "CHG-9"),
        &batch_rv,
        false,
    )
    .await;
    assert_eq!(status, 403, "{denied}");
    assert!(
        denied["message"].as_str().unwrap().contains("operator"),
        "the cluster's message names the user: {denied}"
    );
    assert_eq!(hpa(&s.server, "payments-batch", "settlement-batch").await, batch);

    // A cross-site form post is refused before anything else.
    let res = reqwest::Client::new()
        .post(format!("{}/workloads/payments-core/ledger/scaling", s.base))
        .header("Origin", "https://evil.example")
        .header("X-Forwarded-User", "operator")
        .header("X-Forwarded-Groups", "payments:operators")
        .json(&hpa_form("3", "30", "70", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(hpa(&s.server, "payments-core", "ledger").await, after);

    // The rights the UI asks before offering the form.
    let rights = |who: &'static str, groups: &'static str| {
        let url = format!("{}/workloads/payments-core/ledger/rights", s.base);
        async move {
            let r = reqwest::Client::new()
                .get(url)
                .header("X-Forwarded-User", who)
                .header("X-Forwarded-Groups", groups);
            r.send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    assert_eq!(rights("operator", "payments:operators").await["mayEdit"], true);
    assert_eq!(rights("viewer", "payments:viewers").await["mayEdit"], false);

    // Every attempt is in the audit log, newest first, and the chain holds.
    let audit: Vec<Value> = reqwest::get(format!("{}/audit?namespace=payments-core&name=ledger", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let outcomes: Vec<&str> = audit.iter().rev().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert_eq!(
        outcomes,
        ["previewed", "denied", "invalid", "invalid", "invalid", "invalid", "invalid", "applied", "conflict"]
    );
    let applied_row = audit.iter().find(|e| e["outcome"] == "applied").unwrap();
    assert_eq!(
        (applied_row["user"].as_str(), applied_row["reason"].as_str()),
        (Some("operator"), Some("CHG-7 peak"))
    );
    assert_eq!(applied_row["before"]["maxReplicas"], max_before);
    assert_eq!(applied_row["after"]["maxReplicas"], max_before + 2);
    let csv = reqwest::get(format!("{}/audit?format=csv&outcome=applied", s.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("seq,atMs,user") && csv.contains("CHG-7 peak"), "{csv}");
    assert!(paydeck::audit::verify(s.store.audit.as_ref()).await.unwrap().is_ok());
}

#[tokio::test]
async fn replicas_change_only_where_no_hpa_decides() {
    let s = setup().await;
    let api: Api<Deployment> = Api::namespaced(admin(&s.server).await, "payments-core");
    let fx = api.get("fx-rates").await.unwrap();
    let rv = fx.metadata.resource_version.clone().unwrap();
    let replicas = |n: Value, reason: &str| json!({ "replicas": n, "reason": reason });

    for (body, code) in [
        (replicas(json!(2.5), "CHG-1"), 422),
        (replicas(json!("2"), "CHG-1"), 422),
        (replicas(json!(-1), "CHG-1"), 422),
        (replicas(json!(101), "CHG-1"), 422),
        (replicas(json!(2), ""), 422),
    ] {
        let (status, answer) = post(&s, "payments-core/fx-rates", OPERATOR, body.clone(), &rv, false).await;
        assert_eq!(status, code, "{body} → {answer}");
        assert_eq!(api.get("fx-rates").await.unwrap(), fx, "unchanged after {body}");
    }
    let (status, applied) =
        post(&s, "payments-core/fx-rates", OPERATOR, replicas(json!(2), "CHG-2 resilience"), &rv, false)
            .await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["diff"]["replicas"], json!([1, 2]));
    let scaled = api.get("fx-rates").await.unwrap();
    assert_eq!(scaled.spec.unwrap().replicas, Some(2));

    // A script with a bearer token is whoever the cluster says the token belongs to.
    let with_token = |token: &'static str| {
        let url = format!("{}/workloads/payments-core/fx-rates/scaling", s.base);
        let body = json!({ "replicas": 3, "reason": "CHG-4", "resourceVersion": "0", "dryRun": true });
        async move { reqwest::Client::new().post(url).bearer_auth(token).json(&body).send().await.unwrap() }
    };
    let as_operator: Value = with_token("paydeck-audience-operator").await.json().await.unwrap();
    assert_eq!(
        as_operator["outcome"], "conflict",
        "reached the cluster as operator, at a stale version: {as_operator}"
    );
    let unknown = with_token("not-a-token").await;
    assert_eq!(unknown.status(), 401, "an unknown token is nobody");
    let whoami: Value = reqwest::Client::new()
        .get(format!("{}/whoami", s.base))
        .bearer_auth("paydeck-audience-viewer")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((whoami["user"].as_str(), &whoami["groups"]), (Some("viewer"), &json!(["payments:viewers"])));

    // ledger's replicas belong to its HPA.
    let ledger = api.get("ledger").await.unwrap();
    let (status, answer) = post(
        &s,
        "payments-core/ledger",
        OPERATOR,
        replicas(json!(5), "CHG-3"),
        ledger.metadata.resource_version.as_deref().unwrap(),
        false,
    )
    .await;
    assert_eq!(status, 422);
    assert!(answer["errors"][0]["message"].as_str().unwrap().contains("HPA"), "{answer}");
}

/// Sends `body` to ledger's scaling endpoint as the operator.
async fn send_as_operator(s: &Setup, body: Value) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/workloads/payments-core/ledger/scaling", s.base))
        .header("X-Forwarded-User", "operator")
        .header("X-Forwarded-Groups", "payments:operators")
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json::<Value>().await.unwrap())
}

/// `{"spec": {"maxReplicas": to}, "reason": …}` with the precondition's fields.
fn raise(to: i32, precondition: Value) -> Value {
    let mut body = json!({ "spec": { "maxReplicas": to }, "reason": "CHG-30 headroom" });
    body.as_object_mut().unwrap().extend(precondition.as_object().unwrap().clone());
    body
}

/// ledger's HPA as Paydeck's API shows it, once its snapshot has `rv` or later.
async fn shown_autoscaler(s: &Setup, rv: &str) -> Value {
    let wanted: u64 = rv.parse().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let w: Value = reqwest::get(format!("{}/workloads/payments-core/ledger", s.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let a = w["autoscaler"].clone();
        if a["resourceVersion"].as_str().and_then(|v| v.parse::<u64>().ok()).is_some_and(|v| v >= wanted) {
            return a;
        }
        assert!(std::time::Instant::now() < deadline, "Paydeck never saw resourceVersion {rv}: {a}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// An edit as the browser sends it, on a cluster as real ones are up to Kubernetes 1.36 (and
/// 1.37 by default): HPAs have no `metadata.generation`. The change is conditional on the
/// spec as seen, by its hash, which the controllers' status writes do not move.
#[tokio::test]
async fn an_hpa_change_against_the_spec_seen_works_where_hpas_keep_no_generation() {
    let s = setup().await;
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(admin(&s.server).await, "payments-core");
    let seen = api.get("ledger").await.unwrap();
    assert_eq!(seen.metadata.generation, None, "the simulator keeps none, as the API server does");
    let rv = seen.metadata.resource_version.clone().unwrap();
    let shown = shown_autoscaler(&s, &rv).await;
    assert_eq!(shown["generation"], Value::Null);
    let hash = shown["specHash"].as_str().unwrap().to_string();
    let max = seen.spec.as_ref().unwrap().max_replicas;

    // Asking with several, or none, or a generation the cluster does not keep: refused,
    // naming why, and nothing changes.
    for (precondition, field, says) in [
        (json!({ "resourceVersion": rv, "specHash": hash }), "specHash", "not several"),
        (json!({}), "resourceVersion", "is required"),
        (json!({ "generation": 0 }), "generation", "1 or more"),
        (json!({ "specHash": "sha256:abc" }), "specHash", "64 hexadecimal"),
        (
            json!({ "generation": 1 }),
            "generation",
            "keeps no metadata.generation for HorizontalPodAutoscalers",
        ),
        (json!({ "generation": 1, "dryRun": true }), "generation", "keeps no metadata.generation"),
    ] {
        let (status, answer) = send_as_operator(&s, raise(max + 1, precondition.clone())).await;
        assert_eq!(
            (status, answer["errors"][0]["field"].as_str()),
            (422, Some(field)),
            "{precondition} → {answer}"
        );
        assert!(answer["errors"][0]["message"].as_str().unwrap().contains(says), "{precondition} → {answer}");
        assert_eq!(api.get("ledger").await.unwrap().spec, seen.spec, "unchanged after {precondition}");
    }

    // A write that leaves the spec alone (a label here; the controller's status in life).
    let labelled = api
        .patch(
            "ledger",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({ "metadata": { "labels": { "team": "ledger" } } })),
        )
        .await
        .unwrap();
    assert_ne!(labelled.metadata.resource_version.as_ref(), Some(&rv));

    // Against the whole object as seen: a conflict. Against the spec as seen: previewed, then
    // applied, each exactly as asked.
    let (status, stale) = send_as_operator(&s, raise(max + 1, json!({ "resourceVersion": rv }))).await;
    assert_eq!((status, stale["outcome"].as_str()), (409, Some("conflict")), "{stale}");
    let (status, preview) =
        send_as_operator(&s, raise(max + 1, json!({ "specHash": hash, "dryRun": true }))).await;
    assert_eq!((status, preview["outcome"].as_str()), (200, Some("previewed")), "{preview}");
    assert_eq!(preview["diff"], json!({ "maxReplicas": [max, max + 1] }));
    let (status, applied) = send_as_operator(&s, raise(max + 1, json!({ "specHash": hash }))).await;
    assert_eq!((status, applied["outcome"].as_str()), (200, Some("applied")), "{applied}");
    assert_eq!(applied["diff"], preview["diff"], "the preview showed what the apply did");
    let after = api.get("ledger").await.unwrap();
    assert_eq!(after.spec.as_ref().unwrap().max_replicas, max + 1);

    // Someone else's change to the spec since: a conflict, and theirs stands.
    let (status, conflict) = send_as_operator(&s, raise(max + 5, json!({ "specHash": hash }))).await;
    assert_eq!((status, conflict["outcome"].as_str()), (409, Some("conflict")), "{conflict}");
    assert_eq!(api.get("ledger").await.unwrap().spec, after.spec, "nothing overwritten");
    // The new spec's hash, as Paydeck shows it once it has seen it, works again.
    let shown = shown_autoscaler(&s, after.metadata.resource_version.as_deref().unwrap()).await;
    assert_ne!(shown["specHash"], json!(hash));
    let (status, again) =
        send_as_operator(&s, raise(max + 2, json!({ "specHash": shown["specHash"] }))).await;
    assert_eq!((status, again["outcome"].as_str()), (200, Some("applied")), "{again}");
}

/// With Kubernetes 1.37's HPAGeneration feature gate on, an HPA's generation is kept and an
/// edit may be conditional on it, as on a Deployment.
#[tokio::test]
async fn with_the_hpa_generation_gate_on_an_hpa_change_may_be_conditional_on_its_generation() {
    let s = setup().await;
    s.sim.set_hpa_generation(true);
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(admin(&s.server).await, "payments-core");
    let max = api.get("ledger").await.unwrap().spec.unwrap().max_replicas;
    // A spec change gives the HPA its first generation under the gate (0 + 1).
    let changed = api
        .patch(
            "ledger",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({ "spec": { "maxReplicas": max + 1 } })),
        )
        .await
        .unwrap();
    assert_eq!(changed.metadata.generation, Some(1));
    let shown = shown_autoscaler(&s, changed.metadata.resource_version.as_deref().unwrap()).await;
    assert_eq!(shown["generation"], 1);
    let (status, applied) = send_as_operator(&s, raise(max + 2, json!({ "generation": 1 }))).await;
    assert_eq!((status, applied["outcome"].as_str()), (200, Some("applied")), "{applied}");
    assert_eq!(api.get("ledger").await.unwrap().metadata.generation, Some(2));
    let (status, conflict) = send_as_operator(&s, raise(max + 3, json!({ "generation": 1 }))).await;
    assert_eq!((status, conflict["outcome"].as_str()), (409, Some("conflict")), "{conflict}");
    assert_eq!(api.get("ledger").await.unwrap().spec.unwrap().max_replicas, max + 2);
}

/// A partial change is made on the HPA as the cluster has it when it is sent, writing only
/// the fields given: a field someone changed on the cluster meanwhile stays as they set it,
/// even while Paydeck's own picture still shows the old value (its watches stalled here).
#[tokio::test]
async fn a_partial_change_writes_only_what_was_sent_onto_the_hpa_as_it_is_when_sent() {
    let s = setup().await;
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(admin(&s.server).await, "payments-core");
    let before = api.get("ledger").await.unwrap();
    shown_autoscaler(&s, before.metadata.resource_version.as_deref().unwrap()).await;
    let spec = before.spec.clone().unwrap();
    let (min, max) = (spec.min_replicas.unwrap(), spec.max_replicas);
    s.sim.faults().set(sim::Fault::StallWatches);
    // Someone raises the minimum on the cluster; Paydeck does not see it.
    let theirs = api
        .patch(
            "ledger",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({ "spec": { "minReplicas": min + 1 } })),
        )
        .await
        .unwrap();
    let rv = theirs.metadata.resource_version.clone().unwrap();
    let stale: Value = reqwest::get(format!("{}/workloads/payments-core/ledger", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stale["autoscaler"]["minReplicas"], min, "Paydeck's picture is behind");

    // A maximum below their new minimum passes against Paydeck's picture, not the cluster's:
    // refused, naming the field, nothing sent.
    let (status, refused) = send_as_operator(&s, raise(min, json!({ "resourceVersion": rv }))).await;
    assert_eq!((status, refused["outcome"].as_str()), (422, Some("invalid")), "{refused}");
    assert_eq!(refused["errors"][0]["field"], "spec.maxReplicas", "{refused}");
    assert_eq!(api.get("ledger").await.unwrap(), theirs, "nothing sent");

    // Setting the maximum: the preview shows exactly that, the apply does exactly that.
    let (status, preview) =
        send_as_operator(&s, raise(max + 1, json!({ "resourceVersion": rv, "dryRun": true }))).await;
    assert_eq!((status, preview["outcome"].as_str()), (200, Some("previewed")), "{preview}");
    assert_eq!(preview["diff"], json!({ "maxReplicas": [max, max + 1] }), "their minimum is not reverted");
    let (status, applied) = send_as_operator(&s, raise(max + 1, json!({ "resourceVersion": rv }))).await;
    assert_eq!((status, applied["outcome"].as_str()), (200, Some("applied")), "{applied}");
    assert_eq!(applied["diff"], preview["diff"]);
    let after = api.get("ledger").await.unwrap().spec.unwrap();
    assert_eq!((after.min_replicas, after.max_replicas), (Some(min + 1), max + 1));
    assert_eq!(after.behavior, theirs.spec.unwrap().behavior, "behavior untouched");
    s.sim.faults().clear();
}

/// `null` resets what Kubernetes has a default for, and is refused elsewhere.
#[tokio::test]
async fn null_resets_a_behavior_direction_and_is_refused_where_removing_makes_no_sense() {
    let s = setup().await;
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(admin(&s.server).await, "payments-core");
    let before = api.get("ledger").await.unwrap();
    let rv = before.metadata.resource_version.clone().unwrap();
    let (status, refused) = send_as_operator(
        &s,
        json!({ "spec": { "maxReplicas": null }, "reason": "CHG-31", "resourceVersion": rv }),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["errors"][0]["field"], "spec.maxReplicas");
    assert!(refused["errors"][0]["message"].as_str().unwrap().contains("null is not allowed here"));
    assert_eq!(api.get("ledger").await.unwrap(), before, "nothing sent");

    let (status, reset) = send_as_operator(
        &s,
        json!({ "spec": { "behavior": { "scaleDown": null } }, "reason": "CHG-31 defaults", "resourceVersion": rv }),
    )
    .await;
    assert_eq!((status, reset["outcome"].as_str()), (200, Some("applied")), "{reset}");
    let down = api.get("ledger").await.unwrap().spec.unwrap().behavior.unwrap().scale_down.unwrap();
    assert_eq!(down.stabilization_window_seconds, None, "Kubernetes' default: the controller's 300 s");
    assert_eq!(down.select_policy.as_deref(), Some("Max"));
    assert_eq!(reset["after"]["scaleDown"]["stabilizationWindowSeconds"], 300);
}
