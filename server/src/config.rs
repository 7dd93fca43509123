//! Command-line flags and their environment variables.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Parser;

use crate::{
    cluster::{Scope, Source},
    history::Retention,
};

/// Paydeck: govern the scaling of payment services on Kubernetes.
#[derive(Debug, Clone, Parser)]
#[command(name = "paydeck", version, about)]
pub struct Config {
    /// Without a command, Paydeck serves.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address and port to serve the UI and API on.
    #[arg(long, env = "PAYDECK_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Folder holding the built site (pkg/, assets/, favicon). Defaults to `site/` beside the
    /// binary or its parent folder (as cargo-leptos lays it out), else `target/site`.
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<PathBuf>,

    /// Seconds a request may take before it is answered with 408.
    #[arg(long, env = "PAYDECK_REQUEST_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,

    /// Log filter, e.g. `info` or `info,paydeck=debug,tower_http=debug`.
    #[arg(long, env = "PAYDECK_LOG", default_value = "info")]
    pub log: String,

    /// `sim` runs the built-in simulated payment cluster. Without it, Paydeck uses
    /// `--kubeconfig`, else the pod's service account, else `$KUBECONFIG` / `~/.kube/config`.
    #[arg(long, env = "PAYDECK_CLUSTER", value_parser = ["sim"])]
    pub cluster: Option<String>,

    /// A kubeconfig file to connect with.
    #[arg(long, env = "PAYDECK_KUBECONFIG", conflicts_with = "cluster")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use (default: its current context).
    #[arg(long, env = "PAYDECK_CONTEXT", requires = "kubeconfig")]
    pub context: Option<String>,

    /// Watch only these namespaces (comma-separated); default: all.
    #[arg(long, env = "PAYDECK_NAMESPACES", value_delimiter = ',')]
    pub namespaces: Vec<String>,

    /// Watch only Deployments and Pods matching this label selector.
    #[arg(long, env = "PAYDECK_SELECTOR")]
    pub selector: Option<String>,

    /// Seconds between polls of the metrics APIs.
    #[arg(long, env = "PAYDECK_METRICS_INTERVAL", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub metrics_interval: u64,

    /// The history database (SQLite; created if missing).
    #[arg(long, env = "PAYDECK_DB", default_value = "data/paydeck.db", global = true)]
    pub db: PathBuf,

    /// Seconds between history samples.
    #[arg(long, env = "PAYDECK_SAMPLE_INTERVAL", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub sample_interval: u64,

    /// How long raw samples are kept before only rollups remain, e.g. `48h`, `3d`.
    #[arg(long, env = "PAYDECK_RETENTION_RAW", default_value = "48h", value_parser = parse_duration)]
    pub retention_raw: Duration,

    /// The header an auth proxy names the user in.
    #[arg(long, env = "PAYDECK_USER_HEADER", default_value = "X-Forwarded-User")]
    pub user_header: axum::http::HeaderName,

    /// The header an auth proxy lists the user's groups in (comma-separated).
    #[arg(long, env = "PAYDECK_GROUPS_HEADER", default_value = "X-Forwarded-Groups")]
    pub groups_header: axum::http::HeaderName,

    /// Addresses (IPs or CIDR ranges, comma-separated) whose user headers are believed: your
    /// auth proxy. Default: none, or loopback with `--cluster sim`.
    #[arg(long, env = "PAYDECK_TRUSTED_PROXIES", value_delimiter = ',', value_parser = crate::identity::parse_proxy)]
    pub trusted_proxies: Option<Vec<ipnet::IpNet>>,

    /// Requests without an identity (no trusted proxy header, no valid bearer token): `read`
    /// lets them look, `refuse` answers 401 (probes, metrics and static files stay open).
    #[arg(long, env = "PAYDECK_ANONYMOUS", default_value = "read", value_parser = ["read", "refuse"])]
    pub anonymous: String,

    /// Turn every edit off, whoever asks.
    #[arg(long, env = "PAYDECK_READ_ONLY")]
    pub read_only: bool,

    /// No replica count or HPA maximum above this.
    #[arg(long, env = "PAYDECK_MAX_REPLICAS", default_value_t = 100, value_parser = clap::value_parser!(i32).range(1..=10_000))]
    pub max_replicas: i32,

    /// What happens when a critical service (label paydeck.io/critical=true) would go below
    /// 2 replicas: `block` or `warn`.
    #[arg(long, env = "PAYDECK_CRITICAL_GUARD", default_value = "block", value_parser = ["block", "warn"])]
    pub critical_guard: String,

    /// With `--cluster sim`: the platform to simulate.
    #[arg(long, value_enum, default_value = "demo")]
    pub sim_profile: sim::Profile,

