//! Faults Paydeck must survive without losing what it acknowledged. Each test prints its
//! figures. `make test` runs a short round (a few kills, two API-server restarts);
//! `make test-faults` the release check (`PAYDECK_FAULT_KILLS=50`, `PAYDECK_FAULT_RESTARTS=20`).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use paydeck::cluster::{self, Scope, Source};
use serde_json::{Value, json};

use crate::support;

/// A count from the environment (the long run sets them), else the short round's.
pub(super) fn count(var: &str, short: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(short)
}

/// A small deterministic generator: the moments of the faults, repeatable from the seed printed.
pub(super) struct Dice(pub(super) u64);

impl Dice {
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

pub(super) fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

pub(super) fn figures(durations: &mut [Duration]) -> String {
    durations.sort();
    format!(
        "p50 {:.0} ms, p99 {:.0} ms",
        percentile(durations, 0.5).as_secs_f64() * 1000.0,
        percentile(durations, 0.99).as_secs_f64() * 1000.0
    )
}

pub(super) struct TempDir(pub(super) PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A process this test started, killed with its children when the test ends early (a failed
/// assertion), so none is left running.
pub(super) struct Reaped(Child);

impl std::ops::Deref for Reaped {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Reaped {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", self.0.id()));
            for pid in children.unwrap_or_default().split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
                // SAFETY: a signal to a child of a process this test started.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Paydeck as its own process, watching the simulator through `kubeconfig`, sampling every
/// second into `db`, logging errors to `db` with the extension `log` (see [`no_panics`]).
pub(super) fn start_paydeck(kubeconfig: &Path, db: &Path) -> Reaped {
    start_paydeck_with(kubeconfig, db, &[])
}

/// [`start_paydeck`] with more flags.
pub(super) fn start_paydeck_with(kubeconfig: &Path, db: &Path, flags: &[&str]) -> Reaped {
    let kubeconfig = kubeconfig.to_str().expect("a UTF-8 path");
    start_paydeck_on(db, &[flags, &["--kubeconfig", kubeconfig]].concat())
}

/// Paydeck sampling every second into `db` (its log beside it), told where its clusters are
/// by `flags` alone.
pub(super) fn start_paydeck_on(db: &Path, flags: &[&str]) -> Reaped {
    let log = std::fs::File::options().create(true).append(true).open(db.with_extension("log")).unwrap();
    Reaped(
        Command::new(env!("CARGO_BIN_EXE_paydeck"))
            .args(["--listen", "127.0.0.1:0", "--sample-interval", "1"])
            .args(flags)
            .arg("--db")
            .arg(db)
            .env("PAYDECK_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

/// Fails if the log of the Paydeck processes on `db` shows a panic.
pub(super) fn no_panics(db: &Path) {
    let log = std::fs::read_to_string(db.with_extension("log")).unwrap_or_default();
    assert!(!log.contains("panicked"), "{log}");
}

/// A pool on the database file at `db`.
pub(super) async fn open(db: &Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.unwrap()
}

/// The operator's scale edit of fx-rates to `replicas`, made on the Deployment's generation.
pub(super) async fn scale_fx_rates(
    deployments: &Api<Deployment>,
    http: &reqwest::Client,
    url: &str,
    replicas: i64,
    reason: &str,
) -> reqwest::RequestBuilder {
    let generation = deployments.get("fx-rates").await.unwrap().metadata.generation.unwrap();
    http.post(format!("{url}/api/v1/workloads/payments-core/fx-rates/scaling"))
        .bearer_auth("paydeck-audience-operator")
        .json(&json!({ "replicas": replicas, "reason": reason, "generation": generation, "dryRun": false }))
}

/// fx-rates' replica count as the cluster has it.
pub(super) async fn fx_rates_replicas(deployments: &Api<Deployment>) -> i64 {
    deployments.get("fx-rates").await.unwrap().spec.unwrap().replicas.unwrap_or(1).into()
}

/// The database file as Paydeck left it: SQLite's own check, and the audit chain checked by
/// `paydeck verify-audit` as an operator would run it.
pub(super) async fn check_database(db: &Path) {
    let pool = open(db).await;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&pool).await.unwrap();
    assert_eq!(integrity, "ok");
    pool.close().await;
    let verify = Command::new(env!("CARGO_BIN_EXE_paydeck"))
        .arg("--db")
        .arg(db)
        .arg("verify-audit")
        .env("PAYDECK_LOG", "error")
        .output()
        .unwrap();
    assert!(verify.status.success(), "verify-audit: {}", String::from_utf8_lossy(&verify.stderr));
}

/// Where the kill test's Paydeck keeps its store: the SQLite file beside it, or a database
/// on the test's PostgreSQL server.
enum Kept {
    File(PathBuf),
    Server(String),
}

impl Kept {
    /// The flags that point Paydeck at it (the file is `--db`, always given).
    fn flags(&self) -> Vec<&str> {
        match self {
            Kept::File(_) => Vec::new(),
            Kept::Server(url) => vec!["--database-url", url],
        }
    }

    fn location(&self) -> paydeck::store::Location {
        match self {
            Kept::File(path) => paydeck::store::Location::Sqlite(path.clone()),
            Kept::Server(url) => paydeck::store::Location::Postgres(url.clone()),
        }
    }

    /// The store as Paydeck left it: the file's own check, and the audit chain checked by
    /// `paydeck verify-audit` as an operator would run it.
    async fn check(&self, db: &Path) {
        match self {
            Kept::File(_) => check_database(db).await,
            Kept::Server(url) => {
                let verify = Command::new(env!("CARGO_BIN_EXE_paydeck"))
                    .args(["--database-url", url, "verify-audit"])
                    .env("PAYDECK_LOG", "error")
                    .output()
                    .unwrap();
                assert!(
                    verify.status.success(),
                    "verify-audit: {}{}",
                    String::from_utf8_lossy(&verify.stdout),
                    String::from_utf8_lossy(&verify.stderr)
                );
            }
        }
    }

    /// Every audit row, oldest first, read through the store.
    async fn audit(&self) -> Vec<paydeck::store::audit::ChainRow> {
        use futures::TryStreamExt;
        let store = paydeck::store::open_audit_for_reading(&self.location()).await.unwrap();
        store.chain().try_collect().await.unwrap()
    }

    /// The audit rows of fx-rates, oldest first: (outcome, reason, replicas after).
    async fn audit_of_fx_rates(&self) -> Vec<(String, String, Option<i64>)> {
        self.audit()
            .await
            .into_iter()
            .filter(|r| r.namespace == "payments-core" && r.name == "fx-rates")
            .map(|r| {
                let after: Value = serde_json::from_str(&r.after).unwrap_or(Value::Null);
                (r.outcome, r.reason, after["replicas"].as_i64())
            })
            .collect()
    }

    /// Samples recorded.
    async fn samples(&self) -> i64 {
        match self {
            Kept::File(db) => {
                let pool = open(db).await;
                let n = sqlx::query_scalar("SELECT COUNT(*) FROM samples").fetch_one(&pool).await.unwrap();
                pool.close().await;
                n
            }
            Kept::Server(url) => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                let n = sqlx::query_scalar("SELECT COUNT(*) FROM samples").fetch_one(&pool).await.unwrap();
                pool.close().await;
                n
            }
        }
    }
}

#[tokio::test]
async fn paydeck_killed_while_sampling_and_editing_loses_no_acknowledged_change() {
    killed_while_sampling_and_editing("sqlite").await;
}

#[tokio::test]
async fn paydeck_killed_while_sampling_and_editing_loses_no_acknowledged_change_on_postgres() {
    killed_while_sampling_and_editing("postgres").await;
}

async fn killed_while_sampling_and_editing(store: &str) {
    let kills = count("PAYDECK_FAULT_KILLS", 3);
    let seed = std::env::var("PAYDECK_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261201);
    let mut dice = Dice(seed);
    let sim = sim::Cluster::new(&sim::Options {
        speed: Some(1.0),
        start: Some(sim::clock::test_start()),
        ..sim::Options::default()
    });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    // Writes are answered 60 ms after they are applied, as a loaded API server's are: a window
    // in which a change is in the cluster and its outcome not yet in the audit log.
    sim.set_write_delay(Duration::from_millis(60));
    let dir =
        TempDir(std::env::temp_dir().join(format!("paydeck-faults-kill-{store}-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let kubeconfig = dir.0.join("dashboard.kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig(sim::auth::DASHBOARD_TOKEN)).unwrap();
    let db = dir.0.join("paydeck.db");
    let kept = match store {
        "postgres" => Kept::Server(crate::postgres::server().database("kill").await),
        _ => Kept::File(db.clone()),
    };
    let deployments: Api<Deployment> = Api::namespaced(support::admin(&server).await, "payments-core");
    let http = reqwest::Client::new();

    let mut acknowledged: Vec<(String, i64)> = Vec::new();
    let mut ready_times = Vec::new();
    let mut rows_checked = 0;
    let mut between_intent_and_outcome = 0;
    for kill in 0..kills {
        let started = Instant::now();
        let mut child = start_paydeck_with(&kubeconfig, &db, &kept.flags());
        let url = support::served_at(&mut child).await;
        support::wait_ready(&url, Duration::from_secs(30), "restarting after a kill").await;
        ready_times.push(started.elapsed());

        // Edits, one after another, until the kill lands at a moment the dice chose: often
        // while a change is on its way (between its intent and its outcome), and always
        // among the sampler's writes. An edit counts as acknowledged only when its 200
        // arrived; the one in flight when the kill lands may or may not have reached the
        // cluster, and the audit log must say which.
        let kill_at = tokio::time::Instant::now() + Duration::from_millis(500 + dice.below(2000));
        let mut edit = 0;
        loop {
            let replicas = 1 + ((kill + edit) % 4) as i64;
            let reason = format!("FAULT-{kill}.{edit}");
            let mut sent =
                tokio::spawn(scale_fx_rates(&deployments, &http, &url, replicas, &reason).await.send());
            let answered = tokio::time::timeout_at(kill_at, &mut sent).await.ok();
            let killed = answered.is_none() || tokio::time::Instant::now() >= kill_at;
            if killed {
                // SAFETY: a signal to our own child process.
                assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGKILL) }, 0);
                child.wait().unwrap();
            }
            let answer = match answered {
                Some(joined) => joined,
                None => sent.await,
            };
            match answer.unwrap() {
                Ok(res) if res.status() == 200 => acknowledged.push((reason, replicas)),
                Ok(res) => assert!(
                    res.status() == 409 || res.status() == 429,
                    "{reason}: {} {}",
                    res.status(),
                    res.text().await.unwrap_or_default()
                ),
                Err(e) => assert!(killed, "{reason}: {e}"),
            }
            edit += 1;
            if killed {
                break;
            }
            // A pause, so that the edits of a round stay under the per-user rate (20 a minute
            // would be spent in the first half second) and the kill finds one in flight often.
            tokio::time::sleep_until(
                kill_at.min(tokio::time::Instant::now() + Duration::from_millis(dice.below(150))),
            )
            .await;
        }
        kept.check(&db).await;
        let audit = kept.audit_of_fx_rates().await;
        rows_checked += audit.len();
        between_intent_and_outcome += usize::from(audit.last().is_some_and(|(o, ..)| o == "intent"));
        for (reason, replicas) in &acknowledged {
            assert!(
                audit.iter().any(|(o, r, after)| o == "applied" && r == reason && after == &Some(*replicas)),
                "an acknowledged change ({reason}) has no applied row after kill {kill}"
            );
        }
        // The cluster holds the newest applied change, or one whose intent came after it
        // (sent when the kill landed; settled as `unknown` at the next start).
        let now = fx_rates_replicas(&deployments).await;
        let newest_applied = audit.iter().rposition(|(o, ..)| o == "applied");
        let possible: Vec<Option<i64>> = audit
            .iter()
            .enumerate()
            .filter(|(i, (o, ..))| {
                Some(*i) == newest_applied
                    || (newest_applied.is_none_or(|n| *i > n) && (o == "intent" || o == "unknown"))
            })
            .map(|(_, (_, _, after))| *after)
            .collect();
        if !possible.is_empty() {
            assert!(
                possible.contains(&Some(now)),
                "after kill {kill} the cluster has {now}, the audit log {possible:?}"
            );
        }
    }
    // One more start settles the last kill's dangling intent as `unknown`.
    let mut child = start_paydeck_with(&kubeconfig, &db, &kept.flags());
    let url = support::served_at(&mut child).await;
    support::wait_ready(&url, Duration::from_secs(30), "the last restart").await;
    child.kill().unwrap();
    child.wait().unwrap();
    kept.check(&db).await;
    let rows = kept.audit().await;
    let dangling = rows
        .iter()
        .filter(|a| a.outcome == "intent" && !rows.iter().any(|b| b.intent_seq == Some(a.seq)))
        .count();
    let samples = kept.samples().await;
    no_panics(&db);
    assert_eq!(dangling, 0, "every intent has an outcome after a start");
    assert!(samples > 0, "history was sampled between the kills");
    assert!(!acknowledged.is_empty(), "some edits were acknowledged");
    println!(
        "FAULTS | SIGKILL while sampling and editing ({store}) | kills survived {kills}/{kills} ({between_intent_and_outcome} between an edit's intent and its outcome) | acknowledged edits {} | \
         audit rows checked {rows_checked} | acknowledged rows lost 0 (goal 0) | samples kept {samples} | \
         time to ready {} | seed {seed}",
        acknowledged.len(),
        figures(&mut ready_times)
    );
}

#[tokio::test]
async fn api_server_restarts_are_survived_and_the_snapshot_catches_up_within_five_seconds() {
    let restarts = count("PAYDECK_FAULT_RESTARTS", 2);
    let mut dice = Dice(7);
    let sim = sim::Cluster::new(&sim::Options {
        speed: None,
        start: Some(sim::clock::test_start()),
        ..sim::Options::default()
    });
    let mut server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (addr, certificates) = (server.addr, server.certificates.clone());
    let (view, kubeconfig) = watch_sim(&server, "restart", None).await;
    // Paydeck as its own process too, sampling every second: its memory, and its history.
    let dir = TempDir(std::env::temp_dir().join(format!("paydeck-faults-restart-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::copy(&kubeconfig, dir.0.join("dashboard.kubeconfig")).unwrap();
    let db = dir.0.join("paydeck.db");
    let mut child = start_paydeck(&dir.0.join("dashboard.kubeconfig"), &db);
    let url = support::served_at(&mut child).await;
    support::wait_ready(&url, Duration::from_secs(30), "Paydeck's first sync").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let level = resident_mib(child.id());

    let mut catch_up = Vec::new();
    let mut outages = Vec::new();
    for restart in 0..restarts {
        let down = paydeck::clock::unix_ms();
        drop(server);
        let mut rx = view.subscribe();
        tokio::time::timeout(Duration::from_secs(20), rx.wait_for(|s| !s.connection.problems.is_empty()))
            .await
            .unwrap_or_else(|_| panic!("restart {restart}: the outage was not reported"))
            .unwrap();
        // Long enough for a second's sampling to show a gap.
        tokio::time::sleep(Duration::from_millis(2000 + dice.below(1500))).await;
        // The cluster moves on while its API server is down.
        let replicas = 2 + (restart % 2) as i64;
        move_fx_rates(&sim, replicas);
        outages.push((down, paydeck::clock::unix_ms()));
        server = sim.serve_with(addr, certificates.clone()).await.unwrap();
        let back = Instant::now();
        consistent_within_five_seconds(&view, replicas, &format!("restart {restart}")).await;
        catch_up.push(back.elapsed());
    }
    // The process caught up too, and its memory went back to its level.
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let overview: Value =
            http.get(format!("{url}/api/v1/overview")).send().await.unwrap().json().await.unwrap();
        if overview["connection"]["problems"] == json!([]) {
            break;
        }
        assert!(Instant::now() < deadline, "Paydeck's process still reports {}", overview["connection"]);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = resident_mib(child.id());
    child.kill().unwrap();
    child.wait().unwrap();
    no_panics(&db);
    assert!(
        after <= level * 1.25 + 16.0,
        "resident memory {level:.0} MiB before the restarts, {after:.0} MiB after"
    );

    // History shows each outage as a gap (after a second to notice it), and goes on after.
    let pool = open(&db).await;
    let count = |from: i64, to: i64| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM samples WHERE at_ms BETWEEN ? AND ?")
            .bind(from)
            .bind(to)
            .fetch_one(&pool)
    };
    for (i, (down, up)) in outages.iter().enumerate() {
        assert_eq!(count(down + 1000, *up).await.unwrap(), 0, "samples during outage {i}");
    }
    assert!(count(outages.last().unwrap().1, i64::MAX).await.unwrap() > 0, "sampling resumed");
    pool.close().await;
    let _ = std::fs::remove_file(&kubeconfig);
    println!(
        "FAULTS | API server restarted | restarts survived {restarts}/{restarts} | time to consistent {} (goal ≤ 5 s) | \
         history gaps {restarts}/{restarts} outages | resident memory {level:.0} MiB before, {after:.0} MiB after (goal: back to its level)",
        figures(&mut catch_up)
    );
}

/// A process's resident memory in MiB, from `/proc`.
fn resident_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status");
    kib / 1024.0
}

/// Paydeck's cluster view of `server`, synced, as the dashboard's identity sees it; `silence`
/// replaces the client's limit on a silent connection (production's is checked to be set).
async fn watch_sim(
    server: &sim::RunningServer,
    name: &str,
    silence: Option<Duration>,
) -> (cluster::ClusterView, PathBuf) {
    let kubeconfig =
        std::env::temp_dir().join(format!("paydeck-faults-{name}-{}.kubeconfig", std::process::id()));
    std::fs::write(&kubeconfig, server.kubeconfig(sim::auth::DASHBOARD_TOKEN)).unwrap();
    let connected =
        cluster::connect(&Source::Kubeconfig { path: kubeconfig.clone(), context: None }).await.unwrap();
    assert_eq!(connected.config.read_timeout, Some(cluster::SILENCE_LIMIT), "production's limit is set");
    let client = match silence {
        None => connected.client,
        Some(limit) => {
            let mut config = connected.config.clone();
            config.read_timeout = Some(limit);
            kube::Client::try_from(config).unwrap()
        }
    };
    let view = cluster::start(client, connected.description, &Scope::default(), Duration::from_secs(1));
    tokio::time::timeout(Duration::from_secs(10), view.synced()).await.expect("synced within 10 s");
    (view, kubeconfig)
}

/// Sets fx-rates' replicas in the simulated cluster directly, as the cluster moving on.
fn move_fx_rates(sim: &sim::Cluster, replicas: i64) {
    let mut world = sim.lock();
    let mut fx =
        (*world.store.get(&sim::resources::DEPLOYMENTS, "payments-core", "fx-rates").unwrap()).clone();
    fx["spec"]["replicas"] = json!(replicas);
    world.store.replace(&sim::resources::DEPLOYMENTS, fx, None).unwrap();
}

/// Waits until the view reports no problem and shows fx-rates at `replicas`; fails after 5 s.
async fn consistent_within_five_seconds(view: &cluster::ClusterView, replicas: i64, what: &str) {
    let mut rx = view.subscribe();
    let consistent = rx.wait_for(|s| {
        s.connection.problems.is_empty()
            && s.workload("payments-core", "fx-rates")
                .is_some_and(|w| i64::from(w.replicas.desired) == replicas)
    });
    if tokio::time::timeout(Duration::from_secs(5), consistent).await.is_err() {
        panic!(
            "{what}: not consistent within 5 s of the API server serving again: {:?}",
            view.current().connection.problems
        );
    }
}

/// The most resource reads a second Paydeck may send while every read fails: seven kinds
/// retrying every few seconds, plus a probe a second each, is about ten; a hot loop is
/// hundreds.
const MOST_READS_PER_SECOND: f64 = 20.0;

/// The API server answering 429 (with Retry-After), 500 or 503 to every read, then hung
/// (accepting, never answering), then with its metrics API gone: each is reported on the
/// banner, retried with backoff (reads counted), and over within 5 s of the server serving
/// again; without metrics, usage is unknown rather than zero.
#[tokio::test]
async fn api_errors_hangs_and_a_missing_metrics_api_are_reported_and_recovered_from() {
    use sim::Fault;
    let hold = Duration::from_secs(count("PAYDECK_FAULT_HOLD_SECONDS", 3) as u64);
    let sim = sim::Cluster::new(&sim::Options {
        speed: None,
        start: Some(sim::clock::test_start()),
        ..sim::Options::default()
    });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (view, kubeconfig) = watch_sim(&server, "errors", None).await;

    let faults = [
        ("429 with Retry-After", Fault::Status { code: 429, retry_after_secs: Some(1) }),
        ("500", Fault::Status { code: 500, retry_after_secs: None }),
        ("503", Fault::Status { code: 503, retry_after_secs: None }),
        ("hung", Fault::Hang),
    ];
    let mut lines = Vec::new();
    let mut recovery = Vec::new();
    for (i, (name, fault)) in faults.into_iter().enumerate() {
        let reads_before = sim.faults().resource_reads();
        let started = Instant::now();
        sim.faults().set(fault);
        // A hang is noticed by the metrics poll's time limit (5 s at this sampling rate).
        let mut rx = view.subscribe();
        tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|s| !s.connection.problems.is_empty()))
            .await
            .unwrap_or_else(|_| panic!("{name}: not reported within 10 s"))
            .unwrap();
        let noticed = started.elapsed();
        let replicas = 2 + (i % 2) as i64;
        move_fx_rates(&sim, replicas);
        tokio::time::sleep(hold.saturating_sub(started.elapsed())).await;
        let reads = sim.faults().resource_reads() - reads_before;
        let per_second = reads as f64 / started.elapsed().as_secs_f64();
        sim.faults().clear();
        let back = Instant::now();
        consistent_within_five_seconds(&view, replicas, name).await;
        recovery.push(back.elapsed());
        assert!(per_second <= MOST_READS_PER_SECOND, "{name}: {per_second:.1} reads a second is a hot loop");
        lines.push(format!("{name}: noticed in {:.1} s, {per_second:.1} reads/s", noticed.as_secs_f64()));
    }

    // metrics-server gone: usage is unknown, not zero, and comes back.
    sim.faults().set(Fault::MetricsGone);
    let mut rx = view.subscribe();
    let unknown = rx.wait_for(|s| {
        s.connection.problems.iter().any(|p| p.contains("metrics API"))
            && s.workloads.iter().all(|w| w.cpu.usage.is_none() && w.memory.usage.is_none())
    });
    tokio::time::timeout(Duration::from_secs(5), unknown).await.expect("usage unknown within 5 s").unwrap();
    sim.faults().clear();
    let mut rx = view.subscribe();
    let known = rx.wait_for(|s| {
        s.connection.problems.is_empty() && s.workloads.iter().any(|w| w.cpu.usage.is_some_and(|u| u > 0.0))
    });
    tokio::time::timeout(Duration::from_secs(5), known).await.expect("usage back within 5 s").unwrap();

    let _ = std::fs::remove_file(&kubeconfig);
    println!(
        "FAULTS | API server answering 429/500/503, then hung, then metrics gone, {} s each | {} | time to consistent {} (goal ≤ 5 s) | usage unknown (not zero) while metrics were gone",
        hold.as_secs(),
        lines.join("; "),
        figures(&mut recovery)
    );
}

/// An API server that keeps answering lists but lets every watch go silent part-way: Paydeck
/// drops the silent streams after its silence limit (here 8 s, against the simulator's
/// bookmarks every 5 s; 75 s in production against watches renewed every 60 s), says so, and
/// is consistent within 5 s of the watches flowing again.
#[tokio::test]
async fn watches_that_stall_half_way_are_noticed_and_recovered_from() {
    let silence = Duration::from_secs(8);
    let sim = sim::Cluster::new(&sim::Options {
        speed: None,
        start: Some(sim::clock::test_start()),
        ..sim::Options::default()
    });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (view, kubeconfig) = watch_sim(&server, "stall", Some(silence)).await;
    // Quiet, healthy watches outlast the silence limit: bookmarks keep them alive.
    tokio::time::sleep(silence + Duration::from_secs(2)).await;
    assert!(view.current().connection.problems.is_empty(), "{:?}", view.current().connection.problems);

    let started = Instant::now();
    sim.faults().set(sim::Fault::StallWatches);
    move_fx_rates(&sim, 3);
    let mut rx = view.subscribe();
    let reported = rx.wait_for(|s| s.connection.problems.iter().any(|p| p.contains("watch")));
    tokio::time::timeout(silence + Duration::from_secs(7), reported)
        .await
        .expect("a stalled watch is reported within the silence limit and a few seconds")
        .unwrap();
    let noticed = started.elapsed();
    assert_ne!(
        view.current().workload("payments-core", "fx-rates").map(|w| w.replicas.desired),
        Some(3),
        "the change made while watches stalled cannot have been seen"
    );
    // The error stays while the stall lasts (lists still answer; the probe's watch does not end).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!view.current().connection.problems.is_empty(), "cleared while watches still stall");
    sim.faults().clear();
    let back = Instant::now();
    consistent_within_five_seconds(&view, 3, "stalled watches").await;
    let _ = std::fs::remove_file(&kubeconfig);
    println!(
        "FAULTS | watches stalled half-way | noticed in {:.1} s (silence limit {} s) | consistent {:.1} s after they flowed again (goal ≤ 5 s)",
        noticed.as_secs_f64(),
        silence.as_secs(),
        back.elapsed().as_secs_f64()
    );
}

/// The cluster's clock steps an hour forward and back, then Paydeck's own: the view follows
/// the cluster through both steps, and history stays sound — nothing stamped in a future
/// that has not come, no gap of negative length, and every rollup made from exactly the
/// samples in its bucket.
#[tokio::test]
async fn clocks_stepping_back_and_forth_break_neither_the_view_nor_history() {
    use paydeck::history::{FIVE_MINUTES, ONE_HOUR, Retention, sampler};
    use paydeck::store::sqlite::History;
    const HOUR_MS: i64 = 3_600_000;
    let sim = sim::Cluster::new(&sim::Options {
        speed: Some(1.0),
        start: Some(sim::clock::test_start()),
        ..sim::Options::default()
    });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (view, kubeconfig) = watch_sim(&server, "clock", None).await;
    let dir = TempDir(std::env::temp_dir().join(format!("paydeck-faults-clock-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let history =
        std::sync::Arc::new(History::open(&dir.0.join("history.db"), Retention::default()).await.unwrap());
    let clock = paydeck::clock::WallClock::default();
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let sampler = sampler::start(
        history.clone(),
        view.clone(),
        Duration::from_secs(1),
        Default::default(),
        clock.clone(),
        paydeck::store::Fence::unfenced(),
        stopping,
    );

    // The cluster's clock: an hour forward, then back.
    for (i, step) in [HOUR_MS, -HOUR_MS].into_iter().enumerate() {
        let before = sim.now();
        sim.step_clock(step);
        assert_eq!((sim.now() as i64 - before as i64 - step).abs() / 1000, 0, "the cluster's clock stepped");
        let replicas = 2 + i as i64;
        move_fx_rates(&sim, replicas);
        consistent_within_five_seconds(&view, replicas, &format!("the cluster's clock stepped {step} ms"))
            .await;
    }

    // Paydeck's clock: an hour ahead for a few samples and a rollup pass, then corrected.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    clock.step(HOUR_MS);
    tokio::time::sleep(Duration::from_millis(3000)).await;
    history.maintain(clock.now_ms()).await.unwrap();
    let pool = history.pool();
    let newest = || async {
        sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(at_ms) FROM samples")
            .fetch_one(pool)
            .await
            .unwrap()
            .unwrap()
    };
    assert!(newest().await > paydeck::clock::unix_ms() + HOUR_MS / 2, "samples were stamped an hour ahead");
    clock.step(-HOUR_MS);
    let corrected_at = clock.now_ms();
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let now = clock.now_ms();

    // Nothing is left stamped in the future, and sampling went on after the step.
    assert!(newest().await <= now, "samples stamped ahead remain");
    let demand_ahead: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM demand WHERE at_s > ?")
        .bind(now / 1000)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(demand_ahead, 0, "demand stamped ahead remains");
    let after_step: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM samples WHERE at_ms >= ?")
        .bind(corrected_at)
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(after_step > 0, "sampling stopped after the clock stepped back");
    let progress: Vec<i64> =
        sqlx::query_scalar("SELECT done_until_ms FROM rollup_progress").fetch_all(pool).await.unwrap();
    assert!(progress.iter().all(|p| *p <= now), "rollups claimed done into the future: {progress:?}");

    // Every gap between one workload's samples is positive and the series is in time order.
    let times: Vec<(i64, i64)> =
        sqlx::query_as("SELECT workload_id, at_ms FROM samples ORDER BY workload_id, at_ms")
            .fetch_all(pool)
            .await
            .unwrap();
    let shortest_gap = times.windows(2).filter(|w| w[0].0 == w[1].0).map(|w| w[1].1 - w[0].1).min().unwrap();
    assert!(shortest_gap > 0, "a gap of {shortest_gap} ms");

    // Once the buckets of now are complete (an hour on), each rollup holds exactly the samples
    // of its bucket, and every bucket with samples has one.
    history.maintain(now + HOUR_MS).await.unwrap();
    let five_minute_mismatches: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT workload_id, (at_ms / ?1) * ?1 AS bucket, COUNT(*) AS n FROM samples GROUP BY 1, 2) s \
         FULL OUTER JOIN (SELECT workload_id, bucket_ms, samples FROM rollups WHERE resolution_ms = ?1) r \
         ON r.workload_id = s.workload_id AND r.bucket_ms = s.bucket \
         WHERE s.n IS NOT r.samples",
    )
    .bind(FIVE_MINUTES)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(five_minute_mismatches, 0, "five-minute rollups that do not match their samples");
    let hourly_mismatches: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT workload_id, (bucket_ms / ?2) * ?2 AS bucket, SUM(samples) AS n FROM rollups \
         WHERE resolution_ms = ?1 AND bucket_ms < (SELECT done_until_ms FROM rollup_progress WHERE resolution_ms = ?2) \
         GROUP BY 1, 2) f \
         FULL OUTER JOIN (SELECT workload_id, bucket_ms, samples FROM rollups WHERE resolution_ms = ?2) h \
         ON h.workload_id = f.workload_id AND h.bucket_ms = f.bucket \
         WHERE f.n IS NOT h.samples",
    )
    .bind(FIVE_MINUTES)
    .bind(ONE_HOUR)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(hourly_mismatches, 0, "hourly rollups that do not match their five-minute ones");

    stop.send_replace(true);
    sampler.await.unwrap();
    let _ = std::fs::remove_file(&kubeconfig);
    println!(
        "FAULTS | clocks stepped ±1 h (the cluster's, then Paydeck's) | view consistent after each | samples stamped ahead left 0 | \
         shortest gap between samples {shortest_gap} ms (goal > 0) | rollups not matching their samples 0"
    );
}

/// A counter from Paydeck's `/metrics`.
pub(super) async fn metric(http: &reqwest::Client, url: &str, name: &str) -> f64 {
    let text = http.get(format!("{url}/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
}

/// The audit log's newest sequence number, as Paydeck serves it.
async fn audit_head(http: &reqwest::Client, url: &str) -> i64 {
    let head: Value =
        http.get(format!("{url}/api/v1/audit/head")).send().await.unwrap().json().await.unwrap();
    head["seq"].as_i64().unwrap_or(0)
}

/// Fills the file system holding `dir` with `file`, to its last block. Refuses to start on
/// anything but a small file system (the private tmpfs), so a mistake cannot fill a real disk.
fn fill(dir: &Path, file: &Path) -> u64 {
    use std::io::Write;
    let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: statvfs fills the zeroed struct it is given from a valid, NUL-terminated path.
    let mut fs: libc::statvfs = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::statvfs(path.as_ptr(), &mut fs) }, 0, "statvfs {}", dir.display());
    let size = fs.f_blocks as u64 * fs.f_frsize as u64;
    assert!(size <= 64 << 20, "{} is {size} bytes: not the private tmpfs", dir.display());
    let mut out = std::fs::File::create(file).unwrap();
    let block = vec![0u8; 4096];
    let mut written = 0;
    while written <= size {
        match out.write(&block) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling {}: {e}", file.display()),
        }
    }
    written
}

/// The disk under the history database fills while Paydeck samples (a small tmpfs in a
/// private mount namespace, filled to its last block): sample batches are held and retried,
/// edits are refused before anything is sent (no audit row, no change in the cluster), reads
/// go on; when space returns the held samples are written, edits go out again, and the
/// database is intact.
#[tokio::test]
async fn a_full_disk_holds_samples_back_refuses_edits_and_recovers_without_corruption() {
    let sim = sim::Cluster::new(&sim::Options {
        speed: Some(1.0),
        start: Some(sim::clock::test_start()),
        ..sim::Options::default()
    });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = TempDir(std::env::temp_dir().join(format!("paydeck-faults-disk-{}", std::process::id())));
    let disk = dir.0.join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    let kubeconfig = dir.0.join("dashboard.kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig(sim::auth::DASHBOARD_TOKEN)).unwrap();
    let log = std::fs::File::create(dir.0.join("paydeck.log")).unwrap();
    // Paydeck runs in the background of a shell that outlives it: after Paydeck stops, the
    // shell copies the database out of the tmpfs (which goes with the namespace), for the
    // checks SQLite cannot make through /proc (it resolves the path's symbolic links).
    let copy = dir.0.join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    let script = format!(
        "mount -t tmpfs -o size=4m tmpfs {disk} || exit 1; \
         {bin} --listen 127.0.0.1:0 --sample-interval 1 --kubeconfig {kubeconfig} --db {disk}/paydeck.db & \
         echo $! > {copy}/pid; wait $!; cp {disk}/paydeck.db* {copy}/",
        disk = disk.display(),
        copy = copy.display(),
        bin = env!("CARGO_BIN_EXE_paydeck"),
        kubeconfig = kubeconfig.display(),
    );
    let mut shell = Reaped(
        Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount", "sh", "-c", &script])
            .env("PAYDECK_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("unshare (util-linux) runs Paydeck in its own mount namespace"),
    );
    let child = &mut shell.0;
    let url = support::served_at(child).await;
    support::wait_ready(&url, Duration::from_secs(30), "starting on the small disk").await;
    // The tmpfs as this process sees it: through the root of a process in the namespace.
    let seen = PathBuf::from(format!("/proc/{}/root{}", child.id(), disk.display()));
    assert!(seen.join("paydeck.db").exists(), "the database is on the private tmpfs");
    let http = reqwest::Client::new();
    let deployments: Api<Deployment> = Api::namespaced(support::admin(&server).await, "payments-core");
    let edit = |replicas: i64, reason: &'static str| {
        let (deployments, http, url) = (&deployments, &http, &url);
        async move { scale_fx_rates(deployments, http, url, replicas, reason).await.send().await.unwrap() }
    };
    let written = "paydeck_history_samples_written_total";
    let failures = "paydeck_history_write_failures_total";
    let deadline = Instant::now() + Duration::from_secs(20);
    while metric(&http, &url, written).await == 0.0 {
        assert!(Instant::now() < deadline, "no samples written");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The disk fills.
    let filler = seen.join("filler");
    let filled = fill(&seen, &filler);
    let full_from = paydeck::clock::unix_ms();
    // SQLite first fills the space its files already hold (the write-ahead log is reused
    // from its start after a checkpoint): writes succeed until that is gone, about 23 s of
    // sampling here.
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(&http, &url, failures).await == 0.0 {
        assert!(Instant::now() < deadline, "sample writes went on with the disk full");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let noticed = full_from.abs_diff(paydeck::clock::unix_ms());

    // Edits are refused with nothing sent and nothing recorded; reads go on.
    let (replicas_before, head_before) =
        (fx_rates_replicas(&deployments).await, audit_head(&http, &url).await);
    let res = edit(replicas_before % 4 + 1, "DISK-FULL").await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["outcome"], "unrecorded", "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("nothing was sent"), "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("KiB free"), "{answer}");
    assert_eq!(fx_rates_replicas(&deployments).await, replicas_before, "the cluster is unchanged");
    assert_eq!(audit_head(&http, &url).await, head_before, "no audit row");
    for path in [
        "/api/v1/overview",
        "/api/v1/workloads",
        "/api/v1/workloads/payments-core/fx-rates/history",
        "/services",
    ] {
        let res = http.get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path} with the disk full");
    }
    // Sampling goes on (every second) while the disk is full; wait long enough for at least
    // three moments to be held even when the machine is busy (3 s once held fewer).
    tokio::time::sleep(Duration::from_secs(5)).await;
    let failed = metric(&http, &url, failures).await;

    // Space returns: the held samples are written, edits go out again.
    std::fs::remove_file(&filler).unwrap();
    let full_until = paydeck::clock::unix_ms();
    let written_then = metric(&http, &url, written).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(&http, &url, written).await <= written_then {
        assert!(
            Instant::now() < deadline,
            "sampling did not resume: {}",
            std::fs::read_to_string(dir.0.join("paydeck.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let res = edit(replicas_before % 4 + 1, "DISK-BACK").await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    assert_eq!(fx_rates_replicas(&deployments).await, replicas_before % 4 + 1);
    assert_eq!(audit_head(&http, &url).await, head_before + 2, "intent and outcome recorded");

    // Paydeck stops as Kubernetes stops it; the database it leaves is intact and holds the
    // samples taken while the disk was full.
    let paydeck: i32 = std::fs::read_to_string(copy.join("pid")).unwrap().trim().parse().unwrap();
    // SAFETY: a signal to the Paydeck process this test started.
    assert_eq!(unsafe { libc::kill(paydeck, libc::SIGTERM) }, 0);
    assert!(child.wait().unwrap().success(), "the shell copied the database out");
    let db = copy.join("paydeck.db");
    check_database(&db).await;
    let pool = open(&db).await;
    let held: i64 =
        sqlx::query_scalar("SELECT COUNT(DISTINCT at_ms) FROM samples WHERE at_ms BETWEEN ? AND ?")
            .bind(full_from)
            .bind(full_until)
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    assert!(held >= 3, "the samples taken while the disk was full were kept and written: {held}");
    let log = std::fs::read_to_string(dir.0.join("paydeck.log")).unwrap();
    assert!(!log.contains("panicked"), "{log}");
    println!(
        "FAULTS | disk full under sampling ({filled} bytes of filler) | write failure noticed in {:.1} s | {failed} batches refused and retried | \
         edit refused with nothing sent, cluster and audit unchanged | reads answered | {held} held sampling moments written after space returned | integrity ok, audit chain verified",
        noticed as f64 / 1000.0
    );
}

#[tokio::test]
async fn a_lost_postgresql_holds_samples_back_refuses_edits_and_recovers() {
    let sim = sim::Cluster::new(&sim::Options {
        speed: Some(1.0),
        start: Some(sim::clock::test_start()),
        ..sim::Options::default()
    });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = TempDir(std::env::temp_dir().join(format!("paydeck-faults-lost-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let kubeconfig = dir.0.join("dashboard.kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig(sim::auth::DASHBOARD_TOKEN)).unwrap();
    let db = dir.0.join("paydeck.db");
    // Paydeck reaches the database through a relay the test can cut.
    let direct = crate::postgres::server().database("lost").await;
    let (host_port, database) = direct.rsplit_once('@').unwrap().1.split_once('/').unwrap();
    let relay = support::Relay::start(host_port.parse().unwrap()).await;
    let through = format!("postgres://paydeck@127.0.0.1:{}/{database}", relay.port);
    let mut child = start_paydeck_with(&kubeconfig, &db, &["--database-url", &through]);
    let url = support::served_at(&mut child).await;
    support::wait_ready(&url, Duration::from_secs(30), "starting on PostgreSQL").await;
    assert!(!db.exists(), "no SQLite file: the store is the server");
    let http = reqwest::Client::new();
    let deployments: Api<Deployment> = Api::namespaced(support::admin(&server).await, "payments-core");
    let edit = |replicas: i64, reason: &'static str| {
        let (deployments, http, url) = (&deployments, &http, &url);
        async move { scale_fx_rates(deployments, http, url, replicas, reason).await.send().await.unwrap() }
    };
    let written = "paydeck_history_samples_written_total";
    let failures = "paydeck_history_write_failures_total";
    let deadline = Instant::now() + Duration::from_secs(20);
    while metric(&http, &url, written).await == 0.0 {
        assert!(Instant::now() < deadline, "no samples written");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The database server is lost.
    relay.cut();
    let lost_from = paydeck::clock::unix_ms();
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(&http, &url, failures).await == 0.0 {
        assert!(Instant::now() < deadline, "sample writes went on with the database lost");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let noticed = lost_from.abs_diff(paydeck::clock::unix_ms());

    // Edits are refused with nothing sent; live reads go on, history says what is missing.
    let replicas_before = fx_rates_replicas(&deployments).await;
    let asked = Instant::now();
    let res = edit(replicas_before % 4 + 1, "DB-LOST").await;
    let refused_in = asked.elapsed();
    assert_eq!(res.status(), 503);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["outcome"], "unrecorded", "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("nothing was sent"), "{answer}");
    assert!(refused_in < Duration::from_secs(8), "refused within seconds: {refused_in:?}");
    assert_eq!(fx_rates_replicas(&deployments).await, replicas_before, "the cluster is unchanged");
    for path in ["/api/v1/overview", "/api/v1/workloads", "/services"] {
        let res = http.get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path} with the database lost");
    }
    let res =
        http.get(format!("{url}/api/v1/workloads/payments-core/fx-rates/history")).send().await.unwrap();
    assert_eq!(res.status(), 503, "history cannot be read");
    assert!(res.text().await.unwrap().contains("history database did not answer"));
    tokio::time::sleep(Duration::from_secs(5)).await;
    let failed = metric(&http, &url, failures).await;

    // It returns: the held samples are written, edits go out again.
    relay.restore();
    let lost_until = paydeck::clock::unix_ms();
    let written_then = metric(&http, &url, written).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while metric(&http, &url, written).await <= written_then {
        assert!(Instant::now() < deadline, "sampling did not resume");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let res = edit(replicas_before % 4 + 1, "DB-BACK").await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    assert_eq!(fx_rates_replicas(&deployments).await, replicas_before % 4 + 1);
    // SAFETY: a signal to the Paydeck process this test started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    // Waited for without blocking this thread: the simulator Paydeck still talks to while it
    // stops runs on it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let stopped = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "Paydeck did not stop within 30 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(stopped.success(), "{stopped}");

    let kept = Kept::Server(direct.clone());
    kept.check(&db).await;
    let audit = kept.audit_of_fx_rates().await;
    assert!(
        !audit.iter().any(|(_, reason, _)| reason == "DB-LOST"),
        "the refused edit left no row: {audit:?}"
    );
    assert!(audit.iter().any(|(o, reason, _)| o == "applied" && reason == "DB-BACK"), "{audit:?}");
    let pool = sqlx::PgPool::connect(&direct).await.unwrap();
    let held: i64 =
        sqlx::query_scalar("SELECT COUNT(DISTINCT at_ms) FROM samples WHERE at_ms BETWEEN $1 AND $2")
            .bind(lost_from)
            .bind(lost_until)
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    assert!(held >= 3, "the samples taken while the database was lost were kept and written: {held}");
    no_panics(&db);
    println!(
        "FAULTS | PostgreSQL lost while sampling (connections cut) | write failure noticed in {:.1} s | {failed} batches refused and retried | \
         edit refused in {:.1} s with nothing sent, cluster and audit unchanged | live reads answered, history says it is unavailable | \
         {held} held sampling moments written after it returned | audit chain verified",
        noticed as f64 / 1000.0,
        refused_in.as_secs_f64()
    );
}
