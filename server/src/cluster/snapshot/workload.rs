//! One Deployment's figures from the watched objects: replicas, requests, limits and use
//! summed over its running pods (R = Σ rᵢ), request rate and load per pod (L = T / N), its
//! HPA, Services' endpoints and PodDisruptionBudget. The findings are the domain's.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use app::dto::{
    Autoscaler, Condition, ContainerResources, DisruptionBudget, MetricsReading, Placement, PodCounts,
    Replicas, ResourceFigures, Workload,
};
use domain::{
    hpa::spec::BehaviorSpec,
    quantity::Quantity,
    rules::{WAIVE_ANNOTATION, WAIVE_REASON_ANNOTATION, Waivers},
    selector::{Expression, LabelSelector},
};
use k8s_openapi::{
    api::{
        apps::v1::DeploymentStatus, autoscaling::v2::HorizontalPodAutoscaler, policy::v1::PodDisruptionBudget,
    },
    apimachinery::pkg::{
        api::resource::Quantity as K8sQuantity,
        apis::meta::v1::{LabelSelector as K8sSelector, ObjectMeta},
        util::intstr::IntOrString,
    },
};

use super::{Objects, Usage};
use crate::cluster::{
    pod::{Phase, Pod},
    views::{DeploymentView, DeploymentViewSpec, EndpointSliceView},
};

/// A quantity as a number in its base unit (cores, bytes); unreadable ones count as absent.
pub(super) fn quantity(q: Option<&K8sQuantity>) -> Option<f64> {
    q.and_then(|q| Quantity::parse(&q.0).ok()).map(|q| q.as_f64())
}

/// A Kubernetes selector as the domain's (an absent or empty one selects nothing).
fn selector(s: Option<&K8sSelector>) -> LabelSelector {
    let Some(s) = s else { return LabelSelector::default() };
    let expressions: Vec<Expression> = s
        .match_expressions
        .iter()
        .flatten()
        .map(|e| Expression { key: e.key.clone(), operator: e.operator.clone(), values: e.values.clone() })
        .collect();
    LabelSelector::from_match(s.match_labels.as_ref(), &expressions)
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

/// An HPA as Paydeck shows it (and as an edit checks a change against it).
pub fn autoscaler(hpa: &HorizontalPodAutoscaler) -> Autoscaler {
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
    let owners = owners_of(&hpa.metadata);
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
        behavior: spec
            .behavior
            .as_ref()
            .and_then(|b| BehaviorSpec::from_json(&serde_json::to_value(b).ok()?)),
        conditions: conditions(status.conditions.as_ref()),
        last_scale_time: status.last_scale_time.as_ref().map(|t| t.0.to_string()),
        at_max: status.current_replicas.unwrap_or(0) >= spec.max_replicas
            && status.desired_replicas >= spec.max_replicas,
        resource_version: hpa.metadata.resource_version.clone().unwrap_or_default(),
        generation: hpa.metadata.generation,
        spec_hash: crate::cluster::spec_hash::spec_hash(&spec),
        policy_hash: crate::cluster::spec_hash::policy_hash(&spec),
        reverted_by: domain::owners::reverting(&owners).map(|o| o.describe()),
        owners,
    }
}

/// Who else writes an object, from its labels, annotations, owner references and the field
/// managers the watch keeps ([`crate::cluster::watch::Trim`]).
pub fn owners_of(meta: &ObjectMeta) -> Vec<domain::owners::Owner> {
    let references: Vec<(String, String)> =
        meta.owner_references.iter().flatten().map(|o| (o.kind.clone(), o.name.clone())).collect();
    // A manager with fields kept owns some of what a scaling change writes (see Trim).
    let managers: Vec<(String, bool)> = meta
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| Some((m.manager.clone()?, m.fields_v1.is_some())))
        .collect();
    domain::owners::owners_of(domain::owners::Marks {
        labels: meta.labels.as_ref(),
        annotations: meta.annotations.as_ref(),
        owner_references: &references,
        managers: &managers,
    })
}

/// Pods with the same labels.
type PodGroup<'a> = (&'a BTreeMap<String, String>, Vec<&'a Arc<Pod>>);

