//! The kinds the simulated API server serves, with what discovery says about each.

/// One resource type (a REST collection).
#[derive(Debug, PartialEq, Eq)]
pub struct ResourceType {
    /// API group; empty for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// The collection's path segment, e.g. `deployments`.
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub verbs: &'static [&'static str],
    pub short_names: &'static [&'static str],
    /// Subresources served, e.g. `status`, `scale`.
    pub subresources: &'static [&'static str],
}

impl ResourceType {
    /// `apiVersion` as objects carry it: `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The key of its table in the store (kinds are unique among stored types).
    pub fn key(&self) -> &'static str {
        self.kind
    }

    /// Whether objects of this type are kept in the store (metrics are computed on request).
    pub fn stored(&self) -> bool {
        !matches!(self.group, "metrics.k8s.io")
    }
}

const READ: &[&str] = &["get", "list", "watch"];
const READ_WRITE: &[&str] = &["create", "delete", "get", "list", "patch", "update", "watch"];

macro_rules! resource {
    ($group:expr, $version:expr, $kind:expr, $plural:expr, $singular:expr, $namespaced:expr, $verbs:expr, $short:expr, $sub:expr) => {
        ResourceType {
            group: $group,
            version: $version,
            kind: $kind,
            plural: $plural,
            singular: $singular,
            namespaced: $namespaced,
            verbs: $verbs,
            short_names: $short,
            subresources: $sub,
        }
    };
}

pub static NAMESPACES: ResourceType =
    resource!("", "v1", "Namespace", "namespaces", "namespace", false, READ_WRITE, &["ns"], &[]);
pub static NODES: ResourceType =
    resource!("", "v1", "Node", "nodes", "node", false, READ_WRITE, &["no"], &["status"]);
pub static PODS: ResourceType =
    resource!("", "v1", "Pod", "pods", "pod", true, READ_WRITE, &["po"], &["status"]);
pub static SERVICES: ResourceType =
    resource!("", "v1", "Service", "services", "service", true, READ_WRITE, &["svc"], &[]);
pub static EVENTS: ResourceType = resource!("", "v1", "Event", "events", "event", true, READ, &["ev"], &[]);
pub static DEPLOYMENTS: ResourceType = resource!(
    "apps",
    "v1",
    "Deployment",
    "deployments",
    "deployment",
    true,
    READ_WRITE,
    &["deploy"],
    &["status", "scale"]
);
pub static ENDPOINT_SLICES: ResourceType = resource!(
    "discovery.k8s.io",
    "v1",
    "EndpointSlice",
    "endpointslices",
    "endpointslice",
    true,
    READ,
    &[],
    &[]
);
pub static INGRESSES: ResourceType = resource!(
    "networking.k8s.io",
    "v1",
    "Ingress",
    "ingresses",
    "ingress",
    true,
    READ_WRITE,
    &["ing"],
    &["status"]
);
pub static HPAS: ResourceType = resource!(
    "autoscaling",
    "v2",
    "HorizontalPodAutoscaler",
    "horizontalpodautoscalers",
    "horizontalpodautoscaler",
    true,
    READ_WRITE,
    &["hpa"],
    &["status"]
);
pub static PDBS: ResourceType = resource!(
    "policy",
    "v1",
    "PodDisruptionBudget",
    "poddisruptionbudgets",
    "poddisruptionbudget",
    true,
    READ_WRITE,
    &["pdb"],
    &["status"]
);
pub static POD_METRICS: ResourceType =
    resource!("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", "", true, &["get", "list"], &[], &[]);
pub static NODE_METRICS: ResourceType =
    resource!("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", "", false, &["get", "list"], &[], &[]);

/// Every served type.
pub static ALL: &[&ResourceType] = &[
    &NAMESPACES,
    &NODES,
    &PODS,
    &SERVICES,
    &EVENTS,
    &DEPLOYMENTS,
    &ENDPOINT_SLICES,
    &INGRESSES,
    &HPAS,
    &PDBS,
    &POD_METRICS,
    &NODE_METRICS,
];

/// The type served at `group/version/plural`.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
    ALL.iter().copied().find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The group/versions served, in discovery order.
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for r in ALL {
        if !r.group.is_empty() && !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

/// The custom-metrics API (`custom.metrics.k8s.io/v1beta1`): the metric it serves per pod.
pub const REQUEST_RATE_METRIC: &str = "http_requests_per_second";
