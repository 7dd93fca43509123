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
use sqlx::Row;

mod support;

/// A count from the environment (the long run sets them), else the short round's.
fn count(var: &str, short: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(short)
}

/// A small deterministic generator: the moments of the faults, repeatable from the seed printed.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn figures(durations: &mut [Duration]) -> String {
    durations.sort();
    format!(
        "p50 {:.0} ms, p99 {:.0} ms",
        percentile(durations, 0.5).as_secs_f64() * 1000.0,
        percentile(durations, 0.99).as_secs_f64() * 1000.0
    )
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Paydeck as its own process, watching the simulator through `kubeconfig`, sampling every
/// second into `db`.
fn start_paydeck(kubeconfig: &Path, db: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_paydeck"))
        .args(["--listen", "127.0.0.1:0", "--sample-interval", "1"])
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--db")
        .arg(db)
        .env("PAYDECK_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The database file as Paydeck left it: SQLite's own check, and the audit chain checked by
/// `paydeck verify-audit` as an operator would run it.
async fn check_database(db: &Path) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.unwrap();
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

/// The audit rows of fx-rates, oldest first: (outcome, reason, replicas after).
async fn audit_of_fx_rates(db: &Path) -> Vec<(String, String, Option<i64>)> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let rows = sqlx::query(
        "SELECT outcome, reason, after FROM audit WHERE namespace = 'payments-core' AND name = 'fx-rates' ORDER BY seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.iter()
        .map(|r| {
            let after: Value = serde_json::from_str(r.get::<&str, _>(2)).unwrap_or(Value::Null);
            (r.get(0), r.get(1), after["replicas"].as_i64())
        })
        .collect()
}

#[tokio::test]
async fn paydeck_killed_while_sampling_and_editing_loses_no_acknowledged_change() {
    let kills = count("PAYDECK_FAULT_KILLS", 3);
    let seed = std::env::var("PAYDECK_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261201);
    let mut dice = Dice(seed);
    let sim = sim::Cluster::new(&sim::Options { speed: Some(1.0), ..sim::Options::default() });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    // Writes are answered 60 ms after they are applied, as a loaded API server's are: a window
    // in which a change is in the cluster and its outcome not yet in the audit log.
    sim.set_write_delay(Duration::from_millis(60));
    let dir = TempDir(std::env::temp_dir().join(format!("paydeck-faults-kill-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let kubeconfig = dir.0.join("dashboard.kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig(sim::auth::DASHBOARD_TOKEN)).unwrap();
    let db = dir.0.join("paydeck.db");
    let deployments: Api<Deployment> = Api::namespaced(support::admin(&server).await, "payments-core");
    let http = reqwest::Client::new();

    let mut acknowledged: Vec<(String, i64)> = Vec::new();
    let mut ready_times = Vec::new();
    let mut rows_checked = 0;
    let mut between_intent_and_outcome = 0;
    for kill in 0..kills {
        let started = Instant::now();
        let mut child = start_paydeck(&kubeconfig, &db);
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
            let generation = deployments.get("fx-rates").await.unwrap().metadata.generation.unwrap();
            let replicas = 1 + ((kill + edit) % 4) as i64;
            let reason = format!("FAULT-{kill}.{edit}");
            let mut sent = tokio::spawn(
                http.post(format!("{url}/api/v1/workloads/payments-core/fx-rates/scaling"))
                    .bearer_auth("paydeck-audience-operator")
                    .json(&json!({ "replicas": replicas, "reason": reason, "generation": generation, "dryRun": false }))
                    .send(),
            );
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
        check_database(&db).await;
        let audit = audit_of_fx_rates(&db).await;
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
        let now = deployments.get("fx-rates").await.unwrap().spec.unwrap().replicas.unwrap_or(1) as i64;
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
    let mut child = start_paydeck(&kubeconfig, &db);
    let url = support::served_at(&mut child).await;
    support::wait_ready(&url, Duration::from_secs(30), "the last restart").await;
    child.kill().unwrap();
    child.wait().unwrap();
    check_database(&db).await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let dangling: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit a WHERE outcome = 'intent' AND NOT EXISTS (SELECT 1 FROM audit b WHERE b.intent_seq = a.seq)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let samples: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM samples").fetch_one(&pool).await.unwrap();
    pool.close().await;
    assert_eq!(dangling, 0, "every intent has an outcome after a start");
    assert!(samples > 0, "history was sampled between the kills");
    assert!(!acknowledged.is_empty(), "some edits were acknowledged");
    println!(
        "FAULTS | SIGKILL while sampling and editing | kills survived {kills}/{kills} ({between_intent_and_outcome} between an edit's intent and its outcome) | acknowledged edits {} | \
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
    let sim = sim::Cluster::new(&sim::Options { speed: None, ..sim::Options::default() });
    let mut server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (addr, certificates) = (server.addr, server.certificates.clone());
    let (view, kubeconfig) = watch_sim(&server, "restart", None).await;

    let mut catch_up = Vec::new();
    for restart in 0..restarts {
        drop(server);
        let mut rx = view.subscribe();
        tokio::time::timeout(Duration::from_secs(20), rx.wait_for(|s| !s.connection.problems.is_empty()))
            .await
            .unwrap_or_else(|_| panic!("restart {restart}: the outage was not reported"))
            .unwrap();
        tokio::time::sleep(Duration::from_millis(dice.below(1500))).await;
        // The cluster moves on while its API server is down.
        let replicas = 2 + (restart % 2) as i64;
        move_fx_rates(&sim, replicas);
        server = sim.serve_with(addr, certificates.clone()).await.unwrap();
        let back = Instant::now();
        consistent_within_five_seconds(&view, replicas, &format!("restart {restart}")).await;
        catch_up.push(back.elapsed());
    }
    let _ = std::fs::remove_file(&kubeconfig);
    println!(
        "FAULTS | API server restarted | restarts survived {restarts}/{restarts} | time to consistent {} (goal ≤ 5 s)",
        figures(&mut catch_up)
    );
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
    let sim = sim::Cluster::new(&sim::Options { speed: None, ..sim::Options::default() });
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
    let sim = sim::Cluster::new(&sim::Options { speed: None, ..sim::Options::default() });
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
    use paydeck::history::{FIVE_MINUTES, History, ONE_HOUR, Retention, sampler};
    const HOUR_MS: i64 = 3_600_000;
    let sim = sim::Cluster::new(&sim::Options { speed: Some(1.0), ..sim::Options::default() });
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