/// The objects grouped for lookups by namespace (pods, Services, budgets), by scale target
/// (autoscalers) and by Service (endpoint slices), with each selector read once, so building
/// 10,000 workloads does not scan every Service, HPA and budget of the cluster per workload.
pub(super) struct Index<'a> {
    usage: &'a Usage,
    /// Per namespace, its pods grouped by label set (a ReplicaSet's pods share theirs), so a
    /// selector is tried once per set rather than once per pod.
    pods_by_ns: HashMap<&'a str, Vec<PodGroup<'a>>>,
    services_by_ns: HashMap<&'a str, Vec<(&'a str, LabelSelector)>>,
    budgets_by_ns: HashMap<&'a str, Vec<(&'a PodDisruptionBudget, LabelSelector)>>,
    /// The first autoscaler found for each `(namespace, Deployment)`.
    autoscalers_by_target: HashMap<(&'a str, &'a str), &'a Arc<HorizontalPodAutoscaler>>,
    slices_by_service: HashMap<(&'a str, &'a str), Vec<&'a EndpointSliceView>>,
}

impl<'a> Index<'a> {
    pub(super) fn new(objects: &'a Objects, usage: &'a Usage) -> Self {
        // Grouped by the addresses of the namespace and label set the pod store shares
        // among equal pods (cheaper to hash than the text), in the order first seen.
        let mut grouped: HashMap<(usize, usize), usize> = HashMap::new();
        let mut groups: Vec<(&str, PodGroup)> = Vec::new();
        for p in &objects.pods {
            let key = (Arc::as_ptr(&p.namespace) as *const u8 as usize, Arc::as_ptr(&p.labels) as usize);
            let at = *grouped.entry(key).or_insert_with(|| {
                groups.push((&p.namespace, (&p.labels, Vec::new())));
                groups.len() - 1
            });
            groups[at].1.1.push(p);
        }
        let mut pods_by_ns: HashMap<&str, Vec<PodGroup>> = HashMap::new();
        for (ns, group) in groups {
            pods_by_ns.entry(ns).or_default().push(group);
        }
        let mut slices_by_service: HashMap<(&str, &str), Vec<&EndpointSliceView>> = HashMap::new();
        for s in &objects.endpoint_slices {
            if let Some(svc) = s.metadata.labels.as_ref().and_then(|l| l.get("kubernetes.io/service-name")) {
                slices_by_service
                    .entry((s.metadata.namespace.as_deref().unwrap_or_default(), svc))
                    .or_default()
                    .push(s);
            }
        }
        let mut services_by_ns: HashMap<&str, Vec<(&str, LabelSelector)>> = HashMap::new();
        for svc in &objects.services {
            if let Some(sel) = svc.spec.as_ref().and_then(|sp| sp.selector.as_ref()) {
                services_by_ns
                    .entry(svc.metadata.namespace.as_deref().unwrap_or_default())
                    .or_default()
                    .push((svc.metadata.name.as_deref().unwrap_or_default(), LabelSelector::from_map(sel)));
            }
        }
        let mut budgets_by_ns: HashMap<&str, Vec<(&PodDisruptionBudget, LabelSelector)>> = HashMap::new();
        for b in &objects.disruption_budgets {
            budgets_by_ns
                .entry(b.metadata.namespace.as_deref().unwrap_or_default())
                .or_default()
                .push((b, selector(b.spec.as_ref().and_then(|s| s.selector.as_ref()))));
        }
        let mut autoscalers_by_target = HashMap::new();
        for h in &objects.autoscalers {
            if let Some(target) =
                h.spec.as_ref().map(|s| &s.scale_target_ref).filter(|t| t.kind == "Deployment")
            {
                autoscalers_by_target
                    .entry((h.metadata.namespace.as_deref().unwrap_or_default(), target.name.as_str()))
                    .or_insert(h);
            }
        }
        Index { usage, pods_by_ns, services_by_ns, budgets_by_ns, autoscalers_by_target, slices_by_service }
    }

