//! Simulator benchmark: `make bench-sim` (or `cargo run --release -p sim --example sim_bench`).
//!
//! Prints, for the `large` profile (2,000 Deployments and HPAs, 20,000 pods):
//! - resident memory of the process holding the cluster (target < 1 GiB);
//! - paged list throughput of all pods through kube-rs over HTTPS (target ≥ 50,000 pods/s);
//! - watch delivery lag to 10 concurrent watchers at 1,000 events/s (target p99 < 100 ms).

use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::{
    Api, Client, Config,
    api::{ListParams, WatchEvent, WatchParams},
    config::{KubeConfigOptions, Kubeconfig},
};
use serde_json::json;
use sim::{Cluster, Options, Profile, auth, resources::NAMESPACES};

const WATCHERS: usize = 10;
const EVENTS_PER_SEC: usize = 1_000;
const WATCH_SECS: usize = 5;
const BENCH_NAMESPACES: usize = 100;

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn micros_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as u64
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let cluster = Cluster::new(&Options { profile: Profile::Large, speed: None, ..Options::default() });
    let (deployments, pods) = {
        let w = cluster.lock();
        (w.store.count(&sim::resources::DEPLOYMENTS), w.store.count(&sim::resources::PODS))
    };
    println!(
        "large profile: {deployments} deployments, {pods} pods, built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let rss = rss_mib();
    println!(
        "resident memory: {rss:.0} MiB (target < 1024 MiB) {}",
        if rss < 1024.0 { "ok" } else { "MISSED" }
    );

    let server = cluster.serve("127.0.0.1:0".parse()?).await?;
    let config = Config::from_custom_kubeconfig(
        Kubeconfig::from_yaml(&server.kubeconfig(auth::ADMIN_TOKEN))?,
        &KubeConfigOptions::default(),
    )
    .await?;
    let client = Client::try_from(config)?;

    // Paged list of every pod, as a reflector's initial list does.
    let api: Api<Pod> = Api::all(client.clone());
    let mut rates = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let mut listed = 0;
        let mut params = ListParams::default().limit(500);
        loop {
            let page = api.list(&params).await?;
            listed += page.items.len();
            match page.metadata.continue_ {
                Some(token) if !token.is_empty() => params = params.continue_token(&token),
                _ => break,
            }
        }
        rates.push(listed as f64 / t.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[1];
    println!(
        "paged list (limit 500, typed kube-rs client): median {median:.0} pods/s, best {:.0} (target ≥ 50000) {}",
        rates[2],
        if median >= 50_000.0 { "ok" } else { "MISSED" }
    );

    // Watch delivery: 10 watchers on Namespaces; a writer changes one every millisecond.
    {
        let mut w = cluster.lock();
        let now = sim::clock::rfc3339(w.clock.now());
        for i in 0..BENCH_NAMESPACES {
            w.store
                .create(&NAMESPACES, json!({ "metadata": { "name": format!("bench-{i}") } }), &now)
                .expect("fresh names");
        }
    }
    let from = cluster.lock().store.resource_version().to_string();
    let total = EVENTS_PER_SEC * WATCH_SECS;
    let mut watchers = Vec::new();
    for _ in 0..WATCHERS {
        let api: Api<Namespace> = Api::all(client.clone());
        let from = from.clone();
        watchers.push(tokio::spawn(async move {
            let mut lags = Vec::with_capacity(total);
            let mut stream =
                api.watch(&WatchParams::default().timeout(60), &from).await.expect("watch starts").boxed();
            while lags.len() < total {
                match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
                    Ok(Some(Ok(WatchEvent::Modified(ns)))) => {
                        let sent: u64 = ns
                            .metadata
                            .annotations
                            .as_ref()
                            .and_then(|a| a.get("bench/sent-us")?.parse().ok())
                            .unwrap_or(0);
                        lags.push((micros_now().saturating_sub(sent)) as f64 / 1000.0);
                    }
                    Ok(Some(Ok(_))) => {}
                    _ => break,
                }
            }
            lags
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let writer = cluster.clone();
    let produced = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let mut sent = 0;
        while sent < total {
            // Keep to the schedule: as many events as the elapsed time allows, in small batches.
            let due = ((start.elapsed().as_secs_f64() * EVENTS_PER_SEC as f64) as usize).min(total);
            if due > sent {
                let mut w = writer.lock();
                for i in sent..due {
                    let name = format!("bench-{}", i % BENCH_NAMESPACES);
                    let mut ns = (*w.store.get(&NAMESPACES, "", &name).expect("created above")).clone();
                    ns["metadata"]["annotations"] =
                        json!({ "bench/sent-us": micros_now().to_string(), "bench/seq": i.to_string() });
                    w.store.replace(&NAMESPACES, ns, None).expect("stored");
                }
                sent = due;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        start.elapsed()
    })
    .await?;
    let mut lags = Vec::new();
    let mut complete = 0;
    for w in watchers {
        let got = w.await?;
        complete += usize::from(got.len() == total);
        lags.extend(got);
    }
    lags.sort_by(f64::total_cmp);
    let p99 = percentile(&lags, 0.99);
    println!(
        "watch delivery: {WATCHERS} watchers × {total} events at {:.0} events/s; {complete}/{WATCHERS} got every event; lag p50 {:.1} ms, p99 {p99:.1} ms, max {:.1} ms (target p99 < 100 ms) {}",
        total as f64 / produced.as_secs_f64(),
        percentile(&lags, 0.5),
        lags.last().copied().unwrap_or(f64::NAN),
        if p99 < 100.0 && complete == WATCHERS { "ok" } else { "MISSED" }
    );
    println!("resident memory at the end: {:.0} MiB", rss_mib());
    Ok(())
}
