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
pub async fn start(_: SimProfile, _: u64, _: f64, _: &Path) -> anyhow::Result<Connected> {
    anyhow::bail!(
        "this Paydeck was built without the simulated cluster (cargo feature `sim`): use --kubeconfig or run in a cluster"
    )
}
