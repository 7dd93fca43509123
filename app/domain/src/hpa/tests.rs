//! The HPA arithmetic against the examples of the Kubernetes documentation and the
//! controller's behaviour.
use super::*;

fn ready(usage: i64, request: i64) -> PodSample {
    PodSample { readiness: PodReadiness::Ready, usage: Some(usage), request }
}

fn recommend(current: i32, pods: &[PodSample], target: i32) -> i32 {
    replicas_for_utilization(current, pods, target, DEFAULT_TOLERANCE).unwrap().replicas
}

// The worked examples of the Kubernetes HPA documentation ("Algorithm details").

#[test]
fn double_the_target_doubles_the_replicas() {
    // currentMetricValue 200m, desiredMetricValue 100m: 200 / 100 == 2.
    let pods = vec![ready(200, 1000); 3];
    assert_eq!(recommend(3, &pods, 10), 6);
}

#[test]
fn half_the_target_halves_the_replicas() {
    // current 50m, desired 100m: 50 / 100 == 0.5.
    let pods = vec![ready(50, 1000); 4];
    assert_eq!(recommend(4, &pods, 10), 2);
}

#[test]
fn a_ratio_within_tolerance_keeps_the_count() {
    // 1.05 is within 0.1 of 1: no scaling.
    let pods = vec![ready(525, 1000); 4];
    assert_eq!(recommend(4, &pods, 50), 4);
    // 1.2 is not.
    let pods = vec![ready(600, 1000); 4];
    assert_eq!(recommend(4, &pods, 50), 5);
}

#[test]
fn utilisation_is_usage_over_requests_of_measured_pods() {
    let pods = [ready(300, 500), ready(100, 500)];
    let r = replicas_for_utilization(2, &pods, 50, DEFAULT_TOLERANCE).unwrap();
    assert_eq!(r.utilization_percent, 40);
    assert_eq!(r.replicas, 2, "0.8 ratio: ⌈2 × 0.8⌉ = 2");
}

#[test]
fn missing_metrics_count_as_full_request_on_a_scale_down() {
    // Two ready pods at 10 % want a scale-down; the missing pod is assumed at 100 %,
    // making the average 40 % of a 50 % target: ⌈3 × 0.8⌉ = 3, no scale-down past it.
    let pods = [
        ready(100, 1000),
        ready(100, 1000),
        PodSample { readiness: PodReadiness::Ready, usage: None, request: 1000 },
    ];
    assert_eq!(recommend(3, &pods, 50), 3);
}

#[test]
fn missing_metrics_count_as_zero_on_a_scale_up() {
    // Ready pods at 100 % of a 50 % target (ratio 2); the missing pod at 0 % gives 66 %,
    // ratio 1.32: ⌈3 × 1.32⌉ = 4, not the ⌈3 × 2⌉ = 6 of counting it as busy.
    let pods = [
        ready(1000, 1000),
        ready(1000, 1000),
        PodSample { readiness: PodReadiness::Ready, usage: None, request: 1000 },
    ];
    assert_eq!(recommend(3, &pods, 50), 4);
}

#[test]
fn unready_pods_count_as_zero_on_a_scale_up_and_can_cancel_it() {
    // One ready pod at 60 % of a 50 % target (ratio 1.2) and one unready pod: with it at
    // 0 % the average is 30 %, which reverses the direction, so nothing changes.
    let pods =
        [ready(600, 1000), PodSample { readiness: PodReadiness::Unready, usage: Some(900), request: 1000 }];
    assert_eq!(recommend(2, &pods, 50), 2);
}

#[test]
fn pending_pods_are_ignored() {
    let pods =
        [ready(1000, 1000), PodSample { readiness: PodReadiness::Pending, usage: None, request: 1000 }];
    assert_eq!(recommend(2, &pods, 50), 2, "⌈1 ready × 2⌉ = 2");
}

#[test]
fn no_metrics_at_all_is_an_error() {
    let pods = [PodSample { readiness: PodReadiness::Pending, usage: None, request: 100 }];
    assert_eq!(replicas_for_utilization(1, &pods, 50, 0.1), Err(MetricError::NoMetrics));
    assert_eq!(replicas_for_utilization(1, &[], 50, 0.1), Err(MetricError::NoPods));
}

#[test]
fn default_scale_up_allows_double_or_four_more_per_15_seconds() {
    let b = Behavior::default();
    let mut a = Autoscaler::default();
    let d = a.normalize(0, 2, 20, 1, 50, &b);
    assert_eq!((d.replicas, d.limit), (6, Limit::ScaleUpLimit), "max(2 × 2, 2 + 4)");
    a.record_scale(0, 2, 6, &b);
    // Within the same 15 s period the budget is spent.
    let d = a.normalize(10_000, 6, 20, 1, 50, &b);
    assert_eq!(d.replicas, 6);
    // In the next period it doubles from 6.
    let d = a.normalize(16_000, 6, 20, 1, 50, &b);
    assert_eq!(d.replicas, 12);
}

