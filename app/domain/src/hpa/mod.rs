//! The HorizontalPodAutoscaler's arithmetic, as the Kubernetes controller does it, and its
//! spec as Kubernetes writes it ([`spec`]).
//!
//! Pure code: no I/O, time passed in as milliseconds. The simulator runs it against its pods,
//! and the dashboard can replay recorded history through a proposed configuration with it.
//!
//! Two stages, as in `kube-controller-manager`:
//! 1. [`replicas_for_utilization`]: from pod metrics to a raw recommendation
//!    (`desired = ⌈ready × utilisation / target⌉`, tolerance, missing and not-ready pods).
//! 2. [`Autoscaler::normalize`]: clamp to min/max, stabilisation windows and rate policies
//!    (`behavior`). An HPA without `behavior` gets the documented defaults.

pub mod spec;

use serde::{Deserialize, Serialize};

/// The controller's default tolerance: ratios within 10 % of 1.0 cause no scaling.
pub const DEFAULT_TOLERANCE: f64 = 0.1;

/// How a pod counts towards the utilisation average.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodReadiness {
    /// Not scheduled or not started: ignored entirely.
    Pending,
    /// Running but not (yet) Ready: counted as 0 % on a scale-up, ignored otherwise.
    Unready,
    /// Running and Ready: its metric counts as measured.
    Ready,
    /// Failed or being deleted: ignored entirely.
    Gone,
}

/// One pod's view for one resource metric, in the resource's base unit (millicores or bytes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PodSample {
    pub readiness: PodReadiness,
    /// `None` when the metrics API has no sample for the pod.
    pub usage: Option<f64>,
    /// The pod's summed container requests for the resource.
    pub request: f64,
}

/// Why no recommendation could be computed (the HPA's `ScalingActive=False` reasons).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricError {
    NoPods,
    NoMetrics,
    MissingRequest,
}

impl std::fmt::Display for MetricError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MetricError::NoPods => "no pods returned by selector while calculating replica count",
            MetricError::NoMetrics => "did not receive metrics for targeted pods (pods might be unready)",
            MetricError::MissingRequest => "missing request for resource on one or more pods",
        })
    }
}

/// A raw recommendation for one metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricRecommendation {
    pub replicas: i32,
    /// Average utilisation of the pods with metrics, in percent of their requests.
    pub utilization_percent: i32,
}

/// `sum(usage) / sum(request)` over `samples`, as a percentage, and its ratio to `target`.
fn utilization_ratio(samples: &[(f64, f64)], target_percent: i32) -> (f64, i32) {
    let usage: f64 = samples.iter().map(|(u, _)| u).sum();
    let request: f64 = samples.iter().map(|(_, r)| r).sum();
    let utilization = (usage * 100.0 / request) as i32;
    (f64::from(utilization) / f64::from(target_percent), utilization)
}

fn within(ratio: f64, tolerance: f64) -> bool {
    (1.0 - ratio).abs() <= tolerance
}

