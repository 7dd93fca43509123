//! Two Paydeck processes, one simulated cluster, one PostgreSQL: one leader elected by the
//! cluster's Lease samples; killed, the other takes over within the lease's duration; paused
//! past its lease and let go, the old leader writes nothing; an edit through each replica
//! lands in one chain that verifies. `make test` runs one round, `make test-faults` ten
//! (`PAYDECK_FAILOVER_ROUNDS`), printing the takeover's figures.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use k8s_openapi::api::{apps::v1::Deployment, coordination::v1::Lease};
use kube::Api;
use serde_json::Value;

use crate::{
    faults::{
        Reaped, TempDir, count, figures, fx_rates_replicas, metric, no_panics, scale_fx_rates,
        start_paydeck_with,
    },
    support,
};

/// The lease's duration the replicas are started with, in seconds.
const LEASE_SECONDS: u64 = 3;

struct Replica {
    name: String,
    process: Reaped,
    url: String,
    log: std::path::PathBuf,
}

async fn start_replica(dir: &Path, kubeconfig: &Path, database: &str, name: &str) -> Replica {
    let log = dir.join(format!("{name}.db"));
    let lease = LEASE_SECONDS.to_string();
    let mut process = start_paydeck_with(
        kubeconfig,
        &log,
        &[
            "--database-url",
            database,
            "--leader-elect",
            "--lease-duration",
            &lease,
            "--leader-identity",
            name,
        ],
    );
    let url = support::served_at(&mut process).await;
    support::wait_ready(&url, Duration::from_secs(30), name).await;
    Replica { name: name.to_string(), process, url, log }
}

/// Which replica leads, once exactly one says so (its `/metrics`) and the Lease names it.
async fn the_leader(
    http: &reqwest::Client,
    replicas: &[Replica],
    leases: &Api<Lease>,
    within: Duration,
) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let mut leading = Vec::new();
        for (i, r) in replicas.iter().enumerate() {
            if metric(http, &r.url, "paydeck_leader").await == 1.0 {
                leading.push(i);
            }
        }
        if let [one] = leading[..] {
            let holder = leases.get("paydeck-leader").await.unwrap().spec.unwrap().holder_identity;
            if holder.as_deref() == Some(replicas[one].name.as_str()) {
                return one;
            }
        }
        assert!(leading.len() <= 1, "two replicas lead at once: {leading:?}");
        assert!(Instant::now() < deadline, "no single leader within {within:?} (leading: {leading:?})");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// fx-rates' sample stamps, oldest first.
