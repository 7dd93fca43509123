//! The replay on synthetic demand, with answers worked out by hand from the controller's
//! rules (tolerance 0.1; default behavior: up by max(100 %, 4 pods) per 15 s, down after a
//! 300 s window). Pods request 1 core; steps are 15 s.

use super::*;
use crate::hpa::{Behavior, ScalingRules};

const STEP: i64 = 15_000;

fn series(cpu: &[f32], recorded: i32) -> Series {
    Series {
        from_ms: 0,
        step_ms: STEP,
        resolution: "15 s samples".into(),
        cpu_request_per_pod: 1.0,
        memory_request_per_pod: 1.0,
        cpu: cpu.iter().map(|c| Some(*c)).collect(),
        memory: vec![None; cpu.len()],
        rate: vec![None; cpu.len()],
        ready: vec![Some(recorded as u16); cpu.len()],
        desired: vec![Some(recorded as u16); cpu.len()],
    }
}

fn hpa(min: i32, max: i32, target: i32) -> HpaConfig {
    HpaConfig {
        min_replicas: min,
        max_replicas: max,
        cpu_target: Some(target),
        memory_target: None,
        behavior: Behavior::default(),
    }
}

fn options(ready_delay_ms: i64) -> Options {
    Options { ready_delay_ms: Some(ready_delay_ms), ..Options::default() }
}

fn repeat(value: f32, n: usize) -> Vec<f32> {
    vec![value; n]
}

#[test]
fn a_step_load_scales_up_by_the_policy_then_settles() {
    // 2 pods at 50 % (1 core), then 4 cores from step 10.
    let cpu = [repeat(1.0, 10), repeat(4.0, 10)].concat();
    let instant = replay(&series(&cpu, 2), &hpa(1, 10, 50), &options(0));
    // Step 10: 200 % → wants 8, the scale-up policy allows max(2 × 2, 2 + 4) = 6.
    // Step 11: 4 cores over 6 pods = 66 % → ⌈6 × 1.32⌉ = 8, allowed (≤ 12). Then 50 %: stays.
    assert_eq!(instant.trace.replicas, [repeat_i(2, 10), vec![6], repeat_i(8, 9)].concat());
    assert_eq!(instant.figures.overloaded_minutes, 0.0, "new pods serve at once");
    assert_eq!(instant.figures.scale_events, 2);

    // With a 30 s start-up, the 4 new pods serve from step 12: steps 10 and 11 run at 200 %.
    // At step 11 the 4 starting pods count as 0 %: 4 cores over 6 pods → 8 again.
    let slow = replay(&series(&cpu, 2), &hpa(1, 10, 50), &options(30_000));
    assert_eq!(slow.trace.replicas, [repeat_i(2, 10), vec![6], repeat_i(8, 9)].concat());
    assert_eq!(slow.figures.overloaded_minutes, 0.5, "two 15 s steps over 100 %");
    assert_eq!(slow.trace.utilization[10], Some(200.0));
}

fn repeat_i(value: i32, n: usize) -> Vec<i32> {
    vec![value; n]
}

#[test]
fn a_daily_wave_meets_the_maximum_and_comes_down_after_the_window() {
    // 60 quiet steps (1 core), 60 busy (8 cores), 60 quiet. min 2, max 10, target 50.
    let cpu = [repeat(1.0, 60), repeat(8.0, 60), repeat(1.0, 60)].concat();
    let r = replay(&series(&cpu, 2), &hpa(2, 10, 50), &options(0));
    // Step 60: 400 % → 16 wanted, 6 allowed. Step 61: 133 % → 16 wanted, 10 is the maximum.
    assert_eq!(&r.trace.replicas[59..63], &[2, 6, 10, 10]);
    // Busy at the maximum: 8 cores over 10 pods = 80 %, above the target, not overloaded.
    assert_eq!(r.trace.utilization[100], Some(80.0));
    // Quiet again from step 120; the 300 s window (20 steps) still holds the busy
    // recommendations until step 139, when everything in it says 2.
    assert_eq!(r.trace.replicas[138], 10);
    assert_eq!(r.trace.replicas[139], 2);
    assert_eq!(r.figures.minutes_at_max, (139 - 61) as f64 * 0.25);
    assert_eq!(r.figures.overloaded_minutes, 0.25, "only the first busy step, before any new pod");
    assert_eq!(r.figures.scale_events, 3);
    let expected_hours = (60.0 * 2.0 + 6.0 + 78.0 * 10.0 + 41.0 * 2.0) * 15.0 / 3600.0;
    assert!((r.figures.replica_hours - expected_hours).abs() < 1e-9, "{}", r.figures.replica_hours);
}

