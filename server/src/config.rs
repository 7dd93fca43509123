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

    /// `text` for people, `json` for a log pipeline (one object per line, with span fields).
    #[arg(long, env = "PAYDECK_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: crate::logging::LogFormat,

    /// `sim` runs the built-in simulated payment cluster. `NAME=CONTEXT` (repeatable, or
    /// comma-separated) watches that context of the kubeconfig as the fleet's cluster NAME; the
    /// first is the one the single-cluster pages show. Without it, Paydeck uses `--kubeconfig`,
    /// else the pod's service account, else `$KUBECONFIG` / `~/.kube/config`.
    #[arg(long, env = "PAYDECK_CLUSTER", value_parser = parse_cluster_arg, value_delimiter = ',')]
    pub cluster: Vec<ClusterArg>,

    /// A file of the clusters to watch, checked at start: YAML, `clusters:` a list of `name`,
    /// `displayName`, and `kubeconfig` (relative to the file) with an optional `context`, or
    /// `inCluster: true`. The first is the one the single-cluster pages show.
    #[arg(long, env = "PAYDECK_CLUSTERS_FILE", conflicts_with = "cluster")]
    pub clusters_file: Option<PathBuf>,

    /// A kubeconfig file to connect with.
    #[arg(long, env = "PAYDECK_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use (default: its current context).
    #[arg(long, env = "PAYDECK_CONTEXT", requires = "kubeconfig")]
    pub context: Option<String>,

    /// The name the cluster's history is kept under (default: the kubeconfig context's name,
    /// else `default`). Keep it when the context is renamed: history is keyed by it.
    #[arg(long, env = "PAYDECK_CLUSTER_NAME", value_parser = parse_cluster_name, global = true)]
    pub cluster_name: Option<String>,

    /// Watch only these namespaces (comma-separated); default: all.
    #[arg(long, env = "PAYDECK_NAMESPACES", value_delimiter = ',')]
    pub namespaces: Vec<String>,

    /// Watch only Deployments and Pods matching this label selector.
    #[arg(long, env = "PAYDECK_SELECTOR")]
    pub selector: Option<String>,

    /// Seconds between polls of the metrics APIs.
    #[arg(long, env = "PAYDECK_METRICS_INTERVAL", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub metrics_interval: u64,

    /// Where history and the audit log are kept: a SQLite file (created if missing), or a
    /// PostgreSQL server as `postgres://user@host:port/db?sslmode=verify-full&sslrootcert=ca.pem`.
    #[arg(long, env = "PAYDECK_DB", default_value = "data/paydeck.db", global = true, value_parser = crate::store::Location::parse)]
    pub db: crate::store::Location,

    /// A PostgreSQL URL that takes the place of `--db` (keep it, with its password, in a
    /// Secret).
    #[arg(long, env = "PAYDECK_DATABASE_URL", hide_env_values = true, global = true, value_parser = parse_database_url)]
    pub database_url: Option<crate::store::Location>,

    /// Seconds between history samples.
    #[arg(long, env = "PAYDECK_SAMPLE_INTERVAL", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub sample_interval: u64,

    /// Elect one leader among several replicas with a Lease in Paydeck's namespace: only the
    /// leader samples history and maintains it; every replica serves pages and edits. Needs a
    /// store they share (PostgreSQL) and the Lease role of k8s/overlays/ha-postgres.
    #[arg(long, env = "PAYDECK_LEADER_ELECT")]
    pub leader_elect: bool,

    /// The Lease's name.
    #[arg(long, env = "PAYDECK_LEASE_NAME", default_value = crate::leader::DEFAULT_LEASE, value_parser = parse_lease_name)]
    pub lease_name: String,

    /// The Lease's namespace (default: the namespace of the pod's service account, else
    /// `paydeck`).
    #[arg(long, env = "PAYDECK_LEASE_NAMESPACE", value_parser = parse_lease_name)]
    pub lease_namespace: Option<String>,

    /// Seconds a Lease lasts without renewal: a lost leader is replaced within about this
    /// long, and stops writing after two thirds of it without a renewal.
    #[arg(long, env = "PAYDECK_LEASE_DURATION", default_value_t = 15, value_parser = clap::value_parser!(u64).range(2..=300))]
    pub lease_duration: u64,

    /// This replica's name in the Lease (default: the pod's name and a random suffix).
    #[arg(long, env = "PAYDECK_LEADER_IDENTITY")]
    pub leader_identity: Option<String>,

    /// How long raw samples are kept before only rollups remain, e.g. `48h`, `3d`.
    #[arg(long, env = "PAYDECK_RETENTION_RAW", default_value = "48h", value_parser = parse_duration)]
    pub retention_raw: Duration,

    /// How long each workload's demand is kept at full resolution for the what-if replay,
    /// e.g. `14d` (about 2 MB per workload for 14 days of 15-s samples).
    #[arg(long, env = "PAYDECK_RETENTION_DEMAND", default_value = "14d", value_parser = parse_duration)]
    pub retention_demand: Duration,

    /// Right-sizing: the per-pod CPU use percentile a recommended CPU request covers (memory
    /// requests cover the 99th).
    #[arg(long, env = "PAYDECK_SIZING_PERCENTILE", default_value_t = 95, value_parser = clap::value_parser!(u8).range(50..=100))]
    pub sizing_percentile: u8,

    /// Right-sizing: headroom added to a percentile or a recorded peak, in percent.
    #[arg(long, env = "PAYDECK_SIZING_HEADROOM", default_value_t = 15, value_parser = clap::value_parser!(u8).range(0..=200))]
    pub sizing_headroom: u8,

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

    /// Addresses (IPs or CIDR ranges, comma-separated) whose `X-Forwarded-For` names the
    /// client — your Ingress controller: the limits kept per client (token reviews, requests
    /// at once, backtests, audit reads) then count each client, not the Ingress. Never used
    /// for who someone is. The trusted proxies are forwarders too.
    #[arg(long, env = "PAYDECK_TRUSTED_FORWARDERS", value_delimiter = ',', value_parser = crate::identity::parse_proxy)]
    pub trusted_forwarders: Option<Vec<ipnet::IpNet>>,

    /// Put before the user the auth proxy names, as the API server's `--oidc-username-prefix`
    /// does for the same person signing in with kubectl (e.g. `oidc:`): Paydeck then acts as
    /// the user the cluster's RBAC bindings name. Empty: the proxy's name as it is.
    #[arg(long, env = "PAYDECK_USERNAME_PREFIX", default_value = "")]
    pub username_prefix: String,

    /// Put before each group the auth proxy lists, as the API server's `--oidc-groups-prefix`.
    #[arg(long, env = "PAYDECK_GROUPS_PREFIX", default_value = "")]
    pub groups_prefix: String,

    /// A file holding the auth proxy's shared secret (a mounted Secret): user headers are
    /// believed only from a request carrying it in `--proxy-secret-header`. Required when
    /// loopback is a trusted proxy on a real cluster (a port-forward arrives on loopback too).
    #[arg(long, env = "PAYDECK_PROXY_SECRET_FILE")]
    pub proxy_secret_file: Option<PathBuf>,

    /// The header the auth proxy sends its shared secret in.
    #[arg(long, env = "PAYDECK_PROXY_SECRET_HEADER", default_value = "X-Paydeck-Proxy-Secret")]
    pub proxy_secret_header: axum::http::HeaderName,

    /// Only these groups are passed on when Paydeck acts as a user (comma-separated); others
    /// are dropped. Match the `resourceNames` of the `groups` impersonation rule. Default: any
    /// group except `system:` ones (which are never passed on).
    #[arg(long, env = "PAYDECK_IMPERSONATE_GROUPS", value_delimiter = ',')]
    pub impersonate_groups: Option<Vec<String>>,

    /// Bearer tokens must be issued for this audience (`kubectl create token NAME --audience
    /// paydeck`); tokens for the API server or another service are refused.
    #[arg(long, env = "PAYDECK_TOKEN_AUDIENCE", default_value = "paydeck")]
    pub token_audience: String,

    /// How many token review answers are kept (least recently used go first).
    #[arg(long, env = "PAYDECK_TOKEN_CACHE_SIZE", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub token_cache_size: u64,

    /// How many token reviews one client address may cause per minute (beyond: 429).
    #[arg(long, env = "PAYDECK_TOKEN_REVIEWS_PER_MINUTE", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub token_reviews_per_minute: u64,

    /// Requests without an identity (no trusted proxy header, no valid bearer token): `read`
    /// lets them look, `refuse` answers 401 (probes, metrics and static files stay open).
    #[arg(long, env = "PAYDECK_ANONYMOUS", value_enum, default_value = "read")]
    pub anonymous: Anonymous,

    /// Turn every edit off, whoever asks.
    #[arg(long, env = "PAYDECK_READ_ONLY")]
    pub read_only: bool,

    /// Who approves a scheduled plan: `require-approval`, another person than its author
    /// (maker–checker), or `single-person`, its author too (small teams; said on each
    /// approval's audit row).
    #[arg(long, env = "PAYDECK_PLANS", value_enum, default_value = "require-approval")]
    pub plans: PlanApproval,

    /// No replica count or HPA maximum above this.
    #[arg(long, env = "PAYDECK_MAX_REPLICAS", default_value_t = 100, value_parser = clap::value_parser!(i32).range(1..=10_000))]
    pub max_replicas: i32,

    /// What happens when a critical service (label paydeck.io/critical=true) would go below
    /// 2 replicas: `block` or `warn`.
    #[arg(long, env = "PAYDECK_CRITICAL_GUARD", value_enum, default_value = "block")]
    pub critical_guard: CriticalGuard,

    /// A file holding the key that makes the audit chain an HMAC (a mounted Secret; optional:
    /// without it the chain is plain SHA-256). `verify-audit` needs the same key.
    #[arg(long, env = "PAYDECK_AUDIT_KEY_FILE", global = true)]
    pub audit_key_file: Option<PathBuf>,

    /// Refused attempts (invalid or denied, nothing sent) one identity may add to the audit
    /// log per day, e.g. `1MiB`; beyond it they are refused as before but not recorded (and
    /// counted in `paydeck_edit_refusals_unrecorded`).
    #[arg(long, env = "PAYDECK_AUDIT_REFUSAL_BUDGET", default_value = "1MiB", value_parser = parse_size)]
    pub audit_refusal_budget: u64,

    /// Days a refused attempt keeps its details in the audit log; then only its time, user,
    /// workload, outcome and digest stay (the chain still verifies). 0: forever. Changes
    /// that were sent are always kept whole.
    #[arg(long, env = "PAYDECK_AUDIT_REFUSAL_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u64).range(0..=36_500))]
    pub audit_refusal_retention_days: u64,

    /// Whether requests without an identity may read the audit log: `refuse` (default) or
    /// `read` (the default with `--cluster sim`, for the demo).
    #[arg(long, env = "PAYDECK_AUDIT_ANONYMOUS_READS", value_enum)]
    pub audit_anonymous_reads: Option<Anonymous>,

    /// The most the history database may grow to, e.g. `8GiB` (writes beyond it fail as on a
    /// full disk: history pauses and edits are refused, reading goes on). Default: no limit.
    #[arg(long, env = "PAYDECK_DB_MAX_SIZE", value_parser = parse_size)]
    pub db_max_size: Option<u64>,

    /// Live feeds (`/api/v1/live`) one user — or, without an identity, one address — may hold open.
    #[arg(long, env = "PAYDECK_LIVE_PER_CLIENT", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub live_per_client: u64,

    /// Live feeds open at once in all.
    #[arg(long, env = "PAYDECK_LIVE_TOTAL", default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub live_total: u64,

    /// Requests handled at once; beyond it the answer is 503 with Retry-After.
    #[arg(long, env = "PAYDECK_MAX_CONCURRENT_REQUESTS", default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_concurrent_requests: u64,

    /// Seconds a client may take to send a request's headers before the connection is closed.
    #[arg(long, env = "PAYDECK_HEADER_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_timeout: u64,

    /// Connections open at once; one more is closed as it arrives. Keep it below the open-file
    /// limit (Paydeck raises its soft limit to the hard one at start).
    #[arg(long, env = "PAYDECK_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,

    /// Seconds a connection may stay open with nothing in flight before it is closed.
    #[arg(long, env = "PAYDECK_IDLE_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub idle_timeout: u64,

    /// Requests one client (a user, or an address without one) may have handled at once;
    /// beyond it the answer is 429 with Retry-After.
    #[arg(long, env = "PAYDECK_MAX_REQUESTS_PER_CLIENT", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_requests_per_client: u64,

    /// Seconds a client may take to send a request's body; a slower one is answered 408.
    #[arg(long, env = "PAYDECK_BODY_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub body_timeout: u64,

    /// Backtests (`POST /api/v1/whatif`) one client may start per minute.
    #[arg(long, env = "PAYDECK_BACKTESTS_PER_MINUTE", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub backtests_per_minute: u64,

    /// Audit log reads one client may make per minute.
    #[arg(long, env = "PAYDECK_AUDIT_READS_PER_MINUTE", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub audit_reads_per_minute: u64,

    /// Send notifications as this YAML file says: sinks (CloudEvents webhook, Alertmanager,
    /// Slack, DingTalk, WeCom, Feishu) and what each is sent (docs/notifications.md).
    #[arg(long, env = "PAYDECK_NOTIFICATIONS_FILE")]
    pub notifications: Option<PathBuf>,

    /// Serve `/healthz` and `/readyz` on this address too, beside the connection and request
    /// limits of `--listen` (the manifests point the kubelet here), e.g. `0.0.0.0:8081`.
    #[arg(long, env = "PAYDECK_PROBE_LISTEN")]
    pub probe_listen: Option<SocketAddr>,

    /// With `--cluster sim`: the platform to simulate.
    #[arg(long, value_enum, default_value = "demo")]
    pub sim_profile: crate::cluster::SimProfile,

    /// With `--cluster sim`: simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub sim_speed: f64,

    /// With `--cluster sim`: the seed of the simulated traffic.
    #[arg(long, default_value_t = 1)]
    pub sim_seed: u64,

    /// With `--cluster sim`: on a database with no history yet, first record this much
    /// simulated past (e.g. `1d`, ending now), so the charts and the what-if have something
    /// to show on a first run.
    #[arg(long, env = "PAYDECK_SIM_HISTORY", value_parser = parse_duration)]
    pub sim_history: Option<Duration>,

    /// With `--cluster sim`: the simulated cluster's clock, and Paydeck's own, start at this
    /// UTC time (e.g. 2026-11-26T09:00:00Z) instead of now. The simulated traffic follows
    /// the time of day: a given start shows the same cluster at any hour (the tests pin it).
    #[arg(long, value_parser = parse_start)]
    pub sim_start: Option<i64>,

    /// With `--cluster sim`: where to write a kubeconfig for `kubectl`.
    #[arg(long, default_value = "data/sim.kubeconfig")]
    pub sim_kubeconfig: PathBuf,

    /// With `--cluster sim`: how many simulated clusters to run (1–10), a fleet to look at
    /// (`make run-fleet`). Each has its own seed (`--sim-seed`, then one more each), its own
    /// history (`--sim-history` for each) and its own kubeconfig (`sim-2.kubeconfig`, … beside
    /// `--sim-kubeconfig`).
    #[arg(long, env = "PAYDECK_SIM_CLUSTERS", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=10))]
    pub sim_clusters: u8,
}