/// The replicas a resource utilisation target asks for (the controller's `GetResourceReplicas`).
pub fn replicas_for_utilization(
    current_replicas: i32,
    pods: &[PodSample],
    target_percent: i32,
    tolerance: f64,
) -> Result<MetricRecommendation, MetricError> {
    if pods.is_empty() {
        return Err(MetricError::NoPods);
    }
    let mut measured = Vec::new();
    let (mut missing, mut unready) = (Vec::new(), Vec::new());
    for pod in pods {
        match (pod.readiness, pod.usage) {
            (PodReadiness::Pending | PodReadiness::Gone, _) => {}
            (_, None) => missing.push(pod.request),
            (PodReadiness::Unready, Some(_)) => unready.push(pod.request),
            (PodReadiness::Ready, Some(usage)) => measured.push((usage, pod.request)),
        }
    }
    if measured.is_empty() {
        return Err(MetricError::NoMetrics);
    }
    if measured.iter().map(|(_, r)| *r).chain(missing.iter().copied()).any(|r| r <= 0.0) {
        return Err(MetricError::MissingRequest);
    }
    let ready_count = measured.len() as f64;
    let (ratio, utilization) = utilization_ratio(&measured, target_percent);
    let recommend = |replicas| Ok(MetricRecommendation { replicas, utilization_percent: utilization });

    let scale_up_with_unready = !unready.is_empty() && ratio > 1.0;
    if !scale_up_with_unready && missing.is_empty() {
        if within(ratio, tolerance) {
            return recommend(current_replicas);
        }
        return recommend((ratio * ready_count).ceil() as i32);
    }

    // Fill the gaps conservatively: a scale-down assumes missing pods use all they request,
    // a scale-up assumes they (and unready pods) use nothing.
    for request in missing {
        measured.push((if ratio < 1.0 { request } else { 0.0 }, request));
    }
    if scale_up_with_unready {
        measured.extend(unready.into_iter().map(|request| (0.0, request)));
    }
    let (new_ratio, _) = utilization_ratio(&measured, target_percent);
    let reverses = (ratio > 1.0 && new_ratio < 1.0) || (ratio < 1.0 && new_ratio > 1.0);
    if within(new_ratio, tolerance) || reverses {
        return recommend(current_replicas);
    }
    let replicas = (new_ratio * measured.len() as f64).ceil() as i32;
    if (new_ratio < 1.0 && replicas > current_replicas) || (new_ratio > 1.0 && replicas < current_replicas) {
        return recommend(current_replicas);
    }
    recommend(replicas)
}

/// A scaling policy: at most `value` pods or percent per `period_secs`. Serialised as the
/// HPA spec writes it (`type`, `value`, `periodSeconds`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Policy {
    #[serde(rename = "type")]
    pub kind: PolicyKind,
    pub value: i32,
    #[serde(rename = "periodSeconds")]
    pub period_secs: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PolicyKind {
    Pods,
    Percent,
}

impl PolicyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Pods => "Pods",
            PolicyKind::Percent => "Percent",
        }
    }
}

/// Which policy wins when several apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SelectPolicy {
    /// The policy allowing the biggest change (the default).
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction at all.
    Disabled,
}

impl SelectPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            SelectPolicy::Max => "Max",
            SelectPolicy::Min => "Min",
            SelectPolicy::Disabled => "Disabled",
        }
    }
}

/// One direction of `behavior`, every field filled in (serialised in Kubernetes' names).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScalingRules {
    #[serde(rename = "stabilizationWindowSeconds")]
    pub stabilization_window_secs: u32,
    #[serde(rename = "selectPolicy")]
    pub select_policy: SelectPolicy,
    pub policies: Vec<Policy>,
}

/// `spec.behavior` with every field filled in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Behavior {
    #[serde(rename = "scaleUp")]
    pub scale_up: ScalingRules,
    #[serde(rename = "scaleDown")]
    pub scale_down: ScalingRules,
}

impl ScalingRules {
    /// Scale-up default: no stabilisation; +100 % or +4 pods per 15 s, whichever is more.
    pub fn default_scale_up() -> Self {
        ScalingRules {
            stabilization_window_secs: 0,
            select_policy: SelectPolicy::Max,
            policies: vec![
                Policy { kind: PolicyKind::Percent, value: 100, period_secs: 15 },
                Policy { kind: PolicyKind::Pods, value: 4, period_secs: 15 },
            ],
        }
    }

    /// Scale-down default: 300 s stabilisation; up to 100 % per 15 s.
    pub fn default_scale_down() -> Self {
        ScalingRules {
            stabilization_window_secs: 300,
            select_policy: SelectPolicy::Max,
            policies: vec![Policy { kind: PolicyKind::Percent, value: 100, period_secs: 15 }],
        }
    }
}

