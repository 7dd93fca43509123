//! Paydeck's cluster watching against the simulator over HTTPS, and the JSON API on top:
//! changes in the cluster reach the snapshot within 2 s, a forced `410 Gone` is survived with
//! a resync, and bad queries get clear errors.

use std::{sync::Arc, time::Duration};

use k8s_openapi::api::{apps::v1::Deployment, autoscaling::v2::HorizontalPodAutoscaler};
use kube::{
    Api,
    api::{Patch, PatchParams},
};
use paydeck::{
    cluster::{self, ClusterView, Scope, Source, snapshot::Snapshot},
    http::{ServerState, router},
    site,
};
use serde_json::json;

const MIDNIGHT: u64 = 1_764_201_600_000; // 2025-11-27T00:00:00Z
const MIN: u64 = 60_000;

struct Setup {
    sim: sim::Cluster,
    server: sim::RunningServer,
    view: ClusterView,
    _kubeconfig: tempfile_path::TempPath,
}

mod tempfile_path {
    /// A file removed when dropped.
    pub struct TempPath(pub std::path::PathBuf);
    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// A simulated cluster standing at `start` (clock moved only by the test), watched by
/// Paydeck through a kubeconfig with the dashboard's read-only token.
async fn setup(start: u64) -> Setup {
    setup_with(start, |_| {}).await
}

/// [`setup`] with the simulated cluster adjusted by `adjust` before Paydeck starts watching.
async fn setup_with(start: u64, adjust: impl FnOnce(&sim::Cluster)) -> Setup {
    let sim = sim::Cluster::new(&sim::Options { speed: None, start: Some(start), ..sim::Options::default() });
    adjust(&sim);
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let path = std::env::temp_dir().join(format!(
        "paydeck-test-{}-{}.kubeconfig",
        std::process::id(),
        server.addr.port()
    ));
    std::fs::write(&path, server.kubeconfig(sim::auth::DASHBOARD_TOKEN)).unwrap();
    let connected =
        cluster::connect(&Source::Kubeconfig { path: path.clone(), context: None }).await.unwrap();
    let view =
        cluster::start(connected.client, connected.description, &Scope::default(), Duration::from_secs(1));
    tokio::time::timeout(Duration::from_secs(10), view.synced()).await.expect("synced within 10 s");
    Setup { sim, server, view, _kubeconfig: tempfile_path::TempPath(path) }
}

use crate::support;
use support::admin;

/// Waits up to `within` for a snapshot satisfying `condition`.
async fn until(
    view: &ClusterView,
    within: Duration,
    what: &str,
    condition: impl Fn(&Snapshot) -> bool,
) -> Arc<Snapshot> {
    let mut rx = view.subscribe();
    match tokio::time::timeout(within, rx.wait_for(|s| condition(s))).await {
        Ok(Ok(s)) => s.clone(),
        _ => panic!("no snapshot showed {what} within {within:?}"),
    }
}

/// Usage and request rates have both been polled.
fn has_rates(s: &Snapshot) -> bool {
    s.connection.metrics_available
        && s.workload("payments-core", "payment-api").is_some_and(|w| w.request_rate.is_some())
}

#[tokio::test]
async fn the_first_snapshot_shows_the_whole_platform() {
    let s = setup(MIDNIGHT + 8 * 60 * MIN).await;
    let snap = until(&s.view, Duration::from_secs(5), "usage and request rates", has_rates).await;
    assert_eq!(snap.workloads.len(), 9);
    assert_eq!(snap.totals.nodes, 4);
    assert!(snap.connection.problems.is_empty(), "{:?}", snap.connection.problems);
    let risk = snap.workload("payments-core", "risk-scoring").unwrap();
    let hpa = risk.autoscaler.as_ref().unwrap();
    assert_eq!((hpa.min_replicas, hpa.max_replicas, hpa.cpu_target_percent), (2, 4, Some(60)));
    assert!(risk.request_rate.unwrap() > 0.0, "request rates come from custom metrics");
    assert!(risk.cpu.usage.unwrap() > 0.0);
    let fx = snap.workload("payments-core", "fx-rates").unwrap();
    let codes: Vec<&str> = fx.findings.iter().map(|f| f.code.as_str()).collect();
    assert!(codes.contains(&"no-limits") && codes.contains(&"single-replica"), "{codes:?}");
}

#[tokio::test]
async fn first_lists_are_streamed_and_paged_where_the_api_server_cannot_stream() {
    let streaming = setup(MIDNIGHT + 8 * 60 * MIN).await;
    assert_eq!(streaming.sim.lists_streamed(), 7, "one streamed list per kind watched");

    // An API server without the WatchList feature refuses streamed lists: Paydeck lists in
    // pages instead, with nothing to report, and shows the same cluster.
    let paged = setup_with(MIDNIGHT + 8 * 60 * MIN, |sim| sim.set_streaming_lists(false)).await;
    assert_eq!(paged.sim.lists_streamed(), 0);
    let (a, b) = (streaming.view.current(), paged.view.current());
    assert!(b.connection.problems.is_empty(), "{:?}", b.connection.problems);
    assert_eq!(
        (a.workloads.len(), a.totals.pods, a.totals.nodes),
        (b.workloads.len(), b.totals.pods, b.totals.nodes)
    );
    assert_eq!(b.workloads.len(), 9);

    // Changes reach the snapshot after the paged lists as after the streamed ones.
    let deployments: Api<Deployment> = Api::namespaced(admin(&paged.server).await, "payments-core");
    deployments
        .patch_scale("fx-rates", &PatchParams::default(), &Patch::Merge(json!({ "spec": { "replicas": 3 } })))
        .await
        .unwrap();
    until(&paged.view, Duration::from_secs(2), "fx-rates at 3 replicas", |s| {
        s.workload("payments-core", "fx-rates").is_some_and(|w| w.replicas.desired == 3)
    })
    .await;
}

#[tokio::test]
async fn scale_and_hpa_edits_show_within_two_seconds() {
    let s = setup(MIDNIGHT + 8 * 60 * MIN).await;
    let admin = admin(&s.server).await;
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), "payments-core");
    deployments
        .patch_scale("fx-rates", &PatchParams::default(), &Patch::Merge(json!({ "spec": { "replicas": 3 } })))
        .await
        .unwrap();
    until(&s.view, Duration::from_secs(2), "fx-rates at 3 replicas", |snap| {
        snap.workload("payments-core", "fx-rates").is_some_and(|w| w.replicas.desired == 3)
    })
    .await;

    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(admin, "payments-core");
    hpas.patch("ledger", &PatchParams::default(), &Patch::Merge(json!({ "spec": { "maxReplicas": 15 } })))
        .await
        .unwrap();
    until(&s.view, Duration::from_secs(2), "ledger's HPA max of 15", |snap| {
        snap.workload("payments-core", "ledger")
            .and_then(|w| w.autoscaler.as_ref())
            .is_some_and(|a| a.max_replicas == 15)
    })
    .await;
}

