use super::*;
use crate::dto::{Autoscaler, ContainerResources, Replicas};

/// A deterministic noise in [-1, 1) (a linear congruential generator).
fn noise(seed: &mut u64) -> f64 {
    *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    (*seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

#[test]
fn the_fit_recovers_known_parameters_within_its_stated_error() {
    // N = 3 + 2·(T − 500)/500 plus noise of up to half a replica, T between 100 and 1,000.
    let mut seed = 7;
    let points: Vec<(f64, f64)> = (0..2_000)
        .map(|i| {
            let t = 100.0 + 900.0 * f64::from(i % 97) / 96.0;
            (t, 3.0 + 2.0 * (t - 500.0) / 500.0 + 0.5 * noise(&mut seed))
        })
        .collect();
    let fit = ScalingFit::from_points(&points).unwrap();
    // The fit states its parameters at its own T₀ (the mean rate): the same line.
    let alpha_true = 2.0 * fit.t0 / 500.0;
    let n0_true = 3.0 + 2.0 * (fit.t0 - 500.0) / 500.0;
    assert!(
        (fit.alpha - alpha_true).abs() <= fit.alpha_error,
        "α {} vs {alpha_true} ± {}",
        fit.alpha,
        fit.alpha_error
    );
    assert!(fit.alpha_error < 0.05 * alpha_true, "a tight error on 2,000 points: {}", fit.alpha_error);
    assert!((fit.n0 - n0_true).abs() < 0.05, "N₀ {} vs {n0_true}", fit.n0);
    assert!((fit.rmse - 0.5 / 3f64.sqrt()).abs() < 0.03, "the noise's own spread: {}", fit.rmse);
    assert!((fit.replicas_at(1_500.0) - 7.0).abs() < 0.1);
    assert_eq!(ScalingFit::from_points(&points[..100]), None, "too few points");
}

/// A service with an HPA on CPU, recorded for a day: demand 0.2 cores idle plus 1 m per
/// req/s, replicas what the HPA would set.
fn profile(name: &str, peak: f64, max: i32, request: f64) -> Profile {
    let w = Workload {
        namespace: "pay".into(),
        name: name.into(),
        replicas: Replicas { desired: 2, ..Default::default() },
        containers: vec![ContainerResources {
            name: name.into(),
            cpu_request: Some(request),
            memory_request: Some(1e9),
            ..Default::default()
        }],
        autoscaler: Some(Autoscaler {
            min_replicas: 2,
            max_replicas: max,
            cpu_target_percent: Some(50),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut s = Series {
        step_ms: 60_000,
        cpu_request_per_pod: request,
        memory_request_per_pod: 1e9,
        ..Series::default()
    };
    for i in 0..1_440 {
        let rate = peak * (0.55 + 0.45 * (2.0 * std::f64::consts::PI * f64::from(i) / 1_440.0).sin());
        let cpu = 0.2 + 0.001 * rate;
        let pods = ((cpu / (0.5 * request)).ceil() as u16).max(2);
        s.rate.push(Some(rate as f32));
        s.cpu.push(Some(cpu as f32));
        s.memory.push(Some(0.0));
        s.ready.push(Some(pods));
        s.desired.push(Some(pods));
    }
    Profile::of(&w, &s)
}

#[test]
fn four_times_the_peak_needs_replicas_the_maximum_may_not_allow_and_nodes() {
    // Peak 1,000 req/s: 1.2 cores, 5 pods at 50 % of 0.5. At 4 ×: 4.2 cores → 17 pods.
    let p = profile("risk", 1_000.0, 8, 0.5);
    assert_eq!(p.peak_replicas, 5);
    assert_eq!(p.hpa_replicas_at(4_000.0), Some(17));
    let room = Room { free_cpu: 4.0, free_memory: 100e9, node_cpu: 8.0, node_memory: 32e9 };
    let plan = plan(std::slice::from_ref(&p), Peak::Times(4.0), room);
    let row = &plan.rows[0];
    assert_eq!(row.planned_rate, 4_000.0);
    // The fitted model says about the same (the HPA made the replicas it is fitted on).
    let fitted = row.fit_replicas.unwrap();
    assert!((15..=19).contains(&fitted), "fitted {fitted}");
    assert_eq!(row.needed, fitted.max(17));
    assert!(!row.max_allows);
    assert_eq!(row.proposal.as_ref().unwrap().max_replicas, Some(row.needed));
    assert_eq!(plan.maxima_short, 1);
    // (needed − 2 running) × 0.5 cores, beyond 4 free cores, on 8-core nodes.
    let added = f64::from(row.needed - 2) * 0.5;
    assert!((plan.added_cpu - added).abs() < 1e-9);
    assert_eq!(plan.nodes_missing, ((added - 4.0) / 8.0).ceil() as u32);
    assert!(plan.nodes_missing >= 1);
    assert_eq!(row.note, None, "max 8 was never reached");
    // With a maximum of 4 the recording is capped at the peaks, and the row says so.
    let capped = profile("risk", 1_000.0, 4, 0.5);
    assert!(capped.capped_share > 0.2, "{}", capped.capped_share);
}

#[test]
fn an_entry_rate_is_spread_by_recorded_share() {
    let gateway = profile("gateway", 1_000.0, 50, 0.5);
    let ledger = profile("ledger", 250.0, 50, 0.5);
    let plan = plan(&[gateway, ledger], Peak::EntryRate(4_000.0), Room::default());
    assert_eq!(plan.entry.as_deref(), Some("pay/gateway"));
    assert!((plan.rows[0].planned_rate - 4_000.0).abs() < 1e-6);
    assert!((plan.rows[1].planned_rate - 1_000.0).abs() < 1e-6);
    assert!(plan.rows.iter().all(|r| r.max_allows));
    assert_eq!(plan.maxima_short, 0);
}

#[test]
fn a_service_no_request_drives_is_planned_at_its_count() {
    let mut p = profile("batch", 1_000.0, 6, 0.5);
    p.peak_rate = 0.0;
    p.replicas_now = 3;
    let plan = plan(&[p], Peak::Times(4.0), Room::default());
    assert_eq!(plan.rows[0].needed, 3);
    assert!(plan.rows[0].note.as_deref().unwrap().contains("no requests"));
    assert_eq!(plan.added_cpu, 0.0);
}

#[test]
fn a_peak_reads_as_a_multiple_or_a_rate_and_is_bounded() {
    assert_eq!(Peak::parse("4x"), Ok(Peak::Times(4.0)));
    assert_eq!(Peak::parse(" 2.5 × "), Ok(Peak::Times(2.5)));
    assert_eq!(Peak::parse("2000"), Ok(Peak::EntryRate(2000.0)));
    for peak in [Peak::Times(4.0), Peak::EntryRate(2000.0), Peak::Times(1.5)] {
        assert_eq!(Peak::parse(&peak.text()), Ok(peak));
    }
    for bad in ["", "x", "lots", "0x", "-1", "101x", "NaNx", "inf", "1e12"] {
        assert!(Peak::parse(bad).is_err(), "{bad}");
    }
}
