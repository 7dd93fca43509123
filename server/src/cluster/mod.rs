//! The cluster connection and the live picture of it.
//!
//! `connect` makes a kube-rs client for the configured source (the in-process simulator, a
//! kubeconfig, or the pod's service account); `start` runs the watchers and the metrics
//! poller and publishes a new immutable [`Snapshot`] whenever what they see changes.

pub mod access;
mod backoff;
pub mod pod;
mod pods;
pub mod simulated;
pub mod snapshot;
pub mod spec_hash;
pub mod usage;
pub mod views;
pub mod watch;

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use kube::{
    Client, Config,
    config::{KubeConfigOptions, Kubeconfig},
};
use snapshot::{Connection, Snapshot};
use tokio::sync::{Notify, watch as channel};

pub use watch::{Scope, WatchState};

/// Which simulated platform `--cluster sim` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SimProfile {
    /// About ten payment services in three namespaces.
    Demo,
    /// 2,000 Deployments and HPAs with 20,000 pods, for benchmarks.
    Large,
    /// 10,000 Deployments and HPAs with 100,000 pods on 500 nodes, for fleet-scale benchmarks.
    Huge,
}

/// Where the cluster is.
#[derive(Clone, Debug)]
pub enum Source {
    /// The simulated payment cluster, started in this process and reached over HTTPS.
    Sim {
        profile: SimProfile,
        seed: u64,
        speed: f64,
        /// When its clock (and Paydeck's) starts, Unix ms; now when `None`.
        start_ms: Option<i64>,
        kubeconfig_out: PathBuf,
    },
    /// A kubeconfig file, optionally with a context.
    Kubeconfig { path: PathBuf, context: Option<String> },
    /// The pod's service account, else `$KUBECONFIG` / `~/.kube/config`.
    Infer,
}

/// A client, what to call the cluster, and the simulator when there is one (kept running).
pub struct Connected {
    pub client: Client,
    /// The configuration behind `client`: edits derive impersonating clients from it.
    pub config: Config,
    pub description: String,
    /// What to call the cluster where no name is configured: the kubeconfig context's name,
    /// else [`crate::history::DEFAULT_CLUSTER`].
    pub name: String,
    /// The simulated cluster, when Paydeck runs one: it serves as long as this is kept.
    pub simulator: Option<Box<dyn std::any::Any + Send>>,
    /// The simulated cluster's demo users and their groups (the identity switcher's choices).
    pub demo_users: Vec<(String, String)>,
}

/// Connects to the source. The simulator is read with the dashboard's own (read-only)
/// service-account token, as a real cluster would be.
pub async fn connect(source: &Source) -> anyhow::Result<Connected> {
    match source {
        Source::Sim { profile, seed, speed, start_ms, kubeconfig_out } => {
            simulated::start(*profile, *seed, *speed, *start_ms, kubeconfig_out).await
        }
        Source::Kubeconfig { path, context } => {
            let kubeconfig = Kubeconfig::read_from(path)
                .with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
            let name = context.clone().or_else(|| kubeconfig.current_context.clone());
            let options = KubeConfigOptions { context: context.clone(), ..KubeConfigOptions::default() };
            let config = Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .with_context(|| format!("cannot use kubeconfig {}", path.display()))?;
            Connected::to(config, name)
        }
        Source::Infer => {
            let config =
                Config::infer().await.context("no in-cluster service account and no usable kubeconfig")?;
            Connected::to(config, None)
        }
    }
}

/// How long a connection may say nothing before its request is dropped as stalled. Watches
/// end every [`watch::WATCH_SECONDS`] and carry bookmarks, so a healthy one is never this
/// quiet; without a limit, a watch stream that stalls half-way would leave the dashboard
/// showing old figures, silently, for as long as the connection stays open.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(75);

/// Paydeck's settings on a client's configuration. kube-rs would retry a 429 or 503 inside
/// the client up to 15 times, backing off towards 1000 s, so a watch or an edit could wait
/// minutes without a word. Paydeck shows such answers at once (on the banner, as the edit's
/// result) and retries on its own terms (watches back off to at most 4 s). Connections that
/// go silent for [`SILENCE_LIMIT`] are dropped.
pub fn without_hidden_retries(mut config: Config) -> Config {
    config.default_retry = false;
    config.read_timeout = Some(SILENCE_LIMIT);
    config
}

impl Connected {
    /// A connection to a real cluster, called `name` where its kubeconfig context says.
    fn to(config: Config, name: Option<String>) -> anyhow::Result<Self> {
        let config = without_hidden_retries(config);
        let description = config.cluster_url.to_string();
        Ok(Connected {
            client: Client::try_from(config.clone())?,
            config,
            description,
            name: name.unwrap_or_else(|| crate::history::DEFAULT_CLUSTER.to_string()),
            simulator: None,
            demo_users: Vec::new(),
        })
    }
}

/// The live picture: the latest snapshot, and the watch state behind it.
#[derive(Clone)]
pub struct ClusterView {
    snapshots: channel::Receiver<Arc<Snapshot>>,
    pub watch_state: Arc<WatchState>,
}

impl ClusterView {
    /// A view with no cluster behind it (tests of parts that do not need one).
    pub fn disconnected() -> Self {
        let snapshot = Snapshot {
            connection: Connection { cluster: "not connected".into(), ..Connection::default() },
            ..Snapshot::default()
        };
        // The sender goes at once: the receiver keeps the value and simply never changes.
        let (_, rx) = channel::channel(Arc::new(snapshot));
        ClusterView { snapshots: rx, watch_state: Arc::new(WatchState::default()) }
    }

    pub fn current(&self) -> Arc<Snapshot> {
        self.snapshots.borrow().clone()
    }

