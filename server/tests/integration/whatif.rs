//! The what-if against the controller it models: the simulator's HPA controller (syncing
//! every 15 s at a phase of its own) on metrics-server's readings (refreshed every 15 s at
//! another phase, stamped with their own time and window), recorded the way Paydeck records
//! them — objects and metrics read over the API at Paydeck's polls (every 10 s, at a third
//! phase), built into snapshots, each new reading and each scale taken at its own time —
//! then replayed. The replay of the current HPAs must match the counts the controller set
//! within ±1 at 98 % of its syncs or more, whatever the phases; and it must say what it
//! covered.

use std::{collections::HashMap, sync::Arc, time::Duration};

use app::dto::Workload;
use domain::whatif::{self, HpaConfig, Options, Window};
use kube::Client;
use paydeck::{
    cluster::snapshot::{self, Connection, Objects, Snapshot},
    history::observed::Observed,
    store::HistoryStore,
};
use serde_json::Value;

use crate::support;
use support::admin;

const SECOND: u64 = 1000;
const NAMESPACES: [&str; 3] = ["payments-edge", "payments-core", "payments-batch"];

/// Every item of a list the API serves at `path`, read into `T` as Paydeck's watches read it.
async fn list<T: serde::de::DeserializeOwned>(client: &Client, path: &str) -> Vec<Arc<T>> {
    let request = http::Request::get(path).body(Vec::new()).unwrap();
    let list: Value = client.request(request).await.unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| Arc::new(serde_json::from_value(i.clone()).unwrap()))
        .collect()
}

/// Paydeck's recording path, at moments the test chooses: the objects and the metrics as the
/// API serves them, built into a snapshot, and what the snapshot shows that the one before
/// did not written to history — what the sampler does with what the watches and the
/// metrics poller bring.
struct Recorder {
    client: Client,
    history: Arc<dyn HistoryStore>,
    observed: Observed,
    previous: Option<Snapshot>,
}

impl Recorder {
    async fn poll(&mut self, at_ms: i64) -> Snapshot {
        let objects = Objects {
            deployments: list(&self.client, "/apis/apps/v1/deployments").await,
            autoscalers: list(&self.client, "/apis/autoscaling/v2/horizontalpodautoscalers").await,
            pods: list(&self.client, "/api/v1/pods").await,
            nodes: list(&self.client, "/api/v1/nodes").await,
            ..Objects::default()
        };
        let namespaces: Vec<String> = NAMESPACES.iter().map(|n| n.to_string()).collect();
        let (usage, problems) = paydeck::cluster::usage::poll(&self.client, &namespaces).await;
        assert!(problems.is_empty(), "{problems:?}");
        let connection = Connection { synced: true, reachable: true, ..Connection::default() };
        let next = snapshot::build(&objects, &usage, connection, 0, at_ms);
        for w in &next.workloads {
            let before = self.previous.as_ref().and_then(|p| p.workload(&w.namespace, &w.name));
            self.observed.observe(before, w);
        }
        self.history.write_steps(&self.observed.take(), &[]).await.unwrap();
        self.previous = Some(next.clone());
        next
    }
}

/// Requests per pod, (cores, bytes).
fn requests(w: &Workload) -> (f64, f64) {
    (
        w.containers.iter().filter_map(|c| c.cpu_request).sum(),
        w.containers.iter().filter_map(|c| c.memory_request).sum(),
    )
}

/// What a run at one set of phases found, per workload with an HPA.
struct Replayed {
    name: String,
    backtest: whatif::Backtest,
    /// Share of the recorded syncs at which the replay is within ±1 of the count the
    /// simulator's controller had set (read from the simulator itself, every second).
    against_truth: f64,
    /// The same, exactly.
    exact: f64,
    /// Changes of the simulator's count over the hour, and its range.
    changes: usize,
    range: (i64, i64),
}

