//! Whole-cluster figures: nodes and their allocatable capacity, pods, requests of scheduled
//! pods (R = Σ rᵢ over the cluster), use, and autoscalers at their maximum; and the same
//! narrowed to some workloads.

use std::sync::Arc;

use app::dto::{Capacity, ClusterTotals, Workload};

use super::{Objects, Usage, workload::quantity};
use crate::cluster::pod::{Phase, Pod};

/// The totals over the whole cluster.
pub(super) fn cluster(objects: &Objects, usage: &Usage, workloads: &[Arc<Workload>]) -> ClusterTotals {
    let allocatable = |resource: &str| -> f64 {
        objects
            .nodes
            .iter()
            .filter_map(|n| quantity(n.status.as_ref()?.allocatable.as_ref()?.get(resource)))
            .sum()
    };
    let nodes_ready = objects
        .nodes
        .iter()
        .filter(|n| {
            n.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        })
        .count() as i32;
    let scheduled_requests = |of: fn(&Pod) -> f64| -> f64 {
        objects.pods.iter().filter(|p| p.holds_capacity()).map(|p| of(p)).sum()
    };
    ClusterTotals {
        workloads: workloads.len() as i32,
        nodes: objects.nodes.len() as i32,
        nodes_ready,
        pods: objects.pods.len() as i32,
        pods_ready: objects.pods.iter().filter(|p| p.ready).count() as i32,
        pods_pending: objects.pods.iter().filter(|p| p.phase == Phase::Pending).count() as i32,
        cpu: Capacity {
            allocatable: allocatable("cpu"),
            requests: scheduled_requests(|p| p.cpu_requests),
            usage: usage.metrics_available.then(|| usage.nodes.values().map(|u| u.0).sum()),
        },
        memory: Capacity {
            allocatable: allocatable("memory"),
            requests: scheduled_requests(|p| p.memory_requests),
            usage: usage.metrics_available.then(|| usage.nodes.values().map(|u| u.1).sum()),
        },
        autoscalers: objects.autoscalers.len() as i32,
        autoscalers_at_max: workloads
            .iter()
            .filter(|w| w.autoscaler.as_ref().is_some_and(|a| a.at_max))
            .count() as i32,
        workloads_unavailable: workloads.iter().filter(|w| w.replicas.ready < w.replicas.desired).count()
            as i32,
    }
}

/// Totals over some workloads, with the cluster's node figures.
pub(super) fn narrowed(cluster: &ClusterTotals, workloads: &[&Workload]) -> ClusterTotals {
    let sum = |f: fn(&Workload) -> f64| workloads.iter().map(|w| f(w)).sum::<f64>();
    let used = |f: fn(&Workload) -> Option<f64>| workloads.iter().map(|w| f(w)).sum::<Option<f64>>();
    let count = |f: fn(&Workload) -> bool| workloads.iter().filter(|w| f(w)).count() as i32;
    ClusterTotals {
        workloads: workloads.len() as i32,
        pods: workloads.iter().map(|w| w.pods.total).sum(),
        pods_ready: workloads.iter().map(|w| w.pods.ready).sum(),
        pods_pending: workloads.iter().map(|w| w.pods.pending).sum(),
        cpu: Capacity {
            requests: sum(|w| w.cpu.requests),
            usage: used(|w| w.cpu.usage),
            ..cluster.cpu.clone()
        },
        memory: Capacity {
            requests: sum(|w| w.memory.requests),
            usage: used(|w| w.memory.usage),
            ..cluster.memory.clone()
        },
        autoscalers: count(|w| w.autoscaler.is_some()),
        autoscalers_at_max: count(|w| w.autoscaler.as_ref().is_some_and(|a| a.at_max)),
        workloads_unavailable: count(|w| w.replicas.ready < w.replicas.desired),
        ..cluster.clone()
    }
}
