//! The simulator driven by kube-rs over HTTPS, as Paydeck drives a real cluster: paging,
//! watches through a forced `410 Gone`, the scale subresource, dry-run, conflicts,
//! validation and RBAC, each bad request checked to have changed nothing.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::{apps::v1::Deployment, autoscaling::v2::HorizontalPodAutoscaler, core::v1::Pod};
use kube::{
    Api, Client, Config,
    api::{ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams},
    config::{KubeConfigOptions, Kubeconfig},
    runtime::{reflector, watcher},
};
use serde_json::json;
use sim::{Cluster, Options, RunningServer, auth, resources::DEPLOYMENTS};

/// A demo cluster whose clock only moves when the test says so, served on a free port.
async fn start() -> (Cluster, RunningServer) {
    let cluster =
        Cluster::new(&Options { speed: None, start: Some(sim::clock::test_start()), ..Options::default() });
    let server = cluster.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    (cluster, server)
}

/// A client with `token`, optionally impersonating `user` in `groups`.
async fn client(server: &RunningServer, token: &str, impersonate: Option<(&str, &[&str])>) -> Client {
    let kubeconfig = Kubeconfig::from_yaml(&server.kubeconfig(token)).unwrap();
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
    // Errors the fault switch injects reach the test as they are, not retried inside the client.
    config.default_retry = false;
    if let Some((user, groups)) = impersonate {
        config.auth_info.impersonate = Some(user.to_string());
        config.auth_info.impersonate_groups = Some(groups.iter().map(|g| g.to_string()).collect());
    }
    Client::try_from(config).unwrap()
}

async fn admin(server: &RunningServer) -> Client {
    client(server, auth::ADMIN_TOKEN, None).await
}

fn api_error(result: Result<impl std::fmt::Debug, kube::Error>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(e)) => *e,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn lists_page_through_every_pod() {
    let (_cluster, server) = start().await;
    let pods: Api<Pod> = Api::all(admin(&server).await);
    let everything = pods.list(&ListParams::default()).await.unwrap();
    assert!(everything.items.len() >= 20, "the demo runs {} pods", everything.items.len());

    let mut names = Vec::new();
    let mut params = ListParams::default().limit(7);
    let mut pages = 0;
    loop {
        let page = pods.list(&params).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 7);
        names.extend(page.items.iter().map(|p| p.metadata.name.clone().unwrap()));
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => break,
        }
    }
    assert!(pages > 1);
    let mut all: Vec<String> = everything.items.iter().map(|p| p.metadata.name.clone().unwrap()).collect();
    all.sort();
    names.sort();
    assert_eq!(names, all, "pages cover every pod exactly once");

    let ledger = pods.list(&ListParams::default().labels("app.kubernetes.io/name=ledger")).await.unwrap();
    assert_eq!(ledger.items.len(), 3);
}

#[tokio::test]
async fn a_streamed_list_sends_every_object_then_its_end_mark_unless_switched_off() {
    let (cluster, server) = start().await;
    let pods: Api<Pod> = Api::all(admin(&server).await);
    let listed = pods.list(&ListParams::default()).await.unwrap();
    let mut expected: Vec<String> = listed.items.iter().map(|p| p.metadata.name.clone().unwrap()).collect();
    expected.sort();

    let params = WatchParams { send_initial_events: true, ..WatchParams::default() }.timeout(5);
    let mut events = pods.watch(&params, "0").await.unwrap().boxed();
    let mut streamed = Vec::new();
    let end = loop {
        match events.next().await.expect("the stream ends with its end mark").unwrap() {
            WatchEvent::Added(pod) => streamed.push(pod.metadata.name.unwrap()),
            WatchEvent::Bookmark(mark) => break mark,
            other => panic!("only the objects, then the end mark: {other:?}"),
        }
    };
    streamed.sort();
    assert_eq!(streamed, expected, "every pod once");
    assert_eq!(end.metadata.annotations.get("k8s.io/initial-events-end").map(String::as_str), Some("true"));
    assert_eq!(Some(end.metadata.resource_version), listed.metadata.resource_version);

    // The parameters are checked as an API server checks them.
    let client = admin(&server).await;
    for query in ["allowWatchBookmarks=true", "resourceVersionMatch=NotOlderThan"] {
        let uri = format!("/api/v1/pods?watch=true&sendInitialEvents=true&{query}");
        let refused = api_error(client.request_text(http::Request::get(uri).body(Vec::new()).unwrap()).await);
        assert_eq!(refused.code, 422, "{query}: {refused:?}");
    }
    // As an API server without the WatchList feature: refused, with the reason.
    cluster.set_streaming_lists(false);
    let refused = api_error(pods.watch(&params, "0").await.map(|_| ()));
    assert_eq!(refused.code, 422, "{refused:?}");
    assert!(refused.message.contains("sendInitialEvents is forbidden"), "{}", refused.message);
    // A plain watch is served as before.
    assert!(pods.watch(&WatchParams::default().timeout(1), "0").await.is_ok());
}

