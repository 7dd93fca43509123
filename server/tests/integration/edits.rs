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
    assert_eq!(rights("operator", "payments:operators").await["may_edit"], true);
    assert_eq!(rights("viewer", "payments:viewers").await["may_edit"], false);

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
    assert!(csv.starts_with("seq,at_ms,user") && csv.contains("CHG-7 peak"), "{csv}");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", s.db.display())).await.unwrap();
    assert!(paydeck::audit::verify(&pool).await.unwrap().is_ok());
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

/// An edit as the browser sends it: conditional on the spec's generation, not the object's
/// resourceVersion, which the HPA controller's status writes move every sync.
#[tokio::test]
async fn a_change_against_the_spec_seen_survives_other_writes_and_conflicts_on_spec_changes() {
    let s = setup().await;
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(admin(&s.server).await, "payments-core");
    let seen = api.get("ledger").await.unwrap();
    let (rv, generation) =
        (seen.metadata.resource_version.clone().unwrap(), seen.metadata.generation.unwrap());
    let max = seen.spec.as_ref().unwrap().max_replicas;
    let send = |body: Value| {
        let url = format!("{}/workloads/payments-core/ledger/scaling", s.base);
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .header("X-Forwarded-User", "operator")
                .header("X-Forwarded-Groups", "payments:operators")
                .json(&body)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let raise = |to: i32, precondition: Value| {
        let mut body = json!({ "spec": { "maxReplicas": to }, "reason": "CHG-30 headroom" });
        body.as_object_mut().unwrap().extend(precondition.as_object().unwrap().clone());
        body
    };

    // Asking with both, or neither, or a generation that cannot be: refused, naming why.
    for (precondition, field) in [
        (json!({ "resourceVersion": rv, "generation": generation }), "generation"),
        (json!({}), "resourceVersion"),
        (json!({ "generation": 0 }), "generation"),
        (json!({ "resourceVersion": " " }), "resourceVersion"),
    ] {
        let (status, answer) = send(raise(max + 1, precondition.clone())).await;
        assert_eq!(
            (status, answer["errors"][0]["field"].as_str()),
            (422, Some(field)),
            "{precondition} → {answer}"
        );
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
    assert_eq!(labelled.metadata.generation, Some(generation), "the spec did not change");

    // Against the whole object as seen: a conflict. Against the spec as seen: applied.
    let (status, stale) = send(raise(max + 1, json!({ "resourceVersion": rv }))).await;
    assert_eq!((status, stale["outcome"].as_str()), (409, Some("conflict")), "{stale}");
    let (status, applied) = send(raise(max + 1, json!({ "generation": generation }))).await;
    assert_eq!((status, applied["outcome"].as_str()), (200, Some("applied")), "{applied}");
    let after = api.get("ledger").await.unwrap();
    assert_eq!(after.spec.as_ref().unwrap().max_replicas, max + 1);
    assert_eq!(after.metadata.generation, Some(generation + 1));

    // Someone else's change to the spec since: a conflict, and theirs stands.
    let (status, conflict) = send(raise(max + 5, json!({ "generation": generation }))).await;
    assert_eq!((status, conflict["outcome"].as_str()), (409, Some("conflict")), "{conflict}");
    assert_eq!(api.get("ledger").await.unwrap().spec, after.spec, "nothing overwritten");
}