    /// The pods the Deployment's selector picks, in the stores' order.
    pub(super) fn pods_of(&self, d: &DeploymentView) -> Vec<&'a Arc<Pod>> {
        let Some(spec) = d.spec.as_ref() else { return Vec::new() };
        let own = selector(Some(&spec.selector));
        self.pods_by_ns
            .get(d.metadata.namespace.as_deref().unwrap_or_default())
            .into_iter()
            .flatten()
            .filter(|(labels, _)| own.selects(labels))
            .flat_map(|(_, pods)| pods.iter().copied())
            .collect()
    }

    /// The autoscaler scaling the Deployment, if any.
    pub(super) fn autoscaler_for(&self, d: &DeploymentView) -> Option<&'a Arc<HorizontalPodAutoscaler>> {
        let ns = d.metadata.namespace.as_deref().unwrap_or_default();
        let name = d.metadata.name.as_deref().unwrap_or_default();
        self.autoscalers_by_target.get(&(ns, name)).copied()
    }

    /// The figures of one Deployment (findings and health included), whose pods are `pods`
    /// (from [`pods_of`](Self::pods_of)).
    pub(super) fn workload_of(&self, d: &DeploymentView, pods: &[&Arc<Pod>]) -> Workload {
        let ns = d.metadata.namespace.clone().unwrap_or_default();
        let name = d.metadata.name.clone().unwrap_or_default();
        let (no_spec, no_status, no_labels) = Default::default();
        let spec: &DeploymentViewSpec = d.spec.as_ref().unwrap_or(&no_spec);
        let status: &DeploymentStatus = d.status.as_ref().unwrap_or(&no_status);
        let template_labels: &BTreeMap<String, String> =
            spec.template.metadata.as_ref().and_then(|m| m.labels.as_ref()).unwrap_or(&no_labels);
        let pods: Vec<&Pod> = pods.iter().map(|p| &***p).collect();
        let containers = containers(d);
        let running: Vec<&&Pod> = pods.iter().filter(|p| p.phase == Phase::Running).collect();
        let (cpu, memory) = self.resources(&ns, &containers, &running);
        let ready = status.ready_replicas.unwrap_or(0);
        let request_rate = self
            .usage
            .rates_available
            .then(|| running.iter().filter_map(|p| self.usage.request_rates.get(&ns, &p.name)).sum::<f64>());
        let (endpoints_ready, endpoints_total) = self.endpoints(&ns, template_labels);
        let w = Workload {
            owners: owners_of(&d.metadata),
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
            autoscaler: self.autoscaler_for(d).map(|h| autoscaler(h)),
            cpu_utilization_percent: cpu
                .usage
                .filter(|_| cpu.requests > 0.0)
                .map(|u| 100.0 * u / cpu.requests),
            load_per_replica: request_rate.filter(|_| ready > 0).map(|t| t / f64::from(ready)),
            request_rate,
            metrics: self.reading(&ns, &running),
            containers,
            cpu,
            memory,
            pods: PodCounts {
                total: pods.len() as i32,
                ready: pods.iter().filter(|p| p.ready).count() as i32,
                pending: pods.iter().filter(|p| p.phase == Phase::Pending).count() as i32,
                unschedulable: pods.iter().filter(|p| p.unschedulable).count() as i32,
                restarts: pods.iter().map(|p| p.restarts).sum(),
            },
            endpoints_ready,
            endpoints_total,
            disruption_budget: self.disruption_budget(&ns, template_labels),
            placement: placement(d, &running),
            waivers: waivers(d),
            resource_version: d.metadata.resource_version.clone().unwrap_or_default(),
            generation: d.metadata.generation.unwrap_or(0),
            namespace: ns,
            name,
            ..Workload::default()
        };
        domain::findings::assess(w)
    }

    /// The ready pods' latest metrics reading, summed as the HPA controller sums it (`None`
    /// without metrics, or when no ready pod has a reading).
    fn reading(&self, ns: &str, running: &[&&Pod]) -> Option<MetricsReading> {
        if !self.usage.metrics_available {
            return None;
        }
        let mut out: Option<MetricsReading> = None;
        for u in running.iter().filter(|p| p.ready).filter_map(|p| self.usage.pods.get(ns, &p.name)) {
            let r = out.get_or_insert_with(MetricsReading::default);
            r.at_ms = r.at_ms.max(u.at_ms);
            r.window_ms = r.window_ms.max(u.window_ms);
            r.cpu_millis += u.cpu_millis;
            r.memory_bytes += u.memory_bytes;
            r.pods += 1;
        }
        out
    }

    /// CPU and memory: requests and limits per pod times the running pods, and measured use.
    fn resources(
        &self,
        ns: &str,
        containers: &[ContainerResources],
        running: &[&&Pod],
    ) -> (ResourceFigures, ResourceFigures) {
        let n = running.len() as f64;
        let per_pod = |f: fn(&ContainerResources) -> Option<f64>| {
            containers.iter().map(|c| f(c).unwrap_or(0.0)).sum::<f64>()
        };
        let per_pod_limit =
            |f: fn(&ContainerResources) -> Option<f64>| containers.iter().map(f).sum::<Option<f64>>();
        let usage_sum = |pick: fn(&super::PodUsage) -> f64| {
            self.usage.metrics_available.then(|| {
                running.iter().filter_map(|p| self.usage.pods.get(ns, &p.name)).map(pick).sum::<f64>()
            })
        };
        let cpu = ResourceFigures {
            requests: per_pod(|c| c.cpu_request) * n,
            limits: per_pod_limit(|c| c.cpu_limit).map(|l| l * n),
            usage: usage_sum(|u| u.cpu_cores),
        };
        let memory = ResourceFigures {
            requests: per_pod(|c| c.memory_request) * n,
            limits: per_pod_limit(|c| c.memory_limit).map(|l| l * n),
            usage: usage_sum(|u| u.memory_bytes),
        };
        (cpu, memory)
    }

    /// Ready and all endpoints of the Services selecting the Deployment's pods.
    fn endpoints(&self, ns: &str, template_labels: &BTreeMap<String, String>) -> (i32, i32) {
        let services = self.services_by_ns.get(ns).into_iter().flatten();
        let (mut ready, mut total) = (0, 0);
        for (svc_name, _) in services.filter(|(_, sel)| sel.selects(template_labels)) {
            for slice in self.slices_by_service.get(&(ns, *svc_name)).into_iter().flatten() {
                for e in &slice.endpoints {
                    total += 1;
                    ready += i32::from(e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(false));
                }
            }
        }
        (ready, total)
    }

    fn disruption_budget(
        &self,
        ns: &str,
        template_labels: &BTreeMap<String, String>,
    ) -> Option<DisruptionBudget> {
        let (budget, _) = self.budgets_by_ns.get(ns)?.iter().find(|(_, sel)| sel.selects(template_labels))?;
        let spec = budget.spec.clone().unwrap_or_default();
        let show = |v: Option<IntOrString>| {
            v.map(|v| match v {
                IntOrString::Int(i) => i.to_string(),
                IntOrString::String(s) => s,
            })
        };
        Some(DisruptionBudget {
            name: budget.metadata.name.clone().unwrap_or_default(),
            min_available: show(spec.min_available),
            max_unavailable: show(spec.max_unavailable),
            disruptions_allowed: budget.status.as_ref().map_or(0, |s| s.disruptions_allowed),
        })
    }
}