#[tokio::test]
async fn a_reflector_survives_a_forced_410_and_keeps_up() {
    let (cluster, server) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(admin(&server).await, "payments-core");
    let (reader, writer) = reflector::store::<Deployment>();
    // Short watches, so the watcher reconnects (from its last version) during the test.
    let stream = reflector(writer, watcher(deployments.clone(), watcher::Config::default().timeout(1)));
    let relists = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = relists.clone();
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            if let Ok(watcher::Event::Init) = event {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
    });
    reader.wait_until_ready().await.unwrap();
    assert_eq!(reader.state().len(), 6);

    // A change the watcher does not see (another namespace; a count it does not have yet,
    // whatever the hour's load made it), then compaction: the version the watcher resumes
    // from is now too old.
    let edge: Api<Deployment> = Api::namespaced(admin(&server).await, "payments-edge");
    let gateway = edge.get("api-gateway").await.unwrap().spec.unwrap().replicas.unwrap();
    edge.patch_scale(
        "api-gateway",
        &PatchParams::default(),
        &Patch::Merge(json!({ "spec": { "replicas": gateway + 1 } })),
    )
    .await
    .unwrap();
    cluster.lock().store.compact(&DEPLOYMENTS);
    wait_for(|| relists.load(std::sync::atomic::Ordering::SeqCst) >= 2, "a relist after 410 Gone").await;

    deployments
        .patch_scale("fx-rates", &PatchParams::default(), &Patch::Merge(json!({ "spec": { "replicas": 3 } })))
        .await
        .unwrap();
    wait_for(
        || {
            reader.state().iter().any(|d| {
                d.metadata.name.as_deref() == Some("fx-rates") && d.spec.as_ref().unwrap().replicas == Some(3)
            })
        },
        "the scale to reach the reflector",
    )
    .await;
    task.abort();
}

async fn wait_for(mut condition: impl FnMut() -> bool, what: &str) {
    for _ in 0..100 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn the_scale_subresource_reads_and_sets_replicas() {
    let (cluster, server) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(admin(&server).await, "payments-core");
    let scale = deployments.get_scale("notifications").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(3));
    assert_eq!(scale.status.unwrap().selector.as_deref(), Some("app.kubernetes.io/name=notifications"));

    deployments
        .patch_scale(
            "notifications",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "replicas": 5 } })),
        )
        .await
        .unwrap();
    assert_eq!(deployments.get("notifications").await.unwrap().spec.unwrap().replicas, Some(5));

    // The cluster acts on it: five pods run and become ready.
    cluster.advance(Duration::from_secs(30));
    let pods: Api<Pod> = Api::namespaced(admin(&server).await, "payments-core");
    let running =
        pods.list(&ListParams::default().labels("app.kubernetes.io/name=notifications")).await.unwrap();
    assert_eq!(running.items.len(), 5);
    let status = deployments.get("notifications").await.unwrap().status.unwrap();
    assert_eq!(status.ready_replicas, Some(5));
}

