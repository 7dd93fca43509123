//! `paydeck-sim`: the simulated payment cluster on a loopback port, for `kubectl` and demos.

use std::{net::SocketAddr, path::PathBuf};

use clap::Parser;
use sim::{Cluster, Options, Profile};

/// Serve a simulated payment cluster's Kubernetes API.
#[derive(Debug, Parser)]
#[command(name = "paydeck-sim", version, about)]
struct Args {
    /// Address to serve the API on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Write a kubeconfig with admin credentials here.
    #[arg(long)]
    write_kubeconfig: Option<PathBuf>,
    /// Which platform to simulate.
    #[arg(long, value_enum, default_value = "demo")]
    profile: Profile,
    /// Seed for traffic noise: the same seed gives the same cluster.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
    speed: f64,
    /// Keep the node count fixed: pods that do not fit stay Pending.
    #[arg(long)]
    no_cluster_autoscaler: bool,
}

fn parse_speed(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x <= 3600.0 => Ok(x),
        _ => Err(format!("speed must be a number above 0 and at most 3600, got {s}")),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let options =
        Options { profile: args.profile, seed: args.seed, speed: Some(args.speed), ..Options::default() };
    let cluster = Cluster::new(&options);
    let server = cluster.serve(args.listen).await?;
    if let Some(path) = &args.write_kubeconfig {
        server.write_kubeconfig(path)?;
        println!("kubeconfig written to {}", path.display());
    }
    println!("simulated cluster serving on {}", server.url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