/// Each container's requests and limits (per pod).
fn containers(d: &DeploymentView) -> Vec<ContainerResources> {
    let spec = d.spec.as_ref();
    spec.and_then(|s| s.template.spec.as_ref())
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
                        readiness_probe: c.readiness_probe.is_some(),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// How many nodes the running pods are on, and whether the template asks to spread them.
fn placement(d: &DeploymentView, running: &[&&Pod]) -> Placement {
    let mut nodes: Vec<&str> = running.iter().filter_map(|p| p.node.as_deref()).collect();
    nodes.sort_unstable();
    nodes.dedup();
    let template = d.spec.as_ref().and_then(|s| s.template.spec.as_ref());
    let spread = template.is_some_and(|t| {
        t.topology_spread_constraints.as_ref().is_some_and(|c| !c.is_empty())
            || t.affinity.as_ref().and_then(|a| a.pod_anti_affinity.as_ref()).is_some()
    });
    Placement { nodes: nodes.len() as i32, spread }
}

/// The rules the Deployment's annotations waive.
fn waivers(d: &DeploymentView) -> Waivers {
    let annotation = |k: &str| d.metadata.annotations.as_ref().and_then(|a| a.get(k)).map(String::as_str);
    Waivers::parse(annotation(WAIVE_ANNOTATION), annotation(WAIVE_REASON_ANNOTATION))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hpa_keda_made_names_keda_as_what_sets_it_back() {
        let hpa: HorizontalPodAutoscaler = serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": "keda-hpa-orders",
                "namespace": "payments-core",
                "labels": { "scaledobject.keda.sh/name": "orders" },
                "ownerReferences": [{ "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "name": "orders", "uid": "u1" }]
            },
            "spec": { "maxReplicas": 10, "scaleTargetRef": { "kind": "Deployment", "name": "orders", "apiVersion": "apps/v1" } }
        }))
        .unwrap();
        assert_eq!(autoscaler(&hpa).reverted_by.as_deref(), Some("KEDA ScaledObject orders"));
        let plain = HorizontalPodAutoscaler { metadata: Default::default(), ..hpa };
        assert_eq!(autoscaler(&plain).reverted_by, None);
    }
}