#[tokio::test]
async fn a_dry_run_patch_changes_nothing_and_a_real_one_does() {
    let (_cluster, server) = start().await;
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(admin(&server).await, "payments-core");
    let before = hpas.get("payment-api").await.unwrap();
    let patch = Patch::Merge(json!({ "spec": { "maxReplicas": 30 } }));

    let preview = hpas.patch("payment-api", &PatchParams::default().dry_run(), &patch).await.unwrap();
    assert_eq!(preview.spec.as_ref().unwrap().max_replicas, 30, "the preview shows the result");
    let after_dry_run = hpas.get("payment-api").await.unwrap();
    assert_eq!(after_dry_run.spec.as_ref().unwrap().max_replicas, 24);
    assert_eq!(after_dry_run.metadata.resource_version, before.metadata.resource_version);

    hpas.patch("payment-api", &PatchParams::default(), &patch).await.unwrap();
    assert_eq!(hpas.get("payment-api").await.unwrap().spec.unwrap().max_replicas, 30);
}

#[tokio::test]
async fn a_stale_resource_version_is_a_conflict() {
    let (_cluster, server) = start().await;
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(admin(&server).await, "payments-core");
    let seen = hpas.get("ledger").await.unwrap();
    // Someone else changes it meanwhile.
    hpas.patch("ledger", &PatchParams::default(), &Patch::Merge(json!({ "spec": { "maxReplicas": 14 } })))
        .await
        .unwrap();

    let mut mine = seen.clone();
    mine.spec.as_mut().unwrap().max_replicas = 20;
    let err = api_error(hpas.replace("ledger", &PostParams::default(), &mine).await);
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));

    // A merge patch that carries the version it was based on is refused the same way.
    let stale = Patch::Merge(
        json!({ "metadata": { "resourceVersion": seen.metadata.resource_version }, "spec": { "maxReplicas": 20 } }),
    );
    assert_eq!(api_error(hpas.patch("ledger", &PatchParams::default(), &stale).await).code, 409);
    assert_eq!(hpas.get("ledger").await.unwrap().spec.unwrap().max_replicas, 14, "the other change stands");
}

#[tokio::test]
async fn invalid_specs_are_422_and_change_nothing() {
    let (_cluster, server) = start().await;
    let admin = admin(&server).await;
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(admin.clone(), "payments-core");
    let deployments: Api<Deployment> = Api::namespaced(admin, "payments-core");
    let hpa_before = hpas.get("ledger").await.unwrap();
    let deployment_before = deployments.get("ledger").await.unwrap();

    for (patch, field) in [
        (json!({ "spec": { "minReplicas": 0 } }), "spec.minReplicas"),
        (json!({ "spec": { "minReplicas": 9, "maxReplicas": 4 } }), "spec.maxReplicas"),
        (json!({ "spec": { "scaleTargetRef": { "kind": "CronJob" } } }), "spec.scaleTargetRef.kind"),
    ] {
        let err = api_error(hpas.patch("ledger", &PatchParams::default(), &Patch::Merge(patch)).await);
        assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
        assert!(err.message.contains(field), "{}", err.message);
    }
    let err = api_error(
        deployments
            .patch("ledger", &PatchParams::default(), &Patch::Merge(json!({ "spec": { "replicas": -1 } })))
            .await,
    );
    assert_eq!(err.code, 422);
    let bad_quantity = json!({ "spec": { "template": { "spec": { "containers": [
        { "name": "ledger", "resources": { "requests": { "cpu": "a lot" } } }
    ] } } } });
    let err = api_error(
        deployments.patch("ledger", &PatchParams::default(), &Patch::Strategic(bad_quantity)).await,
    );
    assert_eq!(err.code, 422);
    assert!(err.message.contains("resources.requests.cpu"), "{}", err.message);

    assert_eq!(hpas.get("ledger").await.unwrap(), hpa_before);
    assert_eq!(deployments.get("ledger").await.unwrap(), deployment_before);
}