#[test]
fn the_maximum_caps_a_scale_up() {
    let mut a = Autoscaler::default();
    let d = a.normalize(0, 8, 30, 1, 10, &Behavior::default());
    assert_eq!((d.replicas, d.limit), (10, Limit::TooManyReplicas));
}

#[test]
fn scale_down_waits_out_the_stabilisation_window() {
    let b = Behavior::default();
    let mut a = Autoscaler::default();
    assert_eq!(a.normalize(0, 10, 10, 1, 20, &b).replicas, 10);
    // Load drops: the recommendation is 4, but 10 was recommended within 300 s.
    for t in (15..300).step_by(15) {
        assert_eq!(a.normalize(t * 1000, 10, 4, 1, 20, &b).replicas, 10, "at {t} s");
    }
    // Once the 10 is no longer inside the window, the highest recent recommendation is 4.
    assert_eq!(a.normalize(300_000, 10, 4, 1, 20, &b).replicas, 4);
}

#[test]
fn a_percent_scale_down_policy_rounds_the_remaining_count_down() {
    // Documentation: 10 % per 60 s from 80 removes 8, then from 72 removes 8 (7.2 → 8).
    let b = Behavior {
        scale_up: ScalingRules::default_scale_up(),
        scale_down: ScalingRules {
            stabilization_window_secs: 0,
            select_policy: SelectPolicy::Max,
            policies: vec![Policy { kind: PolicyKind::Percent, value: 10, period_secs: 60 }],
        },
    };
    let mut a = Autoscaler::default();
    let d = a.normalize(0, 80, 10, 1, 100, &b);
    assert_eq!((d.replicas, d.limit), (72, Limit::ScaleDownLimit));
    a.record_scale(0, 80, 72, &b);
    assert_eq!(a.normalize(30_000, 72, 10, 1, 100, &b).replicas, 72, "same period");
    assert_eq!(a.normalize(61_000, 72, 10, 1, 100, &b).replicas, 64);
}

#[test]
fn select_min_picks_the_smallest_change_and_disabled_blocks() {
    let mut rules = ScalingRules::default_scale_up();
    rules.select_policy = SelectPolicy::Min;
    let b = Behavior { scale_up: rules, scale_down: ScalingRules::default_scale_down() };
    let mut a = Autoscaler::default();
    assert_eq!(a.normalize(0, 10, 40, 1, 100, &b).replicas, 14, "min(+100 % = 20, +4 = 14)");

    let mut b = b;
    b.scale_up.select_policy = SelectPolicy::Disabled;
    assert_eq!(Autoscaler::default().normalize(0, 10, 40, 1, 100, &b).replicas, 10);
}

#[test]
fn scale_up_stabilisation_takes_the_lowest_recent_recommendation() {
    let mut b = Behavior::default();
    b.scale_up.stabilization_window_secs = 60;
    let mut a = Autoscaler::default();
    assert_eq!(a.normalize(0, 3, 3, 1, 20, &b).replicas, 3);
    assert_eq!(a.normalize(15_000, 3, 8, 1, 20, &b).replicas, 3, "3 was recommended 15 s ago");
    assert_eq!(a.normalize(61_000, 3, 8, 1, 20, &b).replicas, 7, "8 after the window, +4 at most");
}

#[test]
fn a_newly_seen_hpa_does_not_scale_down_at_once() {
    let b = Behavior::default();
    let mut a = Autoscaler::new(0, 8);
    assert_eq!(a.normalize(15_000, 8, 3, 1, 20, &b).replicas, 8);
    assert_eq!(a.normalize(300_000, 8, 3, 1, 20, &b).replicas, 3);
}

#[test]
fn out_of_range_counts_are_pulled_back_first() {
    assert_eq!(clamp_out_of_range(12, 2, 10), Some(10));
    assert_eq!(clamp_out_of_range(1, 2, 10), Some(2));
    assert_eq!(clamp_out_of_range(5, 2, 10), None);
}

#[test]
fn usage_is_counted_in_whole_millicores_rounded_up_per_container_as_the_controller_reads_it() {
    // Four pods of 1 core at a 50 % target, each reported as 549.000001m: read as 550m each,
    // 2200m over 4000m is 55 %, a ratio of 1.10, outside the tolerance (as a float, 1.1 is a
    // hair above it): the controller scales to ⌈4 × 1.1⌉ = 5. Summed exactly, 54 %: no change.
    let served = crate::quantity::Quantity::parse("549000001n").unwrap().as_millis();
    assert_eq!(served, 550);
    assert_eq!(crate::quantity::cpu_millis_as_read(0.549_000_001), 550);
    let pods = vec![ready(served, 1000); 4];
    let r = replicas_for_utilization(4, &pods, 50, DEFAULT_TOLERANCE).unwrap();
    assert_eq!((r.utilization_percent, r.replicas), (55, 5));
    // Utilisation is a whole percentage, truncated: 2199m over 4000m is 54 %, within.
    let pods = [ready(550, 1000), ready(550, 1000), ready(550, 1000), ready(549, 1000)];
    assert_eq!(recommend(4, &pods, 50), 4);
}
