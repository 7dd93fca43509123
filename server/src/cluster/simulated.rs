//! `--cluster sim`: the simulated payment cluster, started in this process and reached over
//! HTTPS with an ordinary kube-rs client, as a real cluster is. Only here does the server
//! touch the simulator; a build without the `sim` feature says so instead.

use std::path::Path;

use super::{Connected, SimProfile};

/// The simulator's platform for `profile`.
#[cfg(feature = "sim")]
fn sim_profile(profile: SimProfile) -> sim::Profile {
    match profile {
        SimProfile::Demo => sim::Profile::Demo,
        SimProfile::Large => sim::Profile::Large,
        SimProfile::Huge => sim::Profile::Huge,
    }
}

#[cfg(feature = "sim")]
pub async fn start(
    profile: SimProfile,
    seed: u64,
    speed: f64,
    start_ms: Option<i64>,
    kubeconfig_out: &Path,
) -> anyhow::Result<Connected> {
    use anyhow::Context;
    use kube::{
        Client, Config,
        config::{KubeConfigOptions, Kubeconfig},
    };

    let profile = sim_profile(profile);
    // A pinned start or another speed moves Paydeck's clock with the simulated one: the
    // cluster's timestamps, the samples, the generated past and plans' windows then agree on
    // what time it is.
    if start_ms.is_some() || speed != 1.0 {
        let start = start_ms.unwrap_or_else(crate::clock::unix_ms);
        crate::clock::run_at(start, speed);
    }
    let cluster = sim::Cluster::new(&sim::Options {
        profile,
        seed,
        speed: Some(speed),
        start: start_ms.map(|ms| ms as u64),
        ..sim::Options::default()
    });
    let server = cluster.serve("127.0.0.1:0".parse()?).await.context("cannot start the simulated cluster")?;
    server.write_kubeconfig(kubeconfig_out).with_context(|| {
        format!("cannot write the simulator's kubeconfig to {}", kubeconfig_out.display())
    })?;
    let kubeconfig = Kubeconfig::from_yaml(&server.kubeconfig(sim::auth::DASHBOARD_TOKEN))?;
    let config = super::without_hidden_retries(
        Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?,
    );
    let description =
        format!("simulated cluster at {} (kubeconfig: {})", server.url(), kubeconfig_out.display());
    Ok(Connected {
        client: Client::try_from(config.clone())?,
        config,
        description,
        name: crate::history::DEFAULT_CLUSTER.to_string(),
        simulator: Some(Box::new(server)),
        demo_users: sim::auth::DEMO_USERS.iter().map(|(u, g)| (u.to_string(), g.to_string())).collect(),
    })
}

#[cfg(not(feature = "sim"))]
pub async fn record_history(
    _: &dyn crate::store::HistoryStore,
    _: SimProfile,
    _: u64,
    _: std::time::Duration,
) -> anyhow::Result<usize> {
    anyhow::bail!("this Paydeck was built without the simulated cluster (cargo feature `sim`)")
}

#[cfg(not(feature = "sim"))]
pub async fn start(_: SimProfile, _: u64, _: f64, _: Option<i64>, _: &Path) -> anyhow::Result<Connected> {
    anyhow::bail!(
        "this Paydeck was built without the simulated cluster (cargo feature `sim`): use --kubeconfig or run in a cluster"
    )
}

