//! Stage two: from a raw recommendation to the replica count to set — min/max, the
//! stabilisation windows and the rate policies — with the memory the controller keeps
//! between syncs.

use super::{Behavior, PolicyKind, ScalingRules, SelectPolicy};

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
