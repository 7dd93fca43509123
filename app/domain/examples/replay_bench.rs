//! The what-if replay's speed: a week of 15-s steps (40,320) of a daily wave with a flash
//! sale, replayed through the current and a proposed HPA, as the server does for the API and
//! the browser as the operator types. Prints the median and the slowest of 21 runs beside the
//! 50 ms target. Run: `make bench-whatif` (or `cargo run --release -p domain --example replay_bench`).

use std::time::Instant;

use domain::{
    hpa::Behavior,
    whatif::{HpaConfig, Options, Series, backtest},
};

fn main() {
    const STEPS: usize = 7 * 24 * 240;
    let cpu: Vec<Option<f32>> = (0..STEPS)
        .map(|i| {
            let hour = (i % 5760) as f32 / 240.0;
            let wave = 0.3 + 0.7 * (((hour - 6.0) / 24.0 * std::f32::consts::TAU).sin().max(0.0));
            let sale = if (18.0..18.5).contains(&hour) { 4.0 } else { 1.0 };
            Some(6.0 * wave * sale)
        })
        .collect();
    let series = Series {
        from_ms: 0,
        step_ms: 15_000,
        resolution: "metrics readings at the HPA's 15 s syncs".into(),
        cpu_request_per_pod: 1.0,
        memory_request_per_pod: 1.0,
        memory: vec![None; STEPS],
        rate: vec![None; STEPS],
        ready: vec![Some(4); STEPS],
        desired: vec![Some(4); STEPS],
        cpu,
    };
    let current = HpaConfig {
        min_replicas: 2,
        max_replicas: 6,
        cpu_target: Some(70),
        memory_target: None,
        behavior: Behavior::default(),
    };
    let proposed = HpaConfig { max_replicas: 20, ..current.clone() };
    let options = Options { ready_delay_ms: Some(30_000), ..Options::default() };
    let mut times: Vec<f64> = (0..21)
        .map(|_| {
            let started = Instant::now();
            let b = backtest(&series, series.span_ms(), &current, &proposed, &options);
            std::hint::black_box(&b);
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let b = backtest(&series, series.span_ms(), &current, &proposed, &options);
    println!(
        "what-if replay: {STEPS} steps (7 days of 15 s), current and proposed HPA, {} scale events proposed",
        b.proposed.scale_events
    );
    println!(
        "  median {:.1} ms, slowest {:.1} ms   (target ≤ 50 ms, both configurations)",
        times[10], times[20]
    );
}