/// `--sim-history`: a past for the simulated cluster, so charts, the what-if and the advisor
/// have history on a first run. A second simulated cluster — same platform, same seed, a
/// clock the loop moves — runs from `span` ago to now; every 15 s (the HPA controller's
/// period) its objects and usage are read as its API would serve them, built into a snapshot
/// as live ones are, and written through the same history code as live samples (scale and
/// HPA changes become events). It is read in-process, not over its API, so that days of
/// past take seconds: this is a generated past, not a cluster Paydeck governs. Returns the
/// samples written.
#[cfg(feature = "sim")]
pub async fn record_history(
    history: &dyn crate::store::HistoryStore,
    profile: SimProfile,
    seed: u64,
    span: std::time::Duration,
) -> anyhow::Result<usize> {
    use std::time::{Duration, Instant};

    const STEP: std::time::Duration = std::time::Duration::from_secs(15);
    let now = crate::clock::unix_ms();
    let start = (now - span.as_millis() as i64).div_euclid(15_000) * 15_000;
    let profile = sim_profile(profile);
    let cluster = sim::Cluster::new(&sim::Options {
        profile,
        seed,
        speed: None,
        start: Some(start as u64),
        // Five-second steps: a fifth of the work of the live cluster's one-second steps, the
        // HPA controller still at its 15-s period.
        step_ms: 5_000,
        // Nobody watches this cluster: keep no changes for watches to resume from.
        watch_history: 1,
        ..sim::Options::default()
    });
    // Three stages, so both cores work: the model (read its world, step it), snapshots
    // (built from what was read, turned into figures and events), and the writer here.
    let (worlds, served) = std::sync::mpsc::sync_channel::<(i64, Served)>(32);
    let (hours, mut written_hours) = tokio::sync::mpsc::channel::<PastHour>(2);
    let model = tokio::task::spawn_blocking(move || -> anyhow::Result<(Duration, i64)> {
        let mut spent = Duration::ZERO;
        let mut at = start;
        // Up to the wall clock as it is when the model gets there: the minute or so spent
        // generating is generated too, so no gap opens before live samples begin.
        while at < crate::clock::unix_ms() {
            let t = Instant::now();
            if worlds.send((at, Served::take(&cluster))).is_err() {
                break; // A later stage failed; its error is the one reported.
            }
            cluster.advance(STEP);
            spent += t.elapsed();
            at += STEP.as_millis() as i64;
        }
        Ok((spent, at))
    });
    let snapshots = tokio::task::spawn_blocking(move || -> anyhow::Result<Duration> {
        let mut spent = Duration::ZERO;
        let mut reader = WorldReader::new();
        let mut past = PastBuilder::default();
        for (at, served) in served {
            let t = Instant::now();
            let (objects, usage) = reader.read(&served)?;
            let full = past.add(at, &objects, &usage);
            spent += t.elapsed();
            if full && hours.blocking_send(past.take_hour()).is_err() {
                return Ok(spent); // The writer failed; its error is the one reported.
            }
        }
        if past.has_steps() {
            let _ = hours.blocking_send(past.take_hour());
        }
        Ok(spent)
    });
    let mut written = 0;
    let mut write = Duration::ZERO;
    while let Some(hour) = written_hours.recv().await {
        let t = Instant::now();
        let result = history.write_steps(&hour.steps, &hour.events).await;
        write += t.elapsed();
        // Dropping the receiver stops the stages before it.
        result?;
        written += hour.steps.samples();
    }
    let build = snapshots.await??;
    let (model, until) = model.await??;
    tracing::info!(
        model_s = model.as_secs_f64(),
        snapshots_s = build.as_secs_f64(),
        writes_s = write.as_secs_f64(),
        "simulated history: where the time went (three stages side by side)"
    );
    history.maintain(crate::clock::unix_ms()).await?;
    history.mark_simulated_until(until).await?;
    Ok(written)
}

/// Steps written per transaction: an hour of 15-s steps.
#[cfg(feature = "sim")]
const STEPS_PER_WRITE: usize = 240;

/// An hour of a generated past: every workload's figures at every step, and the events
/// between them.
#[cfg(feature = "sim")]
#[derive(Default)]
struct PastHour {
    steps: crate::history::Steps,
    events: Vec<crate::history::PastEvent>,
}

/// The workloads of a generated past, each numbered once ([`crate::history::Steps`] names
/// them by number). A snapshot lists them in the same order step after step, so the number
/// at the same position is tried first and names are cloned only for a new workload.
#[cfg(feature = "sim")]
#[derive(Default)]
struct Names {
    names: Vec<(String, String)>,
    index: std::collections::HashMap<(String, String), usize>,
    at_position: Vec<usize>,
}

