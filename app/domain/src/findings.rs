//! What needs attention in a workload, from its figures: the rules behind the overview's
//! "needs attention" list and each service's health. Most severe first.

use crate::dto::{Finding, Health, Workload};

/// The findings for a workload, most severe first.
pub fn findings(w: &Workload) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add =
        |health, code: &str, message: String| out.push(Finding { health, code: code.into(), message });
    let r = &w.replicas;
    if r.desired > 0 && r.ready == 0 {
        add(Health::Critical, "unavailable", format!("no replica is ready ({} wanted)", r.desired));
    } else if r.ready < r.desired {
        add(Health::Warning, "unavailable", format!("{} of {} replicas ready", r.ready, r.desired));
    }
    if let Some(a) = &w.autoscaler
        && a.at_max
    {
        add(
            Health::Warning,
            "hpa-at-max",
            format!("the autoscaler is at its maximum of {} replicas", a.max_replicas),
        );
    }
    if w.pods.unschedulable > 0 {
        add(Health::Warning, "pending", format!("{} pod(s) cannot be scheduled", w.pods.unschedulable));
    }
    if w.pods.restarts >= 5 {
        add(Health::Warning, "restarts", format!("containers restarted {} times", w.pods.restarts));
    }
    if let Some(used) = w.cpu.usage
        && w.cpu.requests > 0.0
        && used > w.cpu.requests
    {
        add(Health::Warning, "usage-above-requests", "CPU use is above what the pods request".into());
    }
    if w.containers.iter().any(|c| c.cpu_limit.is_none() || c.memory_limit.is_none()) {
        add(Health::Warning, "no-limits", "a container runs without CPU or memory limits".into());
    }
    if r.desired == 1 && w.autoscaler.is_none() && w.disruption_budget.is_none() {
        add(
            Health::Warning,
            "single-replica",
            "one replica and no PodDisruptionBudget: any disruption is an outage".into(),
        );
    }
    if let Some(used) = w.cpu.usage
        && w.cpu.requests > 0.0
        && used < 0.25 * w.cpu.requests
        && w.autoscaler.is_none()
    {
        add(
            Health::Warning,
            "overprovisioned",
            format!("uses {:.0} % of the CPU it requests", 100.0 * used / w.cpu.requests),
        );
    }
    out.sort_by_key(|f| f.health);
    out
}

/// The workload with its findings, the health they add up to, and the governance rules its
/// live state breaks.
pub fn assess(mut w: Workload) -> Workload {
    w.findings = findings(&w);
    w.governance = crate::rules::live::evaluate(&w);
    w.health = w.findings.first().map_or(Health::Healthy, |f| f.health);
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::{Autoscaler, ContainerResources, Replicas, ResourceFigures};

    #[test]
    fn an_unavailable_workload_is_critical_and_comes_first() {
        let w = assess(Workload {
            replicas: Replicas { desired: 2, ready: 0, ..Default::default() },
            containers: vec![ContainerResources { name: "c".into(), ..Default::default() }],
            ..Default::default()
        });
        assert_eq!(w.health, Health::Critical);
        assert_eq!(w.findings[0].code, "unavailable");
        assert!(w.findings.iter().any(|f| f.code == "no-limits"));
    }

    #[test]
    fn an_autoscaler_at_max_and_overprovisioning() {
        let at_max = assess(Workload {
            replicas: Replicas { desired: 4, ready: 4, ..Default::default() },
            autoscaler: Some(Autoscaler { max_replicas: 4, at_max: true, ..Default::default() }),
            ..Default::default()
        });
        assert_eq!(at_max.findings.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(), ["hpa-at-max"]);
        let idle = assess(Workload {
            replicas: Replicas { desired: 2, ready: 2, ..Default::default() },
            cpu: ResourceFigures { requests: 4.0, usage: Some(0.5), ..Default::default() },
            ..Default::default()
        });
        assert!(idle.findings[0].message.contains("12 %"), "{:?}", idle.findings);
        assert_eq!(
            assess(Workload {
                replicas: Replicas { desired: 2, ready: 2, ..Default::default() },
                ..Default::default()
            })
            .health,
            Health::Healthy
        );
    }
}
