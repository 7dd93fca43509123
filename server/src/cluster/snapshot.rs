//! From the watched objects and the latest usage figures to one immutable picture of the
//! cluster. Pure: everything comes in as arguments, so it is tested without a cluster.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use app::dto::{
    AttentionItem, Autoscaler, Capacity, ClusterTotals, Condition, ContainerResources, DisruptionBudget,
    Finding, Health, Overview, PodCounts, Replicas, ResourceFigures, Workload, WorkloadPage,
};
use k8s_openapi::{
    api::{
        apps::v1::Deployment,
        autoscaling::v2::HorizontalPodAutoscaler,
        core::v1::{Node, Service},
        discovery::v1::EndpointSlice,
        policy::v1::PodDisruptionBudget,
    },
    apimachinery::pkg::{api::resource::Quantity as K8sQuantity, apis::meta::v1::LabelSelector},
};
use sim::quantity::Quantity;

use super::pod::PodView;

pub use app::dto::Connection;

/// Usage figures from the metrics APIs, per pod `(namespace, name)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    /// CPU cores and memory bytes.
    pub pods: HashMap<(String, String), (f64, f64)>,
    /// Requests per second (custom metrics).
    pub request_rates: HashMap<(String, String), f64>,
    /// Per node: CPU cores and memory bytes.
    pub nodes: HashMap<String, (f64, f64)>,
    pub metrics_available: bool,
    pub rates_available: bool,
    /// When the API server last answered a poll (with data or an error status).
    pub answered_at: Option<std::time::Instant>,
}

/// The watched objects.
#[derive(Clone, Debug, Default)]
pub struct Objects {
    pub deployments: Vec<Arc<Deployment>>,
    pub autoscalers: Vec<Arc<HorizontalPodAutoscaler>>,
    pub pods: Vec<Arc<PodView>>,
    pub nodes: Vec<Arc<Node>>,
    pub services: Vec<Arc<Service>>,
    pub endpoint_slices: Vec<Arc<EndpointSlice>>,
    pub disruption_budgets: Vec<Arc<PodDisruptionBudget>>,
}

/// One immutable picture of the cluster; shared by reference, never changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub version: u64,
    pub taken_at_ms: i64,
    pub connection: Connection,
    /// Sorted by namespace, then name.
    pub workloads: Vec<Workload>,
    pub totals: ClusterTotals,
}

fn quantity(q: Option<&K8sQuantity>) -> Option<f64> {
    q.and_then(|q| Quantity::parse(&q.0).ok()).map(|q| q.as_f64())
}

