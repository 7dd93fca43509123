//! `--cluster sim`: the simulated payment cluster, started in this process and reached over
//! HTTPS with an ordinary kube-rs client, as a real cluster is. Only here does the server
//! touch the simulator; a build without the `sim` feature says so instead.

use std::path::Path;

use super::{Connected, SimProfile};

#[cfg(feature = "sim")]
pub async fn start(
    profile: SimProfile,
    seed: u64,
    speed: f64,
    kubeconfig_out: &Path,
) -> anyhow::Result<Connected> {
    use anyhow::Context;
    use kube::{
        Client, Config,
        config::{KubeConfigOptions, Kubeconfig},
    };

    let profile = match profile {
        SimProfile::Demo => sim::Profile::Demo,
        SimProfile::Large => sim::Profile::Large,
    };
    let cluster =
        sim::Cluster::new(&sim::Options { profile, seed, speed: Some(speed), ..sim::Options::default() });
    let server = cluster.serve("127.0.0.1:0".parse()?).await.context("cannot start the simulated cluster")?;
    server.write_kubeconfig(kubeconfig_out).with_context(|| {
        format!("cannot write the simulator's kubeconfig to {}", kubeconfig_out.display())
    })?;
    let kubeconfig = Kubeconfig::from_yaml(&server.kubeconfig(sim::auth::DASHBOARD_TOKEN))?;
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    let description =
        format!("simulated cluster at {} (kubeconfig: {})", server.url(), kubeconfig_out.display());
    Ok(Connected {
        client: Client::try_from(config.clone())?,
        config,
        description,
        simulator: Some(Box::new(server)),
        demo_users: sim::auth::DEMO_USERS.iter().map(|(u, g)| (u.to_string(), g.to_string())).collect(),
    })
}

#[cfg(not(feature = "sim"))]
pub async fn record_history(
    _: &crate::history::History,
    _: SimProfile,
    _: u64,
    _: std::time::Duration,
) -> anyhow::Result<usize> {
    anyhow::bail!("this Paydeck was built without the simulated cluster (cargo feature `sim`)")
}

#[cfg(not(feature = "sim"))]
pub async fn start(_: SimProfile, _: u64, _: f64, _: &Path) -> anyhow::Result<Connected> {
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
    history: &crate::history::History,
    profile: SimProfile,
    seed: u64,
    span: std::time::Duration,
) -> anyhow::Result<usize> {
    use std::{
        collections::HashMap,
        time::{Duration, Instant},
    };

    use super::snapshot;
    use crate::history::PastEvent;

    const STEP: std::time::Duration = std::time::Duration::from_secs(15);
    let now = crate::clock::unix_ms();
    let start = (now - span.as_millis() as i64).div_euclid(15_000) * 15_000;
    let profile = match profile {
        SimProfile::Demo => sim::Profile::Demo,
        SimProfile::Large => sim::Profile::Large,
    };
    let cluster = sim::Cluster::new(&sim::Options {
        profile,
        seed,
        speed: None,
        start: Some(start as u64),
        // Five-second steps: a fifth of the work of the live cluster's one-second steps, the
        // HPA controller still at its 15-s period.
        step_ms: 5_000,
        ..sim::Options::default()
    });
    // The model runs on a blocking thread while the writer commits the hour before: two
    // cores, two halves of the work.
    let (send, mut receive) = tokio::sync::mpsc::channel::<PastHour>(2);
    let model = tokio::task::spawn_blocking(move || -> anyhow::Result<(Duration, Duration, i64)> {
        let (mut model, mut build) = (Duration::ZERO, Duration::ZERO);
        let mut previous: HashMap<(String, String), app::dto::Workload> = HashMap::new();
        let mut hour = PastHour::default();
        let mut reader = WorldReader::new();
        let mut at = start;
        // Up to the wall clock as it is when the model gets there: the minute or so spent
        // generating is generated too, so no gap opens before live samples begin.
        while at < crate::clock::unix_ms() {
            let t0 = Instant::now();
            let (objects, usage) = reader.read(&cluster)?;
            let connection = snapshot::Connection { synced: true, reachable: true, ..Default::default() };
            let next = snapshot::build(&objects, &usage, connection, 0, at);
            for w in &next.workloads {
                let key = (w.namespace.clone(), w.name.clone());
                if let Some(old) = previous.get(&key) {
                    for (kind, message) in crate::history::sampler::changes(old, w) {
                        let (namespace, name) = key.clone();
                        hour.events.push(PastEvent { namespace, name, at_ms: at, kind, message });
                    }
                }
                previous.insert(key, w.clone());
            }
            hour.steps.push((at, next.workloads));
            let t1 = Instant::now();
            build += t1 - t0;
            cluster.advance(STEP);
            model += t1.elapsed();
            at += STEP.as_millis() as i64;
            if hour.steps.len() == STEPS_PER_WRITE && send.blocking_send(std::mem::take(&mut hour)).is_err() {
                break; // The writer failed; its error is the one reported.
            }
        }
        if !hour.steps.is_empty() {
            let _ = send.blocking_send(hour);
        }
        Ok((model, build, at))
    });
    let mut written = 0;
    let mut write = Duration::ZERO;
    while let Some(hour) = receive.recv().await {
        let t = Instant::now();
        let steps: Vec<(i64, &[app::dto::Workload])> =
            hour.steps.iter().map(|(at, w)| (*at, w.as_slice())).collect();
        let result = history.write_steps(&steps, &hour.events).await;
        write += t.elapsed();
        // Dropping the receiver stops the model at its next hour.
        result?;
        written += hour.steps.iter().map(|(_, w)| w.len()).sum::<usize>();
    }
    let (model, build, until) = model.await??;
    tracing::info!(
        model_s = model.as_secs_f64(),
        snapshots_s = build.as_secs_f64(),
        writes_s = write.as_secs_f64(),
        "simulated history: where the time went (model and snapshots run beside the writes)"
    );
    history.maintain(crate::clock::unix_ms()).await?;
    history.mark_simulated_until(until).await?;
    Ok(written)
}