/// Which cluster to run against instead of a real one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterArg {
    /// The built-in simulated payment cluster.
    Sim,
    /// A kubeconfig context, as the fleet's cluster `name`.
    Context { name: String, context: String },
}

/// `sim`, or `NAME=CONTEXT`.
fn parse_cluster_arg(text: &str) -> Result<ClusterArg, String> {
    if text == "sim" {
        return Ok(ClusterArg::Sim);
    }
    crate::fleet::clusters::parse_flag(text).map(|(name, context)| ClusterArg::Context { name, context })
}

/// The kubeconfig kubectl would read: the first file of `$KUBECONFIG`, else `~/.kube/config`.
fn default_kubeconfig() -> PathBuf {
    std::env::var_os("KUBECONFIG").and_then(|v| std::env::split_paths(&v).next()).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".kube").join("config")
    })
}

/// What requests without an identity may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Anonymous {
    /// Look, never change.
    Read,
    /// Nothing: 401.
    Refuse,
}

/// Who approves a scheduled plan (`--plans`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanApproval {
    RequireApproval,
    SinglePerson,
}

impl From<PlanApproval> for domain::plan::Approval {
    fn from(a: PlanApproval) -> Self {
        match a {
            PlanApproval::RequireApproval => domain::plan::Approval::RequireApproval,
            PlanApproval::SinglePerson => domain::plan::Approval::SinglePerson,
        }
    }
}