#[tokio::test]
async fn rbac_decides_for_impersonated_users_and_refusals_change_nothing() {
    let (_cluster, server) = start().await;
    let admin_hpas: Api<HorizontalPodAutoscaler> = Api::all(admin(&server).await);
    let before = admin_hpas.list(&ListParams::default()).await.unwrap().items;
    let raise = Patch::Merge(json!({ "spec": { "maxReplicas": 7 } }));

    let viewer = client(&server, auth::DASHBOARD_TOKEN, Some(("viewer", &["payments:viewers"]))).await;
    let as_viewer: Api<HorizontalPodAutoscaler> = Api::namespaced(viewer, "payments-core");
    assert!(as_viewer.get("risk-scoring").await.is_ok(), "viewers read");
    let err = api_error(as_viewer.patch("risk-scoring", &PatchParams::default(), &raise).await);
    assert_eq!((err.code, err.reason.as_str()), (403, "Forbidden"));
    assert!(err.message.contains("User \"viewer\" cannot patch"), "{}", err.message);

    let operator = client(&server, auth::DASHBOARD_TOKEN, Some(("operator", &["payments:operators"]))).await;
    let batch: Api<HorizontalPodAutoscaler> = Api::namespaced(operator.clone(), "payments-batch");
    assert_eq!(api_error(batch.patch("settlement-batch", &PatchParams::default(), &raise).await).code, 403);

    let after = admin_hpas.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(after, before, "no refused request changed anything");

    let core: Api<HorizontalPodAutoscaler> = Api::namespaced(operator, "payments-core");
    core.patch("risk-scoring", &PatchParams::default(), &raise).await.unwrap();

    // The dashboard's own identity reads but may not write.
    let dashboard: Api<Deployment> =
        Api::namespaced(client(&server, auth::DASHBOARD_TOKEN, None).await, "payments-core");
    assert!(dashboard.list(&ListParams::default()).await.is_ok());
    let err = api_error(
        dashboard
            .patch_scale(
                "ledger",
                &PatchParams::default(),
                &Patch::Merge(json!({ "spec": { "replicas": 9 } })),
            )
            .await,
    );
    assert_eq!(err.code, 403);
}

#[tokio::test]
async fn an_unknown_token_is_401() {
    let (_cluster, server) = start().await;
    let pods: Api<Pod> = Api::all(client(&server, "not-a-token", None).await);
    assert_eq!(api_error(pods.list(&ListParams::default()).await).code, 401);
}

#[tokio::test]
async fn discovery_finds_the_kinds_paydeck_watches() {
    let (_cluster, server) = start().await;
    let discovery = kube::Discovery::new(admin(&server).await).run().await.unwrap();
    let kinds: Vec<String> = discovery
        .groups()
        .flat_map(|g| g.recommended_resources())
        .map(|(r, _)| format!("{}/{}", r.api_version, r.kind))
        .collect();
    for expected in [
        "apps/v1/Deployment",
        "autoscaling/v2/HorizontalPodAutoscaler",
        "v1/Pod",
        "v1/Node",
        "discovery.k8s.io/v1/EndpointSlice",
        "policy/v1/PodDisruptionBudget",
        "networking.k8s.io/v1/Ingress",
        "metrics.k8s.io/v1beta1/PodMetrics",
    ] {
        assert!(kinds.iter().any(|k| k == expected), "{expected} not in {kinds:?}");
    }
}

