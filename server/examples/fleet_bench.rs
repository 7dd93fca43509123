//! The fleet round of `make bench-fleet`: one Paydeck watching ten simulated clusters of the
//! `regional` profile (1,000 Deployments and HPAs, 10,000 pods each), every simulator a
//! `paydeck-sim` process of its own, Paydeck the release binary. It prints, beside each target:
//! - Paydeck's resident memory once every cluster answers and a sampling round has passed
//!   (target ≤ 1 GB for the fleet);
//! - the fleet overview's server render, `/fleet` in full (target p99 ≤ 50 ms);
//! - its time to usable in Chromium: hydrated, every cluster's row shown (target ≤ 1.5 s);
//! - how long a change on one cluster takes to reach Paydeck's API (an HPA's maximum patched
//!   every second), with every cluster up and with one cluster's API server gone (target p99
//!   ≤ 1 s either way: one outage must not slow the others).

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

#[path = "support/figures.rs"]
mod figures;
use figures::{percentile, rss_mb_of, verdict};

const CLUSTERS: usize = 10;
const RENDERS: usize = 30;
const CHANGES: usize = 30;

/// A child process killed when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() -> anyhow::Result<()> {
    paydeck::memory::limit_allocator_arenas();
    tokio::runtime::Runtime::new()?.block_on(bench())
}

fn release(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release").join(name)
}

/// Starts `command` and waits for a line of its output containing `marker`: that line.
fn start_until(mut command: Command, marker: &str) -> anyhow::Result<(Reaped, String)> {
    let mut child = command.stdout(Stdio::piped()).spawn()?;
    let lines = BufReader::new(child.stdout.take().expect("piped"));
    let child = Reaped(child);
    for line in lines.lines().map_while(Result::ok) {
        if line.contains(marker) {
            return Ok((child, line));
        }
    }
    anyhow::bail!("{:?} stopped before saying {marker:?}", command.get_program())
}

