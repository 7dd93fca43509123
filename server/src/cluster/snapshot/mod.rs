//! From the watched objects and the latest usage figures to one immutable picture of the
//! cluster. Pure: everything comes in as arguments, so it is tested without a cluster.
//! [`workload`] builds each Deployment's figures, [`totals`] the cluster's; the findings and
//! the workloads list's queries are the domain's. [`Builder`] builds one snapshot after
//! another, building again only the workloads whose objects changed.

mod builder;
mod totals;
mod workload;

use std::{collections::HashMap, sync::Arc};

use app::dto::{AttentionItem, ClusterTotals, Overview, Workload, WorkloadPage};
use k8s_openapi::api::{
    autoscaling::v2::HorizontalPodAutoscaler, core::v1::Node, policy::v1::PodDisruptionBudget,
};

use super::{
    pod::Pod,
    views::{DeploymentView, EndpointSliceView, ServiceView},
};

pub use app::dto::{Connection, WorkloadQuery};
pub use builder::Builder;
pub use domain::query::{MAX_PAGE, QueryError};
pub use workload::{autoscaler, owners_of};

/// Figures per pod, by namespace and then name, so that looking one up builds no key.
#[derive(Clone, Debug, PartialEq)]
pub struct PerPod<T>(HashMap<String, HashMap<String, T>>);

impl<T> Default for PerPod<T> {
    fn default() -> Self {
        PerPod(HashMap::new())
    }
}

impl<T> PerPod<T> {
    pub fn insert(&mut self, namespace: &str, name: &str, value: T) {
        match self.0.get_mut(namespace) {
            Some(pods) => pods.insert(name.to_string(), value),
            None => self.0.entry(namespace.to_string()).or_default().insert(name.to_string(), value),
        };
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<&T> {
        self.0.get(namespace)?.get(name)
    }
}

/// One pod's reading from `metrics.k8s.io`, with when it was taken and over what window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PodUsage {
    pub cpu_cores: f64,
    pub memory_bytes: f64,
    /// The CPU as the HPA controller counts it: each container's in whole millicores,
    /// rounded up, summed.
    pub cpu_millis: i64,
    /// When metrics-server took the reading (its `timestamp`, Unix ms); 0 when not given.
    pub at_ms: i64,
    /// The window the CPU is averaged over (its `window`), ms; 0 when not given.
    pub window_ms: i64,
}

/// Usage figures from the metrics APIs, per pod.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    pub pods: PerPod<PodUsage>,
    /// Requests per second (custom metrics).
    pub request_rates: PerPod<f64>,
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
    pub deployments: Vec<Arc<DeploymentView>>,
    pub autoscalers: Vec<Arc<HorizontalPodAutoscaler>>,
    pub pods: Vec<Arc<Pod>>,
    pub nodes: Vec<Arc<Node>>,
    pub services: Vec<Arc<ServiceView>>,
    pub endpoint_slices: Vec<Arc<EndpointSliceView>>,
    pub disruption_budgets: Vec<Arc<PodDisruptionBudget>>,
}

/// One immutable picture of the cluster; shared by reference, never changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub version: u64,
    pub taken_at_ms: i64,
    pub connection: Connection,
    /// Sorted by namespace, then name; figures that did not change are shared with the
    /// snapshot before.
    pub workloads: Vec<Arc<Workload>>,
    pub totals: ClusterTotals,
}

/// Builds a snapshot from nothing (version and time are the caller's); a [`Builder`] builds
/// one after another.
pub fn build(
    objects: &Objects,
    usage: &Usage,
    connection: Connection,
    version: u64,
    taken_at_ms: i64,
) -> Snapshot {
    Builder::default().assemble(objects, usage, false, connection, version, taken_at_ms, &Snapshot::default())
}

impl Snapshot {
    pub fn workload(&self, namespace: &str, name: &str) -> Option<&Workload> {
        self.workloads
            .binary_search_by(|w| (w.namespace.as_str(), w.name.as_str()).cmp(&(namespace, name)))
            .ok()
            .map(|i| &*self.workloads[i])
    }

    /// Whether the workloads' figures are those of `other` (shared figures are not compared).
    pub fn same_workloads(&self, other: &Snapshot) -> bool {
        self.workloads.len() == other.workloads.len()
            && self.workloads.iter().zip(&other.workloads).all(|(a, b)| Arc::ptr_eq(a, b) || a == b)
    }

    /// The overview, narrowed to one namespace when asked: workload, pod and request figures
    /// count that namespace only; nodes and allocatable capacity stay cluster-wide.
    pub fn overview(&self, namespace: Option<&str>) -> Overview {
        let in_scope = |w: &&Workload| namespace.is_none_or(|ns| w.namespace == ns);
        let mut attention: Vec<AttentionItem> = self
            .workloads
            .iter()
            .map(|w| &**w)
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
        let totals = match namespace {
            None => self.totals.clone(),
            Some(_) => totals::narrowed(
                &self.totals,
                &self.workloads.iter().map(|w| &**w).filter(in_scope).collect::<Vec<_>>(),
            ),
        };
        Overview {
            version: self.version,
            taken_at_ms: self.taken_at_ms,
            connection: self.connection.clone(),
            totals,
            attention,
            namespaces: self.namespaces(),
            namespace: namespace.map(str::to_string),
        }
    }

    /// Every namespace with a workload, sorted.
    pub fn namespaces(&self) -> Vec<String> {
        let mut namespaces: Vec<String> = self.workloads.iter().map(|w| w.namespace.clone()).collect();
        namespaces.dedup();
        namespaces
    }