/// What a critical service going below 2 replicas does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CriticalGuard {
    Block,
    Warn,
}

/// What to do instead of serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Check the audit log's hash chain in `--db` (opened read-only): exits 0 when intact, 1
    /// naming the first row that was changed or removed.
    VerifyAudit {
        /// A head published earlier (`/api/v1/audit/head`, or the `audit head` log line) as
        /// SEQ:HASH: the log must still contain exactly that row, so a cut tail is caught.
        #[arg(long, value_parser = crate::audit::verify::parse_head)]
        head: Option<crate::audit::Head>,
        /// With `--audit-key-file`: the first row written with the key (rows before it were
        /// written without one). Default 1: every row must be keyed.
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
        keyed_from: Option<i64>,
    },
    /// Copy a SQLite file's history and audit log to a PostgreSQL server (`--to`, default
    /// `PAYDECK_DATABASE_URL`). Rows already there are left as they are: running it twice
    /// copies nothing twice. Without `--from`, only bring the server's schema up to date.
    MigrateStore {
        /// The SQLite file, as `sqlite:PATH`.
        #[arg(long, value_parser = crate::store::Location::parse)]
        from: Option<crate::store::Location>,
        /// The PostgreSQL server, as `postgres://user@host:port/db?sslmode=verify-full&…`.
        #[arg(long, value_parser = parse_database_url)]
        to: Option<crate::store::Location>,
    },
}