async fn bench() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("paydeck-fleet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run(&dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(dir: &Path) -> anyhow::Result<()> {
    println!(
        "Fleet round: {CLUSTERS} simulated clusters of the regional profile (1,000 Deployments, 10,000 pods each)"
    );
    let started = Instant::now();
    let mut sims = Vec::new();
    let mut clusters = String::from("clusters:\n");
    for i in 1..=CLUSTERS {
        let kubeconfig = dir.join(format!("c{i:02}.kubeconfig"));
        let mut command = Command::new(release("paydeck-sim"));
        command
            .args(["--profile", "regional", "--listen", "127.0.0.1:0", "--seed", &i.to_string()])
            .arg("--write-kubeconfig")
            .arg(&kubeconfig)
            .stderr(Stdio::null());
        let (sim, _) = start_until(command, "serving on").map_err(|e| {
            anyhow::anyhow!("cannot start paydeck-sim ({e}); build it with `cargo build --release -p sim`")
        })?;
        sims.push(Some(sim));
        clusters.push_str(&format!(
            "  - name: c{i:02}\n    displayName: Region {i}\n    kubeconfig: c{i:02}.kubeconfig\n"
        ));
    }
    std::fs::write(dir.join("clusters.yaml"), clusters)?;
    let mut command = Command::new(release("paydeck"));
    command
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(["--listen", "127.0.0.1:0", "--clusters-file"])
        .arg(dir.join("clusters.yaml"))
        .arg("--db")
        .arg(dir.join("fleet.db"))
        .env("PAYDECK_LOG", "error,kube_client=off")
        .stderr(Stdio::null());
    let (paydeck, line) = start_until(command, "serving on")?;
    let url = line.split_whitespace().last().unwrap_or_default().to_string();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let fleet: Value = http.get(format!("{url}/api/v1/clusters")).send().await?.json().await?;
        let answering = fleet["clusters"]
            .as_array()
            .map_or(0, |c| c.iter().filter(|c| c["state"] == "answering").count());
        if answering == CLUSTERS {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {answering} of {CLUSTERS} clusters answered within 900 s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "  Every cluster answering {:.0} s after the simulators started",
        started.elapsed().as_secs_f64()
    );
    // A sampling round (15 s) and the first metrics polls, then the memory.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let rss = rss_mb_of(&paydeck.0.id().to_string());
    println!(
        "  Paydeck's resident memory, {CLUSTERS} clusters: {rss:.0} MB (target ≤ 1000 MB: {})",
        verdict(rss <= 1000.0)
    );

    let mut renders = Vec::new();
    for i in 0..RENDERS + 3 {
        let t0 = Instant::now();
        let res = http.get(format!("{url}/fleet")).header("accept-encoding", "identity").send().await?;
        anyhow::ensure!(res.status().is_success(), "/fleet answered {}", res.status());
        res.bytes().await?;
        if i >= 3 {
            renders.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
    }
    renders.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&renders, 0.5), percentile(&renders, 0.99));
    println!(
        "  Fleet overview server render: p50 {p50:.1} ms, p99 {p99:.1} ms (target p99 ≤ 50 ms: {})",
        verdict(p99 <= 50.0)
    );

    let usable = Command::new("node")
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end"))
        .args(["bench/usable.mjs", &url, "/fleet", "[data-testid=\"fleet\"] tbody tr", &CLUSTERS.to_string()])
        .output()?;
    anyhow::ensure!(usable.status.success(), "bench/usable.mjs: {}", String::from_utf8_lossy(&usable.stderr));
    let usable: Value = serde_json::from_slice(&usable.stdout)?;
    let median = usable["median"].as_f64().unwrap_or(f64::MAX);
    println!(
        "  Fleet overview usable in Chromium: median {median:.0} ms, worst {:.0} ms (target ≤ 1500 ms: {})",
        usable["worst"].as_f64().unwrap_or(f64::MAX),
        verdict(median <= 1500.0)
    );

    let client = kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(dir.join("c01.kubeconfig"))?,
            &Default::default(),
        )
        .await?,
    )?;
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(client, "team-000");
    let all_up = change_lags(&http, &url, &hpas, 0).await?;
    // One cluster's API server gone: its process killed.
    drop(sims[CLUSTERS - 1].take());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let c: Value = http.get(format!("{url}/api/v1/clusters/c{CLUSTERS:02}")).send().await?.json().await?;
        if c["state"] == "unreachable" {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "c{CLUSTERS:02} not unreachable within 60 s: {}",
            c["state"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let one_down = change_lags(&http, &url, &hpas, 1).await?;
    let p99 = |lags: &[f64]| percentile(lags, 0.99);
    println!(
        "  Change on c01 to Paydeck's API: p50 {:.0} ms, p99 {:.0} ms with every cluster up; p50 {:.0} ms, p99 {:.0} ms with c{CLUSTERS:02} down (target p99 ≤ 1000 ms: {})",
        percentile(&all_up, 0.5),
        p99(&all_up),
        percentile(&one_down, 0.5),
        p99(&one_down),
        verdict(p99(&all_up) <= 1000.0 && p99(&one_down) <= 1000.0)
    );
    drop(paydeck);
    drop(sims);
    Ok(())
}

/// Patches team-000/svc-000's HPA maximum `CHANGES` times, a second apart, and times each
/// until Paydeck's API for cluster c01 shows it (ms, sorted).
async fn change_lags(
    http: &reqwest::Client,
    url: &str,
    hpas: &Api<HorizontalPodAutoscaler>,
    round: usize,
) -> anyhow::Result<Vec<f64>> {
    let mut lags = Vec::with_capacity(CHANGES);
    for i in 0..CHANGES {
        let max = 40 + ((round * CHANGES + i) % 20) as i64;
        let patch = json!({ "spec": { "maxReplicas": max } });
        let t0 = Instant::now();
        hpas.patch("svc-000", &PatchParams::default(), &Patch::Merge(&patch)).await?;
        loop {
            let w: Value = http
                .get(format!("{url}/api/v1/clusters/c01/workloads/team-000/svc-000"))
                .send()
                .await?
                .json()
                .await?;
            if w["autoscaler"]["maxReplicas"].as_i64() == Some(max) {
                break;
            }
            anyhow::ensure!(
                t0.elapsed() < Duration::from_secs(30),
                "a change did not arrive within 30 s: {w}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        lags.push(t0.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    lags.sort_by(f64::total_cmp);
    Ok(lags)
}