#[tokio::test]
async fn access_reviews_answer_from_the_same_rbac_table() {
    use k8s_openapi::api::authorization::v1::{
        ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    };
    let (_cluster, server) = start().await;
    let operator = client(&server, auth::DASHBOARD_TOKEN, Some(("operator", &["payments:operators"]))).await;
    let reviews: Api<SelfSubjectAccessReview> = Api::all(operator);
    let ask = |namespace: &str| SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(namespace.to_string()),
                verb: Some("patch".into()),
                group: Some("autoscaling".into()),
                resource: Some("horizontalpodautoscalers".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let core = reviews.create(&PostParams::default(), &ask("payments-core")).await.unwrap();
    assert!(core.status.unwrap().allowed);
    let batch = reviews.create(&PostParams::default(), &ask("payments-batch")).await.unwrap();
    assert!(!batch.status.unwrap().allowed);
}

#[tokio::test]
async fn metrics_apis_report_usage_and_request_rates() {
    let (_cluster, server) = start().await;
    let client = client(&server, auth::DASHBOARD_TOKEN, None).await;
    let get = |path: &str| http::Request::get(path).body(Vec::new()).unwrap();
    let pods: serde_json::Value =
        client.request(get("/apis/metrics.k8s.io/v1beta1/namespaces/payments-core/pods")).await.unwrap();
    let items = pods["items"].as_array().unwrap();
    assert!(items.len() >= 15);
    assert!(items.iter().all(|p| p["containers"][0]["usage"]["cpu"].as_str().unwrap().ends_with('n')));

    let rates: serde_json::Value = client
        .request(get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/payments-core/pods/*/http_requests_per_second?labelSelector=app.kubernetes.io%2Fname%3Dpayment-api"))
        .await
        .unwrap();
    let values = rates["items"].as_array().unwrap();
    assert_eq!(values.len(), 4, "one value per payment-api pod");
    let total: f64 = values
        .iter()
        .map(|v| v["value"].as_str().unwrap().trim_end_matches('m').parse::<f64>().unwrap() / 1000.0)
        .sum();
    assert!(total > 100.0, "payment-api serves real traffic at 08:00: {total} req/s");
}

/// The fault switch plays each fault to a kube-rs client and lets go when it is cleared.
#[tokio::test]
async fn the_fault_switch_refuses_hangs_stalls_and_lets_go() {
    use sim::Fault;
    let (cluster, server) = start().await;
    let deployments: Api<Deployment> = Api::namespaced(admin(&server).await, "payments-core");
    let reads = cluster.faults().resource_reads();

    cluster.faults().set(Fault::Status { code: 429, retry_after_secs: Some(2) });
    let status = api_error(deployments.list(&ListParams::default()).await);
    assert_eq!((status.code, status.reason.as_str()), (429, "TooManyRequests"));
    assert!(cluster.faults().resource_reads() > reads, "refused reads are counted");
    // Writes are not refused by a read fault.
    let scale = json!({ "spec": { "replicas": 3 } });
    deployments.patch_scale("fx-rates", &PatchParams::default(), &Patch::Merge(&scale)).await.unwrap();
    cluster.faults().set(Fault::Status { code: 503, retry_after_secs: None });
    assert_eq!(api_error(deployments.get("fx-rates").await).code, 503);

    // A watch opened while watches stall sends its first events, then nothing, until cleared.
    cluster.faults().set(Fault::StallWatches);
    let rv = deployments.list(&ListParams::default()).await.unwrap().metadata.resource_version.unwrap();
    let mut stream = deployments.watch(&kube::api::WatchParams::default(), &rv).await.unwrap().boxed();
    deployments
        .patch_scale(
            "fx-rates",
            &PatchParams::default(),
            &Patch::Merge(&json!({ "spec": { "replicas": 4 } })),
        )
        .await
        .unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(500), stream.next()).await.is_err(),
        "a stalled watch is silent"
    );
    cluster.faults().clear();
    let event = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.unwrap().unwrap().unwrap();
    assert!(matches!(event, kube::api::WatchEvent::Modified(_)), "the held event arrives once cleared");

    // A hung server accepts and does not answer, until the hang ends.
    cluster.faults().set(Fault::Hang);
    let pending = tokio::spawn({
        let deployments = deployments.clone();
        async move { deployments.get("fx-rates").await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!pending.is_finished(), "a hung server does not answer");
    cluster.faults().clear();
    assert_eq!(pending.await.unwrap().unwrap().spec.unwrap().replicas, Some(4));

    // Without metrics-server, the metrics APIs answer 503 and the rest still works.
    cluster.faults().set(Fault::MetricsGone);
    let metrics = Api::<kube::api::DynamicObject>::namespaced_with(
        admin(&server).await,
        "payments-core",
        &kube::api::ApiResource {
            group: "metrics.k8s.io".into(),
            version: "v1beta1".into(),
            api_version: "metrics.k8s.io/v1beta1".into(),
            kind: "PodMetrics".into(),
            plural: "pods".into(),
        },
    );
    assert_eq!(api_error(metrics.list(&ListParams::default()).await).code, 503);
    assert!(deployments.get("fx-rates").await.is_ok());
    cluster.faults().clear();
    assert!(!metrics.list(&ListParams::default()).await.unwrap().items.is_empty());
}
