//! Paydeck inside a pod: no flags about the cluster, only what Kubernetes gives every pod —
//! the service-account token, CA certificate and namespace under
//! /var/run/secrets/kubernetes.io/serviceaccount, and KUBERNETES_SERVICE_HOST/PORT. The
//! files are laid out in a private mount namespace (`unshare`), so the real /run is untouched,
//! and the API server is the simulator, which grants that token exactly k8s/base's roles.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use crate::support;

#[tokio::test]
async fn the_in_cluster_configuration_connects_and_syncs() {
    let sim =
        sim::Cluster::new(&sim::Options { start: Some(sim::clock::test_start()), ..sim::Options::default() });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = std::env::temp_dir().join(format!("paydeck-in-cluster-{}", std::process::id()));
    let account = dir.join("serviceaccount");
    std::fs::create_dir_all(&account).unwrap();
    std::fs::write(account.join("token"), sim::auth::DASHBOARD_TOKEN).unwrap();
    std::fs::write(account.join("ca.crt"), &server.ca_pem).unwrap();
    std::fs::write(account.join("namespace"), "paydeck").unwrap();

    // Inside the namespace: a fresh /run with the pod's files, then exec Paydeck.
    let script = format!(
        "mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io && \
         cp -r {account} /run/secrets/kubernetes.io/serviceaccount && \
         exec {bin} --listen 127.0.0.1:0 --db {db}",
        account = account.display(),
        bin = env!("CARGO_BIN_EXE_paydeck"),
        db = dir.join("history.db").display(),
    );
    let mut child = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", &script])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &dir) // no ~/.kube/config to fall back on
        .env("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        .env("KUBERNETES_SERVICE_PORT", server.addr.port().to_string())
        .env("PAYDECK_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("unshare (util-linux) runs Paydeck in its own mount namespace");

    let url = support::served_at(&mut child).await;

    support::wait_ready(&url, Duration::from_secs(30), "syncing through the in-cluster configuration").await;
    let http = reqwest::Client::new();
    let overview: serde_json::Value =
        http.get(format!("{url}/api/v1/overview")).send().await.unwrap().json().await.unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);

    assert_eq!(overview["totals"]["workloads"], 9, "{overview}");
    assert_eq!(
        overview["connection"]["problems"],
        serde_json::json!([]),
        "the least-privilege role suffices"
    );
    assert!(
        overview["connection"]["cluster"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{}", server.addr.port())),
        "{}",
        overview["connection"]["cluster"]
    );
}