    /// One page of workloads, or why the query is wrong.
    pub fn query(&self, q: &WorkloadQuery) -> Result<WorkloadPage, QueryError> {
        domain::query::page(&self.workloads, q, self.version, self.namespaces())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::dto::Health;
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
            let reading = PodUsage {
                cpu_cores: cpu,
                memory_bytes: 512.0 * 1_048_576.0,
                cpu_millis: domain::quantity::cpu_millis_as_read(cpu),
                at_ms: 1_764_201_600_000,
                window_ms: 15_000,
            };
            u.pods.insert("pay", pod, reading);
            u.request_rates.insert("pay", pod, rate);
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

    /// The test objects with a second workload, `fx`, in another namespace.
    fn two_namespaces() -> Objects {
        let mut o = objects();
        let mut d = (*o.deployments[0]).clone();
        d.metadata.namespace = Some("fx".into());
        d.metadata.name = Some("fx-rates".into());
        o.deployments.push(Arc::new(d));
        let mut p = (*o.pods[0]).clone();
        p.namespace = "fx".into();
        p.name = "fx-rates-a".into();
        o.pods.push(Arc::new(p));
        o
    }

    /// Builds `objects` with `builder` after `last`: the snapshot, and how many workloads
    /// were built rather than reused. It must equal a build from nothing.
    fn next(
        builder: &mut Builder,
        objects: &Objects,
        usage: &Arc<Usage>,
        last: &Snapshot,
    ) -> (Snapshot, usize) {
        let s = builder.build(objects, usage, Connection::default(), 1, 0, last);
        assert_eq!(s, build(objects, usage, Connection::default(), 1, 0), "the same as from nothing");
        (s, builder.rebuilt)
    }

    #[test]
    fn a_builder_builds_again_only_the_workloads_whose_objects_changed() {
        let mut objects = two_namespaces();
        let usage = Arc::new(usage());
        let mut builder = Builder::default();
        let (first, rebuilt) = next(&mut builder, &objects, &usage, &Snapshot::default());
        assert_eq!(rebuilt, 2);
        let (same, rebuilt) = next(&mut builder, &objects, &usage, &first);
        assert_eq!(rebuilt, 0, "nothing changed");
        assert!(same.workloads.iter().zip(&first.workloads).all(|(a, b)| Arc::ptr_eq(a, b)), "shared");
        assert!(same.same_workloads(&first));

        // A pod of ledger is no longer ready: ledger alone is built again.
        let mut pod = (*objects.pods[0]).clone();
        pod.ready = false;
        objects.pods[0] = Arc::new(pod);
        let (s, rebuilt) = next(&mut builder, &objects, &usage, &same);
        assert_eq!(rebuilt, 1);
        assert_eq!(s.workload("pay", "ledger").unwrap().pods.ready, 1);

        // Its autoscaler changes.
        let mut hpa = (*objects.autoscalers[0]).clone();
        hpa.spec.as_mut().unwrap().max_replicas = 9;
        objects.autoscalers[0] = Arc::new(hpa);
        let (s, rebuilt) = next(&mut builder, &objects, &usage, &s);
        assert_eq!(rebuilt, 1);
        assert_eq!(s.workload("pay", "ledger").unwrap().autoscaler.as_ref().unwrap().max_replicas, 9);

        // A pod of fx-rates goes: fx-rates alone.
        objects.pods.pop();
        let (s, rebuilt) = next(&mut builder, &objects, &usage, &s);
        assert_eq!(rebuilt, 1);
        assert_eq!(s.workload("fx", "fx-rates").unwrap().pods.total, 0);

        // The endpoint slice of pay's Service changes, then goes: every workload of pay.
        let mut slice = (*objects.endpoint_slices[0]).clone();
        slice.endpoints.pop();
        objects.endpoint_slices[0] = Arc::new(slice);
        let (s, rebuilt) = next(&mut builder, &objects, &usage, &s);
        assert_eq!(rebuilt, 1);
        assert_eq!(s.workload("pay", "ledger").unwrap().endpoints_total, 1);
        objects.endpoint_slices.clear();
        let (s, rebuilt) = next(&mut builder, &objects, &usage, &s);
        assert_eq!(rebuilt, 1);
        assert_eq!(s.workload("pay", "ledger").unwrap().endpoints_total, 0);

        // New usage figures: every workload.
        let usage = Arc::new(super::tests::usage());
        let (s, rebuilt) = next(&mut builder, &objects, &usage, &s);
        assert_eq!(rebuilt, 2);

        // The same objects listed in another order are the same objects.
        objects.deployments.reverse();
        objects.pods.reverse();
        let (s, rebuilt) = next(&mut builder, &objects, &usage, &s);
        assert_eq!(rebuilt, 0);

        // The Deployment itself changes; and a snapshot that is not the last one built is
        // not trusted for positions (a workload found elsewhere is built again).
        let mut d = (*objects.deployments[0]).clone();
        d.spec.as_mut().unwrap().replicas = Some(5);
        objects.deployments[0] = Arc::new(d);
        let (s, rebuilt) = next(&mut builder, &objects, &usage, &s);
        assert_eq!(rebuilt, 1);
        assert_eq!(s.workload("fx", "fx-rates").unwrap().replicas.desired, 5);
        let (_, rebuilt) = next(&mut builder, &objects, &usage, &Snapshot::default());
        assert_eq!(rebuilt, 2, "figures are reused only from where they were put");
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
        assert!(s.query(&WorkloadQuery { limit: Some(0), ..Default::default() }).is_err());
    }
}