#[test]
fn a_spike_shorter_than_the_scale_up_window_is_ridden_out() {
    // 4 pods at 50 %, then a 60 s spike to 200 %, with a 120 s scale-up window.
    let cpu = [repeat(2.0, 10), repeat(8.0, 4), repeat(2.0, 10)].concat();
    let mut config = hpa(1, 20, 50);
    config.behavior.scale_up.stabilization_window_secs = 120;
    let r = replay(&series(&cpu, 4), &config, &options(0));
    assert!(r.trace.replicas.iter().all(|&n| n == 4), "{:?}", r.trace.replicas);
    assert_eq!(r.figures.overloaded_minutes, 1.0, "the spike's four steps at 200 %");
    assert_eq!(r.figures.scale_events, 0);
    // Without the window, the spike scales the service up (and the default 300 s window
    // keeps the extra pods after it).
    let eager = replay(&series(&cpu, 4), &hpa(1, 20, 50), &options(0));
    assert_eq!(eager.trace.replicas[10], 8, "max(2 × 4, 4 + 4)");
    assert_eq!(eager.trace.replicas[23], 16);
}

#[test]
fn a_configuration_without_a_scale_down_window_flaps() {
    // Demand alternates every two steps between 3 and 1 cores.
    let cpu: Vec<f32> = (0..40).map(|i| if (i / 2) % 2 == 0 { 3.0 } else { 1.0 }).collect();
    let calm = replay(&series(&cpu, 6), &hpa(1, 10, 50), &options(0));
    let mut jumpy = hpa(1, 10, 50);
    jumpy.behavior.scale_down =
        ScalingRules { stabilization_window_secs: 0, ..ScalingRules::default_scale_down() };
    let flapping = replay(&series(&cpu, 6), &jumpy, &options(0));
    assert_eq!(calm.figures.scale_events, 0, "the 300 s window holds 6: {:?}", calm.trace.replicas);
    // Without it: 3 cores over 6 = 50 %; 1 core → 17 % → down to 2; 3 cores over 2 = 150 %
    // → back to 6; every two steps.
    assert_eq!(&flapping.trace.replicas[..8], &[6, 6, 2, 2, 6, 6, 2, 2]);
    assert_eq!(flapping.figures.scale_events, 19);
    assert_eq!(flapping.figures.overloaded_minutes, 0.0, "new pods serve at once");
    // With a 30 s start-up, each busy pair after a drop runs on 2 pods at 150 %: nine pairs of
    // two steps overloaded, for the sake of 4 fewer pods half the time.
    let slow = replay(&series(&cpu, 6), &jumpy, &options(30_000));
    assert_eq!(slow.figures.scale_events, 19);
    assert_eq!(slow.figures.overloaded_minutes, 9.0 * 2.0 * 0.25);
    assert_eq!(replay(&series(&cpu, 6), &hpa(1, 10, 50), &options(30_000)).figures.overloaded_minutes, 0.0);
}

#[test]
fn the_replay_of_what_was_recorded_is_faithful_and_says_so() {
    let cpu = [repeat(1.0, 10), repeat(4.0, 10)].concat();
    let mut s = series(&cpu, 2);
    let r = replay(&s, &hpa(1, 10, 50), &options(0));
    s.desired = r.trace.replicas.iter().map(|&n| Some(n as u16)).collect();
    let f = fidelity(&s, &r.trace);
    assert_eq!((f.within_one, f.compared, f.note), (1.0, 20, None));
    // Someone scaled it by hand to 15 for the second half: the replay cannot know.
    for d in s.desired.iter_mut().skip(10) {
        *d = Some(15);
    }
    let f = fidelity(&s, &r.trace);
    assert_eq!(f.within_one, 0.5);
    assert!(f.note.unwrap().contains("something else scaled"));
}

