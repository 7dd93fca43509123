//! What several of the server's test crates need: clients for the simulated cluster, and a
//! Paydeck process's address and readiness. Each crate uses part of it.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    process::Child,
    time::{Duration, Instant},
};

use kube::{
    Client, Config,
    config::{KubeConfigOptions, Kubeconfig},
};

/// The kube-rs configuration for the simulator with `token`.
pub async fn config_as(server: &sim::RunningServer, token: &str) -> Config {
    let kubeconfig = Kubeconfig::from_yaml(&server.kubeconfig(token)).unwrap();
    Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap()
}

/// A client for the simulator with `token`.
pub async fn client_as(server: &sim::RunningServer, token: &str) -> Client {
    Client::try_from(config_as(server, token).await).unwrap()
}

/// A client with the simulator's admin token (what `kubectl` gets).
pub async fn admin(server: &sim::RunningServer) -> Client {
    client_as(server, sim::auth::ADMIN_TOKEN).await
}

/// The address a Paydeck process (started with a piped stdout) says it serves on.
pub async fn served_at(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout is piped");
    tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| line.split_once("serving on ").map(|(_, url)| url.trim().to_string()))
    })
    .await
    .unwrap()
    .expect("Paydeck printed the address it serves on")
}

/// Waits up to `within` for `{url}/readyz` to answer 200 (`what` names the wait in a failure).
pub async fn wait_ready(url: &str, within: Duration, what: &str) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + within;
    while !http.get(format!("{url}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
        assert!(Instant::now() < deadline, "not ready within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
