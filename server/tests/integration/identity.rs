//! Whom Paydeck acts as, against the simulator over HTTPS: a claim of a `system:` identity is
//! refused and audited with the cluster unchanged; user headers need the proxy's secret when
//! one is configured (loopback is not proof); bearer tokens must be issued for Paydeck's
//! audience, are reviewed once however many requests carry them, and each address may cause
//! only so many reviews; service accounts act with their own token, never on a proxy's word;
//! only allowed groups are passed on.

use std::time::Duration;

use axum::http::HeaderName;
use k8s_openapi::api::{apps::v1::Deployment, autoscaling::v2::HorizontalPodAutoscaler};
use kube::Api;
use paydeck::identity::{Bounds, ProxyTrust, parse_proxies, token_review::ReviewSettings};
use serde_json::{Value, json};

use crate::support;
use support::{Stack, StackOptions, admin, audit_rows};

const SECRET: &str = "a-shared-secret-of-at-least-32-bytes!";

async fn hpa(s: &Stack, ns: &str, name: &str) -> HorizontalPodAutoscaler {
    Api::<HorizontalPodAutoscaler>::namespaced(admin(&s.server).await, ns).get(name).await.unwrap()
}

async fn deployment(s: &Stack, ns: &str, name: &str) -> Deployment {
    Api::<Deployment>::namespaced(admin(&s.server).await, ns).get(name).await.unwrap()
}

/// A valid HPA change for ledger at `rv` (max raised to 14; the rest as it is).
fn raise_ledger_max(rv: &str) -> Value {
    json!({ "spec": { "maxReplicas": 14 }, "reason": "CHG-99", "resourceVersion": rv, "dryRun": false })
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn whoami(s: &Stack, request: reqwest::RequestBuilder) -> Value {
    let _ = s;
    request.send().await.unwrap().json().await.unwrap()
}

async fn metric(s: &Stack, line_start: &str) -> f64 {
    let text = http().get(format!("http://{}/metrics", s.addr)).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(line_start).map(|v| v.trim().parse::<f64>().unwrap()))
        .unwrap_or_else(|| panic!("no metric {line_start} in\n{text}"))
}

