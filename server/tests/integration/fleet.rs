//! One Paydeck watching three simulated clusters (a file of clusters, a kubeconfig each): the
//! fleet overview shows each; one hung and one killed, the third's figures still reach the
//! API within a second of a change and its history goes on; each says why it is down and since
//! when, and comes back by itself.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::{
    faults::{Reaped, TempDir, figures, no_panics, start_paydeck_on},
    support,
};

fn move_fx_rates(sim: &sim::Cluster, replicas: i64) {
    let mut world = sim.lock();
    let mut fx =
        (*world.store.get(&sim::resources::DEPLOYMENTS, "payments-core", "fx-rates").unwrap()).clone();
    fx["spec"]["replicas"] = json!(replicas);
    world.store.replace(&sim::resources::DEPLOYMENTS, fx, None).unwrap();
}

fn start(clusters_file: &Path, db: &Path) -> Reaped {
    start_paydeck_on(db, &["--clusters-file", clusters_file.to_str().unwrap()])
}

async fn fleet(http: &reqwest::Client, url: &str) -> Value {
    http.get(format!("{url}/api/v1/clusters")).send().await.unwrap().json().await.unwrap()
}

/// Waits until cluster `name` is in `state` in the fleet overview.
async fn until_state(http: &reqwest::Client, url: &str, name: &str, state: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let one: Value =
            http.get(format!("{url}/api/v1/clusters/{name}")).send().await.unwrap().json().await.unwrap();
        if one["state"] == state {
            return one;
        }
        assert!(Instant::now() < deadline, "{name} not {state} within {within:?}: {one}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// fx-rates' replica count as Paydeck's API serves it on the primary cluster.
async fn served_replicas(http: &reqwest::Client, url: &str) -> i64 {
    let w: Value = http
        .get(format!("{url}/api/v1/workloads/payments-core/fx-rates"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    w["replicas"]["desired"].as_i64().unwrap_or(-1)
}

async fn samples_of(db: &Path, cluster: &str) -> i64 {
    let pool = crate::faults::open(db).await;
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM samples s JOIN workloads w ON w.id = s.workload_id WHERE w.cluster = ?",
    )
    .bind(cluster)
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    n
}

/// A simulated cluster per `(name, display name)`, each serving with its own seed and
/// kubeconfig in `dir`, and the file of clusters naming them: the simulators, their servers and
/// the file.
async fn simulated_fleet(
    dir: &Path,
    clusters: &[(&str, &str)],
) -> (Vec<sim::Cluster>, Vec<Option<sim::server::RunningServer>>, std::path::PathBuf) {
    let (mut sims, mut servers) = (Vec::new(), Vec::new());
    let mut entries = String::from("clusters:\n");
    for (i, (name, display)) in clusters.iter().enumerate() {
        let sim = sim::Cluster::new(&sim::Options {
            speed: Some(1.0),
            start: Some(sim::clock::test_start()),
            seed: 1 + i as u64,
            ..sim::Options::default()
        });
        let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
        std::fs::write(dir.join(format!("{name}.kubeconfig")), server.kubeconfig(sim::auth::DASHBOARD_TOKEN))
            .unwrap();
        entries.push_str(&format!(
            "  - name: {name}\n    displayName: {display}\n    kubeconfig: {name}.kubeconfig\n"
        ));
        sims.push(sim);
        servers.push(Some(server));
    }
    let clusters_file = dir.join("clusters.yaml");
    std::fs::write(&clusters_file, entries).unwrap();
    (sims, servers, clusters_file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hung_and_one_killed_cluster_leave_the_third_served_within_a_second() {
    let dir = TempDir(std::env::temp_dir().join(format!("paydeck-fleet-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let (sims, mut servers, clusters_file) =
        simulated_fleet(&dir.0, &[("a", "Payments EU"), ("b", "Payments US"), ("c", "PCI zone")]).await;
    let db = dir.0.join("paydeck.db");
    let mut child = start(&clusters_file, &db);
    let url = support::served_at(&mut child).await;
    support::wait_ready(&url, Duration::from_secs(30), "the fleet").await;
    let http = reqwest::Client::new();
    for name in ["a", "b", "c"] {
        until_state(&http, &url, name, "answering", Duration::from_secs(20)).await;
    }
    let overview = fleet(&http, &url).await;
    let names: Vec<&str> =
        overview["clusters"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(overview["clusters"][0]["primary"], true);
    assert_eq!(overview["clusters"][2]["displayName"], "PCI zone");
    for c in overview["clusters"].as_array().unwrap() {
        assert!(c["totals"]["nodes"].as_i64().unwrap() > 0, "{c}");
        assert!(c["totals"]["cpu"]["allocatable"].as_f64().unwrap() > 0.0, "{c}");
    }
    assert!(
        overview["attention"].as_array().unwrap().iter().any(|a| a["cluster"] == "c"),
        "findings from every cluster"
    );
    assert_eq!(http.get(format!("{url}/api/v1/clusters/nope")).send().await.unwrap().status(), 404);

    // B hangs (accepts, never answers); C's API server is gone.
    sims[1].faults().set(sim::faults::Fault::Hang);
    let c_addr = servers[2].as_ref().unwrap().addr;
    let c_certificates = servers[2].as_ref().unwrap().certificates.clone();
    servers[2] = None;
    let lost = paydeck::clock::unix_ms();
    let c_down = until_state(&http, &url, "c", "unreachable", Duration::from_secs(20)).await;
    assert!(c_down["sinceMs"].as_i64().unwrap() >= lost, "since when it is down: {c_down}");
    assert!(!c_down["connection"]["problems"].as_array().unwrap().is_empty(), "why: {c_down}");
    // A hung API server keeps its watches open and silent: the polls that time out say so.
    let b_hung = until_state(&http, &url, "b", "degraded", Duration::from_secs(30)).await;
    assert!(b_hung["sinceMs"].as_i64().unwrap() >= lost, "{b_hung}");

    // A, meanwhile: each change reaches the API within a second, and its history goes on.
    let samples_before = samples_of(&db, "a").await;
    let mut lags = Vec::new();
    for replicas in [3, 4, 2, 5, 3] {
        move_fx_rates(&sims[0], replicas);
        let changed = Instant::now();
        while served_replicas(&http, &url).await != replicas {
            assert!(changed.elapsed() < Duration::from_secs(5), "a change on A did not reach the API");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        lags.push(changed.elapsed());
    }
    let worst = *lags.iter().max().unwrap();
    assert!(worst < Duration::from_secs(1), "change to API on A took {worst:?} with B hung and C down");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(samples_of(&db, "a").await > samples_before, "A's history went on");
    // /metrics follows each cluster: C unreachable, A answering and sampling.
    let metrics = http.get(format!("{url}/metrics")).send().await.unwrap().text().await.unwrap();
    let value = |line: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(line))
            .unwrap_or_else(|| panic!("no {line} in /metrics"))
            .trim()
            .parse()
            .unwrap()
    };
    assert_eq!(value("paydeck_cluster_reachable{cluster=\"c\"}"), 0.0);
    assert_eq!(value("paydeck_cluster_reachable{cluster=\"a\"}"), 1.0);
    assert!(value("paydeck_cluster_history_samples_written_total{cluster=\"a\"}") > 0.0);

    // Both come back by themselves.
    sims[1].faults().clear();
    servers[2] = Some(sims[2].serve_with(c_addr, c_certificates).await.unwrap());
    let back = Instant::now();
    until_state(&http, &url, "b", "answering", Duration::from_secs(20)).await;
    until_state(&http, &url, "c", "answering", Duration::from_secs(20)).await;
    let recovered = back.elapsed();
    // Each cluster's history under its own name, sampling again once it answers.
    let deadline = Instant::now() + Duration::from_secs(10);
    while samples_of(&db, "b").await == 0 || samples_of(&db, "c").await == 0 {
        assert!(Instant::now() < deadline, "no history recorded for b or c under its name");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    no_panics(&db);
    println!(
        "FAULTS | fleet of 3, one hung and one down | change to API on the healthy one {} (goal < 1 s) | both back in {:.1} s",
        figures(&mut lags),
        recovered.as_secs_f64()
    );
}

/// ledger's HPA on `sim`: its resource version and maximum, read from the cluster itself.
fn ledger_hpa(sim: &sim::Cluster) -> (String, i64) {
    let world = sim.lock();
    let hpa = world.store.get(&sim::resources::HPAS, "payments-core", "ledger").unwrap();
    (
        hpa["metadata"]["resourceVersion"].as_str().unwrap().to_string(),
        hpa["spec"]["maxReplicas"].as_i64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_on_cluster_b_is_refused_by_bs_rbac_while_allowed_on_a() {
    let dir = TempDir(std::env::temp_dir().join(format!("paydeck-fleet-rbac-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    // Two clusters of one fleet: on b (a locked-down zone) operators may not scale.
    let (sims, _servers, clusters_file) = simulated_fleet(&dir.0, &[("a", "a"), ("b", "b")]).await;
    sims[1].set_rbac(sim::auth::Rbac::Restricted);
    let secret = dir.0.join("proxy-secret");
    std::fs::write(&secret, "a-proxy-secret-of-enough-length-000").unwrap();
    let db = dir.0.join("paydeck.db");
    let mut child = start_paydeck_on(
        &db,
        &[
            "--clusters-file",
            clusters_file.to_str().unwrap(),
            "--trusted-proxies",
            "127.0.0.1",
            "--proxy-secret-file",
            secret.to_str().unwrap(),
        ],
    );
    let url = support::served_at(&mut child).await;
    support::wait_ready(&url, Duration::from_secs(30), "the fleet").await;
    let http = reqwest::Client::new();
    for name in ["a", "b"] {
        until_state(&http, &url, name, "answering", Duration::from_secs(20)).await;
    }
    let as_operator = |request: reqwest::RequestBuilder| {
        request
            .header("X-Forwarded-User", "operator")
            .header("X-Forwarded-Groups", "payments:operators")
            .header("X-Paydeck-Proxy-Secret", "a-proxy-secret-of-enough-length-000")
    };
    let rights = |cluster: &str| {
        as_operator(
            http.get(format!("{url}/api/v1/clusters/{cluster}/workloads/payments-core/ledger/rights")),
        )
    };
    let on_a: Value = rights("a").send().await.unwrap().json().await.unwrap();
    let on_b: Value = rights("b").send().await.unwrap().json().await.unwrap();
    assert_eq!(on_a["mayEdit"], true, "{on_a}");
    assert_eq!(on_b["mayEdit"], false, "{on_b}");
    assert!(on_b["reason"].as_str().unwrap().contains("RBAC"), "{on_b}");

    let (before_a, max_a) = ledger_hpa(&sims[0]);
    let (before_b, max_b) = ledger_hpa(&sims[1]);
    let edit = |cluster: &str, rv: &str, max: i64| {
        as_operator(http.post(format!("{url}/api/v1/clusters/{cluster}/workloads/payments-core/ledger/scaling")))
            .json(&json!({ "spec": { "maxReplicas": max + 2 }, "reason": "CHG-7 fleet", "resourceVersion": rv, "dryRun": false }))
    };
    let applied = edit("a", &before_a, max_a).send().await.unwrap();
    assert_eq!(applied.status(), 200, "{}", applied.text().await.unwrap_or_default());
    let refused = edit("b", &before_b, max_b).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let refusal: Value = refused.json().await.unwrap();
    assert_eq!(refusal["outcome"], "denied", "{refusal}");

    // Read back from each cluster: a changed, b exactly as it was.
    assert_eq!(ledger_hpa(&sims[0]).1, max_a + 2);
    assert_eq!(ledger_hpa(&sims[1]), (before_b, max_b));

    // Each audit row names its cluster; each cluster's log lists its own.
    let audit = |path: String| as_operator(http.get(format!("{url}{path}"))).send();
    let of_a: Value = audit("/api/v1/clusters/a/audit".into()).await.unwrap().json().await.unwrap();
    let of_b: Value = audit("/api/v1/clusters/b/audit".into()).await.unwrap().json().await.unwrap();
    let outcomes = |rows: &Value| -> Vec<(String, String)> {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| (r["cluster"].as_str().unwrap().to_string(), r["outcome"].as_str().unwrap().to_string()))
            .collect()
    };
    assert_eq!(outcomes(&of_a), [("a".to_string(), "applied".to_string())]);
    assert_eq!(outcomes(&of_b), [("b".to_string(), "denied".to_string())]);
    let primary: Value = audit("/api/v1/audit".into()).await.unwrap().json().await.unwrap();
    assert_eq!(outcomes(&primary), outcomes(&of_a), "the single-cluster path is the primary's");
    let all: Value = audit("/api/v1/audit?cluster=*".into()).await.unwrap().json().await.unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    let mismatch = audit("/api/v1/clusters/a/audit?cluster=b".into()).await.unwrap();
    assert_eq!(mismatch.status(), 400);
    let unknown = audit("/api/v1/clusters/zz/workloads".into()).await.unwrap();
    assert_eq!(unknown.status(), 404);
    let said: Value = unknown.json().await.unwrap();
    assert!(said["error"]["message"].as_str().unwrap().contains("no cluster \"zz\""), "{said}");

    // The one chain verifies, the cluster of each row covered by its hash.
    drop(child);
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_paydeck"))
        .arg("verify-audit")
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "verify-audit: {} {}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    no_panics(&db);
}