#[cfg(feature = "sim")]
impl Names {
    fn index(&mut self, position: usize, w: &app::dto::Workload) -> usize {
        if let Some(&i) = self.at_position.get(position)
            && self.names[i].0 == w.namespace
            && self.names[i].1 == w.name
        {
            return i;
        }
        let key = (w.namespace.clone(), w.name.clone());
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                self.names.push(key.clone());
                self.index.insert(key, self.names.len() - 1);
                self.names.len() - 1
            }
        };
        if position < self.at_position.len() {
            self.at_position[position] = i;
        } else {
            self.at_position.push(i);
        }
        i
    }
}

/// Turns what the model served, step after step, into hours of figures and events: each
/// step built into a snapshot as a live one is, compared with the step before.
#[cfg(feature = "sim")]
#[derive(Default)]
struct PastBuilder {
    previous: Option<super::snapshot::Snapshot>,
    names: Names,
    hour: PastHour,
}

#[cfg(feature = "sim")]
impl PastBuilder {
    /// Adds the step at `at`; true when the hour is full.
    fn add(&mut self, at: i64, objects: &super::snapshot::Objects, usage: &super::snapshot::Usage) -> bool {
        use super::snapshot;
        use crate::history::{Figures, PastEvent};

        let connection = snapshot::Connection { synced: true, reachable: true, ..Default::default() };
        let next = snapshot::build(objects, usage, connection, 0, at);
        let mut step = Vec::with_capacity(next.workloads.len());
        for (position, w) in next.workloads.iter().enumerate() {
            let old = self.previous.as_ref().and_then(|p| p.workload(&w.namespace, &w.name));
            if let Some(old) = old {
                for (kind, message) in crate::history::events::changes(old, w) {
                    let (namespace, name) = (w.namespace.clone(), w.name.clone());
                    self.hour.events.push(PastEvent { namespace, name, at_ms: at, kind, message });
                }
            }
            let i = self.names.index(position, w);
            // The readings and scales of the past, at their own times, as live ones are taken.
            let (reading, decision) = crate::history::observed::news(old, w);
            self.hour.steps.readings.extend(reading.map(|r| (i, r)));
            self.hour.steps.decisions.extend(decision.map(|d| (i, d)));
            step.push((i, Figures::of(w)));
        }
        self.hour.steps.steps.push((at, step));
        self.previous = Some(next);
        self.hour.steps.steps.len() == STEPS_PER_WRITE
    }

    fn has_steps(&self) -> bool {
        !self.hour.steps.steps.is_empty()
    }

    /// The hour so far, with every workload's name; the next one starts empty.
    fn take_hour(&mut self) -> PastHour {
        let mut hour = std::mem::take(&mut self.hour);
        hour.steps.workloads = self.names.names.clone();
        hour
    }
}

/// What the model stage takes from the simulated world at a step, under its lock: handles
/// on the objects' JSON (cheap to clone) and the usage figures. Read into types on the
/// snapshot stage ([`WorldReader`]), so the model stage does little besides stepping.
#[cfg(feature = "sim")]
struct Served {
    deployments: Vec<sim::store::Object>,
    autoscalers: Vec<sim::store::Object>,
    /// Each pod, its request rate (custom metrics) and its metrics-server reading.
    pods: Vec<(sim::store::Object, Option<sim::model::Usage>, Option<sim::model::metrics_server::Reading>)>,
    nodes: Vec<sim::store::Object>,
    node_usage: std::collections::HashMap<String, sim::model::Usage>,
}

#[cfg(feature = "sim")]
impl Served {
    fn take(cluster: &sim::Cluster) -> Self {
        use sim::resources::{DEPLOYMENTS, HPAS, NODES, PODS};

        let world = cluster.lock();
        let all = |rt| world.store.list(rt, None, None).map(|(_, json)| json.clone()).collect();
        Served {
            deployments: all(&DEPLOYMENTS),
            autoscalers: all(&HPAS),
            pods: world
                .store
                .list(&PODS, None, None)
                .map(|(key, json)| {
                    (json.clone(), world.model.pod_usage_by_key(key), world.model.pod_metrics(key))
                })
                .collect(),
            nodes: all(&NODES),
            node_usage: world.model.node_usage(),
        }
    }
}