#[tokio::test]
async fn a_claim_of_a_system_identity_is_refused_audited_and_changes_nothing() {
    let s = support::stack(StackOptions::default()).await;
    let before = hpa(&s, "payments-core", "ledger").await;
    let rv = before.metadata.resource_version.clone().unwrap();
    let url = format!("{}/workloads/payments-core/ledger/scaling", s.base);

    type Claim<'a> = (&'a str, Option<(&'a str, &'a str)>, Option<&'a str>);
    let claims: [Claim; 4] = [
        ("proxy: system:masters", Some(("mallory", "payments:operators,system:masters")), None),
        ("proxy: system:nodes", Some(("mallory", "system:nodes")), None),
        ("proxy: a system user", Some(("system:kube-controller-manager", "")), None),
        ("token: system:masters", None, Some("paydeck-audience-masters")),
    ];
    for (what, headers, token) in claims {
        let mut request = http().post(&url).json(&raise_ledger_max(&rv));
        if let Some((user, groups)) = headers {
            request = request.header("X-Forwarded-User", user).header("X-Forwarded-Groups", groups);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let res = request.send().await.unwrap();
        assert_eq!(res.status(), 403, "{what}");
        let answer: Value = res.json().await.unwrap();
        assert_eq!(answer["outcome"], "denied", "{what}: {answer}");
        assert!(answer["message"].as_str().unwrap().contains("never"), "{what}: {answer}");
        assert!(answer["auditSeq"].is_i64(), "{what}: the refusal is audited");
        assert_eq!(hpa(&s, "payments-core", "ledger").await, before, "{what}: the cluster is unchanged");
    }
    let audit: Vec<Value> =
        http().get(format!("{}/audit", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(audit.len(), 4);
    assert!(audit.iter().all(|e| e["outcome"] == "denied"), "{audit:?}");
    assert!(audit.iter().all(|e| e["groups"] == json!([])), "no system group is recorded as passed on");

    // The UI is told the same before it offers a form.
    let rights: Value = http()
        .get(format!("{}/workloads/payments-core/ledger/rights", s.base))
        .header("X-Forwarded-User", "mallory")
        .header("X-Forwarded-Groups", "system:masters")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rights["mayEdit"], false);
    assert!(rights["reason"].as_str().unwrap().contains("system:masters"), "{rights}");
    let who = whoami(
        &s,
        http()
            .get(format!("{}/whoami", s.base))
            .header("X-Forwarded-User", "mallory")
            .header("X-Forwarded-Groups", "system:masters"),
    )
    .await;
    assert!(who["refused"].as_str().unwrap().contains("system:masters"), "{who}");
}

#[tokio::test]
async fn headers_from_loopback_without_the_proxys_secret_are_ignored() {
    let trust = ProxyTrust { proxies: parse_proxies("127.0.0.1").unwrap(), ..ProxyTrust::none() }
        .with_secret(HeaderName::from_static("x-paydeck-proxy-secret"), SECRET.as_bytes());
    let s = support::stack(StackOptions { trust, ..StackOptions::default() }).await;
    let before = hpa(&s, "payments-core", "ledger").await;
    let rv = before.metadata.resource_version.clone().unwrap();
    let url = format!("{}/workloads/payments-core/ledger/scaling", s.base);
    let as_operator = |secret: Option<&str>| {
        let mut r = http()
            .post(&url)
            .header("X-Forwarded-User", "operator")
            .header("X-Forwarded-Groups", "payments:operators")
            .json(&raise_ledger_max(&rv));
        if let Some(secret) = secret {
            r = r.header("X-Paydeck-Proxy-Secret", secret);
        }
        r
    };

    // What `kubectl port-forward` delivers: loopback, headers, no secret.
    for secret in [None, Some("a-wrong-secret-of-at-least-32-bytes!!")] {
        let res = as_operator(secret).send().await.unwrap();
        assert_eq!(res.status(), 401, "{secret:?}: the headers are ignored, the caller is anonymous");
        assert_eq!(hpa(&s, "payments-core", "ledger").await, before);
    }
    assert_eq!(audit_rows(&s).await, 0, "an anonymous attempt writes nothing");
    assert_eq!(metric(&s, "paydeck_identity_disbelieved_total{reason=\"proxy_proof\"}").await, 2.0);

    // The proxy with its secret is believed.
    let mut body = raise_ledger_max(&rv);
    body["dryRun"] = json!(true);
    let res = http()
        .post(&url)
        .header("X-Forwarded-User", "operator")
        .header("X-Forwarded-Groups", "payments:operators")
        .header("X-Paydeck-Proxy-Secret", SECRET)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

#[tokio::test]
async fn bearer_tokens_must_be_for_paydeck_and_are_reviewed_once() {
    let s = support::stack(StackOptions {
        reviews: ReviewSettings { cache_size: 2, ..ReviewSettings::default() },
        ..StackOptions::default()
    })
    .await;
    let me = |token: &str| http().get(format!("{}/whoami", s.base)).bearer_auth(token);

    // A token for the API server (or any audience but Paydeck's) is nobody here.
    assert_eq!(whoami(&s, me("paydeck-sim-operator")).await["user"], Value::Null);
    assert_eq!(whoami(&s, me("paydeck-audience-operator")).await["user"], "operator");
    let fx = deployment(&s, "payments-core", "fx-rates").await;
    let res = http()
        .post(format!("{}/workloads/payments-core/fx-rates/scaling", s.base))
        .bearer_auth("paydeck-sim-operator")
        .json(&json!({ "replicas": 2, "reason": "CHG-5", "resourceVersion": fx.metadata.resource_version }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "a token for another audience cannot edit");
    assert_eq!(deployment(&s, "payments-core", "fx-rates").await, fx);
    assert!(metric(&s, "paydeck_identity_disbelieved_total{reason=\"token\"}").await >= 2.0);

    // Twenty requests at once with one token: one review.
    let sent = metric(&s, "paydeck_token_reviews_total").await;
    let answers = futures::future::join_all((0..20).map(|_| me("paydeck-audience-viewer").send())).await;
    for a in answers {
        assert_eq!(a.unwrap().json::<Value>().await.unwrap()["user"], "viewer");
    }
    assert_eq!(metric(&s, "paydeck_token_reviews_total").await, sent + 1.0, "concurrent reviews are shared");
    // Probes and static files never spend a review, whatever they carry.
    for path in ["/healthz", "/metrics", "/favicon.svg"] {
        http().get(format!("http://{}{path}", s.addr)).bearer_auth("never-reviewed").send().await.unwrap();
    }
    assert_eq!(metric(&s, "paydeck_token_reviews_total").await, sent + 1.0);
    // The cache is bounded.
    whoami(&s, me("paydeck-audience-deployer")).await;
    assert!(metric(&s, "paydeck_token_review_cache_entries").await <= 2.0);
}

#[tokio::test]
async fn each_address_may_cause_only_so_many_reviews() {
    let s = support::stack(StackOptions {
        reviews: ReviewSettings { per_client_per_minute: 3, ..ReviewSettings::default() },
        ..StackOptions::default()
    })
    .await;
    for i in 0..3 {
        let res = http()
            .get(format!("{}/overview", s.base))
            .bearer_auth(format!("guess-{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "an unknown token reads anonymously");
    }
    let res = http().get(format!("{}/overview", s.base)).bearer_auth("guess-4").send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    // A token already answered is not a new review.
    let res = http().get(format!("{}/overview", s.base)).bearer_auth("guess-0").send().await.unwrap();
    assert_eq!(res.status(), 200);
}

/// Behind an Ingress every request comes from the Ingress: the review budget is the client's
/// it names (the trusted proxy's `X-Forwarded-For`), and a token the cluster vouched for is
/// reviewed again outside that budget — one client's junk tokens lock nobody else out.
#[tokio::test]
async fn the_review_budget_is_the_forwarded_clients_and_junk_does_not_spend_a_real_tokens() {
    let s = support::stack(StackOptions {
        reviews: ReviewSettings { per_client_per_minute: 3, cache_size: 0, ..ReviewSettings::default() },
        ..StackOptions::default()
    })
    .await;
    // The stack's trusted proxy is loopback: every request here is "from the Ingress".
    let from = |client: &str, token: &str| {
        http().get(format!("{}/whoami", s.base)).header("X-Forwarded-For", client).bearer_auth(token).send()
    };
    // The CI user's real token, reviewed once (no cache: every request is a review).
    let res = from("203.0.113.10", "paydeck-audience-deployer").await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["user"], sim::auth::DEPLOYER);
    // Another client floods junk until it is limited…
    for i in 0..2 {
        assert_eq!(from("198.51.100.66", &format!("junk-{i}")).await.unwrap().status(), 200);
    }
    assert_eq!(from("198.51.100.66", "junk-9").await.unwrap().status(), 200);
    assert_eq!(from("198.51.100.66", "junk-10").await.unwrap().status(), 429, "its own budget is spent");
    // …which is its budget only: the CI user goes on, and a third client too.
    let res = from("203.0.113.10", "paydeck-audience-deployer").await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["user"], sim::auth::DEPLOYER);
    assert_eq!(from("203.0.113.11", "junk-11").await.unwrap().status(), 200);
    // Even from the flooding address, the real token is reviewed outside the spent budget.
    let res = from("198.51.100.66", "paydeck-audience-deployer").await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["user"], sim::auth::DEPLOYER);
}

/// The identity headers can be spelled only one way.
#[tokio::test]
async fn a_user_named_twice_or_a_mapped_proxy_address_cannot_spell_around_the_rules() {
    let s = support::stack(StackOptions::default()).await;
    let fx = deployment(&s, "payments-core", "fx-rates").await;
    // Two user headers: which one a reader takes is up to the reader, so the request is refused.
    let res = http()
        .post(format!("{}/workloads/payments-core/fx-rates/scaling", s.base))
        .header("X-Forwarded-User", "viewer")
        .header("X-Forwarded-User", "operator")
        .header("X-Forwarded-Groups", "payments:operators")
        .json(&json!({ "replicas": 2, "reason": "two users", "generation": fx.metadata.generation }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(
        res.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().contains("more than once")
    );
    assert_eq!(deployment(&s, "payments-core", "fx-rates").await, fx, "nothing changed");
    assert_eq!(support::audit_rows(&s).await, 0, "nothing recorded");
    assert_eq!(metric(&s, "paydeck_identity_disbelieved_total{reason=\"repeated\"}").await, 1.0);
}

#[tokio::test]
async fn service_accounts_act_with_their_own_token_only() {
    let s = support::stack(StackOptions::default()).await;
    let fx = deployment(&s, "payments-core", "fx-rates").await;
    let rv = fx.metadata.resource_version.clone().unwrap();
    let scale = |token: Option<&str>, headers: Option<&str>, ns: &str, name: &str, rv: &str| {
        let mut r = http()
            .post(format!("{}/workloads/{ns}/{name}/scaling", s.base))
            .json(&json!({ "replicas": 2, "reason": "pipeline 1234", "resourceVersion": rv }));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(user) = headers {
            r = r.header("X-Forwarded-User", user);
        }
        r.send()
    };

    // An auth proxy cannot name a service account.
    let res = scale(None, Some(sim::auth::DEPLOYER), "payments-core", "fx-rates", &rv).await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.json::<Value>().await.unwrap()["message"].as_str().unwrap().contains("own token"));
    assert_eq!(deployment(&s, "payments-core", "fx-rates").await, fx);

    // With its own token (for Paydeck), the CI account acts as itself, with its own groups.
    let res = scale(Some("paydeck-audience-deployer"), None, "payments-core", "fx-rates", &rv).await.unwrap();
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["outcome"], "applied", "{answer}");
    assert_eq!(deployment(&s, "payments-core", "fx-rates").await.spec.unwrap().replicas, Some(2));
    let audit: Vec<Value> =
        http().get(format!("{}/audit?outcome=applied", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!((audit[0]["user"].as_str(), &audit[0]["groups"]), (Some(sim::auth::DEPLOYER), &json!([])));

    // A service account Paydeck may not impersonate gets the reason, not a bare 403.
    let batch = deployment(&s, "payments-batch", "reconciliation").await;
    let brv = batch.metadata.resource_version.clone().unwrap();
    let res = scale(Some("paydeck-audience-batch-runner"), None, "payments-batch", "reconciliation", &brv)
        .await
        .unwrap();
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["outcome"], "denied", "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("may not act as system:serviceaccount:payments-batch:batch-runner"),
        "{message}"
    );
    assert_eq!(deployment(&s, "payments-batch", "reconciliation").await, batch);
}

#[tokio::test]
async fn only_allowed_groups_are_passed_on() {
    let s = support::stack(StackOptions {
        bounds: Bounds { allowed_groups: Some(["payments:operators".to_string()].into()) },
        ..StackOptions::default()
    })
    .await;
    let who = whoami(
        &s,
        http()
            .get(format!("{}/whoami", s.base))
            .header("X-Forwarded-User", "ana")
            .header("X-Forwarded-Groups", "finance, payments:operators"),
    )
    .await;
    assert_eq!(who["groups"], json!(["payments:operators"]));

    // Without an allow-list, a group the cluster does not let Paydeck impersonate is refused
    // by the cluster, and Paydeck says why.
    let open = support::stack(StackOptions::default()).await;
    let before = hpa(&open, "payments-core", "ledger").await;
    let res = http()
        .post(format!("{}/workloads/payments-core/ledger/scaling", open.base))
        .header("X-Forwarded-User", "operator")
        .header("X-Forwarded-Groups", "payments:operators,finance")
        .json(&raise_ledger_max(before.metadata.resource_version.as_deref().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let answer: Value = res.json().await.unwrap();
    assert!(answer["message"].as_str().unwrap().contains("groups \"finance\""), "{answer}");
    assert_eq!(hpa(&open, "payments-core", "ledger").await, before);
    tokio::time::sleep(Duration::from_millis(10)).await;
}