#[tokio::test]
async fn a_traffic_spike_shows_within_two_seconds() {
    let s = setup(MIDNIGHT + 17 * 60 * MIN + 58 * MIN).await;
    let before = until(&s.view, Duration::from_secs(5), "request rates", has_rates).await;
    let calm = before.workload("payments-core", "payment-api").unwrap().request_rate.unwrap();

    let sim = s.sim.clone();
    tokio::task::spawn_blocking(move || sim.advance(Duration::from_secs(8 * 60))).await.unwrap();
    let started = std::time::Instant::now();
    let spiked = until(&s.view, Duration::from_secs(2), "the flash sale's traffic", |snap| {
        snap.workload("payments-core", "payment-api")
            .and_then(|w| w.request_rate)
            .is_some_and(|r| r > 3.0 * calm)
    })
    .await;
    assert!(started.elapsed() <= Duration::from_secs(2));
    let w = spiked.workload("payments-core", "payment-api").unwrap();
    assert!(w.load_per_replica.unwrap() > 0.0);
}

#[tokio::test]
async fn a_forced_410_is_survived_with_a_resync() {
    let s = setup(MIDNIGHT + 8 * 60 * MIN).await;
    let admin = admin(&s.server).await;
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), "payments-core");
    deployments
        .patch_scale(
            "notifications",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "replicas": 4 } })),
        )
        .await
        .unwrap();
    until(&s.view, Duration::from_secs(2), "notifications at 4", |snap| {
        snap.workload("payments-core", "notifications").is_some_and(|w| w.replicas.desired == 4)
    })
    .await;
    // A change the Deployment watch does not carry (an HPA), then compaction and the end of
    // every open watch: the Deployment watcher comes back with a version now too old.
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(admin, "payments-core");
    hpas.patch("ledger", &PatchParams::default(), &Patch::Merge(json!({ "spec": { "maxReplicas": 13 } })))
        .await
        .unwrap();
    s.sim.lock().store.compact(&sim::resources::DEPLOYMENTS);
    deployments
        .patch_scale(
            "notifications",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "replicas": 5 } })),
        )
        .await
        .unwrap();
    until(&s.view, Duration::from_secs(10), "notifications at 5 after the resync", |snap| {
        snap.workload("payments-core", "notifications").is_some_and(|w| w.replicas.desired == 5)
    })
    .await;
    let state = &s.view.watch_state.kinds["deployments"];
    assert!(state.restarts.get() >= 1, "the deployments watch relisted");
}