fn selects(selector: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> bool {
    let Some(selector) = selector else { return false };
    let match_labels = selector.match_labels.as_ref();
    let expressions = selector.match_expressions.as_deref().unwrap_or_default();
    if match_labels.is_none_or(BTreeMap::is_empty) && expressions.is_empty() {
        return false;
    }
    match_labels.is_none_or(|m| m.iter().all(|(k, v)| labels.get(k) == Some(v)))
        && expressions.iter().all(|e| {
            let values = e.values.as_deref().unwrap_or_default();
            match e.operator.as_str() {
                "In" => labels.get(&e.key).is_some_and(|v| values.contains(v)),
                "NotIn" => labels.get(&e.key).is_none_or(|v| !values.contains(v)),
                "Exists" => labels.contains_key(&e.key),
                "DoesNotExist" => !labels.contains_key(&e.key),
                _ => false,
            }
        })
}

fn conditions(
    list: Option<&Vec<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerCondition>>,
) -> Vec<Condition> {
    list.into_iter()
        .flatten()
        .map(|c| Condition {
            kind: c.type_.clone(),
            status: c.status.clone(),
            reason: c.reason.clone().unwrap_or_default(),
            message: c.message.clone().unwrap_or_default(),
        })
        .collect()
}

fn autoscaler(hpa: &HorizontalPodAutoscaler) -> Autoscaler {
    let spec = hpa.spec.clone().unwrap_or_default();
    let status = hpa.status.clone().unwrap_or_default();
    let target = |name: &str| {
        spec.metrics.iter().flatten().find_map(|m| {
            let r = m.resource.as_ref().filter(|r| r.name == name)?;
            r.target.average_utilization
        })
    };
    let current = |name: &str| {
        status.current_metrics.iter().flatten().find_map(|m| {
            let r = m.resource.as_ref().filter(|r| r.name == name)?;
            r.current.average_utilization
        })
    };
    let min = spec.min_replicas.unwrap_or(1);
    Autoscaler {
        name: hpa.metadata.name.clone().unwrap_or_default(),
        min_replicas: min,
        max_replicas: spec.max_replicas,
        current_replicas: status.current_replicas.unwrap_or(0),
        desired_replicas: status.desired_replicas,
        cpu_target_percent: target("cpu"),
        cpu_current_percent: current("cpu"),
        memory_target_percent: target("memory"),
        memory_current_percent: current("memory"),
        behavior: spec.behavior.as_ref().and_then(|b| serde_json::to_value(b).ok()),
        conditions: conditions(status.conditions.as_ref()),
        last_scale_time: status.last_scale_time.as_ref().map(|t| t.0.to_string()),
        at_max: status.current_replicas.unwrap_or(0) >= spec.max_replicas
            && status.desired_replicas >= spec.max_replicas,
        resource_version: hpa.metadata.resource_version.clone().unwrap_or_default(),
    }
}

/// The findings for a workload, most severe first.
fn findings(w: &Workload) -> Vec<Finding> {
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

/// Builds a snapshot (version and time are the caller's).
pub fn build(
    objects: &Objects,
    usage: &Usage,
    connection: Connection,
    version: u64,
    taken_at_ms: i64,
) -> Snapshot {
    // Pods and services by namespace, to avoid scanning everything per workload.
    let mut pods_by_ns: HashMap<&str, Vec<&PodView>> = HashMap::new();
    for p in &objects.pods {
        pods_by_ns.entry(p.metadata.namespace.as_deref().unwrap_or_default()).or_default().push(p);
    }
    let mut slices_by_service: HashMap<(&str, &str), Vec<&EndpointSlice>> = HashMap::new();
    for s in &objects.endpoint_slices {
        if let Some(svc) = s.metadata.labels.as_ref().and_then(|l| l.get("kubernetes.io/service-name")) {
            slices_by_service
                .entry((s.metadata.namespace.as_deref().unwrap_or_default(), svc))
                .or_default()
                .push(s);
        }
    }

    let mut workloads: Vec<Workload> = objects
        .deployments
        .iter()
        .map(|d| {
            let ns = d.metadata.namespace.clone().unwrap_or_default();
            let name = d.metadata.name.clone().unwrap_or_default();
            let spec = d.spec.clone().unwrap_or_default();
            let status = d.status.clone().unwrap_or_default();
            let template_labels =
                spec.template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
            let pods: Vec<&PodView> = pods_by_ns
                .get(ns.as_str())
                .into_iter()
                .flatten()
                .copied()
                .filter(|p| p.metadata.labels.as_ref().is_some_and(|l| selects(Some(&spec.selector), l)))
                .collect();

            let containers: Vec<ContainerResources> = spec
                .template
                .spec
                .as_ref()
                .map(|s| {
                    s.containers
                        .iter()
                        .map(|c| {
                            let r = c.resources.clone().unwrap_or_default();
                            let req = |k: &str| quantity(r.requests.as_ref().and_then(|m| m.get(k)));
                            let lim = |k: &str| quantity(r.limits.as_ref().and_then(|m| m.get(k)));
                            ContainerResources {
                                name: c.name.clone(),
                                cpu_request: req("cpu"),
                                cpu_limit: lim("cpu"),
                                memory_request: req("memory"),
                                memory_limit: lim("memory"),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();

            let running: Vec<&&PodView> = pods.iter().filter(|p| p.phase() == "Running").collect();
            let n = running.len() as f64;
            let per_pod = |f: fn(&ContainerResources) -> Option<f64>| {
                containers.iter().map(|c| f(c).unwrap_or(0.0)).sum::<f64>()
            };
            let per_pod_limit =
                |f: fn(&ContainerResources) -> Option<f64>| containers.iter().map(f).sum::<Option<f64>>();
            let key = |p: &PodView| (ns.clone(), p.metadata.name.clone().unwrap_or_default());
            let usage_sum = |pick: fn(&(f64, f64)) -> f64| {
                usage
                    .metrics_available
                    .then(|| running.iter().filter_map(|p| usage.pods.get(&key(p))).map(pick).sum::<f64>())
            };
            let cpu = ResourceFigures {
                requests: per_pod(|c| c.cpu_request) * n,
                limits: per_pod_limit(|c| c.cpu_limit).map(|l| l * n),
                usage: usage_sum(|u| u.0),
            };
            let memory = ResourceFigures {
                requests: per_pod(|c| c.memory_request) * n,
                limits: per_pod_limit(|c| c.memory_limit).map(|l| l * n),
                usage: usage_sum(|u| u.1),
            };
            let ready = status.ready_replicas.unwrap_or(0);
            let request_rate = usage
                .rates_available
                .then(|| running.iter().filter_map(|p| usage.request_rates.get(&key(p))).sum::<f64>());
            let restarts: i32 = pods.iter().map(|p| p.restarts()).sum();
            let unschedulable = pods.iter().filter(|p| p.unschedulable()).count() as i32;

            let services: Vec<&Arc<Service>> = objects
                .services
                .iter()
                .filter(|s| s.metadata.namespace.as_deref() == Some(ns.as_str()))
                .filter(|s| {
                    s.spec.as_ref().and_then(|sp| sp.selector.as_ref()).is_some_and(|sel| {
                        !sel.is_empty() && sel.iter().all(|(k, v)| template_labels.get(k) == Some(v))
                    })
                })
                .collect();
            let (mut endpoints_ready, mut endpoints_total) = (0, 0);
            for svc in &services {
                let svc_name = svc.metadata.name.as_deref().unwrap_or_default();
                for slice in slices_by_service.get(&(ns.as_str(), svc_name)).into_iter().flatten() {
                    for e in &slice.endpoints {
                        endpoints_total += 1;
                        endpoints_ready +=
                            i32::from(e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(false));
                    }
                }
            }
            let disruption_budget = objects
                .disruption_budgets
                .iter()
                .filter(|p| p.metadata.namespace.as_deref() == Some(ns.as_str()))
                .find(|p| selects(p.spec.as_ref().and_then(|s| s.selector.as_ref()), &template_labels))
                .map(|p| {
                    let spec = p.spec.clone().unwrap_or_default();
                    let show = |v: Option<k8s_openapi::apimachinery::pkg::util::intstr::IntOrString>| {
                        v.map(|v| match v {
                            k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i) => {
                                i.to_string()
                            }
                            k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s,
                        })
                    };
                    DisruptionBudget {
                        name: p.metadata.name.clone().unwrap_or_default(),
                        min_available: show(spec.min_available),
                        max_unavailable: show(spec.max_unavailable),
                        disruptions_allowed: p.status.as_ref().map_or(0, |s| s.disruptions_allowed),
                    }
                });
            let autoscaler = objects
                .autoscalers
                .iter()
                .filter(|h| h.metadata.namespace.as_deref() == Some(ns.as_str()))
                .find(|h| {
                    h.spec.as_ref().is_some_and(|s| {
                        s.scale_target_ref.kind == "Deployment" && s.scale_target_ref.name == name
                    })
                })
                .map(|h| autoscaler(h));

            let mut w = Workload {
                critical: d
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("paydeck.io/critical"))
                    .is_some_and(|v| v == "true"),
                replicas: Replicas {
                    desired: spec.replicas.unwrap_or(1),
                    updated: status.updated_replicas.unwrap_or(0),
                    ready,
                    available: status.available_replicas.unwrap_or(0),
                },
                autoscaler,
                cpu_utilization_percent: cpu
                    .usage
                    .filter(|_| cpu.requests > 0.0)
                    .map(|u| 100.0 * u / cpu.requests),
                load_per_replica: request_rate.filter(|_| ready > 0).map(|t| t / f64::from(ready)),
                request_rate,
                containers,
                cpu,
                memory,
                pods: PodCounts {
                    total: pods.len() as i32,
                    ready: pods.iter().filter(|p| p.ready()).count() as i32,
                    pending: pods.iter().filter(|p| p.phase() == "Pending").count() as i32,
                    unschedulable,
                    restarts,
                },
                endpoints_ready,
                endpoints_total,
                disruption_budget,
                resource_version: d.metadata.resource_version.clone().unwrap_or_default(),
                generation: d.metadata.generation.unwrap_or(0),
                namespace: ns,
                name,
                ..Workload::default()
            };
            w.findings = findings(&w);
            w.health = w.findings.first().map_or(Health::Healthy, |f| f.health);
            w
        })
        .collect();
    workloads.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));

    let node_cpu: f64 = objects
        .nodes
        .iter()
        .filter_map(|n| quantity(n.status.as_ref()?.allocatable.as_ref()?.get("cpu")))
        .sum();
    let node_memory: f64 = objects
        .nodes
        .iter()
        .filter_map(|n| quantity(n.status.as_ref()?.allocatable.as_ref()?.get("memory")))
        .sum();
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
    let scheduled_requests = |resource: &str| -> f64 {
        objects
            .pods
            .iter()
            .filter(|p| p.spec.node_name.is_some() && !matches!(p.phase(), "Succeeded" | "Failed"))
            .flat_map(|p| p.requests(resource))
            .filter_map(|q| quantity(Some(q)))
            .sum()
    };
    let totals = ClusterTotals {
        workloads: workloads.len() as i32,
        nodes: objects.nodes.len() as i32,
        nodes_ready,
        pods: objects.pods.len() as i32,
        pods_ready: objects.pods.iter().filter(|p| p.ready()).count() as i32,
        pods_pending: objects.pods.iter().filter(|p| p.phase() == "Pending").count() as i32,
        cpu: Capacity {
            allocatable: node_cpu,
            requests: scheduled_requests("cpu"),
            usage: usage.metrics_available.then(|| usage.nodes.values().map(|u| u.0).sum()),
        },
        memory: Capacity {
            allocatable: node_memory,
            requests: scheduled_requests("memory"),
            usage: usage.metrics_available.then(|| usage.nodes.values().map(|u| u.1).sum()),
        },
        autoscalers: objects.autoscalers.len() as i32,
        autoscalers_at_max: workloads
            .iter()
            .filter(|w| w.autoscaler.as_ref().is_some_and(|a| a.at_max))
            .count() as i32,
        workloads_unavailable: workloads.iter().filter(|w| w.replicas.ready < w.replicas.desired).count()
            as i32,
    };
    Snapshot { version, taken_at_ms, connection, workloads, totals }
}

pub use app::dto::WorkloadQuery;

/// The most workloads one page carries.
pub const MAX_PAGE: usize = 2000;

impl Snapshot {
    pub fn workload(&self, namespace: &str, name: &str) -> Option<&Workload> {
        self.workloads
            .binary_search_by(|w| (w.namespace.as_str(), w.name.as_str()).cmp(&(namespace, name)))
            .ok()
            .map(|i| &self.workloads[i])
    }

    /// The overview, narrowed to one namespace when asked: workload, pod and request figures
    /// count that namespace only; nodes and allocatable capacity stay cluster-wide.
    pub fn overview(&self, namespace: Option<&str>) -> Overview {
        let in_scope = |w: &&Workload| namespace.is_none_or(|ns| w.namespace == ns);
        let mut attention: Vec<AttentionItem> = self
            .workloads
            .iter()
            .filter(in_scope)
            .filter(|w| !w.findings.is_empty())
            .map(|w| AttentionItem {
                namespace: w.namespace.clone(),
                name: w.name.clone(),
                health: w.health,
                findings: w.findings.clone(),
            })
            .collect();
        attention.sort_by(|a, b| (a.health, &a.namespace, &a.name).cmp(&(b.health, &b.namespace, &b.name)));
        let namespaces = self.namespaces();
        let totals = match namespace {
            None => self.totals.clone(),
            Some(_) => self.namespace_totals(&self.workloads.iter().filter(in_scope).collect::<Vec<_>>()),
        };
        Overview {
            version: self.version,
            taken_at_ms: self.taken_at_ms,
            connection: self.connection.clone(),
            totals,
            attention,
            namespaces,
            namespace: namespace.map(str::to_string),
        }
    }

    /// Every namespace with a workload, sorted.
    pub fn namespaces(&self) -> Vec<String> {
        let mut namespaces: Vec<String> = self.workloads.iter().map(|w| w.namespace.clone()).collect();
        namespaces.dedup();
        namespaces
    }

    /// Totals over some workloads, with the cluster's node figures.
    fn namespace_totals(&self, workloads: &[&Workload]) -> ClusterTotals {
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
                ..self.totals.cpu.clone()
            },
            memory: Capacity {
                requests: sum(|w| w.memory.requests),
                usage: used(|w| w.memory.usage),
                ..self.totals.memory.clone()
            },
            autoscalers: count(|w| w.autoscaler.is_some()),
            autoscalers_at_max: count(|w| w.autoscaler.as_ref().is_some_and(|a| a.at_max)),
            workloads_unavailable: count(|w| w.replicas.ready < w.replicas.desired),
            ..self.totals.clone()
        }
    }

    /// One page of workloads, or why the query is wrong.
    pub fn query(&self, q: &WorkloadQuery) -> Result<WorkloadPage, String> {
        let limit = q.limit.unwrap_or(100);
        if limit == 0 || limit > MAX_PAGE {
            return Err(format!("limit must be between 1 and {MAX_PAGE}, got {limit}"));
        }
        let descending = match q.order.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => return Err(format!("order must be asc or desc, got {other:?}")),
        };
        let needle = q.q.as_deref().map(str::to_lowercase);
        let mut items: Vec<&Workload> = self
            .workloads
            .iter()
            .filter(|w| q.namespace.as_deref().is_none_or(|ns| w.namespace == ns))
            .filter(|w| q.health.is_none_or(|h| w.health == h))
            .filter(|w| {
                needle.as_deref().is_none_or(|n| {
                    w.name.to_lowercase().contains(n) || w.namespace.to_lowercase().contains(n)
                })
            })
            .collect();
        let by_number = |f: fn(&Workload) -> f64| move |a: &&Workload, b: &&Workload| f(a).total_cmp(&f(b));
        match q.sort.as_deref().unwrap_or("name") {
            "name" => items.sort_by(|a, b| (&a.name, &a.namespace).cmp(&(&b.name, &b.namespace))),
            "namespace" => {}
            "health" => items.sort_by_key(|w| w.health),
            "replicas" => items.sort_by(by_number(|w| f64::from(w.replicas.desired))),
            "cpu" => items.sort_by(by_number(|w| w.cpu.usage.unwrap_or(-1.0))),
            "memory" => items.sort_by(by_number(|w| w.memory.usage.unwrap_or(-1.0))),
            "rate" => items.sort_by(by_number(|w| w.request_rate.unwrap_or(-1.0))),
            "utilization" => items.sort_by(by_number(|w| w.cpu_utilization_percent.unwrap_or(-1.0))),
            "load" => items.sort_by(by_number(|w| w.load_per_replica.unwrap_or(-1.0))),
            other => {
                return Err(format!(
                    "cannot sort by {other:?}; use name, namespace, health, replicas, cpu, memory, rate, \
                     utilization or load"
                ));
            }
        }
        if descending {
            items.reverse();
        }
        let total = items.len();
        let items = items.into_iter().skip(q.offset.unwrap_or(0)).take(limit).cloned().collect();
        Ok(WorkloadPage { version: self.version, total, items, namespaces: self.namespaces() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn from<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Arc<T> {
        Arc::new(serde_json::from_value(v).unwrap())
    }

    fn objects() -> Objects {
        let labels = json!({ "app": "ledger" });
        Objects {
            deployments: vec![from(json!({
                "metadata": { "name": "ledger", "namespace": "pay", "resourceVersion": "5", "labels": { "paydeck.io/critical": "true" } },
                "spec": { "replicas": 2, "selector": { "matchLabels": labels },
                    "template": { "metadata": { "labels": labels }, "spec": { "containers": [
                        { "name": "ledger", "resources": { "requests": { "cpu": "500m", "memory": "1Gi" }, "limits": { "cpu": "1", "memory": "2Gi" } } }
                    ] } } },
                "status": { "replicas": 2, "readyReplicas": 2, "availableReplicas": 2, "updatedReplicas": 2 }
            }))],
            autoscalers: vec![from(json!({
                "metadata": { "name": "ledger", "namespace": "pay" },
                "spec": { "scaleTargetRef": { "kind": "Deployment", "name": "ledger", "apiVersion": "apps/v1" }, "minReplicas": 2, "maxReplicas": 2,
                    "metrics": [{ "type": "Resource", "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": 70 } } }] },
                "status": { "currentReplicas": 2, "desiredReplicas": 2,
                    "currentMetrics": [{ "type": "Resource", "resource": { "name": "cpu", "current": { "averageUtilization": 90 } } }] }
            }))],
            pods: ["a", "b"]
                .iter()
                .map(|n| {
                    from(json!({
                        "metadata": { "name": format!("ledger-{n}"), "namespace": "pay", "labels": labels },
                        "spec": { "nodeName": "node-1", "containers": [{ "name": "ledger", "resources": { "requests": { "cpu": "500m", "memory": "1Gi" } } }] },
                        "status": { "phase": "Running", "conditions": [{ "type": "Ready", "status": "True" }],
                            "containerStatuses": [{ "name": "ledger", "ready": true, "restartCount": 1, "image": "x", "imageID": "" }] }
                    }))
                })
                .collect(),
            nodes: vec![from(json!({
                "metadata": { "name": "node-1" },
                "status": { "allocatable": { "cpu": "8", "memory": "32Gi" }, "conditions": [{ "type": "Ready", "status": "True" }] }
            }))],
            services: vec![from(json!({ "metadata": { "name": "ledger", "namespace": "pay" }, "spec": { "selector": labels } }))],
            endpoint_slices: vec![from(json!({
                "metadata": { "name": "ledger-x", "namespace": "pay", "labels": { "kubernetes.io/service-name": "ledger" } },
                "addressType": "IPv4",
                "endpoints": [{ "addresses": ["10.0.0.1"], "conditions": { "ready": true } }, { "addresses": ["10.0.0.2"], "conditions": { "ready": false } }]
            }))],
            disruption_budgets: vec![],
        }
    }

    fn usage() -> Usage {
        let mut u = Usage { metrics_available: true, rates_available: true, ..Usage::default() };
        for (pod, cpu, rate) in [("ledger-a", 0.6, 100.0), ("ledger-b", 0.3, 50.0)] {
            u.pods.insert(("pay".into(), pod.into()), (cpu, 512.0 * 1_048_576.0));
            u.request_rates.insert(("pay".into(), pod.into()), rate);
        }
        u.nodes.insert("node-1".into(), (1.2, 4.0 * 1_073_741_824.0));
        u
    }

    #[test]
    fn a_workload_sums_requests_limits_and_usage_over_its_pods() {
        let s = build(&objects(), &usage(), Connection::default(), 1, 0);
        let w = s.workload("pay", "ledger").unwrap();
        assert_eq!(w.cpu.requests, 1.0, "R = Σ rᵢ = 2 × 500m");
        assert_eq!(w.cpu.limits, Some(2.0));
        assert!((w.cpu.usage.unwrap() - 0.9).abs() < 1e-9);
        assert!((w.cpu_utilization_percent.unwrap() - 90.0).abs() < 1e-9);
        assert_eq!(w.request_rate, Some(150.0));
        assert_eq!(w.load_per_replica, Some(75.0), "L = T / N");
        assert_eq!((w.endpoints_ready, w.endpoints_total), (1, 2));
        assert_eq!(w.pods.restarts, 2);
        assert!(w.critical);
    }

    #[test]
    fn an_autoscaler_at_its_maximum_is_a_finding() {
        let s = build(&objects(), &usage(), Connection::default(), 1, 0);
        let w = s.workload("pay", "ledger").unwrap();
        let a = w.autoscaler.as_ref().unwrap();
        assert!(a.at_max);
        assert_eq!((a.cpu_target_percent, a.cpu_current_percent), (Some(70), Some(90)));
        assert_eq!(w.health, Health::Warning);
        assert!(w.findings.iter().any(|f| f.code == "hpa-at-max"));
        assert_eq!(s.totals.autoscalers_at_max, 1);
        assert_eq!(s.overview(None).attention.len(), 1);
        assert_eq!(s.overview(Some("pay")).totals.autoscalers_at_max, 1);
        assert_eq!(s.overview(Some("other")).totals.workloads, 0);
        assert_eq!(s.overview(None).namespaces, vec!["pay"]);
    }

    #[test]
    fn without_metrics_usage_is_unknown_not_zero() {
        let s = build(&objects(), &Usage::default(), Connection::default(), 1, 0);
        let w = s.workload("pay", "ledger").unwrap();
        assert_eq!(w.cpu.usage, None);
        assert_eq!(w.request_rate, None);
        assert_eq!(s.totals.cpu.usage, None);
    }

    #[test]
    fn cluster_totals_compare_requests_with_allocatable() {
        let s = build(&objects(), &usage(), Connection::default(), 1, 0);
        assert_eq!(s.totals.cpu.allocatable, 8.0);
        assert_eq!(s.totals.cpu.requests, 1.0);
        assert_eq!(s.totals.cpu.usage, Some(1.2));
        assert_eq!((s.totals.nodes, s.totals.nodes_ready, s.totals.pods_ready), (1, 1, 2));
    }

    #[test]
    fn queries_filter_sort_page_and_refuse_nonsense() {
        let s = build(&objects(), &usage(), Connection::default(), 1, 0);
        let page = s.query(&WorkloadQuery { q: Some("LED".into()), ..Default::default() }).unwrap();
        assert_eq!(page.total, 1);
        assert_eq!(
            s.query(&WorkloadQuery { namespace: Some("other".into()), ..Default::default() }).unwrap().total,
            0
        );
        assert!(
            s.query(&WorkloadQuery { sort: Some("colour".into()), ..Default::default() })
                .unwrap_err()
                .contains("cannot sort")
        );
        assert!(s.query(&WorkloadQuery { limit: Some(0), ..Default::default() }).is_err());
        assert!(s.query(&WorkloadQuery { order: Some("up".into()), ..Default::default() }).is_err());
    }
}
