//! Floods Paydeck must stay up and correct through, against the release binary as its own
//! process: sockets that never say anything (or half an HTTP/2 preface, or sit idle on
//! HTTP/2), request bodies that trickle, and audit reads by the thousand while changes are
//! made. Each prints its figures; `make test` runs a small flood, `make test-faults` a large
//! one (`PAYDECK_FLOOD_SOCKETS`, `PAYDECK_FLOOD_BODIES`, `PAYDECK_FLOOD_EDITS`).

use std::{
    net::{IpAddr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

use super::faults::{Reaped, TempDir, check_database, count, figures, no_panics, open, start_paydeck_with};
use crate::support;

/// A simulated cluster, a folder and the kubeconfig Paydeck watches it with.
struct Setup {
    _sim: sim::Cluster,
    server: sim::RunningServer,
    dir: TempDir,
}

async fn setup(name: &str) -> Setup {
    let sim = sim::Cluster::new(&sim::Options {
        speed: Some(1.0),
        start: Some(sim::clock::test_start()),
        ..sim::Options::default()
    });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = TempDir(std::env::temp_dir().join(format!("paydeck-floods-{name}-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("dashboard.kubeconfig"), server.kubeconfig(sim::auth::DASHBOARD_TOKEN))
        .unwrap();
    Setup { _sim: sim, server, dir }
}

impl Setup {
    /// Paydeck with `flags`, ready: the process and the URL it serves on.
    async fn start(&self, flags: &[&str]) -> (Reaped, String) {
        let mut child = start_paydeck_with(&self.dir.0.join("dashboard.kubeconfig"), &self.db(), flags);
        let url = support::served_at(&mut child).await;
        support::wait_ready(&url, Duration::from_secs(30), "starting").await;
        (child, url)
    }

    fn db(&self) -> std::path::PathBuf {
        self.dir.0.join("paydeck.db")
    }
}

/// A port free now, for `--probe-listen`.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// File descriptors the process holds now.
fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// A labelled counter from `/metrics` (0 before it was first counted).
async fn counter(http: &reqwest::Client, url: &str, series: &str) -> f64 {
    let text = http.get(format!("{url}/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
}

/// How long a probe may take: the tests share two cores with the flood and with each other, so
/// a slow answer is load; a refusal (a status other than 200) is what the caps would cause.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Asks `url/healthz` every 100 ms until `until` turns true: (answered 200, asked, slowest).
fn probe_until(
    url: String,
    until: Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<(usize, usize, Duration)> {
    tokio::spawn(async move {
        // A fresh connection each time, as the kubelet's probes make.
        let http =
            reqwest::Client::builder().pool_max_idle_per_host(0).timeout(PROBE_TIMEOUT).build().unwrap();
        let (mut ok, mut asked, mut slowest) = (0, 0, Duration::ZERO);
        while !until.load(Ordering::Relaxed) {
            let started = Instant::now();
            asked += 1;
            if http.get(format!("{url}/healthz")).send().await.is_ok_and(|r| r.status() == 200) {
                ok += 1;
            }
            slowest = slowest.max(started.elapsed());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (ok, asked, slowest)
    })
}

/// Connects from `source` (any 127.x address is this machine's: a client of its own).
async fn connect_from(source: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    socket.connect(to).await
}

/// What one flooding socket sends before it falls silent.
#[derive(Clone, Copy, Debug)]
enum Silence {
    /// Nothing at all.
    Nothing,
    /// The first half of the HTTP/2 preface.
    HalfPreface,
    /// An HTTP/2 connection, preface and settings, that then asks for nothing.
    IdleHttp2,
}

impl Silence {
    fn bytes(self) -> &'static [u8] {
        match self {
            Silence::Nothing => b"",
            Silence::HalfPreface => b"PRI * HTTP/2.0\r\n",
            // The preface, then an empty SETTINGS frame (length 0, type 4, no flags, stream 0).
            Silence::IdleHttp2 => b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
        }
    }
}

/// Holds a socket open saying only `silence`: how long until Paydeck closed it (`None`: still
/// open after `give_up`), and whether it was closed as it arrived (at the connection cap).
async fn hold_silent(to: SocketAddr, silence: Silence, give_up: Duration) -> (Option<Duration>, bool) {
    let Ok(mut tcp) = TcpStream::connect(to).await else { return (Some(Duration::ZERO), true) };
    let started = Instant::now();
    if tcp.write_all(silence.bytes()).await.is_err() {
        return (Some(started.elapsed()), true);
    }
    let mut buf = [0u8; 4096];
    let mut heard = false;
    loop {
        match tokio::time::timeout_at((started + give_up).into(), tcp.read(&mut buf)).await {
            Err(_) => return (None, false),
            Ok(Ok(0)) | Ok(Err(_)) => {
                let closed = started.elapsed();
                return (Some(closed), !heard && closed < Duration::from_millis(500));
            }
            Ok(Ok(_)) => heard = true, // HTTP/2 settings and pings, then a GOAWAY
        }
    }
}

#[tokio::test]
async fn sockets_that_say_nothing_are_capped_and_closed_and_the_probes_answer_throughout() {
    let sockets = count("PAYDECK_FLOOD_SOCKETS", 2_400);
    let (cap, header_s, idle_s) = (1_000usize, 2u64, 3u64);
    let s = setup("sockets").await;
    let probe_port = free_port();
    let (cap_arg, header_arg, idle_arg) = (cap.to_string(), header_s.to_string(), idle_s.to_string());
    let probe_arg = format!("127.0.0.1:{probe_port}");
    let (mut child, url) = s
        .start(&[
            "--max-connections",
            &cap_arg,
            "--header-timeout",
            &header_arg,
            "--idle-timeout",
            &idle_arg,
            "--probe-listen",
            &probe_arg,
        ])
        .await;
    let pid = child.id();
    let before = open_files(pid);
    let to: SocketAddr = url.trim_start_matches("http://").parse().unwrap();

    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probes = probe_until(format!("http://127.0.0.1:{probe_port}"), done.clone());
    let peak = Arc::new(AtomicUsize::new(before));
    let watching = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(open_files(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let give_up = Duration::from_secs(header_s + idle_s + 15);
    let started = Instant::now();
    let held: Vec<_> = (0..sockets)
        .map(|i| {
            let silence = [Silence::Nothing, Silence::HalfPreface, Silence::IdleHttp2][i % 3];
            // In waves of 200 every 50 ms: faster, the kernel's accept queue overflows and
            // holds connections Paydeck has not been given yet (that is a SYN flood, for the
            // kernel's SYN cookies, not for the server).
            let wave = Duration::from_millis(50 * (i / 200) as u64);
            tokio::spawn(async move {
                tokio::time::sleep(wave).await;
                (silence, hold_silent(to, silence, give_up).await)
            })
        })
        .collect();
    let mut at_cap = 0;
    let mut closed_after: [Vec<Duration>; 3] = Default::default();
    let mut still_open = 0;
    let mut open_by_kind = [0usize; 3];
    for h in held {
        let (silence, (closed, on_arrival)) = h.await.unwrap();
        match closed {
            None => {
                still_open += 1;
                open_by_kind[silence as usize] += 1;
            }
            Some(_) if on_arrival => at_cap += 1,
            Some(after) => closed_after[silence as usize].push(after),
        }
    }
    let flood_took = started.elapsed();
    // The server lets go of them too (it may close a moment after the client saw EOF).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = open_files(pid);
    done.store(true, Ordering::Relaxed);
    let (probes_ok, probes_asked, slowest_probe) = probes.await.unwrap();
    watching.await.unwrap();
    let http = reqwest::Client::new();
    let served_after = http.get(format!("{url}/api/v1/workloads")).send().await.unwrap().status();
    let closed = |reason: &str| {
        let (http, url) = (http.clone(), url.clone());
        let series = format!("paydeck_connections_closed_total{{reason=\"{reason}\"}}");
        async move { counter(&http, &url, &series).await }
    };
    let (by_cap, by_protocol, by_idle) =
        (closed("connections").await, closed("protocol_timeout").await, closed("idle").await);
    child.kill().unwrap();
    child.wait().unwrap();
    no_panics(&s.db());

    let peak = peak.load(Ordering::Relaxed);
    let describe = |v: &mut Vec<Duration>| if v.is_empty() { "none".into() } else { figures(v) };
    let [mut nothing, mut half, mut h2] = closed_after;
    println!(
        "FAULTS | {sockets} sockets saying nothing, half an HTTP/2 preface or idle on HTTP/2 (cap {cap}, header {header_s} s, idle {idle_s} s) | \
         closed at arrival (cap) {at_cap} | still open after {} s {still_open} (goal 0; by kind {open_by_kind:?}) | \
         closed after: nothing {}, half preface {}, idle HTTP/2 {} | server files peak {peak} (before {before}, goal ≤ {}) then {after} | \
         probe port answered {probes_ok}/{probes_asked} (slowest {} ms) | counted: cap {by_cap}, protocol timeout {by_protocol}, idle {by_idle} | flood over in {:.1} s",
        give_up.as_secs(),
        describe(&mut nothing),
        describe(&mut half),
        describe(&mut h2),
        before + cap + 50,
        slowest_probe.as_millis(),
        flood_took.as_secs_f64(),
    );
    assert_eq!(still_open, 0, "every silent socket is closed");
    assert!(peak <= before + cap + 50, "connections are capped: {peak} files at the peak, {before} before");
    assert!(after <= before + 20, "the files are given back: {after} after, {before} before");
    assert_eq!(probes_ok, probes_asked, "the probe port answers whatever the main port carries");
    assert_eq!(served_after, 200, "the server serves after the flood");
    if sockets > cap {
        assert!(at_cap > 0 && by_cap > 0.0, "sockets beyond the cap are closed as they arrive");
    }
    assert!(by_protocol > 0.0 && by_idle > 0.0, "silent sockets time out, idle HTTP/2 ones too");
    let limit = Duration::from_secs(header_s + 2);
    assert!(
        nothing.iter().chain(&half).all(|d| *d <= limit),
        "a socket that says nothing is closed within the header time"
    );
    let limit = Duration::from_secs(idle_s + header_s + 3);
    assert!(h2.iter().all(|d| *d <= limit), "an idle HTTP/2 connection is closed within the idle time");
}

/// Sends a write's headers and `sent` bytes of its body, then nothing: the status Paydeck
/// answers with, and when.
async fn trickle(
    stream: std::io::Result<TcpStream>,
    path: &str,
    body_bytes: usize,
    sent: usize,
) -> (u16, Duration) {
    let started = Instant::now();
    let Ok(mut tcp) = stream else { return (0, started.elapsed()) };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: paydeck\r\nContent-Type: application/json\r\nContent-Length: {body_bytes}\r\n\r\n"
    );
    if tcp.write_all(head.as_bytes()).await.is_err() || tcp.write_all(&vec![b' '; sent]).await.is_err() {
        return (0, started.elapsed());
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(Duration::from_secs(60), tcp.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    let status =
        String::from_utf8_lossy(&answer).split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, started.elapsed())
}

#[tokio::test]
async fn trickling_bodies_hold_their_senders_share_only_and_time_out() {
    let bodies = count("PAYDECK_FLOOD_BODIES", 600);
    let (per_client, body_s) = (64usize, 3u64);
    let s = setup("bodies").await;
    let probe_port = free_port();
    let probe_arg = format!("127.0.0.1:{probe_port}");
    let (per_client_arg, body_arg) = (per_client.to_string(), body_s.to_string());
    let (mut child, url) = s
        .start(&[
            "--max-requests-per-client",
            &per_client_arg,
            "--body-timeout",
            &body_arg,
            "--probe-listen",
            &probe_arg,
        ])
        .await;
    let to: SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    let deployments: Api<Deployment> = Api::namespaced(support::admin(&s.server).await, "payments-core");
    let replicas_before = deployments.get("fx-rates").await.unwrap().spec.unwrap().replicas;
    let pool = open(&s.db()).await;
    let audit_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit").fetch_one(&pool).await.unwrap();

    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probes = probe_until(format!("http://127.0.0.1:{probe_port}"), done.clone());
    let main_probes = probe_until(url.clone(), done.clone());
    let path = "/api/v1/workloads/payments-core/fx-rates/scaling";
    // One sender, many connections: its share is the per-client cap.
    // In waves, as the silent sockets are (the kernel's accept queue is not under test).
    let flood: Vec<_> = (0..bodies)
        .map(|i| {
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(50 * (i / 200) as u64)).await;
                trickle(TcpStream::connect(to).await, path, 200, 10).await
            })
        })
        .collect();
    // Meanwhile another client reads, and another writes a whole body at once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let other = reqwest::Client::builder().local_address(IpAddr::from([127, 0, 0, 2])).build().unwrap();
    let read_started = Instant::now();
    let other_read = other.get(format!("{url}/api/v1/workloads")).send().await.unwrap().status();
    let other_read_took = read_started.elapsed();
    let whole = trickle(connect_from(IpAddr::from([127, 0, 0, 3]), to).await, path, 2, 2).await;

    let mut statuses = std::collections::BTreeMap::<u16, Vec<Duration>>::new();
    for f in flood {
        let (status, after) = f.await.unwrap();
        statuses.entry(status).or_default().push(after);
    }
    done.store(true, Ordering::Relaxed);
    let (probes_ok, probes_asked, _) = probes.await.unwrap();
    let (main_ok, main_asked, main_slowest) = main_probes.await.unwrap();
    let replicas_after = deployments.get("fx-rates").await.unwrap().spec.unwrap().replicas;
    let audit_after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit").fetch_one(&pool).await.unwrap();
    pool.close().await;
    child.kill().unwrap();
    child.wait().unwrap();
    no_panics(&s.db());

    let timed_out = statuses.get(&408).cloned().unwrap_or_default();
    let refused = statuses.get(&429).map_or(0, Vec::len);
    let summary: Vec<String> = statuses.iter().map(|(s, v)| format!("{s}: {}", v.len())).collect();
    println!(
        "FAULTS | {bodies} request bodies trickling from one client (its cap {per_client}, body time {body_s} s) | answers {} | \
         408 after {} | another client's read {other_read} in {} ms, a whole write {} | probes: own port {probes_ok}/{probes_asked}, main port {main_ok}/{main_asked} (slowest {} ms) | \
         cluster and audit unchanged",
        summary.join(", "),
        figures(&mut timed_out.clone()),
        other_read_took.as_millis(),
        whole.0,
        main_slowest.as_millis(),
    );
    assert_eq!(timed_out.len(), per_client.min(bodies), "the sender's share waits for its bodies, then 408");
    assert_eq!(refused, bodies.saturating_sub(per_client), "beyond its share the sender is refused at once");
    assert!(
        timed_out.iter().all(|d| *d >= Duration::from_secs(body_s) && *d < Duration::from_secs(body_s + 3))
    );
    assert_eq!(other_read, 200, "another client is served meanwhile");
    assert!(other_read_took < Duration::from_secs(2));
    // A body of two spaces is not a change: refused as unreadable, not waited for.
    assert!(whole.0 == 422 || whole.0 == 401, "a whole body is read at once: {whole:?}");
    assert_eq!(probes_ok, probes_asked, "the probe port answers throughout");
    assert_eq!(main_ok, main_asked, "probes on the main port are not behind the request caps");
    assert_eq!(replicas_after, replicas_before, "nothing changed in the cluster");
    assert_eq!(audit_after, audit_before, "nothing was recorded for bodies that never arrived");
}

/// Writes `rows` audit rows, chained, into the database at `db` (created and migrated).
async fn fill_audit(db: &std::path::Path, rows: i64) {
    use paydeck::audit::chain;
    paydeck::store::sqlite::History::open(db, Default::default()).await.unwrap().close().await;
    let pool = open(db).await;
    let mut tx = pool.begin().await.unwrap();
    let mut prev = chain::GENESIS.to_string();
    for seq in 1..=rows {
        let after = json!({ "replicas": 1 + seq % 4 }).to_string();
        let user = format!("operator-{}", seq % 50);
        let fields = chain::Fields {
            at_ms: 1_700_000_000_000 + seq * 1000,
            user: &user,
            groups: "[\"payments:operators\"]",
            namespace: "payments-core",
            name: "ledger",
            target: "Deployment/ledger/scale",
            before: "{\"replicas\":3}",
            after: &after,
            reason: "CHG-7 a week of changes",
            outcome: "previewed",
            detail: "the cluster accepted the change (dry run).",
            intent_seq: None,
            keyed: false,
            format: chain::Format::Sealed,
            removed_body: None,
            cluster: "",
        };
        let hash = chain::row_hash(&prev, &fields, None).unwrap();
        sqlx::query(
            "INSERT INTO audit (at_ms, user, groups, namespace, name, target, before, after, reason, outcome, detail, prev_hash, hash, format, body_digest) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 2, ?)",
        )
        .bind(fields.at_ms)
        .bind(fields.user)
        .bind(fields.groups)
        .bind(fields.namespace)
        .bind(fields.name)
        .bind(fields.target)
        .bind(fields.before)
        .bind(fields.after)
        .bind(fields.reason)
        .bind(fields.outcome)
        .bind(fields.detail)
        .bind(&prev)
        .bind(&hash)
        .bind(chain::body_digest(&fields))
        .execute(&mut *tx)
        .await
        .unwrap();
        prev = hash;
    }
    tx.commit().await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn audit_reads_by_the_thousand_leave_no_change_without_its_outcome() {
    let edits = count("PAYDECK_FLOOD_EDITS", 8);
    let (readers, rows) = (80usize, 60_000i64);
    let s = setup("reads").await;
    fill_audit(&s.db(), rows).await;
    // The attack as it was found: anonymous readers, unthrottled. What holds here is that
    // readers have connections of their own; the limits on them are proven in `limits`.
    let (mut child, url) = s
        .start(&[
            "--audit-anonymous-reads",
            "read",
            "--audit-reads-per-minute",
            "100000",
            "--max-requests-per-client",
            "100000",
        ])
        .await;
    let deployments: Api<Deployment> = Api::namespaced(support::admin(&s.server).await, "payments-core");

    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (served, busy, failed) =
        (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let flood: Vec<_> = (0..readers)
        .map(|i| {
            let (url, done, served, busy, failed) =
                (url.clone(), done.clone(), served.clone(), busy.clone(), failed.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                // Filters an index serves, one that walks the log, and the newest thousand.
                let query = ["user=nobody&limit=1000", "name=nobody&limit=1000", "limit=1000"][i % 3];
                while !done.load(Ordering::Relaxed) {
                    match http
                        .get(format!("{url}/api/v1/audit?{query}"))
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                    {
                        Ok(200) => served.fetch_add(1, Ordering::Relaxed),
                        Ok(503) => busy.fetch_add(1, Ordering::Relaxed),
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let http = reqwest::Client::new();
    let mut took = Vec::new();
    let mut answers = Vec::new();
    for edit in 0..edits {
        let generation = deployments.get("fx-rates").await.unwrap().metadata.generation.unwrap();
        let started = Instant::now();
        let res = http
            .post(format!("{url}/api/v1/workloads/payments-core/fx-rates/scaling"))
            .bearer_auth("paydeck-audience-operator")
            .json(&json!({ "replicas": 2 + edit % 3, "reason": format!("FLOOD-{edit}"), "generation": generation, "dryRun": false }))
            .send()
            .await
            .unwrap();
        took.push(started.elapsed());
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        answers.push((status, body));
        // Under the per-user rate of edits.
        tokio::time::sleep(Duration::from_millis(2_500)).await;
    }
    done.store(true, Ordering::Relaxed);
    for f in flood {
        f.await.unwrap();
    }
    child.kill().unwrap();
    child.wait().unwrap();
    no_panics(&s.db());
    check_database(&s.db()).await;
    let pool = open(&s.db()).await;
    let without_outcome: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit a WHERE outcome = 'intent' AND NOT EXISTS (SELECT 1 FROM audit b WHERE b.intent_seq = a.seq)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let applied: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit WHERE outcome = 'applied' AND reason LIKE 'FLOOD-%'")
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;

    let (served, busy, failed) =
        (served.load(Ordering::Relaxed), busy.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    println!(
        "FAULTS | {readers} clients reading a {rows}-row audit log without pause while {edits} changes were applied | \
         reads served {served}, busy {busy}, failed {failed} | changes applied {applied}/{edits} | edits without their outcome row {without_outcome} (goal 0) | \
         apply time {} | chain verified",
        figures(&mut took),
    );
    for (status, body) in &answers {
        assert_eq!(status.as_u16(), 200, "{body}");
        assert_eq!(body["outcome"], "applied", "{body}");
        assert!(
            !body["message"].as_str().unwrap_or("").contains("audit log"),
            "the outcome was recorded: {body}"
        );
    }
    assert_eq!(without_outcome, 0, "every change sent has its outcome row");
    assert_eq!(applied, edits as i64);
    assert!(served > 0, "the readers were served too");
    assert_eq!(failed, 0, "a read is answered, or refused as busy");
}
