//! What several of the test modules need: clients for the simulated cluster, and a
//! Paydeck process's address and readiness. Each module uses part of it.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    process::Child,
    time::{Duration, Instant},
};

use kube::{
    Client, Config,
    config::{KubeConfigOptions, Kubeconfig},
};

/// The kube-rs configuration for the simulator with `token`.
pub async fn config_as(server: &sim::RunningServer, token: &str) -> Config {
    let kubeconfig = Kubeconfig::from_yaml(&server.kubeconfig(token)).unwrap();
    Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap()
}

/// A client for the simulator with `token`.
pub async fn client_as(server: &sim::RunningServer, token: &str) -> Client {
    Client::try_from(config_as(server, token).await).unwrap()
}

/// A client with the simulator's admin token (what `kubectl` gets).
pub async fn admin(server: &sim::RunningServer) -> Client {
    client_as(server, sim::auth::ADMIN_TOKEN).await
}

/// The address a Paydeck process (started with a piped stdout) says it serves on.
pub async fn served_at(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout is piped");
    tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| line.split_once("serving on ").map(|(_, url)| url.trim().to_string()))
    })
    .await
    .unwrap()
    .expect("Paydeck printed the address it serves on")
}

/// The Paydeck binary on its built-in simulated cluster (its clock pinned to the tests'
/// start), with its database and the
/// simulator's kubeconfig in `dir`, sampling once an hour (a test takes the samples it
/// needs), logging at `log` to this process's stderr; stdout piped for [`served_at`].
pub fn paydeck_on_builtin_sim(dir: &std::path::Path, log: &str) -> Child {
    paydeck_on_builtin_sim_command(dir, log).spawn().expect("the paydeck binary starts")
}

/// The command [`paydeck_on_builtin_sim`] runs, for a test that wants more of it (its stderr).
pub fn paydeck_on_builtin_sim_command(dir: &std::path::Path, log: &str) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_paydeck"));
    command
        .args(["--listen", "127.0.0.1:0", "--cluster", "sim", "--sample-interval", "3600"])
        .arg("--sim-start")
        .arg(sim::clock::rfc3339(sim::clock::test_start()))
        .arg("--db")
        .arg(dir.join("history.db"))
        .arg("--sim-kubeconfig")
        .arg(dir.join("sim.kubeconfig"))
        .env("PAYDECK_LOG", log)
        .stdout(std::process::Stdio::piped());
    command
}