/// 75 simulated minutes from 17:45 (the 18:00 flash sale in the middle), the simulator's
/// clock starting `start_offset` seconds later (its HPA controller's phase) and Paydeck
/// polling at `poll_offset` seconds into each 10 s; replays the last hour of each HPA.
async fn run(start_offset: u64, poll_offset: u64) -> Vec<Replayed> {
    let day = sim::clock::test_start() / 86_400_000 * 86_400_000;
    let start = day + (17 * 60 + 45) * 60 * SECOND + start_offset * SECOND;
    let cluster =
        sim::Cluster::new(&sim::Options { speed: None, start: Some(start), ..sim::Options::default() });
    let server = cluster.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = std::env::temp_dir()
        .join(format!("paydeck-whatif-{}-{start_offset}-{poll_offset}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let history = support::test_store(&dir.join("paydeck.db"), None).await.0.history;
    let mut recorder = Recorder {
        client: admin(&server).await,
        history: history.clone(),
        observed: Observed::default(),
        previous: None,
    };

    // The truth, every second: each Deployment's replica count, straight from the simulator.
    let mut truth: HashMap<String, Vec<i64>> = HashMap::new();
    let seconds = 75 * 60;
    let mut last = None;
    for s in 0..seconds {
        cluster.advance(Duration::from_secs(1));
        let now = start + (s + 1) * SECOND;
        {
            let world = cluster.lock();
            for (key, d) in world.store.list(&sim::resources::DEPLOYMENTS, None, None) {
                truth.entry(key.1.clone()).or_default().push(d["spec"]["replicas"].as_i64().unwrap());
            }
        }
        if (s + 1) % 10 == poll_offset {
            last = Some(recorder.poll(now as i64).await);
        }
    }
    let end = (start + seconds * SECOND) as i64;
    let snapshot = last.unwrap();
    let mut out = Vec::new();
    for w in snapshot.workloads.iter().filter(|w| w.autoscaler.is_some()) {
        let current = HpaConfig::of(w.autoscaler.as_ref().unwrap());
        let series = history
            .demand(&w.namespace, &w.name, (end - 3_600_000, end), requests(w), None)
            .await
            .unwrap()
            .unwrap();
        let proposed = HpaConfig { max_replicas: current.max_replicas * 3, ..current.clone() };
        let b = whatif::backtest(&series, Window::Day.millis(), &current, &proposed, &Options::default());
        let counts = &truth[&w.name];
        let (mut compared, mut close, mut exact) = (0, 0, 0);
        let mut seen = Vec::new();
        for i in (0..series.len()).filter(|&i| series.recorded(i)) {
            // The count in force right after the sync at step i, as the simulator had it.
            let second = ((series.at(i) - start as i64) / 1000) as usize;
            let Some(&real) = counts.get(second.saturating_sub(1)) else { continue };
            seen.push(real);
            compared += 1;
            let replayed = i64::from(b.series.current[i]);
            close += usize::from((real - replayed).abs() <= 1);
            exact += usize::from(real == replayed);
        }
        let changes = seen.windows(2).filter(|p| p[0] != p[1]).count();
        let range = (seen.iter().copied().min().unwrap_or(0), seen.iter().copied().max().unwrap_or(0));
        out.push(Replayed {
            name: w.name.clone(),
            backtest: b,
            against_truth: close as f64 / compared.max(1) as f64,
            exact: exact as f64 / compared.max(1) as f64,
            changes,
            range,
        });
    }
    history.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[tokio::test]
async fn the_replay_matches_the_controller_at_98_percent_of_its_syncs_whatever_the_phases() {
    for (start_offset, poll_offset) in [(0, 0), (4, 3), (9, 7), (13, 9)] {
        for r in run(start_offset, poll_offset).await {
            let b = &r.backtest;
            println!(
                "phases {start_offset}/{poll_offset} s {}: {} scales ({}–{} replicas); within ±1 of the recorded decisions {:.3}, of the simulator's counts {:.3} (exactly {:.3}), over {} syncs ({} gaps); overloaded recorded {:.1} min, current {:.1}, proposed {:.1}",
                r.name,
                r.changes,
                r.range.0,
                r.range.1,
                b.fidelity.within_one,
                r.against_truth,
                r.exact,
                b.fidelity.compared,
                b.fidelity.missing,
                b.recorded.overloaded_minutes,
                b.current.overloaded_minutes,
                b.proposed.overloaded_minutes,
            );
            assert!(b.fidelity.compared >= 235, "{}: a reading at nearly every sync of the hour", r.name);
            assert!(b.fidelity.missing <= 2, "{}: {} gaps", r.name, b.fidelity.missing);
            assert!(
                b.fidelity.within_one >= 0.98,
                "{}: {:.3} of the recorded decisions",
                r.name,
                b.fidelity.within_one
            );
            assert!(
                r.against_truth >= 0.98,
                "{}: {:.3} of the simulator's own counts",
                r.name,
                r.against_truth
            );
            assert_eq!(b.fidelity.note, None, "{}", r.name);
            assert_eq!(b.covered_ms, b.recorded_steps as i64 * 15_000);
            if r.name == "risk-scoring" {
                // Its maximum of 4 cannot hold the sale: the recording shows overload, the
                // current HPA's replay too, a maximum three times higher none.
                assert!(b.recorded.overloaded_minutes >= 5.0, "{:?}", b.recorded);
                assert!(b.current.minutes_at_max > 0.0);
                assert_eq!(b.proposed.overloaded_minutes, 0.0, "{:?}", b.proposed);
                assert!(b.proposed.replica_hours > b.current.replica_hours);
            }
        }
    }
}
