//! `--sim-history`: a simulated past recorded before serving, through the same history code
//! as live samples — every workload at every 15-s step, scale events among them, and demand
//! the what-if and the advisor can judge.

use std::time::Instant;

use paydeck::{
    cluster::{SimProfile, simulated::record_history},
    history::Retention,
    store::sqlite::History,
};

#[tokio::test]
async fn six_simulated_hours_are_recorded_for_every_workload_with_their_scaling() {
    let dir = std::env::temp_dir().join(format!("paydeck-sim-history-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let history = History::open(&dir.join("paydeck.db"), Retention::default()).await.unwrap();
    let started = Instant::now();
    let span = std::time::Duration::from_secs(6 * 3600);
    let written = record_history(&history, SimProfile::Demo, 1, span).await.unwrap();
    println!("6 h of the demo platform recorded in {:.1} s", started.elapsed().as_secs_f64());
    // Nine workloads, every 15 s from the step at or before six hours ago up to the wall clock
    // when the model gets there (a step or two past the start).
    assert!((9 * 6 * 240..=9 * (6 * 240 + 2)).contains(&written), "{written} samples");
    assert!(history.has_samples().await.unwrap());
    let until = history.simulated_until().await.unwrap().expect("the past is marked simulated");
    assert!((paydeck::clock::unix_ms() - until).abs() < 60_000, "until about now");

    let now = paydeck::clock::unix_ms();
    let from = now - span.as_millis() as i64;
    let series = history
        .demand("payments-core", "notifications", (from, now), (2.0, 512.0 * 1_048_576.0), None)
        .await
        .unwrap()
        .unwrap();
    // A reading (metrics-server's, every 15 s) at every sync of the controller's, after the
    // first: a pod's first reading needs a whole window.
    let recorded = series.cpu.iter().filter(|c| c.is_some()).count();
    assert!(recorded >= 6 * 240 - 4, "a reading at every sync: {recorded} of {}", series.len());
    let readings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM demand WHERE window_s = 15")
        .fetch_one(history.pool())
        .await
        .unwrap();
    assert!(readings >= 9 * (6 * 240 - 4), "each reading recorded once, with its window: {readings}");
    let decisions: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM scale_decisions").fetch_one(history.pool()).await.unwrap();
    assert!(decisions > 0, "the HPAs' scales recorded at their lastScaleTime");
    assert!(series.rate.iter().flatten().any(|r| *r > 0.0), "request rates recorded");
    // What the advisor makes of it: notifications requests far more CPU than it uses.
    let w = app::dto::Workload {
        namespace: "payments-core".into(),
        name: "notifications".into(),
        ..Default::default()
    };
    let found = domain::rules::history::evaluate(&w, &series);
    assert!(found.iter().any(|f| f.rule == domain::rules::RuleId::PD206), "{found:?}");
    history.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
