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
    /// When the simulated clock starts (UTC, e.g. 2026-11-26T09:00:00Z); now when not given.
    /// The traffic follows the time of day: a given start gives the same cluster every time.
    #[arg(long, value_parser = sim::clock::parse_start)]
    start: Option<u64>,
    /// Keep the node count fixed: pods that do not fit stay Pending.
    #[arg(long)]
    no_cluster_autoscaler: bool,
    /// Pod events a second to add by restarting containers round-robin, for benchmarks. A
    /// line `churn N` on standard input sets it while the cluster runs (`pause` and `resume`
    /// hold the whole cluster still and let it go on).
    #[arg(long, default_value_t = 0.0, value_parser = parse_churn)]
    churn: f64,
}

fn parse_churn(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if (0.0..=100_000.0).contains(&x) => Ok(x),
        _ => Err(format!("churn must be a number of pod events a second from 0 to 100000, got {s:?}")),
    }
}

/// A line on standard input while the cluster runs.
#[derive(Debug, PartialEq)]
enum Command {
    /// `churn N`: pod events a second from restarts.
    Churn(f64),
    /// `pause`: hold the cluster still (its API keeps serving); `resume`: let it go on.
    Paused(bool),
}

/// Reads one control line; `Ok(None)` for a blank one.
fn parse_command(line: &str) -> Result<Option<Command>, String> {
    let line = line.trim();
    match line {
        "" => Ok(None),
        "pause" => Ok(Some(Command::Paused(true))),
        "resume" => Ok(Some(Command::Paused(false))),
        _ => match line.strip_prefix("churn ") {
            Some(rate) => parse_churn(rate).map(|r| Some(Command::Churn(r))),
            None => Err(format!("unknown command {line:?} (known: churn N, pause, resume)")),
        },
    }
}

/// Reads control lines from standard input and answers each on stdout (when anyone still
/// reads it: a benchmark stops reading once the cluster serves).
fn control_from_stdin(cluster: sim::Cluster) {
    use std::io::Write;
    for line in std::io::stdin().lines().map_while(Result::ok) {
        let answer = match parse_command(&line) {
            Ok(Some(Command::Churn(rate))) => {
                cluster.lock().model.set_churn(rate);
                format!("churn set to {rate} pod events/s")
            }
            Ok(Some(Command::Paused(paused))) => {
                cluster.lock().model.set_paused(paused);
                (if paused { "paused" } else { "resumed" }).to_string()
            }
            Ok(None) => continue,
            Err(e) => {
                eprintln!("{e}");
                continue;
            }
        };
        let _ = writeln!(std::io::stdout(), "{answer}");
    }
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
    let options = Options {
        profile: args.profile,
        seed: args.seed,
        speed: Some(args.speed),
        start: args.start,
        cluster_autoscaler: !args.no_cluster_autoscaler,
        ..Options::default()
    };
    let cluster = Cluster::new(&options);
    cluster.lock().model.set_churn(args.churn);
    let server = cluster.serve(args.listen).await?;
    if let Some(path) = &args.write_kubeconfig {
        server.write_kubeconfig(path)?;
        println!("kubeconfig written to {}", path.display());
    }
    println!("simulated cluster serving on {}", server.url());
    let control = cluster.clone();
    std::thread::spawn(move || control_from_stdin(control));
    tokio::signal::ctrl_c().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Command, parse_churn, parse_command};

    #[test]
    fn churn_is_a_rate_of_pod_events_and_nonsense_is_refused_by_name() {
        assert_eq!(parse_churn("1000"), Ok(1000.0));
        assert_eq!(parse_churn(" 0 "), Ok(0.0));
        for bad in ["-1", "abc", "1e9", "NaN", ""] {
            let e = parse_churn(bad).unwrap_err();
            assert!(e.contains("churn must be") && e.contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn control_lines_are_read_and_unknown_ones_refused_by_name() {
        assert_eq!(parse_command("churn 1000\n"), Ok(Some(Command::Churn(1000.0))));
        assert_eq!(parse_command(" pause "), Ok(Some(Command::Paused(true))));
        assert_eq!(parse_command("resume"), Ok(Some(Command::Paused(false))));
        assert_eq!(parse_command("  "), Ok(None));
        assert!(parse_command("churn -5").unwrap_err().contains("churn must be"));
        let e = parse_command("pause now").unwrap_err();
        assert!(e.contains("unknown command \"pause now\"") && e.contains("pause, resume"), "{e}");
    }
}