#[tokio::test]
async fn the_json_api_serves_the_snapshot_and_refuses_bad_queries() {
    let s = setup(MIDNIGHT + 8 * 60 * MIN).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = ServerState::new(
        site::leptos_options(std::path::Path::new("target/site"), addr),
        Duration::from_secs(10),
        s.view.clone(),
    );
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    let base = format!("http://{addr}/api/v1");
    let http = reqwest::Client::new();

    let overview: serde_json::Value =
        http.get(format!("{base}/overview")).send().await.unwrap().json().await.unwrap();
    assert_eq!(overview["totals"]["workloads"], 9);
    assert!(overview["attention"].as_array().unwrap().iter().any(|a| a["name"] == "fx-rates"));
    assert_eq!(overview["namespaces"], json!(["payments-batch", "payments-core", "payments-edge"]));

    let batch: serde_json::Value = http
        .get(format!("{base}/overview?namespace=payments-batch"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(batch["namespace"], "payments-batch");
    assert_eq!(batch["totals"]["workloads"], 2, "settlement-batch and reconciliation");
    assert_eq!(batch["totals"]["nodes"], overview["totals"]["nodes"], "nodes stay cluster-wide");
    assert!(batch["totals"]["pods"].as_i64() < overview["totals"]["pods"].as_i64());
    assert!(batch["attention"].as_array().unwrap().iter().all(|a| a["namespace"] == "payments-batch"));

    let page: serde_json::Value = http
        .get(format!("{base}/workloads?namespace=payments-core&sort=replicas&order=desc&limit=2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 6);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["name"], "payment-api", "the most replicas first");

    let one = http.get(format!("{base}/workloads/payments-core/ledger")).send().await.unwrap();
    assert_eq!(one.status(), 200);
    let missing = http.get(format!("{base}/workloads/payments-core/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("payments-core/nope"));

    let no_history = http.get(format!("{base}/workloads/payments-core/ledger/history")).send().await.unwrap();
    assert_eq!(no_history.status(), 503, "this server records no history");

    for sort in ["utilization", "load"] {
        let res = http.get(format!("{base}/workloads?sort={sort}&order=desc")).send().await.unwrap();
        assert_eq!(res.status(), 200, "{sort}");
    }

    for bad in ["sort=colour", "limit=0", "limit=2001", "limit=many", "health=purple", "order=sideways"] {
        let res = http.get(format!("{base}/workloads?{bad}")).send().await.unwrap();
        assert_eq!(res.status(), 400, "{bad}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{bad}: {body}");
    }
}

/// Serves Paydeck's router for `view` on a free port; returns the base URL.
async fn serve_paydeck(view: &ClusterView) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = ServerState::new(
        site::leptos_options(std::path::Path::new("target/site"), addr),
        Duration::from_secs(10),
        view.clone(),
    );
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn live_events_carry_everything_first_then_only_changes() {
    use futures::StreamExt;
    let s = setup(MIDNIGHT + 8 * 60 * MIN).await;
    // The first metrics poll changes every workload at once: let it land first, so what
    // follows is only the change this test makes (the clock stands still).
    until(&s.view, Duration::from_secs(10), "usage of every workload", |snap| {
        snap.workloads.iter().all(|w| w.cpu.usage.is_some())
    })
    .await;
    let base = serve_paydeck(&s.view).await;
    let res = reqwest::Client::new().get(format!("{base}/api/v1/live")).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.bytes_stream();
    let mut buffer = String::new();
    // Reads until a whole event is buffered; returns its JSON data.
    let mut next_event = async move || -> serde_json::Value {
        loop {
            if let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                    assert!(event.contains("event: snapshot"), "{event}");
                    return serde_json::from_str(data).unwrap();
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
                .await
                .expect("an event within 5 s")
                .unwrap()
                .unwrap();
            buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    };
    let first = next_event().await;
    assert_eq!(first["changed"].as_array().unwrap().len(), 9);

    let admin = admin(&s.server).await;
    let deployments: Api<Deployment> = Api::namespaced(admin, "payments-core");
    deployments
        .patch_scale("fx-rates", &PatchParams::default(), &Patch::Merge(json!({ "spec": { "replicas": 2 } })))
        .await
        .unwrap();
    let mut found = false;
    for _ in 0..10 {
        let change = next_event().await;
        let changed = change["changed"].as_array().unwrap();
        assert!(changed.len() < 9, "later events carry only what changed");
        if changed.iter().any(|w| w["name"] == "fx-rates" && w["replicas"]["desired"] == 2) {
            found = true;
            break;
        }
    }
    assert!(found, "the scale arrived as a live event");
}

#[tokio::test]
async fn the_browser_feed_carries_names_only_and_refuses_unknown_forms() {
    use futures::StreamExt;
    let s = setup(MIDNIGHT + 8 * 60 * MIN).await;
    let base = serve_paydeck(&s.view).await;
    let http = reqwest::Client::new();
    let res = http.get(format!("{base}/api/v1/live?workloads=names")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let mut body = res.bytes_stream();
    let mut buffer = String::new();
    while !buffer.contains("\n\n") {
        let chunk =
            tokio::time::timeout(Duration::from_secs(5), body.next()).await.unwrap().unwrap().unwrap();
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let data = buffer.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    let first: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(first["changed"], json!([]), "no bodies");
    assert_eq!(first["changedNames"].as_array().unwrap().len(), 9);
    assert!(first["changedNames"].as_array().unwrap().contains(&json!("payments-core/ledger")));

    let bad = http.get(format!("{base}/api/v1/live?workloads=some")).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("full or names"));
}

#[tokio::test]
async fn metrics_and_the_openapi_document_are_served() {
    let s = setup(MIDNIGHT + 8 * 60 * MIN).await;
    let base = serve_paydeck(&s.view).await;
    let http = reqwest::Client::new();
    let metrics = http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("# TYPE paydeck_watch_events counter"), "{metrics}");
    assert!(metrics.ends_with("# EOF\n"), "the OpenMetrics text, written by the library");
    let events: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("paydeck_watch_events_total{kind=\"deployments\"} "))
        .expect("deployments counted")
        .parse()
        .unwrap();
    assert!(events >= 9);
    assert!(metrics.contains("paydeck_cluster_synced 1"));

    let doc: serde_json::Value =
        http.get(format!("{base}/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v1/overview",
        "/api/v1/workloads",
        "/api/v1/workloads/{namespace}/{name}",
        "/api/v1/workloads/{namespace}/{name}/history",
        "/api/v1/workloads/{namespace}/{name}/rights",
        "/api/v1/live",
        "/api/v1/audit",
        "/api/v1/whoami",
    ] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} is documented");
    }
    let scaling = &doc["paths"]["/api/v1/workloads/{namespace}/{name}/scaling"]["post"];
    for code in ["200", "401", "403", "409", "422"] {
        assert!(scaling["responses"][code].is_object(), "scaling answers {code}");
    }
}

#[tokio::test]
async fn a_restart_of_the_cluster_is_reported_and_survived_with_a_resync() {
    let Setup { sim, server, view, _kubeconfig } = setup(MIDNIGHT + 8 * 60 * MIN).await;
    let (addr, certificates) = (server.addr, server.certificates.clone());
    drop(server);
    until(&view, Duration::from_secs(20), "the outage reported as a problem", |snap| {
        !snap.connection.problems.is_empty()
    })
    .await;

    // While the API server is down the cluster moves on.
    {
        let mut world = sim.lock();
        let mut fx =
            (*world.store.get(&sim::resources::DEPLOYMENTS, "payments-core", "fx-rates").unwrap()).clone();
        fx["spec"]["replicas"] = json!(2);
        world.store.replace(&sim::resources::DEPLOYMENTS, fx, None).unwrap();
    }
    let _server = sim.serve_with(addr, certificates).await.unwrap();
    until(&view, Duration::from_secs(20), "the change made during the outage, and no problem left", |snap| {
        snap.connection.problems.is_empty()
            && snap.workload("payments-core", "fx-rates").is_some_and(|w| w.replicas.desired == 2)
    })
    .await;
}

#[tokio::test]
async fn namespaces_and_a_selector_narrow_what_is_watched() {
    let sim = sim::Cluster::new(&sim::Options {
        speed: None,
        start: Some(MIDNIGHT + 8 * 60 * MIN),
        ..sim::Options::default()
    });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = support::client_as(&server, sim::auth::DASHBOARD_TOKEN).await;
    let scope = Scope {
        namespaces: vec!["payments-core".into()],
        label_selector: Some("tier=core,paydeck.io/critical=true".into()),
    };
    let view = cluster::start(client, "narrowed".into(), &scope, Duration::from_secs(1));
    tokio::time::timeout(Duration::from_secs(10), view.synced()).await.expect("synced");
    let names: Vec<String> =
        view.current().workloads.iter().map(|w| format!("{}/{}", w.namespace, w.name)).collect();
    assert_eq!(
        names,
        vec![
            "payments-core/card-tokeniser",
            "payments-core/ledger",
            "payments-core/payment-api",
            "payments-core/risk-scoring"
        ],
        "critical core services only"
    );
}