    /// With `--cluster sim`: simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub sim_speed: f64,

    /// With `--cluster sim`: the seed of the simulated traffic.
    #[arg(long, default_value_t = 1)]
    pub sim_seed: u64,

    /// With `--cluster sim`: where to write a kubeconfig for `kubectl`.
    #[arg(long, default_value = "data/sim.kubeconfig")]
    pub sim_kubeconfig: PathBuf,
}

/// What to do instead of serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Check the audit log's hash chain in `--db`: exits 0 when intact, 1 naming the first
    /// row that was changed or removed.
    VerifyAudit,
}

impl Config {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout)
    }

    /// Where the cluster is, or why the flags do not say.
    pub fn source(&self) -> Result<Source, String> {
        if self.cluster.as_deref() == Some("sim") {
            if !(self.sim_speed > 0.0 && self.sim_speed <= 3600.0) {
                return Err(format!("--sim-speed must be above 0 and at most 3600, got {}", self.sim_speed));
            }
            return Ok(Source::Sim {
                profile: self.sim_profile,
                seed: self.sim_seed,
                speed: self.sim_speed,
                kubeconfig_out: self.sim_kubeconfig.clone(),
            });
        }
        Ok(match &self.kubeconfig {
            Some(path) => Source::Kubeconfig { path: path.clone(), context: self.context.clone() },
            None => Source::Infer,
        })
    }

    /// The bounds scaling edits are checked against.
    pub fn limits(&self) -> app::scaling::validate::Limits {
        use app::scaling::validate::{Guard, Limits};
        Limits {
            max_replicas: self.max_replicas,
            critical_guard: if self.critical_guard == "warn" { Guard::Warn } else { Guard::Block },
            ..Limits::default()
        }
    }

    /// Whose identity headers to believe.
    pub fn proxy_trust(&self) -> crate::identity::ProxyTrust {
        let loopback = || crate::identity::parse_proxies("127.0.0.1,::1").unwrap_or_default();
        crate::identity::ProxyTrust {
            user_header: self.user_header.clone(),
            groups_header: self.groups_header.clone(),
            proxies: match (&self.trusted_proxies, self.cluster.as_deref()) {
                (Some(given), _) => given.clone(),
                (None, Some("sim")) => loopback(),
                (None, _) => Vec::new(),
            },
        }
    }

    pub fn scope(&self) -> Scope {
        Scope { namespaces: self.namespaces.clone(), label_selector: self.selector.clone() }
    }

    pub fn metrics_interval(&self) -> Duration {
        Duration::from_secs(self.metrics_interval)
    }

    pub fn sample_interval(&self) -> Duration {
        Duration::from_secs(self.sample_interval)
    }

    pub fn retention(&self) -> Retention {
        Retention { raw: self.retention_raw, ..Retention::default() }
    }
}

/// `90s`, `30m`, `48h`, `7d`: a whole number and a unit.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("expected a duration like 90s, 30m, 48h or 7d, got {text:?}");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(bad()),
    };
    if secs == 0 {
        return Err(format!("{text} is no time at all"));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_serve_on_loopback_port_3000() {
        let c = Config::try_parse_from(["paydeck"]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(c.request_timeout(), Duration::from_secs(30));
    }

    #[test]
    fn a_bad_listen_address_is_refused_with_its_flag_named() {
        let err = Config::try_parse_from(["paydeck", "--listen", "localhost"]).unwrap_err();
        assert!(err.to_string().contains("--listen"), "{err}");
    }

    #[test]
    fn sim_and_kubeconfig_are_exclusive_and_a_context_needs_a_kubeconfig() {
        assert!(Config::try_parse_from(["paydeck", "--cluster", "sim", "--kubeconfig", "k"]).is_err());
        assert!(Config::try_parse_from(["paydeck", "--context", "prod"]).is_err());
        assert!(Config::try_parse_from(["paydeck", "--cluster", "kind"]).is_err());
        let c = Config::try_parse_from(["paydeck", "--cluster", "sim", "--namespaces", "a,b"]).unwrap();
        assert!(matches!(c.source(), Ok(Source::Sim { .. })));
        assert_eq!(c.scope().namespaces, vec!["a", "b"]);
        let c = Config::try_parse_from(["paydeck", "--cluster", "sim", "--sim-speed", "0"]).unwrap();
        assert!(c.source().unwrap_err().contains("--sim-speed"));
    }

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("48h"), Ok(Duration::from_secs(48 * 3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        for bad in ["", "48", "h", "4 h", "0s", "-1h", "2w"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_zero_timeout_is_refused() {
        assert!(Config::try_parse_from(["paydeck", "--request-timeout", "0"]).is_err());
    }
}