    /// A receiver that wakes on every new snapshot.
    pub fn subscribe(&self) -> channel::Receiver<Arc<Snapshot>> {
        self.snapshots.clone()
    }

    /// Resolves once every watch has listed its kind completely.
    pub async fn synced(&self) {
        let mut rx = self.subscribe();
        let _ = rx.wait_for(|s| s.connection.synced).await;
    }
}

impl domain::ports::ClusterSource for ClusterView {
    fn overview(&self, namespace: Option<&str>) -> app::dto::Overview {
        self.current().overview(namespace)
    }

    fn workloads(
        &self,
        query: &app::dto::WorkloadQuery,
    ) -> Result<app::dto::WorkloadPage, domain::query::QueryError> {
        self.current().query(query)
    }

    fn workload(&self, namespace: &str, name: &str) -> Option<app::dto::Workload> {
        self.current().workload(namespace, name).cloned()
    }

    fn platform_now(&self, namespace: Option<&str>) -> app::dto::Platform {
        let snapshot = self.current();
        let in_scope =
            snapshot.workloads.iter().map(|w| &**w).filter(|w| namespace.is_none_or(|n| n == w.namespace));
        app::dto::Platform {
            from_ms: snapshot.taken_at_ms,
            to_ms: snapshot.taken_at_ms,
            points: vec![app::dto::PlatformPoint::of(snapshot.taken_at_ms, in_scope)],
            cpu_allocatable: snapshot.totals.cpu.allocatable,
            memory_allocatable: snapshot.totals.memory.allocatable,
            recorded: false,
        }
    }
}

/// How long to gather changes before building a snapshot: a scale-up touches many objects at
/// once, and one snapshot for all of them is cheaper and calmer for the UI.
const DEBOUNCE: Duration = Duration::from_millis(100);

/// How long the first snapshot and metrics poll wait for the first lists (see
/// [`watch::WatchState::first_lists_over`]) before they go ahead with what has arrived.
const FIRST_LISTS_PATIENCE: Duration = Duration::from_secs(10);

/// Starts watching and publishing snapshots.
pub fn start(client: Client, description: String, scope: &Scope, metrics_interval: Duration) -> ClusterView {
    let changed = Arc::new(Notify::new());
    let (stores, watch_state) = watch::start(&client, scope, &changed);
    let hold_until = tokio::time::Instant::now() + FIRST_LISTS_PATIENCE;
    let usage = usage::start(
        client,
        stores.clone(),
        metrics_interval,
        changed.clone(),
        watch_state.clone(),
        hold_until,
    );
    let initial = Snapshot {
        connection: Connection { cluster: description.clone(), ..Connection::default() },
        ..Snapshot::default()
    };
    let (tx, rx) = channel::channel(Arc::new(initial));
    let state = watch_state.clone();
    tokio::spawn(async move {
        let mut version = 0;
        let mut was_synced = false;
        let mut pause = DEBOUNCE;
        let mut builder = Some(snapshot::Builder::default());
        let mut holding = true;
        loop {
            changed.notified().await;
            // While the first lists come in, a snapshot of half a cluster shows false
            // figures (Deployments without their pods read as not ready), and at 100,000
            // pods building it takes the CPU the lists need: wait for them.
            while holding && state.awaiting_first_lists(hold_until) {
                let _ = tokio::time::timeout_at(hold_until, changed.notified()).await;
            }
            // The first snapshot is built as soon as the lists are in: nothing is gained by
            // gathering more changes, and the page is waiting for it.
            if !std::mem::take(&mut holding) {
                tokio::time::sleep(pause).await;
            }
            let (usage, usage_problems) = usage.borrow().clone();
            let mut problems = state.problems(usage.answered_at);
            problems.extend(usage_problems);
            let connection = Connection {
                cluster: description.clone(),
                synced: state.synced(),
                reachable: !state.unreachable(usage.answered_at),
                metrics_available: usage.metrics_available,
                problems,
            };
            let objects = stores.objects();
            let started = std::time::Instant::now();
            // Only this task sends, so the published snapshot is the last one built or one
            // equal to it: the builder's reference, and what the new one is compared with.
            let previous = tx.borrow().clone();
            let last = previous.clone();
            let mut taken = builder.take().unwrap_or_default();
            // Thousands of workloads take a while: off the threads that read the watches.
            let built = tokio::task::spawn_blocking(move || {
                let at = crate::clock::unix_ms();
                let next = taken.build(&objects, &usage, connection, version, at, &last);
                (next, taken)
            })
            .await;
            // Under steady churn the next change is already waiting: rest as long as the
            // build took, so building takes at most half a core and each snapshot gathers
            // the changes of that time.
            pause = DEBOUNCE.max(started.elapsed());
            let mut next = match built {
                Ok((next, taken)) => {
                    tracing::debug!(
                        workloads = next.workloads.len(),
                        rebuilt = taken.rebuilt,
                        seconds = started.elapsed().as_secs_f64(),
                        "snapshot built"
                    );
                    builder = Some(taken);
                    next
                }
                Err(e) => {
                    // The picture would silently stop changing; say so where operators look.
                    tracing::error!("building the cluster snapshot failed; live figures stop here: {e}");
                    return;
                }
            };
            let same = next.same_workloads(&previous)
                && next.totals == previous.totals
                && next.connection == previous.connection;
            if same {
                continue;
            }
            version += 1;
            next.version = version;
            let synced = next.connection.synced;
            if tx.send(Arc::new(next)).is_err() {
                return;
            }
            if synced && !was_synced {
                crate::memory::return_freed_memory();
            }
            was_synced = synced;
        }
    });
    ClusterView { snapshots: rx, watch_state }
}