impl Default for Behavior {
    fn default() -> Self {
        Behavior {
            scale_up: ScalingRules::default_scale_up(),
            scale_down: ScalingRules::default_scale_down(),
        }
    }
}

/// Why the normalised count differs from the raw recommendation, as the HPA's
/// `ScalingLimited` condition reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    DesiredWithinRange,
    ScaleUpLimit,
    TooManyReplicas,
    ScaleDownLimit,
    TooFewReplicas,
}

impl Limit {
    pub fn reason(self) -> &'static str {
        match self {
            Limit::DesiredWithinRange => "DesiredWithinRange",
            Limit::ScaleUpLimit => "ScaleUpLimit",
            Limit::TooManyReplicas => "TooManyReplicas",
            Limit::ScaleDownLimit => "ScaleDownLimit",
            Limit::TooFewReplicas => "TooFewReplicas",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Limit::DesiredWithinRange => "the desired count is within the acceptable range",
            Limit::ScaleUpLimit => {
                "the desired replica count is increasing faster than the maximum scale rate"
            }
            Limit::TooManyReplicas => "the desired replica count is more than the maximum replica count",
            Limit::ScaleDownLimit => {
                "the desired replica count is decreasing faster than the maximum scale rate"
            }
            Limit::TooFewReplicas => "the desired replica count is less than the minimum replica count",
        }
    }
}

/// The outcome of one normalisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub replicas: i32,
    /// The recommendation after stabilisation, before rate limits.
    pub stabilized: i32,
    pub limit: Limit,
}

/// The per-HPA memory the controller keeps between syncs: recent recommendations (for the
/// stabilisation windows) and recent scale events (for the rate policies).
#[derive(Clone, Debug, Default)]
pub struct Autoscaler {
    recommendations: Vec<(u64, i32)>,
    scale_ups: Vec<(u64, i32)>,
    scale_downs: Vec<(u64, i32)>,
}

impl Autoscaler {
    /// The memory of an HPA first seen at `now_ms` with its target at `current` replicas: like
    /// the controller after a restart, it counts `current` as a recent recommendation, so
    /// nothing scales down before a full stabilisation window has passed.
    pub fn new(now_ms: u64, current: i32) -> Self {
        Autoscaler { recommendations: vec![(now_ms, current)], ..Autoscaler::default() }
    }

    /// Turns a raw recommendation into the replica count to set (the controller's
    /// `normalizeDesiredReplicasWithBehaviors`), remembering the recommendation.
    pub fn normalize(
        &mut self,
        now_ms: u64,
        current: i32,
        desired: i32,
        min: i32,
        max: i32,
        behavior: &Behavior,
    ) -> Decision {
        let stabilized = self.stabilize(now_ms, current, desired, behavior);
        let (replicas, limit) = self.limit_rate(now_ms, current, stabilized, min, max, behavior);
        Decision { replicas, stabilized, limit }
    }

    /// Records that the target was scaled from `from` to `to` at `now_ms`.
    pub fn record_scale(&mut self, now_ms: u64, from: i32, to: i32, behavior: &Behavior) {
        let longest = |rules: &ScalingRules| rules.policies.iter().map(|p| p.period_secs).max().unwrap_or(0);
        let keep_up = u64::from(longest(&behavior.scale_up)) * 1000;
        let keep_down = u64::from(longest(&behavior.scale_down)) * 1000;
        self.scale_ups.retain(|(t, _)| now_ms.saturating_sub(*t) <= keep_up);
        self.scale_downs.retain(|(t, _)| now_ms.saturating_sub(*t) <= keep_down);
        match to.cmp(&from) {
            std::cmp::Ordering::Greater => self.scale_ups.push((now_ms, to - from)),
            std::cmp::Ordering::Less => self.scale_downs.push((now_ms, from - to)),
            std::cmp::Ordering::Equal => {}
        }
    }