/// Why the flags cannot be served with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--sim-speed must be above 0 and at most 3600, got {0}")]
    SimSpeed(f64),
    #[error("--sim-start sets the simulated cluster's clock: it needs --cluster sim")]
    SimStartWithoutSim,
    #[error(
        "--trusted-proxies includes loopback, where `kubectl port-forward` arrives too: set --proxy-secret-file (PAYDECK_PROXY_SECRET_FILE) so the auth proxy proves itself"
    )]
    LoopbackWithoutProof,
    #[error("{0}")]
    ProxySecret(String),
    #[error("{0}")]
    AuditKey(String),
    #[error(
        "--leader-elect elects among replicas watching one cluster: the simulated cluster lives inside one process (use paydeck-sim and --kubeconfig)"
    )]
    LeaderElectOnSim,
    #[error(
        "--cluster sim runs one simulated cluster on its own: it cannot be combined with --kubeconfig or NAME=CONTEXT"
    )]
    SimWithOthers,
    #[error("--sim-clusters runs simulated clusters: it needs --cluster sim")]
    SimClustersWithoutSim,
    #[error(
        "with a fleet each cluster is named by --cluster NAME=CONTEXT or the file of clusters: drop --cluster-name and --context"
    )]
    FleetNames,
    #[error("the clusters: {0}")]
    Clusters(#[from] crate::fleet::clusters::ClustersError),
    #[error("--notifications {0}")]
    Notifications(#[from] crate::notify::config::NotifyConfigError),
}

/// Everything the flags say, checked once at start.
#[derive(Debug)]
pub struct Settings {
    /// The primary cluster: the one the single-cluster pages show (the fleet's first).
    pub source: Source,
    /// The fleet's clusters, the primary first, when more than one can be named; `None`: a
    /// single cluster.
    pub fleet: Option<Vec<crate::fleet::clusters::ClusterEntry>>,
    pub trust: crate::identity::ProxyTrust,
    pub audit: crate::audit::AuditSettings,
    /// The notifications file, checked; `None`: none are sent.
    pub notifications: Option<crate::notify::config::NotifyConfig>,
}

impl Config {
    /// Checks the flags together (reading the secret files they name): what to serve with, or
    /// the first reason not to start.
    pub fn validate(&self) -> Result<Settings, ConfigError> {
        if self.leader_elect && self.simulated() {
            return Err(ConfigError::LeaderElectOnSim);
        }
        let audit = crate::audit::AuditSettings {
            key: self.audit_key()?,
            refusal_budget: self.audit_refusal_budget,
            refusal_retention: (self.audit_refusal_retention_days > 0)
                .then(|| Duration::from_secs(self.audit_refusal_retention_days * 86_400)),
        };
        let fleet = self.fleet()?;
        let source = match fleet.as_deref() {
            Some([first, ..]) => first.source(),
            _ => self.source()?,
        };
        let notifications = self.notifications.as_deref().map(crate::notify::config::load).transpose()?;
        Ok(Settings { source, fleet, trust: self.proxy_trust()?, audit, notifications })
    }

    /// The fleet's clusters (`--clusters-file`, or `--cluster NAME=CONTEXT`), the primary
    /// first; `None` when one cluster is named the single-cluster way.
    pub fn fleet(&self) -> Result<Option<Vec<crate::fleet::clusters::ClusterEntry>>, ConfigError> {
        let named: Vec<(String, String)> = self
            .cluster
            .iter()
            .filter_map(|c| match c {
                ClusterArg::Context { name, context } => Some((name.clone(), context.clone())),
                ClusterArg::Sim => None,
            })
            .collect();
        if self.simulated() && (!named.is_empty() || self.kubeconfig.is_some()) {
            return Err(ConfigError::SimWithOthers);
        }
        if self.sim_clusters > 1 && !self.simulated() {
            return Err(ConfigError::SimClustersWithoutSim);
        }
        if (self.clusters_file.is_some() || !named.is_empty())
            && (self.cluster_name.is_some() || self.context.is_some())
        {
            return Err(ConfigError::FleetNames);
        }
        if let Some(file) = &self.clusters_file {
            return Ok(Some(crate::fleet::clusters::read(file)?));
        }
        if named.is_empty() {
            return Ok(None);
        }
        let path = self.kubeconfig.clone().unwrap_or_else(default_kubeconfig);
        Ok(Some(crate::fleet::clusters::from_flags(&named, &path)?))
    }

    /// The namespace the Lease lives in: `--lease-namespace`, else the pod's own.
    pub fn lease_namespace(&self) -> String {
        self.lease_namespace.clone().unwrap_or_else(|| {
            std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
                .ok()
                .map(|ns| ns.trim().to_string())
                .filter(|ns| !ns.is_empty())
                .unwrap_or_else(|| "paydeck".into())
        })
    }

    /// Where the store is: `--database-url` (`PAYDECK_DATABASE_URL`) when given, else `--db`.
    pub fn store_location(&self) -> &crate::store::Location {
        self.database_url.as_ref().unwrap_or(&self.db)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout)
    }

    /// Where the cluster is, or why the flags do not say.
    pub fn source(&self) -> Result<Source, ConfigError> {
        if self.simulated() {
            if !(self.sim_speed > 0.0 && self.sim_speed <= 3600.0) {
                return Err(ConfigError::SimSpeed(self.sim_speed));
            }
            return Ok(Source::Sim {
                profile: self.sim_profile,
                seed: self.sim_seed,
                speed: self.sim_speed,
                start_ms: self.sim_start,
                kubeconfig_out: self.sim_kubeconfig.clone(),
            });
        }
        if self.sim_start.is_some() {
            return Err(ConfigError::SimStartWithoutSim);
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
            critical_guard: match self.critical_guard {
                CriticalGuard::Warn => Guard::Warn,
                CriticalGuard::Block => Guard::Block,
            },
            ..Limits::default()
        }
    }

    fn simulated(&self) -> bool {
        self.cluster.contains(&ClusterArg::Sim)
    }

    /// Whose identity headers to believe (reads the proxy's secret file). Refuses loopback as
    /// a trusted proxy without the proxy's secret on a real cluster: a port-forward arrives on
    /// loopback too, and could claim any user.
    pub fn proxy_trust(&self) -> Result<crate::identity::ProxyTrust, ConfigError> {
        let loopback = || crate::identity::parse_proxies("127.0.0.1,::1").unwrap_or_default();
        let trust = crate::identity::ProxyTrust {
            user_header: self.user_header.clone(),
            groups_header: self.groups_header.clone(),
            proxies: match &self.trusted_proxies {
                Some(given) => given.clone(),
                None if self.simulated() => loopback(),
                None => Vec::new(),
            },
            forwarders: self.trusted_forwarders.clone().unwrap_or_default(),
            secret: None,
            user_prefix: self.username_prefix.clone(),
            groups_prefix: self.groups_prefix.clone(),
        };
        match &self.proxy_secret_file {
            Some(path) => {
                let secret = crate::identity::proxy::read_secret(path).map_err(ConfigError::ProxySecret)?;
                Ok(trust.with_secret(self.proxy_secret_header.clone(), &secret))
            }
            None if trust.trusts_loopback() && !self.simulated() => Err(ConfigError::LoopbackWithoutProof),
            None => Ok(trust),
        }
    }

    /// The bounds on whom Paydeck acts as.
    pub fn identity_bounds(&self) -> crate::identity::Bounds {
        crate::identity::Bounds {
            allowed_groups: self.impersonate_groups.as_ref().map(|groups| {
                groups.iter().map(|g| g.trim().to_string()).filter(|g| !g.is_empty()).collect()
            }),
        }
    }

    /// How bearer tokens are reviewed.
    pub fn token_reviews(&self) -> crate::identity::token_review::ReviewSettings {
        crate::identity::token_review::ReviewSettings {
            audience: self.token_audience.clone(),
            cache_size: self.token_cache_size as usize,
            per_client_per_minute: self.token_reviews_per_minute as usize,
        }
    }

    /// The audit key, when configured.
    pub fn audit_key(&self) -> Result<Option<crate::audit::AuditKey>, ConfigError> {
        self.audit_key_file
            .as_deref()
            .map(crate::audit::AuditKey::read)
            .transpose()
            .map_err(ConfigError::AuditKey)
    }

    /// The limits that keep one client (or many) from exhausting the server.
    pub fn protection(&self) -> Protection {
        Protection {
            live_per_client: self.live_per_client as usize,
            live_total: self.live_total as usize,
            max_concurrent_requests: self.max_concurrent_requests as usize,
            header_timeout: Duration::from_secs(self.header_timeout),
            max_connections: self.max_connections as usize,
            idle_timeout: Duration::from_secs(self.idle_timeout),
            requests_per_client: self.max_requests_per_client as usize,
            body_timeout: Duration::from_secs(self.body_timeout),
            backtests_per_minute: self.backtests_per_minute as usize,
            audit_reads_per_minute: self.audit_reads_per_minute as usize,
        }
    }

    /// Whether requests without an identity may read the audit log: as configured, else
    /// only on the simulated cluster (the demo).
    pub fn anonymous_audit_reads(&self) -> bool {
        match self.audit_anonymous_reads {
            Some(Anonymous::Read) => true,
            Some(Anonymous::Refuse) => false,
            None => self.simulated(),
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
        Retention { raw: self.retention_raw, demand: self.retention_demand, ..Retention::default() }
    }

    pub fn sizing(&self) -> domain::sizing::SizingOptions {
        domain::sizing::SizingOptions {
            cpu_percentile: f64::from(self.sizing_percentile) / 100.0,
            headroom: f64::from(self.sizing_headroom) / 100.0,
            ..Default::default()
        }
    }
}

/// Limits that keep one client (or many) from exhausting the server.
#[derive(Clone, Debug)]
pub struct Protection {
    /// Live feeds per user (or per address without an identity).
    pub live_per_client: usize,
    /// Live feeds in all.
    pub live_total: usize,
    /// Requests handled at once.
    pub max_concurrent_requests: usize,
    /// Time a client has to send a request's headers.
    pub header_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// Time a connection may stay open with nothing in flight.
    pub idle_timeout: Duration,
    /// Requests one client may have handled at once.
    pub requests_per_client: usize,
    /// Time a client has to send a request's body.
    pub body_timeout: Duration,
    /// Backtests one client may start per minute.
    pub backtests_per_minute: usize,
    /// Audit reads one client may make per minute.
    pub audit_reads_per_minute: usize,
}

impl Default for Protection {
    fn default() -> Self {
        Protection {
            live_per_client: 16,
            live_total: 2_000,
            max_concurrent_requests: 512,
            header_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            idle_timeout: Duration::from_secs(60),
            requests_per_client: 64,
            body_timeout: Duration::from_secs(10),
            backtests_per_minute: 30,
            audit_reads_per_minute: 120,
        }
    }
}

/// A cluster name as [`crate::history::check_cluster_name`] takes it.
/// `PAYDECK_DATABASE_URL`: a PostgreSQL server's URL only (a file is `--db`'s).
fn parse_database_url(text: &str) -> Result<crate::store::Location, String> {
    match crate::store::Location::parse(text)? {
        location @ crate::store::Location::Postgres(_) => Ok(location),
        crate::store::Location::Sqlite(_) => {
            Err("expected a postgres:// URL (a SQLite file is named with --db / PAYDECK_DB)".into())
        }
    }
}

fn parse_cluster_name(text: &str) -> Result<String, String> {
    crate::history::check_cluster_name(text).map(|()| text.to_string())
}

/// A Lease or namespace name: a DNS label (lowercase letters, digits and `-`, at most 63,
/// starting and ending with a letter or digit), as the API server requires of both.
fn parse_lease_name(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 63
        && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-');
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{text:?} is not a valid name: lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit"
        ))
    }
}

