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
    use super::snapshot;

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
        ..sim::Options::default()
    });
    let mut previous: Option<snapshot::Snapshot> = None;
    let mut written = 0;
    let mut at = start;
    while at < now {
        let (objects, usage) = read_world(&cluster)?;
        let connection = snapshot::Connection { synced: true, reachable: true, ..Default::default() };
        let next = snapshot::build(&objects, &usage, connection, 0, at);
        history.write_samples(at, &next.workloads).await?;
        written += next.workloads.len();
        if let Some(before) = &previous {
            for w in &next.workloads {
                let Some(old) = before.workload(&w.namespace, &w.name) else { continue };
                for (kind, message) in crate::history::sampler::changes(old, w) {
                    history.write_event(&w.namespace, &w.name, at, kind, &message).await?;
                }
            }
        }
        previous = Some(next);
        cluster.advance(STEP);
        at += STEP.as_millis() as i64;
    }
    history.maintain(now).await?;
    history.mark_simulated_until(at).await?;
    Ok(written)
}

/// The simulated cluster's objects and usage now, as its API and metrics APIs would serve
/// them (the same JSON, read into the same types).
#[cfg(feature = "sim")]
fn read_world(cluster: &sim::Cluster) -> anyhow::Result<(super::snapshot::Objects, super::snapshot::Usage)> {
    use std::sync::Arc;

    use serde::de::DeserializeOwned;
    use sim::resources::{DEPLOYMENTS, HPAS, NODES, PODS};

    let world = cluster.lock();
    fn all<T: DeserializeOwned>(
        world: &sim::cluster::World,
        rt: &sim::resources::ResourceType,
    ) -> anyhow::Result<Vec<Arc<T>>> {
        world.store.list(rt, None, None).map(|(_, v)| Ok(Arc::new(T::deserialize(&**v)?))).collect()
    }
    let objects = super::snapshot::Objects {
        deployments: all(&world, &DEPLOYMENTS)?,
        autoscalers: all(&world, &HPAS)?,
        pods: all(&world, &PODS)?,
        nodes: all(&world, &NODES)?,
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
