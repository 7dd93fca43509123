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

/// `--sim-history`: a past for the simulated cluster, so charts and the what-if have history
/// on a first run. A second simulated cluster — same platform, same seed, a clock the loop
/// moves — runs from `span` ago to now and is read through its Kubernetes API every 15 s, the
/// HPA controller's period, as Paydeck reads a cluster; each reading becomes a history sample
/// (and scale or HPA changes become events). Returns the samples written.
#[cfg(feature = "sim")]
pub async fn record_history(
    history: &crate::history::History,
    profile: SimProfile,
    seed: u64,
    span: std::time::Duration,
) -> anyhow::Result<usize> {
    use std::sync::Arc;

    use anyhow::Context;
    use k8s_openapi::api::{apps::v1::Deployment, autoscaling::v2::HorizontalPodAutoscaler, core::v1::Node};
    use kube::{
        Api, Client, Config,
        api::ListParams,
        config::{KubeConfigOptions, Kubeconfig},
    };

    use super::{pod::PodView, snapshot, usage};

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
    let server = cluster.serve("127.0.0.1:0".parse()?).await.context("cannot start the simulated cluster")?;
    let kubeconfig = Kubeconfig::from_yaml(&server.kubeconfig(sim::auth::DASHBOARD_TOKEN))?;
    let client =
        Client::try_from(Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?)?;
    let all = ListParams::default();
    let mut previous: Option<snapshot::Snapshot> = None;
    let mut written = 0;
    let mut at = start;
    while at < now {
        let objects = snapshot::Objects {
            deployments: Api::<Deployment>::all(client.clone())
                .list(&all)
                .await?
                .items
                .into_iter()
                .map(Arc::new)
                .collect(),
            autoscalers: Api::<HorizontalPodAutoscaler>::all(client.clone())
                .list(&all)
                .await?
                .items
                .into_iter()
                .map(Arc::new)
                .collect(),
            pods: Api::<PodView>::all(client.clone())
                .list(&all)
                .await?
                .items
                .into_iter()
                .map(Arc::new)
                .collect(),
            nodes: Api::<Node>::all(client.clone())
                .list(&all)
                .await?
                .items
                .into_iter()
                .map(Arc::new)
                .collect(),
            ..snapshot::Objects::default()
        };
        let namespaces: Vec<String> = {
            let mut ns: Vec<String> =
                objects.deployments.iter().filter_map(|d| d.metadata.namespace.clone()).collect();
            ns.sort();
            ns.dedup();
            ns
        };
        let (polled, _) = usage::poll(&client, &namespaces).await;
        let connection = snapshot::Connection { synced: true, reachable: true, ..Default::default() };
        let next = snapshot::build(&objects, &polled, connection, 0, at);
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
    Ok(written)
}