    fn stabilize(&mut self, now_ms: u64, current: i32, desired: i32, behavior: &Behavior) -> i32 {
        let up_cutoff = cutoff(now_ms, behavior.scale_up.stabilization_window_secs);
        let down_cutoff = cutoff(now_ms, behavior.scale_down.stabilization_window_secs);
        let (mut up, mut down) = (desired, desired);
        let mut reusable = None;
        for (i, &(t, rec)) in self.recommendations.iter().enumerate() {
            let t = t as i64;
            if t > up_cutoff {
                up = up.min(rec);
            }
            if t > down_cutoff {
                down = down.max(rec);
            }
            if t < up_cutoff && t < down_cutoff {
                reusable = Some(i);
            }
        }
        match reusable {
            Some(i) => self.recommendations[i] = (now_ms, desired),
            None => self.recommendations.push((now_ms, desired)),
        }
        current.max(up).min(down)
    }

    fn limit_rate(
        &self,
        now_ms: u64,
        current: i32,
        desired: i32,
        min: i32,
        max: i32,
        behavior: &Behavior,
    ) -> (i32, Limit) {
        if desired > current {
            let limit = self.scale_limit(now_ms, current, &behavior.scale_up, true).max(current);
            let (allowed, why) =
                if max > limit { (limit, Limit::ScaleUpLimit) } else { (max, Limit::TooManyReplicas) };
            if desired > allowed {
                return (allowed, why);
            }
        } else if desired < current {
            let limit = self.scale_limit(now_ms, current, &behavior.scale_down, false).min(current);
            let (allowed, why) =
                if min < limit { (limit, Limit::ScaleDownLimit) } else { (min, Limit::TooFewReplicas) };
            if desired < allowed {
                return (allowed, why);
            }
        }
        (desired, Limit::DesiredWithinRange)
    }

    /// The furthest the policies let the count move from `current` in one direction.
    fn scale_limit(&self, now_ms: u64, current: i32, rules: &ScalingRules, up: bool) -> i32 {
        if rules.select_policy == SelectPolicy::Disabled {
            return current;
        }
        let changed_within = |events: &[(u64, i32)], period_secs: u32| -> i32 {
            let since = cutoff(now_ms, period_secs);
            events.iter().filter(|(t, _)| *t as i64 > since).map(|(_, n)| n).sum()
        };
        let proposals = rules.policies.iter().map(|policy| {
            let start = current - changed_within(&self.scale_ups, policy.period_secs)
                + changed_within(&self.scale_downs, policy.period_secs);
            let value = policy.value;
            match (policy.kind, up) {
                (PolicyKind::Pods, true) => start + value,
                (PolicyKind::Pods, false) => start - value,
                (PolicyKind::Percent, true) => {
                    (f64::from(start) * (1.0 + f64::from(value) / 100.0)).ceil() as i32
                }
                (PolicyKind::Percent, false) => (f64::from(start) * (1.0 - f64::from(value) / 100.0)) as i32,
            }
        });
        // "Max" means the biggest change: the highest limit going up, the lowest going down.
        let biggest_change = rules.select_policy == SelectPolicy::Max;
        if up == biggest_change {
            proposals.max().unwrap_or(current)
        } else {
            proposals.min().unwrap_or(current)
        }
    }
}

/// `now − window` as a signed time: near the epoch of a test clock the window may reach back
/// before zero, and an event at 0 must still count as inside it.
fn cutoff(now_ms: u64, window_secs: u32) -> i64 {
    now_ms as i64 - i64::from(window_secs) * 1000
}