async fn stamps(pool: &sqlx::PgPool) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT s.at_ms FROM samples s JOIN workloads w ON w.id = s.workload_id \
         WHERE w.namespace = 'payments-core' AND w.name = 'fx-rates' ORDER BY s.at_ms",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn samples_after(pool: &sqlx::PgPool, at_ms: i64, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    while stamps(pool).await.last().is_none_or(|last| *last <= at_ms) {
        assert!(Instant::now() < deadline, "no sample after {what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn signal(replica: &Replica, signal: i32) {
    // SAFETY: a signal to a Paydeck process this test started.
    assert_eq!(unsafe { libc::kill(replica.process.id() as i32, signal) }, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_leader_is_replaced_within_its_lease_and_a_paused_one_writes_nothing_stale() {
    let rounds = count("PAYDECK_FAILOVER_ROUNDS", 1);
    let sim = sim::Cluster::new(&sim::Options {
        speed: Some(1.0),
        start: Some(sim::clock::test_start()),
        ..sim::Options::default()
    });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = TempDir(std::env::temp_dir().join(format!("paydeck-failover-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let kubeconfig = dir.0.join("dashboard.kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig(sim::auth::DASHBOARD_TOKEN)).unwrap();
    let database = crate::postgres::server().database("failover").await;
    let pool = sqlx::PgPool::connect(&database).await.unwrap();
    let admin = support::admin(&server).await;
    let leases: Api<Lease> = Api::namespaced(admin.clone(), "paydeck");
    let http = reqwest::Client::new();
    let lease = Duration::from_secs(LEASE_SECONDS);

    let mut replicas = vec![
        start_replica(&dir.0, &kubeconfig, &database, "replica-a").await,
        start_replica(&dir.0, &kubeconfig, &database, "replica-b").await,
    ];
    let mut takeovers = Vec::new();
    for round in 0..rounds {
        let leader = the_leader(&http, &replicas, &leases, lease * 3).await;
        samples_after(&pool, paydeck::clock::unix_ms(), Duration::from_secs(5), "the leader was elected")
            .await;

        // SIGKILL: no release, the lease must run out.
        signal(&replicas[leader], libc::SIGKILL);
        let killed = Instant::now();
        let killed_at_ms = paydeck::clock::unix_ms();
        let dead = replicas.remove(leader);
        let next = the_leader(&http, &replicas, &leases, lease * 3).await;
        let takeover = killed.elapsed();
        // Within the lease (and the moments the new leader takes to claim its term).
        assert!(takeover <= lease + Duration::from_millis(300), "takeover took {takeover:?}");
        samples_after(
            &pool,
            killed_at_ms + takeover.as_millis() as i64,
            Duration::from_secs(5),
            "the takeover",
        )
        .await;
        takeovers.push(takeover);
        drop(dead);
        let name = format!("replica-r{round}");
        replicas.push(start_replica(&dir.0, &kubeconfig, &database, &name).await);
        // The new replica does not take the lease from the one leading.
        assert_eq!(the_leader(&http, &replicas, &leases, lease).await, next);
    }

    // SIGSTOP the leader past its lease: the other leads. SIGCONT: the old one writes nothing.
    let leader = the_leader(&http, &replicas, &leases, lease * 3).await;
    signal(&replicas[leader], libc::SIGSTOP);
    let other = 1 - leader;
    let deadline = Instant::now() + lease * 3;
    while metric(&http, &replicas[other].url, "paydeck_leader").await != 1.0 {
        assert!(Instant::now() < deadline, "no takeover from a paused leader");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(lease).await;
    signal(&replicas[leader], libc::SIGCONT);
    let resumed = &replicas[leader];
    let written = "paydeck_history_samples_written_total";
    let after_resume = metric(&http, &resumed.url, written).await;
    tokio::time::sleep(lease * 2).await;
    assert_eq!(metric(&http, &resumed.url, written).await, after_resume, "the resumed replica wrote samples");
    assert_eq!(metric(&http, &resumed.url, "paydeck_leader").await, 0.0, "it knows it does not lead");
    assert_eq!(the_leader(&http, &replicas, &leases, lease).await, other);

    // SIGTERM: the leader releases the lease on its way out; the other need not wait it out.
    let leader = the_leader(&http, &replicas, &leases, lease).await;
    signal(&replicas[leader], libc::SIGTERM);
    let asked = Instant::now();
    let stopping = replicas.remove(leader);
    the_leader(&http, &replicas, &leases, lease * 3).await;
    let handover = asked.elapsed();
    assert!(handover < lease, "a released lease is taken at once, not after {handover:?}");
    drop(stopping);
    replicas.push(start_replica(&dir.0, &kubeconfig, &database, "replica-last").await);

    // Every sample once: leaders sampled one after another, never two at a time (a second
    // sampler's stamps would fall between the first's, under a second apart), and the longest
    // gap is a takeover.
    let all = stamps(&pool).await;
    let gaps: Vec<i64> = all.windows(2).map(|w| w[1] - w[0]).collect();
    let (closest, widest) = (*gaps.iter().min().unwrap(), *gaps.iter().max().unwrap());
    assert!(closest >= 600, "two samplers at once: samples {closest} ms apart");
    let longest_takeover = takeovers.iter().max().unwrap();
    let pause = lease * 2 + lease / 7 + Duration::from_millis(700);
    assert!(
        widest as u128 <= (*longest_takeover).max(pause).as_millis() + 1_500,
        "a gap of {widest} ms (longest takeover {longest_takeover:?})"
    );

    // An edit through each replica: one audit chain, gapless, that verifies.
    let deployments: Api<Deployment> = Api::namespaced(admin, "payments-core");
    for (i, r) in replicas.iter().enumerate() {
        let wanted = (fx_rates_replicas(&deployments).await % 4) + 1;
        let res = scale_fx_rates(&deployments, &http, &r.url, wanted, &format!("FAILOVER-{i}"))
            .await
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "edit through {}: {}", r.name, res.text().await.unwrap_or_default());
        assert_eq!(fx_rates_replicas(&deployments).await, wanted);
    }
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_paydeck"))
        .args(["--database-url", &database, "verify-audit"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "verify-audit: {said} {}", String::from_utf8_lossy(&verify.stderr));
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT seq, outcome FROM audit ORDER BY seq").fetch_all(&pool).await.unwrap();
    let seqs: Vec<i64> = rows.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=rows.len() as i64).collect::<Vec<_>>(), "one gapless chain");
    assert_eq!(rows.iter().filter(|(_, o)| o == "applied").count(), 2, "{rows:?}");
    for r in &replicas {
        no_panics(&r.log);
    }
    let body: Value = http
        .get(format!("{}/api/v1/audit/head", replicas[0].url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["seq"].as_i64(), seqs.last().copied(), "every replica reads the one chain");
    println!(
        "FAULTS | leader killed, {rounds} time(s) (lease {LEASE_SECONDS} s) | takeover {} (goal ≤ lease) | released on SIGTERM: taken over in {} ms | closest samples {closest} ms, widest gap {widest} ms | paused leader wrote nothing after its lease | edits through both replicas: one chain, verified",
        figures(&mut takeovers),
        handover.as_millis()
    );
}

/// A plan step when no replica leads: a window opens while the leader is killed and the other
/// replica is held still; let go, the other replica takes the lease and applies the window's
/// level late, saying how late, once. A test about time: the window is set on the wall clock
/// (Paydeck's, against a real cluster), at the next minute at least 20 s away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_opening_while_no_replica_leads_is_applied_late_by_the_next_leader_which_says_so() {
    let sim = sim::Cluster::new(&sim::Options {
        speed: Some(1.0),
        start: Some(sim::clock::test_start()),
        ..sim::Options::default()
    });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = TempDir(std::env::temp_dir().join(format!("paydeck-failover-plan-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let kubeconfig = dir.0.join("dashboard.kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig(sim::auth::DASHBOARD_TOKEN)).unwrap();
    let database = crate::postgres::server().database("failover_plan").await;
    let admin = support::admin(&server).await;
    let leases: Api<Lease> = Api::namespaced(admin.clone(), "paydeck");
    let hpas: Api<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler> =
        Api::namespaced(admin, "payments-core");
    let min_of = |h: k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler| {
        h.spec.unwrap().min_replicas.unwrap_or(1)
    };
    let http = reqwest::Client::new();
    let replicas = vec![
        start_replica(&dir.0, &kubeconfig, &database, "replica-a").await,
        start_replica(&dir.0, &kubeconfig, &database, "replica-b").await,
    ];
    let leader = the_leader(&http, &replicas, &leases, Duration::from_secs(LEASE_SECONDS * 3)).await;
    let other = 1 - leader;

    // The window: from the next minute at least 20 s away, for half an hour.
    let now = jiff::Timestamp::now();
    let minute = 60_000;
    let mut opens_ms = (now.as_millisecond() / minute + 1) * minute;
    if opens_ms - now.as_millisecond() < 20_000 {
        opens_ms += minute;
    }
    let utc = |ms: i64| jiff::Timestamp::from_millisecond(ms).unwrap().to_zoned(jiff::tz::TimeZone::UTC);
    let (start, end) = (utc(opens_ms), utc(opens_ms + 30 * minute));
    let before = min_of(hpas.get("ledger").await.unwrap());
    let level = before + 2;
    let body = serde_json::json!({
        "schedule": { "timeZone": "UTC", "windows": [{
            "repeat": { "every": "once", "date": start.strftime("%Y-%m-%d").to_string() },
            "start": start.strftime("%H:%M").to_string(), "end": end.strftime("%H:%M").to_string(),
            "level": { "minReplicas": level } }] },
        "reason": "CHG-88 failover window"
    });
    let url = &replicas[leader].url;
    let drafted: Value = http
        .post(format!("{url}/api/v1/workloads/payments-core/ledger/plans"))
        .bearer_auth("paydeck-audience-viewer")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = drafted["id"].as_i64().unwrap_or_else(|| panic!("drafted: {drafted}"));
    let approved = http
        .post(format!("{url}/api/v1/plans/{id}/approve"))
        .bearer_auth("paydeck-audience-operator")
        .json(&serde_json::json!({ "reason": "CHG-88 reviewed", "version": drafted["version"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 200, "{}", approved.text().await.unwrap_or_default());

    // Just before the window: the other replica held still, the leader killed.
    let until_ms = |at_ms: i64| Duration::from_millis((at_ms - paydeck::clock::unix_ms()).max(0) as u64);
    tokio::time::sleep(until_ms(opens_ms - 3_000)).await;
    signal(&replicas[other], libc::SIGSTOP);
    signal(&replicas[leader], libc::SIGKILL);
    tokio::time::sleep(until_ms(opens_ms + 15_000)).await;
    assert_eq!(min_of(hpas.get("ledger").await.unwrap()), before, "no replica led when the window opened");
    signal(&replicas[other], libc::SIGCONT);

    // The other replica takes over and applies the window's level, late, once.
    let deadline = Instant::now() + Duration::from_secs(20);
    let plan = loop {
        let plan: Value = http
            .get(format!("{}/api/v1/plans/{id}", replicas[other].url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !plan["holding"].is_null() && plan["holding"]["sending"].is_null() {
            break plan;
        }
        assert!(Instant::now() < deadline, "the next leader did not apply the window: {plan:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(min_of(hpas.get("ledger").await.unwrap()), level, "read back from the cluster");
    let text = plan["lastStep"]["text"].as_str().unwrap().to_string();
    assert!(text.contains("late (Paydeck was down or had no leader when it opened)"), "{text}");
    let pool = sqlx::PgPool::connect(&database).await.unwrap();
    let steps: Vec<(String, String)> = sqlx::query_as(
        "SELECT user_name, reason FROM audit WHERE outcome = 'applied' AND reason LIKE $1 ORDER BY seq",
    )
    .bind(format!("plan {id} (%"))
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(steps.len(), 1, "applied once: {steps:?}");
    assert_eq!(steps[0].0, "operator", "as the approver");
    assert!(steps[0].1.contains("late"), "the audit row says how late: {steps:?}");
    println!("FAULTS | a window opening with no leader | applied by the next leader: {text}");
}
