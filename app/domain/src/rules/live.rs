//! The rules judged on a workload's live state: replicas, budget, placement, probes,
//! requests, limits and current use.

use super::{
    catalogue::RuleId,
    finding::{Proposal, RuleFinding},
};
use crate::dto::{DisruptionBudget, Workload};

/// Memory use per pod at or above this share of its limit is close to being killed.
pub const MEMORY_NEAR_LIMIT: f64 = 0.9;
/// CPU use per pod at or above this share of its limit is being throttled at peaks.
pub const CPU_NEAR_LIMIT: f64 = 0.8;

/// The smallest replica count the workload may run at: the HPA's minimum, or its replicas.
fn floor(w: &Workload) -> i32 {
    w.autoscaler.as_ref().map_or(w.replicas.desired, |a| a.min_replicas)
}

/// Whether a budget lets no pod be evicted at `replicas`: minAvailable at or above the count
/// (or 100 %), or maxUnavailable of 0 (or 0 %).
fn blocks_every_eviction(b: &DisruptionBudget, replicas: i32) -> bool {
    let number = |v: &str| v.trim().parse::<i64>().ok();
    let percent = |v: &str| v.trim().strip_suffix('%').and_then(|p| p.trim().parse::<f64>().ok());
    let min_blocks = b.min_available.as_deref().is_some_and(|min| {
        number(min).is_some_and(|n| n >= i64::from(replicas)) || percent(min).is_some_and(|p| p >= 100.0)
    });
    let max_blocks = b
        .max_unavailable
        .as_deref()
        .is_some_and(|max| number(max) == Some(0) || percent(max).is_some_and(|p| p <= 0.0));
    min_blocks || max_blocks
}

fn names(list: Vec<&str>) -> String {
    list.join(", ")
}

/// The live-state findings of `w`, with its waivers applied.
pub fn evaluate(w: &Workload) -> Vec<RuleFinding> {
    let mut out = Vec::new();
    let floor = floor(w);
    let running = w.pods.total - w.pods.pending;
    // Two replicas: as the HPA's minimum where there is one, else the replica count.
    let two = if w.autoscaler.is_some() {
        Proposal { min_replicas: Some(2), ..Proposal::default() }
    } else {
        Proposal { replicas: Some(2), ..Proposal::default() }
    };
    if w.critical && floor < 2 {
        let what = if w.autoscaler.is_some() { "its HPA may scale it down to" } else { "it runs" };
        out.push(
            RuleFinding::new(RuleId::PD101, format!("critical, and {what} {floor} replica(s)"))
                .proposing(two.clone()),
        );
    }
    if w.replicas.desired == 1 && w.autoscaler.is_none() && w.disruption_budget.is_none() && !w.critical {
        out.push(
            RuleFinding::new(RuleId::PD106, "one replica, no HPA and no PodDisruptionBudget").proposing(two),
        );
    }
    let mut add = |rule, message: String| out.push(RuleFinding::new(rule, message));
    if let Some(a) = &w.autoscaler
        && let Some(o) = w.owners.iter().find(|o| o.effect == crate::owners::OwnerEffect::Syncs)
    {
        add(
            RuleId::PD107,
            format!(
                "{} syncs this Deployment and the HPA {} sets its replicas: unless the repository leaves spec.replicas out, each sync resets them",
                o.describe(),
                a.name
            ),
        );
    }
    if w.critical && floor >= 2 && w.disruption_budget.is_none() {
        add(
            RuleId::PD102,
            format!("critical, {floor}+ replicas and no PodDisruptionBudget selects its pods"),
        );
    }
    if let Some(b) = &w.disruption_budget
        && w.replicas.desired > 0
        && blocks_every_eviction(b, w.replicas.desired)
    {
        let rule = match (&b.min_available, &b.max_unavailable) {
            (Some(min), _) => format!("minAvailable {min}"),
            (_, Some(max)) => format!("maxUnavailable {max}"),
            _ => String::new(),
        };
        add(
            RuleId::PD103,
            format!("{} ({rule}) lets no pod be evicted at {} replicas", b.name, w.replicas.desired),
        );
    }
    if w.critical && running >= 2 && w.placement.nodes == 1 {
        add(RuleId::PD104, format!("all {running} running pods are on one node"));
    }
    if w.critical && !w.placement.spread {
        add(
            RuleId::PD105,
            "the pod template has no topologySpreadConstraints and no pod anti-affinity".into(),
        );
    }

    let without = |missing: fn(&crate::dto::ContainerResources) -> bool| {
        w.containers.iter().filter(|c| missing(c)).map(|c| c.name.as_str()).collect::<Vec<_>>()
    };
    let no_probe = without(|c| !c.readiness_probe);
    if !no_probe.is_empty() {
        add(RuleId::PD201, format!("no readiness probe on {}", names(no_probe)));
    }
    let no_requests = without(|c| c.cpu_request.is_none() || c.memory_request.is_none());
    if !no_requests.is_empty() {
        add(RuleId::PD202, format!("no CPU or memory request on {}", names(no_requests)));
    }
    let no_limits: Vec<String> = w
        .containers
        .iter()
        .filter_map(|c| {
            let missing: Vec<&str> = [("CPU", c.cpu_limit), ("memory", c.memory_limit)]
                .into_iter()
                .filter(|(_, l)| l.is_none())
                .map(|(k, _)| k)
                .collect();
            (!missing.is_empty()).then(|| format!("{} ({})", c.name, missing.join(" and ")))
        })
        .collect();
    if !no_limits.is_empty() {
        add(RuleId::PD203, format!("no limit on {}", no_limits.join(", ")));
    }
    // Summed over the same running pods, so the ratio is the average pod's.
    if let (Some(used), Some(limit)) = (w.memory.usage, w.memory.limits)
        && limit > 0.0
        && used >= MEMORY_NEAR_LIMIT * limit
    {
        add(RuleId::PD204, format!("pods use {:.0} % of their memory limit", 100.0 * used / limit));
    }
    if let (Some(used), Some(limit)) = (w.cpu.usage, w.cpu.limits)
        && limit > 0.0
        && used >= CPU_NEAR_LIMIT * limit
    {
        add(RuleId::PD205, format!("pods use {:.0} % of their CPU limit", 100.0 * used / limit));
    }
    w.waivers.apply(&mut out);
    out
}
