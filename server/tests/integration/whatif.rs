//! The what-if's fidelity, on the simulator: a day of `risk-scoring` (whose HPA maximum is too
//! low for the evening peak, with the 18:00 flash sale) is recorded through the Kubernetes API
//! every 15 simulated seconds, as Paydeck samples it; replaying the current HPA over that
//! recording reproduces the replicas the simulator's HPA controller set, and a higher maximum
//! removes the overloaded minutes the recorded day had.

use std::{sync::Arc, time::Duration};

use app::dto::{Replicas, ResourceFigures, Workload};
use domain::{
    hpa::spec::BehaviorSpec,
    quantity::Quantity,
    whatif::{self, HpaConfig, Options},
};
use k8s_openapi::api::{apps::v1::Deployment, autoscaling::v2::HorizontalPodAutoscaler};
use kube::Api;
use paydeck::history::{History, Retention};
use serde_json::Value;

use crate::support;
use support::admin;

const MIDNIGHT: i64 = 1_764_201_600_000; // 2025-11-27 00:00 UTC
const STEP: i64 = 15_000;

/// CPU cores and memory bytes of the pods of `app` in `namespace`, from metrics.k8s.io.
async fn usage(client: &kube::Client, namespace: &str, app: &str) -> (f64, f64) {
    let request = http::Request::get(format!(
        "/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods?labelSelector=app.kubernetes.io%2Fname%3D{app}"
    ))
    .body(Vec::new())
    .unwrap();
    let list: Value = client.request(request).await.unwrap();
    let mut total = (0.0, 0.0);
    for pod in list["items"].as_array().unwrap() {
        for c in pod["containers"].as_array().unwrap() {
            total.0 += Quantity::parse(c["usage"]["cpu"].as_str().unwrap()).unwrap().as_f64();
            total.1 += Quantity::parse(c["usage"]["memory"].as_str().unwrap()).unwrap().as_f64();
        }
    }
    total
}

#[tokio::test]
async fn replaying_a_recorded_day_reproduces_the_hpa_and_a_higher_maximum_removes_the_overload() {
    let cluster = sim::Cluster::new(&sim::Options {
        speed: None,
        start: Some(MIDNIGHT as u64),
        ..sim::Options::default()
    });
    let server = cluster.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = admin(&server).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "payments-core");
    let dir = std::env::temp_dir().join(format!("paydeck-whatif-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let history = Arc::new(History::open(&dir.join("paydeck.db"), Retention::default()).await.unwrap());

    // A day, sampled as Paydeck samples it: through the API, every 15 s.
    let steps = 24 * 240;
    for i in 0..steps {
        let at = MIDNIGHT + i as i64 * STEP;
        let d = deployments.get("risk-scoring").await.unwrap();
        let (cpu, memory) = usage(&client, "payments-core", "risk-scoring").await;
        let w = Workload {
            namespace: "payments-core".into(),
            name: "risk-scoring".into(),
            replicas: Replicas {
                desired: d.spec.unwrap().replicas.unwrap_or(1),
                ready: d.status.unwrap().ready_replicas.unwrap_or(0),
                ..Default::default()
            },
            cpu: ResourceFigures { usage: Some(cpu), ..Default::default() },
            memory: ResourceFigures { usage: Some(memory), ..Default::default() },
            ..Default::default()
        };
        history.write_samples(at, &[w]).await.unwrap();
        cluster.advance(Duration::from_millis(STEP as u64));
    }

    let hpa = Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), "payments-core")
        .get("risk-scoring")
        .await
        .unwrap();
    let spec = serde_json::to_value(hpa.spec.unwrap()).unwrap();
    let target = |name: &str| {
        spec["metrics"].as_array().unwrap().iter().find_map(|m| {
            (m["resource"]["name"] == name)
                .then(|| m["resource"]["target"]["averageUtilization"].as_i64().unwrap() as i32)
        })
    };
    let current = HpaConfig {
        min_replicas: spec["minReplicas"].as_i64().unwrap() as i32,
        max_replicas: spec["maxReplicas"].as_i64().unwrap() as i32,
        cpu_target: target("cpu"),
        memory_target: target("memory"),
        behavior: BehaviorSpec::resolve_optional(BehaviorSpec::from_json(&spec["behavior"]).as_ref()),
    };
    let series = history
        .demand("payments-core", "risk-scoring", MIDNIGHT, steps, STEP, (1.0, 1024.0 * 1_048_576.0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(series.cpu.iter().filter(|c| c.is_some()).count(), steps, "every step recorded");

    let proposed = HpaConfig { max_replicas: current.max_replicas * 3, ..current.clone() };
    let b = whatif::backtest(&series, &current, &proposed, &Options::default());
    println!(
        "fidelity {:.3} over {} steps (ready delay {} ms, measured: {}); recorded overloaded {:.1} min; current {:?}; proposed {:?}",
        b.fidelity.within_one,
        b.fidelity.compared,
        b.ready_delay_ms,
        b.ready_delay_measured,
        b.recorded.overloaded_minutes,
        b.current,
        b.proposed
    );
    assert!(
        b.fidelity.within_one >= 0.95,
        "the replay matches the recorded replicas within ±1 in {:.1} % of steps",
        b.fidelity.within_one * 100.0
    );
    assert_eq!(b.fidelity.note, None);
    assert!(
        b.recorded.overloaded_minutes >= 10.0,
        "the recorded day had overloaded minutes: {:?}",
        b.recorded
    );
    assert!(b.current.minutes_at_max > 0.0, "the current HPA sits at its maximum at the peak");
    assert_eq!(b.proposed.overloaded_minutes, 0.0, "a higher maximum removes them: {:?}", b.proposed);
    assert!(b.proposed.replica_hours > b.current.replica_hours, "at the cost of more replica-hours");

    // The advisor, on the same recording: the HPA is saturated at its maximum through the
    // evening peak, and the change it proposes is a maximum that would have held it.
    let advised = Workload {
        namespace: "payments-core".into(),
        name: "risk-scoring".into(),
        critical: true,
        autoscaler: Some(app::dto::Autoscaler {
            min_replicas: current.min_replicas,
            max_replicas: current.max_replicas,
            cpu_target_percent: current.cpu_target,
            ..Default::default()
        }),
        ..Default::default()
    };
    let found = domain::rules::history::evaluate(&advised, &series);
    let pd301 = found.iter().find(|f| f.rule == domain::rules::RuleId::PD301).expect("saturated at the peak");
    let raise = pd301.proposal.as_ref().and_then(|p| p.max_replicas).unwrap();
    println!("advisor: {} → max {raise}; {:?}", pd301.message, pd301.backtest);
    assert!(
        pd301.backtest.as_deref().is_some_and(|b| b.contains(" → 0 min")),
        "its replay: {:?}",
        pd301.backtest
    );
    assert!(raise > current.max_replicas);
    let held = HpaConfig { max_replicas: raise, ..current.clone() };
    let with_raise = whatif::backtest(&series, &current, &held, &Options::default());
    assert_eq!(with_raise.proposed.overloaded_minutes, 0.0, "the proposed maximum holds the recorded day");
    history.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