#[test]
fn a_backtest_compares_and_sums_up() {
    let cpu = [repeat(1.0, 60), repeat(8.0, 60), repeat(1.0, 60)].concat();
    let s = series(&cpu, 2);
    let b = backtest(&s, Window::Day.millis(), &hpa(2, 3, 50), &hpa(2, 10, 50), &options(0));
    assert!(b.current.overloaded_minutes > 14.0, "8 cores over 3 pods: {:?}", b.current);
    assert_eq!(b.proposed.overloaded_minutes, 0.25);
    assert!(b.proposed.replica_hours > b.current.replica_hours);
    assert_eq!((b.recorded_steps, b.covered_ms), (180, 180 * STEP));
    let text = summary(&b);
    assert!(text.starts_with("backtested on 45 min recorded of the last 24 h: overloaded "), "{text}");
    assert!(text.contains("→ 0 min"), "{text}");
    // The replayed series, step by step, beside what was recorded.
    assert_eq!(b.series.current.len(), 180);
    assert_eq!(b.series.recorded[0], Some(2));
    assert_eq!(b.series.utilization[60], Some(400.0), "8 cores over 2 ready pods of 1 core");
    assert_eq!(b.series.proposed[61], 10);
}

#[test]
fn figures_count_only_the_recorded_steps_on_every_side_and_say_what_they_cover() {
    // A day of 15-s syncs with 5.5 minutes recorded (22 syncs) in the middle: the rest has no
    // reading and no count. Every side's figures cover those 22 steps, not the day.
    let day = (Window::Day.millis() / STEP) as usize;
    let mut s = series(&repeat(1.0, day), 2);
    for i in (0..day).filter(|i| !(3000..3022).contains(i)) {
        s.cpu[i] = None;
        s.desired[i] = None;
        s.ready[i] = None;
    }
    let b = backtest(&s, Window::Day.millis(), &hpa(2, 10, 50), &hpa(3, 10, 50), &options(0));
    assert_eq!((b.recorded_steps, b.covered_ms), (22, 330_000));
    let hours = 22.0 * 0.25 / 60.0;
    assert!((b.recorded.replica_hours - 2.0 * hours).abs() < 1e-9, "{:?}", b.recorded);
    assert!((b.current.replica_hours - 2.0 * hours).abs() < 1e-9, "{:?}", b.current);
    assert!((b.proposed.replica_hours - 3.0 * hours).abs() < 1e-9, "{:?}", b.proposed);
    assert_eq!(b.recorded_span_ms, 330_000);
    assert_eq!(
        (b.fidelity.compared, b.fidelity.missing),
        (22, 0),
        "gaps are counted within the recorded span"
    );
    assert!(summary(&b).starts_with("backtested on 5.5 min recorded of the last 24 h"), "{}", summary(&b));
}

#[test]
fn gaps_are_counted_over_what_was_recorded_not_the_window() {
    let mut s = series(&repeat(1.0, 400), 2);
    for i in (0..100).chain(300..400).chain(150..160) {
        s.cpu[i] = None;
    }
    let b = backtest(&s, Window::Day.millis(), &hpa(2, 10, 50), &hpa(2, 10, 50), &options(0));
    assert_eq!((b.fidelity.compared, b.fidelity.missing), (190, 10));
}

#[test]
fn ready_delays_are_measured_from_the_recording() {
    let mut s = series(&repeat(1.0, 20), 2);
    s.desired[5] = Some(4);
    for i in 6..20 {
        s.desired[i] = Some(4);
    }
    for i in 7..20 {
        s.ready[i] = Some(4);
    }
    assert_eq!(estimate_ready_delay(&s), Some(2 * STEP));
    assert_eq!(estimate_ready_delay(&series(&repeat(1.0, 5), 2)), None);
}
