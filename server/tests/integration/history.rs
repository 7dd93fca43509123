//! History in a real SQLite file: 30 days of data answer any range with the requested number
//! of points and the gaps marked, data survive a restart, and the sampler records what the
//! simulated cluster does.

use std::{path::PathBuf, sync::Arc, time::Duration};

use app::dto::{Autoscaler, ResourceFigures, Workload};
use paydeck::history::{FIVE_MINUTES, ONE_HOUR, Retention, query::Range};
use paydeck::store::sqlite::History;

use crate::support;

const DAY: i64 = 86_400_000;
const NOW: i64 = 1_764_201_600_000;

struct TempDb(PathBuf);

impl TempDb {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("paydeck-history-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDb(dir.join("paydeck.db"))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn ledger(replicas: i32, cpu: f64) -> Workload {
    Workload {
        namespace: "payments-core".into(),
        name: "ledger".into(),
        replicas: app::dto::Replicas { desired: replicas, ready: replicas, ..Default::default() },
        autoscaler: Some(Autoscaler {
            name: "ledger".into(),
            min_replicas: 3,
            max_replicas: 12,
            cpu_target_percent: Some(70),
            ..Default::default()
        }),
        cpu: ResourceFigures {
            requests: f64::from(replicas) * 0.5,
            limits: Some(f64::from(replicas)),
            usage: Some(cpu),
        },
        memory: ResourceFigures { requests: 1e9, limits: Some(2e9), usage: Some(5e8) },
        request_rate: Some(100.0),
        ..Default::default()
    }
}

/// Thirty days every ten minutes, except two days (days 10 and 11) when Paydeck was down.
async fn thirty_days(db: &History) {
    let mut at = NOW - 30 * DAY;
    while at < NOW {
        let down = (NOW - 20 * DAY..NOW - 18 * DAY).contains(&at);
        if !down {
            let day = (NOW - at) / DAY;
            db.write_samples(at, &[ledger(3 + (day % 3) as i32, 1.0)]).await.unwrap();
        }
        at += 10 * 60_000;
    }
}

#[tokio::test]
async fn thirty_days_answer_with_the_requested_points_and_the_outage_marked() {
    let tmp = TempDb::new("thirty");
    let db = History::open(&tmp.0, Retention::default()).await.unwrap();
    thirty_days(&db).await;
    db.maintain(NOW).await.unwrap();

    let month = Range::new(Some(NOW - 30 * DAY), Some(NOW), Some(300), NOW).unwrap();
    let h = db.workload_history("payments-core", "ledger", month, 15_000, NOW).await.unwrap().unwrap();
    assert_eq!(h.points.len(), 300);
    assert_eq!(h.source, "1h", "raw samples older than 48 h are gone; hourly rollups serve a month");
    let outage = h
        .gaps
        .iter()
        .find(|[from, to]| *from <= NOW - 19 * DAY && *to >= NOW - 19 * DAY)
        .expect("the outage is a gap");
    assert!(outage[1] - outage[0] >= 2 * DAY - 3 * h.step_ms, "{outage:?}");
    let filled = h.points.iter().filter(|p| p.replicas_desired.is_some()).count();
    assert!(filled >= 270, "only the outage is empty: {filled} of 300 filled");
    let p = h.points.iter().find(|p| p.replicas_desired.is_some()).unwrap();
    let r = p.replicas_desired.unwrap();
    assert!(r.min >= 3.0 && r.max <= 5.0 && r.min <= r.avg && r.avg <= r.max);
    assert_eq!(p.hpa_max, Some(12.0));

    let last_hour = Range::new(Some(NOW - ONE_HOUR), Some(NOW), Some(60), NOW).unwrap();
    let h = db.workload_history("payments-core", "ledger", last_hour, 15_000, NOW).await.unwrap().unwrap();
    assert_eq!((h.source.as_str(), h.points.len()), ("raw", 60));
    let filled = h.points.iter().filter(|p| p.replicas_desired.is_some()).count();
    assert_eq!(filled, 6, "one sample every ten minutes: six one-minute buckets hold data");

    let week = Range::new(Some(NOW - 6 * DAY), Some(NOW), Some(500), NOW).unwrap();
    let h = db.workload_history("payments-core", "ledger", week, 15_000, NOW).await.unwrap().unwrap();
    assert_eq!((h.source.as_str(), h.points.len()), ("5m", 500));
    assert!(h.step_ms >= FIVE_MINUTES);
}

#[tokio::test]
async fn history_survives_a_restart() {
    let tmp = TempDb::new("restart");
    {
        let db = History::open(&tmp.0, Retention::default()).await.unwrap();
        db.write_samples(NOW - 60_000, &[ledger(4, 1.5)]).await.unwrap();
        db.write_event("payments-core", "ledger", NOW - 30_000, "scale", "replicas 3 → 4").await.unwrap();
    }
    let db = History::open(&tmp.0, Retention::default()).await.unwrap();
    let range = Range::new(Some(NOW - ONE_HOUR), Some(NOW), Some(60), NOW).unwrap();
    let h = db.workload_history("payments-core", "ledger", range, 15_000, NOW).await.unwrap().unwrap();
    assert_eq!(h.points.iter().filter_map(|p| p.replicas_desired).next().unwrap().avg, 4.0);
    assert_eq!(h.events[0].message, "replicas 3 → 4");
    assert!(db.workload_history("payments-core", "nope", range, 15_000, NOW).await.unwrap().is_none());
}

#[tokio::test]
async fn the_sampler_records_samples_and_scale_events_from_the_cluster() {
    use k8s_openapi::api::apps::v1::Deployment;
    use kube::api::{Api, Patch, PatchParams};

    let tmp = TempDb::new("sampler");
    let sim =
        sim::Cluster::new(&sim::Options { speed: None, start: Some(NOW as u64), ..sim::Options::default() });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let kubeconfig = tmp.0.with_file_name("sim.kubeconfig");
    std::fs::create_dir_all(kubeconfig.parent().unwrap()).unwrap();
    std::fs::write(&kubeconfig, server.kubeconfig(sim::auth::DASHBOARD_TOKEN)).unwrap();
    let connected =
        paydeck::cluster::connect(&paydeck::cluster::Source::Kubeconfig { path: kubeconfig, context: None })
            .await
            .unwrap();
    let view = paydeck::cluster::start(
        connected.client,
        connected.description,
        &Default::default(),
        Duration::from_secs(1),
    );
    view.synced().await;
    let db = Arc::new(History::open(&tmp.0, Retention::default()).await.unwrap());
    let stats = Arc::new(paydeck::history::sampler::SamplerStats::default());
    let (_stop, stopping) = tokio::sync::watch::channel(false);
    paydeck::history::sampler::start(
        db.clone(),
        view.clone(),
        Duration::from_millis(500),
        stats.clone(),
        Default::default(),
        paydeck::store::Fence::unfenced(),
        stopping,
    );

    let admin = support::admin(&server).await;
    let deployments: Api<Deployment> = Api::namespaced(admin, "payments-core");
    tokio::time::sleep(Duration::from_millis(300)).await;
    deployments
        .patch_scale(
            "fx-rates",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({ "spec": { "replicas": 3 } })),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let range = Range::new(Some(now - 60_000), Some(now + 1000), Some(120), now).unwrap();
    let h = db
        .workload_history("payments-core", "fx-rates", range, 500, now)
        .await
        .unwrap()
        .expect("fx-rates recorded");
    let desired: Vec<f64> = h.points.iter().filter_map(|p| p.replicas_desired.map(|s| s.max)).collect();
    assert!(desired.contains(&3.0), "samples show the new scale: {desired:?}");
    assert!(h.events.iter().any(|e| e.kind == "scale" && e.message == "replicas 1 → 3"), "{:?}", h.events);
    assert!(stats.samples_written.get() >= 9);
}

#[tokio::test]
async fn the_history_endpoint_checks_its_parameters() {
    use paydeck::{
        cluster::ClusterView,
        http::{ServerState, router},
    };
    let tmp = TempDb::new("endpoint");
    let db = Arc::new(History::open(&tmp.0, Retention::default()).await.unwrap());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    db.write_samples(now - 120_000, &[ledger(3, 1.0)]).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut state = ServerState::new(
        paydeck::site::leptos_options(std::path::Path::new("target/site"), addr),
        Duration::from_secs(10),
        ClusterView::disconnected(),
    );
    state.history = Some(db);
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    let base = format!("http://{addr}/api/v1/workloads");
    let http = reqwest::Client::new();

    let ok: serde_json::Value = http
        .get(format!("{base}/payments-core/ledger/history?points=10"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok["points"].as_array().unwrap().len(), 10);
    assert_eq!(http.get(format!("{base}/payments-core/nope/history")).send().await.unwrap().status(), 404);
    for bad in ["points=0", "points=5000", "from=10&to=5", "from=yesterday"] {
        let res = http.get(format!("{base}/payments-core/ledger/history?{bad}")).send().await.unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn events_are_pruned_with_the_rest_of_the_history() {
    let tmp = TempDb::new("events");
    let db = History::open(&tmp.0, Retention::default()).await.unwrap();
    let kept = Retention::default().hourly.as_millis() as i64;
    db.write_event("payments-core", "ledger", NOW - kept - DAY, "scale", "replicas 3 → 4").await.unwrap();
    db.write_event("payments-core", "ledger", NOW - DAY, "scale", "replicas 4 → 5").await.unwrap();
    db.maintain(NOW).await.unwrap();
    let left: Vec<String> =
        sqlx::query_scalar("SELECT message FROM events").fetch_all(db.pool()).await.unwrap();
    assert_eq!(left, vec!["replicas 4 → 5".to_string()], "events older than any history kept are gone");
}

#[tokio::test]
async fn the_platforms_sums_are_read_once_per_rollup_pass_and_follow_each_pass() {
    let tmp = TempDb::new("platform");
    let db = History::open(&tmp.0, Retention::default()).await.unwrap();
    let start = NOW - 3_600_000;
    // Two workloads for half an hour: the sums add them up per 5-minute bucket.
    let mut other = ledger(1, 0.5);
    other.name = "fx-rates".into();
    for i in 0..120 {
        db.write_samples(start + i * 15_000, &[ledger(3, 1.5), other.clone()]).await.unwrap();
    }
    db.maintain(start + 30 * 60_000).await.unwrap();
    let read = |now: i64| db.platform_recent(None, DAY, now);
    let first = read(NOW).await.unwrap();
    assert_eq!(first.len(), 6, "six complete buckets");
    assert_eq!(first[0].replicas_desired, 4.0);
    assert_eq!(db.platform_recent(Some("elsewhere"), DAY, NOW).await.unwrap().len(), 0);

    // More samples, no rollup pass yet: the same answer (not read again).
    for i in 120..240 {
        db.write_samples(start + i * 15_000, &[ledger(5, 1.5), other.clone()]).await.unwrap();
    }
    assert_eq!(read(NOW).await.unwrap(), first);
    // The pass rolls the new buckets up, and the next answer has them.
    db.maintain(NOW).await.unwrap();
    let next = read(NOW).await.unwrap();
    assert_eq!(next.len(), 12);
    assert_eq!(next[11].replicas_desired, 6.0);
    // The window is cut at each answer: an hour later the first buckets are older than it.
    assert_eq!(db.platform_recent(None, 3_600_000, NOW + 1_800_000).await.unwrap().len(), 6);
}

#[tokio::test]
async fn steps_written_together_keep_every_workloads_figures() {
    use paydeck::history::{Figures, PastEvent, Steps};
    let tmp = TempDb::new("steps");
    let db = History::open(&tmp.0, Retention::default()).await.unwrap();
    // 100 workloads × 3 steps: rows spill over several multi-row statements.
    let workloads: Vec<Workload> = (0..100)
        .map(|i| Workload { name: format!("svc-{i:03}"), ..ledger(1 + i % 7, 0.01 * f64::from(i)) })
        .collect();
    // And a metrics reading per workload per step, taken 3 s before each.
    let reading = |w: &Workload, s: i64| paydeck::history::ReadingRow {
        at_ms: NOW + s * 15_000 - 3_000,
        window_ms: 15_000,
        cpu_millis: (w.cpu.usage.unwrap() * 1000.0).ceil() as i64,
        memory_bytes: 0.0,
        request_rate: None,
        ready: w.replicas.ready,
        desired: w.replicas.desired,
    };
    let steps = Steps {
        workloads: workloads.iter().map(|w| (w.namespace.clone(), w.name.clone())).collect(),
        steps: (0..3)
            .map(|s| {
                (NOW + s * 15_000, workloads.iter().enumerate().map(|(i, w)| (i, Figures::of(w))).collect())
            })
            .collect(),
        readings: (0..3)
            .flat_map(|s| workloads.iter().enumerate().map(move |(i, w)| (i, reading(w, s))))
            .collect(),
        decisions: Vec::new(),
    };
    let event = PastEvent {
        namespace: "payments-core".into(),
        name: "svc-042".into(),
        at_ms: NOW + 15_000,
        kind: "scale",
        message: "replicas 1 → 2".into(),
    };
    db.write_steps(&steps, &[event]).await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM samples").fetch_one(db.pool()).await.unwrap();
    let demand: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM demand").fetch_one(db.pool()).await.unwrap();
    assert_eq!((rows, demand), (300, 300));
    for i in [0, 63, 64, 99] {
        let name = format!("svc-{i:03}");
        let series =
            db.demand("payments-core", &name, (NOW, NOW + 30_000), (0.5, 1e9), None).await.unwrap().unwrap();
        let replicas = 1 + i % 7;
        assert_eq!(series.ready, vec![Some(replicas as u16); 3], "{name}");
        assert_eq!(
            series.cpu,
            vec![Some((0.01 * f64::from(i) * 1000.0).ceil() as f32 / 1000.0); 3],
            "{name}"
        );
        let hpa_max: i64 = sqlx::query_scalar(
            "SELECT hpa_max FROM samples JOIN workloads w ON w.id = workload_id WHERE w.name = ? LIMIT 1",
        )
        .bind(&name)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(hpa_max, 12);
    }
    let events: Vec<(String, String)> =
        sqlx::query_as("SELECT w.name, e.message FROM events e JOIN workloads w ON w.id = e.workload_id")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(events, vec![("svc-042".to_string(), "replicas 1 → 2".to_string())]);
}

/// Samples written late into a bucket already rolled up (held while the disk was full, then
/// written) are rolled up again: the bucket's figure counts them.
#[tokio::test]
async fn samples_written_late_are_rolled_up_again() {
    let tmp = TempDb::new("late");
    let db = History::open(&tmp.0, Retention::default()).await.unwrap();
    let bucket = (NOW - ONE_HOUR).div_euclid(FIVE_MINUTES) * FIVE_MINUTES;
    db.write_samples(bucket, &[ledger(3, 1.0)]).await.unwrap();
    db.maintain(NOW).await.unwrap();
    let rolled = |resolution: i64, at: i64| {
        let pool = db.pool().clone();
        async move {
            sqlx::query_as::<_, (i64, f64)>(
                "SELECT samples, replicas_desired_max FROM rollups WHERE resolution_ms = ? AND bucket_ms = ?",
            )
            .bind(resolution)
            .bind(at)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(rolled(FIVE_MINUTES, bucket).await, (1, 3.0));
    db.write_samples(bucket + 15_000, &[ledger(7, 1.0)]).await.unwrap();
    db.maintain(NOW).await.unwrap();
    assert_eq!(rolled(FIVE_MINUTES, bucket).await, (2, 7.0), "the late sample is in its bucket");
    let hour = bucket.div_euclid(ONE_HOUR) * ONE_HOUR;
    assert_eq!(rolled(ONE_HOUR, hour).await, (2, 7.0), "and in its hour");
}

/// Maintenance goes through the workloads a chunk at a time (so that other writes are not
/// held up for long): every chunk, the last one too, gets its rollups and its retention.
#[tokio::test]
async fn rollups_and_retention_reach_every_workload_of_a_fleet() {
    use paydeck::history::{Figures, Steps};
    let tmp = TempDb::new("fleet");
    let retention = Retention { raw: Duration::from_secs(3600), ..Retention::default() };
    let db = History::open(&tmp.0, retention).await.unwrap();
    // 450 workloads (more than two chunks), a sample a minute for three hours.
    let workloads: Vec<(String, String)> =
        (0..450).map(|i| ("fleet".to_string(), format!("svc-{i}"))).collect();
    let start = NOW - 3 * 3_600_000;
    let steps = (0..180)
        .map(|m| {
            let figures = |w: usize| Figures { replicas_desired: 1 + (w % 7) as i32, ..Default::default() };
            (start + m * 60_000, (0..workloads.len()).map(|w| (w, figures(w))).collect())
        })
        .collect();
    db.write_steps(&Steps { workloads: workloads.clone(), steps, ..Steps::default() }, &[]).await.unwrap();
    db.write_event("fleet", "svc-449", NOW - 500 * DAY, "scale", "long ago").await.unwrap();
    db.write_event("fleet", "svc-449", NOW - DAY, "scale", "yesterday").await.unwrap();
    db.maintain(NOW).await.unwrap();

    let per_workload = |sql: &'static str| {
        let pool = db.pool().clone();
        async move {
            let rows: Vec<(i64, i64)> = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            rows.into_iter().map(|(_, n)| n).collect::<Vec<i64>>()
        }
    };
    let five_minute = per_workload(
        "SELECT workload_id, SUM(samples) FROM rollups WHERE resolution_ms = 300000 GROUP BY workload_id",
    )
    .await;
    assert_eq!(five_minute, vec![180; 450], "every workload's samples, each in one 5-minute bucket");
    let hourly = per_workload(
        "SELECT workload_id, COUNT(*) FROM rollups WHERE resolution_ms = 3600000 GROUP BY workload_id",
    )
    .await;
    assert_eq!(hourly, vec![3; 450], "three hourly buckets for every workload");
    let raw = per_workload("SELECT workload_id, COUNT(*) FROM samples GROUP BY workload_id").await;
    assert_eq!(raw, vec![60; 450], "the last hour of raw samples kept for every workload");
    let avg: f64 = sqlx::query_scalar(
        "SELECT replicas_desired_avg FROM rollups r JOIN workloads w ON w.id = r.workload_id \
         WHERE w.name = 'svc-449' AND resolution_ms = 3600000 LIMIT 1",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(avg, 1.0 + (449 % 7) as f64, "the last chunk's figures are its own");
    let events: Vec<String> =
        sqlx::query_scalar("SELECT message FROM events").fetch_all(db.pool()).await.unwrap();
    assert_eq!(events, vec!["yesterday".to_string()], "the last chunk's old events are gone");
}

#[tokio::test]
async fn two_clusters_in_one_file_keep_their_workloads_of_the_same_name_apart() {
    let tmp = TempDb::new("clusters");
    let open = async |cluster: &str| {
        History::open_for_cluster(&tmp.0, Retention::default(), None, cluster).await.unwrap()
    };
    let (eu, us) = (open("prod-eu").await, open("prod-us").await);
    for i in 0..20 {
        eu.write_samples(NOW - 600_000 + i * 15_000, &[ledger(3, 1.0)]).await.unwrap();
        us.write_samples(NOW - 600_000 + i * 15_000, &[ledger(9, 4.0)]).await.unwrap();
    }
    eu.write_event("payments-core", "ledger", NOW - 60_000, "edit", "eu only").await.unwrap();
    for db in [&eu, &us] {
        db.maintain(NOW).await.unwrap();
    }
    let range = || Range::new(Some(NOW - 600_000), Some(NOW), Some(10), NOW).unwrap();
    let eu_history =
        eu.workload_history("payments-core", "ledger", range(), 15_000, NOW).await.unwrap().unwrap();
    let us_history =
        us.workload_history("payments-core", "ledger", range(), 15_000, NOW).await.unwrap().unwrap();
    let cpu = |h: &app::dto::History| {
        h.points.iter().filter_map(|p| p.cpu_usage.map(|s| s.max)).fold(0.0, f64::max)
    };
    assert_eq!((cpu(&eu_history), cpu(&us_history)), (1.0, 4.0), "each cluster reads its own samples");
    assert_eq!((eu_history.events.len(), us_history.events.len()), (1, 0), "and its own events");
    let replicas = async |db: &History| {
        let points = db.platform(None, NOW - 600_000, NOW).await.unwrap();
        points.iter().map(|p| p.replicas_desired).fold(0.0, f64::max)
    };
    assert_eq!(replicas(&eu).await, 3.0, "the platform's sums are the cluster's own");
    assert_eq!(replicas(&us).await, 9.0);
    let unknown = open("staging").await;
    assert!(
        unknown.workload_history("payments-core", "ledger", range(), 15_000, NOW).await.unwrap().is_none()
    );
    // One cluster's clock stepping back forgets its own later rows only.

    let us_after =
        us.workload_history("payments-core", "ledger", range(), 15_000, NOW).await.unwrap().unwrap();
    assert_eq!(cpu(&us_after), 4.0, "us keeps what it recorded");
    assert_eq!(us_after.points.len(), us_history.points.len());
    for db in [eu, us, unknown] {
        db.close().await;
    }
}

#[test]
fn cluster_names_are_bounded_and_printable() {
    use paydeck::history::check_cluster_name;
    for good in ["default", "prod-eu", "arn:aws:eks:eu-west-1:123456789012:cluster/payments", "gke_p_z_name"]
    {
        assert_eq!(check_cluster_name(good), Ok(()), "{good}");
    }
    for bad in ["", "prod eu", "prod\neu", "prod\u{7}", &"x".repeat(254)] {
        assert!(check_cluster_name(bad).is_err(), "{bad:?}");
    }
}