/// Steps written per transaction: an hour of 15-s steps.
#[cfg(feature = "sim")]
const STEPS_PER_WRITE: usize = 240;

/// An hour of a generated past: every workload at every step, and the events between them.
#[cfg(feature = "sim")]
#[derive(Default)]
struct PastHour {
    steps: Vec<(i64, Vec<app::dto::Workload>)>,
    events: Vec<crate::history::PastEvent>,
}

/// Objects read from the simulated cluster's store, kept by the store's own handle on their
/// JSON: an object whose JSON did not change (most pods, every node, most of the time) is
/// not read again.
#[cfg(feature = "sim")]
struct Typed<T> {
    read: std::collections::HashMap<sim::store::Key, (sim::store::Object, std::sync::Arc<T>)>,
}

#[cfg(feature = "sim")]
impl<T: serde::de::DeserializeOwned> Typed<T> {
    fn new() -> Self {
        Typed { read: Default::default() }
    }

    /// Every object of `rt` now, in the store's order.
    fn all(
        &mut self,
        world: &sim::cluster::World,
        rt: &sim::resources::ResourceType,
    ) -> anyhow::Result<Vec<std::sync::Arc<T>>> {
        let mut next = std::collections::HashMap::with_capacity(self.read.len());
        let mut out = Vec::with_capacity(self.read.len());
        for (key, json) in world.store.list(rt, None, None) {
            let typed = match self.read.remove(key) {
                Some((seen, typed)) if std::sync::Arc::ptr_eq(&seen, json) => typed,
                _ => std::sync::Arc::new(T::deserialize(&**json)?),
            };
            out.push(typed.clone());
            next.insert(key.clone(), (json.clone(), typed));
        }
        self.read = next;
        Ok(out)
    }
}

/// Reads the simulated cluster as its API would serve it, step after step.
#[cfg(feature = "sim")]
struct WorldReader {
    deployments: Typed<k8s_openapi::api::apps::v1::Deployment>,
    autoscalers: Typed<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler>,
    pods: Typed<super::pod::PodView>,
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

    /// The simulated cluster's objects and usage now, as its API and metrics APIs would
    /// serve them (the same JSON, read into the same types).
    fn read(
        &mut self,
        cluster: &sim::Cluster,
    ) -> anyhow::Result<(super::snapshot::Objects, super::snapshot::Usage)> {
        use sim::resources::{DEPLOYMENTS, HPAS, NODES, PODS};

        let world = cluster.lock();
        let objects = super::snapshot::Objects {
            deployments: self.deployments.all(&world, &DEPLOYMENTS)?,
            autoscalers: self.autoscalers.all(&world, &HPAS)?,
            pods: self.pods.all(&world, &PODS)?,
            nodes: self.nodes.all(&world, &NODES)?,
            ..Default::default()
        };
        let mut usage =
            super::snapshot::Usage { metrics_available: true, rates_available: true, ..Default::default() };
        for ((ns, name), _) in world.store.list(&PODS, None, None) {
            if let Some(u) = world.model.pod_usage(ns, name) {
                usage.pods.insert((ns.clone(), name.clone()), (u.cpu_cores, u.memory_bytes));
                usage.request_rates.insert((ns.clone(), name.clone()), u.requests_per_sec);
            }
        }
        for (node, u) in world.model.node_usage() {
            usage.nodes.insert(node, (u.cpu_cores, u.memory_bytes));
        }
        Ok((objects, usage))
    }
}