/// The replica count the controller sets for a target at `current` replicas, before
/// metrics: out-of-range counts are pulled back into `[min, max]` first.
pub fn clamp_out_of_range(current: i32, min: i32, max: i32) -> Option<i32> {
    if current > max {
        Some(max)
    } else if current < min {
        Some(min)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(usage: f64, request: f64) -> PodSample {
        PodSample { readiness: PodReadiness::Ready, usage: Some(usage), request }
    }

    fn recommend(current: i32, pods: &[PodSample], target: i32) -> i32 {
        replicas_for_utilization(current, pods, target, DEFAULT_TOLERANCE).unwrap().replicas
    }

    // The worked examples of the Kubernetes HPA documentation ("Algorithm details").

    #[test]
    fn double_the_target_doubles_the_replicas() {
        // currentMetricValue 200m, desiredMetricValue 100m: 200.0 / 100.0 == 2.0.
        let pods = vec![ready(200.0, 1000.0); 3];
        assert_eq!(recommend(3, &pods, 10), 6);
    }

    #[test]
    fn half_the_target_halves_the_replicas() {
        // current 50m, desired 100m: 50.0 / 100.0 == 0.5.
        let pods = vec![ready(50.0, 1000.0); 4];
        assert_eq!(recommend(4, &pods, 10), 2);
    }

    #[test]
    fn a_ratio_within_tolerance_keeps_the_count() {
        // 1.05 is within 0.1 of 1.0: no scaling.
        let pods = vec![ready(525.0, 1000.0); 4];
        assert_eq!(recommend(4, &pods, 50), 4);
        // 1.2 is not.
        let pods = vec![ready(600.0, 1000.0); 4];
        assert_eq!(recommend(4, &pods, 50), 5);
    }

    #[test]
    fn utilisation_is_usage_over_requests_of_measured_pods() {
        let pods = [ready(300.0, 500.0), ready(100.0, 500.0)];
        let r = replicas_for_utilization(2, &pods, 50, DEFAULT_TOLERANCE).unwrap();
        assert_eq!(r.utilization_percent, 40);
        assert_eq!(r.replicas, 2, "0.8 ratio: ⌈2 × 0.8⌉ = 2");
    }

    #[test]
    fn missing_metrics_count_as_full_request_on_a_scale_down() {
        // Two ready pods at 10 % want a scale-down; the missing pod is assumed at 100 %,
        // making the average 40 % of a 50 % target: ⌈3 × 0.8⌉ = 3, no scale-down past it.
        let pods = [
            ready(100.0, 1000.0),
            ready(100.0, 1000.0),
            PodSample { readiness: PodReadiness::Ready, usage: None, request: 1000.0 },
        ];
        assert_eq!(recommend(3, &pods, 50), 3);
    }

    #[test]
    fn missing_metrics_count_as_zero_on_a_scale_up() {
        // Ready pods at 100 % of a 50 % target (ratio 2); the missing pod at 0 % gives 66 %,
        // ratio 1.32: ⌈3 × 1.32⌉ = 4, not the ⌈3 × 2⌉ = 6 of counting it as busy.
        let pods = [
            ready(1000.0, 1000.0),
            ready(1000.0, 1000.0),
            PodSample { readiness: PodReadiness::Ready, usage: None, request: 1000.0 },
        ];
        assert_eq!(recommend(3, &pods, 50), 4);
    }

    #[test]
    fn unready_pods_count_as_zero_on_a_scale_up_and_can_cancel_it() {
        // One ready pod at 60 % of a 50 % target (ratio 1.2) and one unready pod: with it at
        // 0 % the average is 30 %, which reverses the direction, so nothing changes.
        let pods = [
            ready(600.0, 1000.0),
            PodSample { readiness: PodReadiness::Unready, usage: Some(900.0), request: 1000.0 },
        ];
        assert_eq!(recommend(2, &pods, 50), 2);
    }

    #[test]
    fn pending_pods_are_ignored() {
        let pods = [
            ready(1000.0, 1000.0),
            PodSample { readiness: PodReadiness::Pending, usage: None, request: 1000.0 },
        ];
        assert_eq!(recommend(2, &pods, 50), 2, "⌈1 ready × 2.0⌉ = 2");
    }

    #[test]
    fn no_metrics_at_all_is_an_error() {
        let pods = [PodSample { readiness: PodReadiness::Pending, usage: None, request: 100.0 }];
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
}