/// Waits up to `within` for `{url}/readyz` to answer 200 (`what` names the wait in a failure).
pub async fn wait_ready(url: &str, within: Duration, what: &str) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + within;
    while !http.get(format!("{url}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
        assert!(Instant::now() < deadline, "not ready within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How to set up Paydeck on a simulated cluster, in this process.
pub struct StackOptions {
    pub trust: paydeck::identity::ProxyTrust,
    pub bounds: paydeck::identity::Bounds,
    pub reviews: paydeck::identity::token_review::ReviewSettings,
    pub protection: paydeck::http::Protection,
    pub require_identity: bool,
    pub db_max_bytes: Option<u64>,
    pub audit: paydeck::audit::AuditSettings,
    /// Whether requests without an identity may read the audit log (the tests about other
    /// things read it anonymously; the server's own default refuses).
    pub anonymous_audit_reads: bool,
    pub request_timeout: Duration,
    /// Seconds between history samples (an hour: the tests that need samples take them).
    pub sample_interval: Duration,
    /// A simulated past recorded before Paydeck starts (`--sim-history`).
    pub sim_history: Option<Duration>,
    /// When the simulated cluster's clock starts (Unix ms): the pinned test start unless a
    /// test about time sets its own. Its traffic follows the time of day; `None` is now,
    /// which no test should want.
    pub sim_start: Option<u64>,
    /// What is told, and to whom.
    pub notifications: Option<paydeck::notify::config::NotifyConfig>,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            trust: paydeck::identity::ProxyTrust {
                proxies: paydeck::identity::parse_proxies("127.0.0.1").unwrap(),
                ..paydeck::identity::ProxyTrust::none()
            },
            bounds: Default::default(),
            reviews: Default::default(),
            protection: Default::default(),
            require_identity: false,
            db_max_bytes: None,
            audit: Default::default(),
            anonymous_audit_reads: true,
            request_timeout: Duration::from_secs(10),
            sample_interval: Duration::from_secs(3600),
            sim_history: None,
            sim_start: Some(sim::clock::test_start()),
            notifications: None,
        }
    }
}

/// Paydeck serving over HTTP in this process, watching a simulated cluster over HTTPS with
/// the dashboard's token, recording history and audit in a real SQLite file (or, in the
/// PostgreSQL round, a real PostgreSQL database: [`test_store`]).
pub struct Stack {
    pub sim: sim::Cluster,
    pub server: sim::RunningServer,
    /// `http://127.0.0.1:PORT/api/v1`.
    pub base: String,
    pub addr: std::net::SocketAddr,
    /// The SQLite file, when the stack records in one (see [`test_store`]).
    pub db: std::path::PathBuf,
    /// What the server records history and audit in.
    pub store: paydeck::store::Store,
    /// The same store as SQLite, for the tests that look into the file; `None` on PostgreSQL.
    pub sqlite: Option<std::sync::Arc<paydeck::store::sqlite::History>>,
    pub state: paydeck::http::ServerState,
}

/// Whether the suites that run on both stores run on PostgreSQL this time
/// (`PAYDECK_TEST_STORE=postgres`, the second round of `make test`).
pub fn on_postgres() -> bool {
    std::env::var("PAYDECK_TEST_STORE").is_ok_and(|v| v == "postgres")
}

/// A new store for one test: a SQLite file at `db` (limited to `max_bytes`), or, in the
/// PostgreSQL round, a database of its own on the test server.
pub async fn test_store(
    db: &std::path::Path,
    max_bytes: Option<u64>,
) -> (paydeck::store::Store, Option<std::sync::Arc<paydeck::store::sqlite::History>>) {
    use paydeck::{history::Retention, store::Store};
    if on_postgres() {
        assert!(max_bytes.is_none(), "a size limit is a SQLite file's");
        let url = crate::postgres::server().database("stack").await;
        (Store::postgres(&url, Retention::default(), "default").await.unwrap(), None)
    } else {
        let history = std::sync::Arc::new(
            paydeck::store::sqlite::History::open_limited(db, Retention::default(), max_bytes).await.unwrap(),
        );
        (Store::sqlite(history.clone()).await.unwrap(), Some(history))
    }
}

/// Starts a [`Stack`] as `options` say, synced before it returns.
pub async fn stack(options: StackOptions) -> Stack {
    use paydeck::{
        assembly::{Editing, Identity, Parts, Recording, assemble},
        cluster::{self, Scope, Source},
    };
    let sim =
        sim::Cluster::new(&sim::Options { speed: None, start: options.sim_start, ..sim::Options::default() });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir =
        std::env::temp_dir().join(format!("paydeck-stack-{}-{}", std::process::id(), server.addr.port()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("dashboard.kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig(sim::auth::DASHBOARD_TOKEN)).unwrap();
    let connected = cluster::connect(&Source::Kubeconfig { path: kubeconfig, context: None }).await.unwrap();
    let view = cluster::start(
        connected.client.clone(),
        connected.description,
        &Scope::default(),
        Duration::from_secs(1),
    );
    tokio::time::timeout(Duration::from_secs(10), view.synced()).await.unwrap();

    let db = dir.join("paydeck.db");
    let (store, sqlite) = test_store(&db, options.db_max_bytes).await;
    if let Some(span) = options.sim_history {
        let seed = sim::Options::default().seed;
        paydeck::cluster::simulated::record_history(
            store.history.as_ref(),
            paydeck::cluster::SimProfile::Demo,
            seed,
            span,
        )
        .await
        .unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = assemble(Parts {
        identity: Identity {
            trust: options.trust,
            bounds: options.bounds,
            token_reviews: Some((connected.client, options.reviews)),
            require_identity: options.require_identity,
            ..Identity::default()
        },
        protection: options.protection,
        anonymous_audit_reads: options.anonymous_audit_reads,
        notifications: options.notifications,
        // Plans read their windows in the simulator's time, which the tests move.
        plan_clock: {
            let cluster = sim.clone();
            std::sync::Arc::new(move || cluster.now() as i64)
        },
        recording: Some(Recording {
            store: store.clone(),
            sample_interval: options.sample_interval,
            edits: Some(Editing { config: connected.config, audit: options.audit }),
        }),
        ..Parts::new(
            paydeck::site::leptos_options(std::path::Path::new("target/site"), addr),
            options.request_timeout,
            view,
        )
    })
    .await
    .unwrap();
    paydeck::http::serve::spawn(listener, state.clone());
    Stack { sim, server, base: format!("http://{addr}/api/v1"), addr, db, store, sqlite, state }
}

/// Rows in the stack's audit log (intents included), read from its store.
pub async fn audit_rows(s: &Stack) -> i64 {
    use futures::TryStreamExt;
    s.store.audit.chain().try_fold(0, |n, _| async move { Ok(n + 1) }).await.unwrap()
}

/// Where two JSON values first differ, as a path with both values; floats equal to 12 digits
/// are the same.
pub fn first_difference(now: &serde_json::Value, then: &serde_json::Value, at: &str) -> Option<String> {
    match (now, then) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            let keys: std::collections::BTreeSet<_> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|k| {
                first_difference(
                    a.get(k).unwrap_or(&serde_json::Value::Null),
                    b.get(k).unwrap_or(&serde_json::Value::Null),
                    &format!("{at}.{k}"),
                )
            })
        }
        (serde_json::Value::Array(a), serde_json::Value::Array(b)) if a.len() == b.len() => {
            a.iter().zip(b).enumerate().find_map(|(i, (x, y))| first_difference(x, y, &format!("{at}[{i}]")))
        }
        // JSON text keeps a float to its last digit; reading it back may differ in the last bit.
        (serde_json::Value::Number(a), serde_json::Value::Number(b)) if a.is_f64() || b.is_f64() => {
            let (a, b) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN));
            ((a - b).abs() > 1e-12 * a.abs().max(b.abs())).then(|| format!("{at}: now {a}, then {b}"))
        }
        _ => (now != then).then(|| format!("{at}: now {now}, then {then}")),
    }
}

/// A TCP relay to `target` that can be cut (its connections closed, new ones dropped as they
/// arrive) and restored: a database server lost from the network, and back.
pub struct Relay {
    pub port: u16,
    cut: tokio::sync::watch::Sender<bool>,
}

impl Relay {
    pub async fn start(target: std::net::SocketAddr) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (cut, watch) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if *watch.borrow() {
                    continue;
                }
                let mut watch = watch.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = watch.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Relay { port, cut }
    }

    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    pub fn restore(&self) {
        self.cut.send_replace(false);
    }
}