/// `512MiB`, `8GiB`, `1048576` (bytes): a whole number and an optional binary unit.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || format!("expected a size like 512MiB or 8GiB, got {text:?}");
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ => return Err(bad()),
    };
    let bytes = n.checked_mul(factor).ok_or_else(bad)?;
    if bytes < 64 * 1024 {
        return Err(format!("{text} is too small for a database (at least 64KiB)"));
    }
    Ok(bytes)
}

/// `90s`, `30m`, `48h`, `7d`: a whole number and a unit.
/// `--sim-start`: a UTC time in RFC 3339, as Unix milliseconds.
pub fn parse_start(text: &str) -> Result<i64, String> {
    let bad = || format!("expected a UTC time like 2026-11-26T09:00:00Z, got {text:?}");
    if !text.ends_with('Z') {
        return Err(bad());
    }
    text.parse::<jiff::Timestamp>().map(|t| t.as_millisecond()).map_err(|_| bad())
}

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
    fn a_cluster_name_is_checked_where_it_is_given() {
        let c = Config::try_parse_from(["paydeck", "--cluster-name", "prod-eu"]).unwrap();
        assert_eq!(c.cluster_name.as_deref(), Some("prod-eu"));
        for bad in ["", "prod eu", "prod\teu"] {
            let err = Config::try_parse_from(["paydeck", "--cluster-name", bad]).unwrap_err();
            assert!(err.to_string().contains("--cluster-name"), "{err}");
        }
    }

    #[test]
    fn a_fleet_is_named_by_contexts_or_a_file_never_both_and_never_beside_the_simulator() {
        let c = Config::try_parse_from(["paydeck", "--cluster", "eu=prod-eu", "--cluster", "us=prod-us"])
            .unwrap();
        assert_eq!(
            c.cluster,
            vec![
                ClusterArg::Context { name: "eu".into(), context: "prod-eu".into() },
                ClusterArg::Context { name: "us".into(), context: "prod-us".into() },
            ]
        );
        let err = Config::try_parse_from(["paydeck", "--cluster", "EU=prod"]).unwrap_err();
        assert!(err.to_string().contains("--cluster"), "{err}");
        let sim_and_more =
            Config::try_parse_from(["paydeck", "--cluster", "sim", "--cluster", "eu=prod"]).unwrap();
        assert!(matches!(sim_and_more.fleet(), Err(ConfigError::SimWithOthers)));
        let sims_without_sim = Config::try_parse_from(["paydeck", "--sim-clusters", "3"]).unwrap();
        assert!(matches!(sims_without_sim.fleet(), Err(ConfigError::SimClustersWithoutSim)));
        let named_twice =
            Config::try_parse_from(["paydeck", "--clusters-file", "x.yaml", "--cluster-name", "prod"])
                .unwrap();
        assert!(matches!(named_twice.fleet(), Err(ConfigError::FleetNames)));
        assert!(
            Config::try_parse_from(["paydeck", "--clusters-file", "x.yaml", "--cluster", "a=b"]).is_err()
        );
        let single = Config::try_parse_from(["paydeck", "--cluster", "sim", "--sim-clusters", "3"]).unwrap();
        assert!(single.fleet().unwrap().is_none(), "simulated clusters are made, not named");
        let missing =
            Config::try_parse_from(["paydeck", "--clusters-file", "/nonexistent/clusters.yaml"]).unwrap();
        let err = missing.validate().unwrap_err().to_string();
        assert!(err.contains("/nonexistent/clusters.yaml") && err.contains("cannot read"), "{err}");
    }

    #[test]
    fn leader_election_names_a_lease_it_can_have_and_needs_a_shared_cluster() {
        let c = Config::try_parse_from(["paydeck", "--leader-elect", "--lease-namespace", "ops"]).unwrap();
        assert_eq!(
            (c.lease_name.as_str(), c.lease_namespace().as_str(), c.lease_duration),
            ("paydeck-leader", "ops", 15)
        );
        for (flag, bad) in [
            ("--lease-name", "Paydeck"),
            ("--lease-name", "x-"),
            ("--lease-namespace", "a_b"),
            ("--lease-duration", "1"),
        ] {
            let err = Config::try_parse_from(["paydeck", "--leader-elect", flag, bad]).unwrap_err();
            assert!(err.to_string().contains(flag), "{err}");
        }
        let on_sim = Config::try_parse_from(["paydeck", "--cluster", "sim", "--leader-elect"]).unwrap();
        let err = on_sim.validate().unwrap_err().to_string();
        assert!(err.contains("--leader-elect") && err.contains("paydeck-sim"), "{err}");
    }

    #[test]
    fn a_simulated_start_is_a_utc_time_and_only_for_the_simulated_cluster() {
        let c =
            Config::try_parse_from(["paydeck", "--cluster", "sim", "--sim-start", "2026-11-26T09:00:00Z"])
                .unwrap();
        assert!(matches!(c.source(), Ok(Source::Sim { start_ms: Some(1_795_683_600_000), .. })));
        for bad in ["09:00", "2026-11-26T09:00:00+01:00", "tomorrow"] {
            let e = Config::try_parse_from(["paydeck", "--cluster", "sim", "--sim-start", bad]).unwrap_err();
            assert!(e.to_string().contains("expected a UTC time like"), "{e}");
        }
        let c = Config::try_parse_from(["paydeck", "--sim-start", "2026-11-26T09:00:00Z"]).unwrap();
        assert!(c.source().unwrap_err().to_string().contains("needs --cluster sim"));
    }

    #[test]
    fn sim_and_kubeconfig_are_exclusive_and_a_context_needs_a_kubeconfig() {
        let both = Config::try_parse_from(["paydeck", "--cluster", "sim", "--kubeconfig", "k"]).unwrap();
        assert!(matches!(both.validate(), Err(ConfigError::SimWithOthers)));
        assert!(Config::try_parse_from(["paydeck", "--context", "prod"]).is_err());
        assert!(Config::try_parse_from(["paydeck", "--cluster", "kind"]).is_err());
        let c = Config::try_parse_from(["paydeck", "--cluster", "sim", "--namespaces", "a,b"]).unwrap();
        assert!(matches!(c.source(), Ok(Source::Sim { .. })));
        assert_eq!(c.scope().namespaces, vec!["a", "b"]);
        let c = Config::try_parse_from(["paydeck", "--cluster", "sim", "--sim-speed", "0"]).unwrap();
        assert!(c.source().unwrap_err().to_string().contains("--sim-speed"));
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
    fn loopback_proxies_need_the_proxys_secret_on_a_real_cluster() {
        let c = Config::try_parse_from(["paydeck", "--trusted-proxies", "127.0.0.1"]).unwrap();
        assert!(c.proxy_trust().unwrap_err().to_string().contains("--proxy-secret-file"));
        for mapped in ["::ffff:127.0.0.1", "::ffff:127.0.0.0/104", "10.0.0.0/8,::ffff:7f00:1"] {
            let c = Config::try_parse_from(["paydeck", "--trusted-proxies", mapped]).unwrap();
            assert!(
                c.proxy_trust().unwrap_err().to_string().contains("--proxy-secret-file"),
                "loopback written as IPv6 is loopback: {mapped}"
            );
        }
        let c = Config::try_parse_from(["paydeck", "--trusted-proxies", "10.0.0.0/8"]).unwrap();
        assert!(c.proxy_trust().is_ok(), "a proxy elsewhere is not reached by port-forwards");
        let c = Config::try_parse_from(["paydeck", "--cluster", "sim"]).unwrap();
        assert!(c.proxy_trust().unwrap().trusts_loopback(), "the simulated cluster's demo");
        let c = Config::try_parse_from([
            "paydeck",
            "--trusted-proxies",
            "::1",
            "--proxy-secret-file",
            "/nonexistent",
        ])
        .unwrap();
        assert!(c.proxy_trust().unwrap_err().to_string().contains("/nonexistent"));
    }

    #[test]
    fn audit_reads_need_an_identity_except_in_the_demo_unless_told() {
        let read = |args: &[&str]| {
            Config::try_parse_from(["paydeck"].iter().chain(args)).unwrap().anonymous_audit_reads()
        };
        assert!(!read(&[]));
        assert!(read(&["--cluster", "sim"]));
        assert!(!read(&["--cluster", "sim", "--audit-anonymous-reads", "refuse"]));
        assert!(read(&["--audit-anonymous-reads", "read"]));
    }

    #[test]
    fn enumerated_flags_name_their_choices() {
        let err = Config::try_parse_from(["paydeck", "--anonymous", "maybe"]).unwrap_err().to_string();
        assert!(err.contains("read") && err.contains("refuse"), "{err}");
        let c = Config::try_parse_from(["paydeck", "--critical-guard", "warn"]).unwrap();
        assert_eq!(c.critical_guard, CriticalGuard::Warn);
    }

    #[test]
    fn sizes_take_a_binary_unit() {
        assert_eq!(parse_size("8GiB"), Ok(8 << 30));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        for bad in ["", "GiB", "8 GB", "-1GiB", "1KiB", "99999999999999TiB"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_zero_timeout_is_refused() {
        assert!(Config::try_parse_from(["paydeck", "--request-timeout", "0"]).is_err());
    }
}