/// Objects read from the simulated cluster's JSON, kept by the address of that JSON: the
/// store replaces an object's JSON when it changes, so an object whose address is the same
/// (most pods, every node, most of the time) is not read again. The cache holds the JSON,
/// so an address is not reused while it is in the cache.
#[cfg(feature = "sim")]
struct Typed<T> {
    read: std::collections::HashMap<usize, (sim::store::Object, std::sync::Arc<T>)>,
}

#[cfg(feature = "sim")]
impl<T: serde::de::DeserializeOwned> Typed<T> {
    fn new() -> Self {
        Typed { read: Default::default() }
    }

    /// Every object of a list, typed, in its order.
    fn all<'a>(
        &mut self,
        objects: impl ExactSizeIterator<Item = &'a sim::store::Object>,
    ) -> anyhow::Result<Vec<std::sync::Arc<T>>> {
        let mut next = std::collections::HashMap::with_capacity(objects.len());
        let mut out = Vec::with_capacity(objects.len());
        for json in objects {
            let address = std::sync::Arc::as_ptr(json) as usize;
            let typed = match self.read.remove(&address) {
                Some((_, typed)) => typed,
                None => std::sync::Arc::new(T::deserialize(&**json)?),
            };
            out.push(typed.clone());
            next.insert(address, (json.clone(), typed));
        }
        self.read = next;
        Ok(out)
    }
}

/// Reads what the simulated cluster served into the types its API's clients read, step
/// after step.
#[cfg(feature = "sim")]
struct WorldReader {
    deployments: Typed<super::views::DeploymentView>,
    autoscalers: Typed<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler>,
    pods: Typed<super::pod::Pod>,
    nodes: Typed<k8s_openapi::api::core::v1::Node>,
}

#[cfg(feature = "sim")]
impl WorldReader {
    fn new() -> Self {
        WorldReader {
            deployments: Typed::new(),
            autoscalers: Typed::new(),
            pods: Typed::new(),
            nodes: Typed::new(),
        }
    }

    /// The objects and usage as the API and metrics APIs would serve them (the same JSON,
    /// read into the same types).
    fn read(
        &mut self,
        served: &Served,
    ) -> anyhow::Result<(super::snapshot::Objects, super::snapshot::Usage)> {
        let objects = super::snapshot::Objects {
            deployments: self.deployments.all(served.deployments.iter())?,
            autoscalers: self.autoscalers.all(served.autoscalers.iter())?,
            pods: self.pods.all(served.pods.iter().map(|(json, _, _)| json))?,
            nodes: self.nodes.all(served.nodes.iter())?,
            ..Default::default()
        };
        let mut usage =
            super::snapshot::Usage { metrics_available: true, rates_available: true, ..Default::default() };
        for (pod, (_, u, reading)) in objects.pods.iter().zip(&served.pods) {
            if let Some(u) = u {
                usage.request_rates.insert(&pod.namespace, &pod.name, u.requests_per_sec);
            }
            // As the metrics API serves it (one container a pod in the simulated platform):
            // CPU in nano-cores, memory in kibibytes, the scrape's time and window.
            if let Some(r) = reading {
                let cpu_millis = domain::quantity::cpu_millis_as_read(r.cpu_cores);
                let reading = super::snapshot::PodUsage {
                    cpu_cores: (r.cpu_cores * 1e9).round() / 1e9,
                    memory_bytes: domain::quantity::memory_bytes_as_read(r.memory_bytes) as f64,
                    cpu_millis,
                    at_ms: r.at_ms as i64,
                    window_ms: r.window_ms as i64,
                };
                usage.pods.insert(&pod.namespace, &pod.name, reading);
            }
        }
        for (node, u) in &served.node_usage {
            usage.nodes.insert(node.clone(), (u.cpu_cores, u.memory_bytes));
        }
        Ok((objects, usage))
    }
}
