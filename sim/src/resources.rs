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
    /// How the API server keeps `metadata.generation` for the kind.
    pub generation: Generation,
}

/// How an API server keeps `metadata.generation`, per kind: each kind's registry strategy
/// decides (Kubernetes' `pkg/registry/<group>/<kind>/strategy.go`), and several never set it.
/// Whatever the kind, an update cannot change it (the generic `BeforeUpdate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generation {
    /// Never set: a client's own value at creation is kept, unchanged by updates (Namespace,
    /// Node, Service, Event).
    NotMaintained,
    /// 1 at creation, one more whenever `spec` changes; status writes do not move it
    /// (Deployment, Ingress, PodDisruptionBudget; Pod since 1.33, but for the scheduler's
    /// binding, which sets `spec.nodeName` without a new generation).
    Spec,
    /// 1 at creation, one more whenever anything but metadata (or the labels) changes:
    /// EndpointSlice, which has no spec.
    Content,
    /// HorizontalPodAutoscaler: not maintained up to Kubernetes 1.36. Kubernetes 1.37 added it
    /// behind the HPAGeneration feature gate, off by default (kubernetes/kubernetes#138228);
    /// with the gate on it is kept like [`Generation::Spec`]. The simulator's switch:
    /// [`crate::Cluster::set_hpa_generation`].
    SpecBehindHpaGate,
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

    /// Whether an update (PUT) of an object that does not exist creates it. The kind's
    /// registry strategy says (`AllowCreateOnUpdate`): Lease does, so a candidate can take an
    /// absent lease with the same request it renews one with; the other kinds served do not.
    pub fn creates_on_update(&self) -> bool {
        std::ptr::eq(self, &LEASES)
    }

    /// Whether an update without `metadata.resourceVersion` is taken (`AllowUnconditionalUpdate`).
    /// Lease refuses it (`422`, "must be specified for an update"): two candidates must not
    /// overwrite each other blindly.
    pub fn updates_unconditionally(&self) -> bool {
        !std::ptr::eq(self, &LEASES)
    }
}

const READ: &[&str] = &["get", "list", "watch"];
const READ_WRITE: &[&str] = &["create", "delete", "get", "list", "patch", "update", "watch"];

macro_rules! resource {
    ($group:expr, $version:expr, $kind:expr, $plural:expr, $singular:expr, $namespaced:expr, $verbs:expr, $short:expr, $sub:expr, $generation:expr $(,)?) => {
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
            generation: $generation,
        }
    };
}

pub static NAMESPACES: ResourceType = resource!(
    "",
    "v1",
    "Namespace",
    "namespaces",
    "namespace",
    false,
    READ_WRITE,
    &["ns"],
    &[],
    Generation::NotMaintained
);
pub static NODES: ResourceType = resource!(
    "",
    "v1",
    "Node",
    "nodes",
    "node",
    false,
    READ_WRITE,
    &["no"],
    &["status"],
    Generation::NotMaintained
);
pub static PODS: ResourceType =
    resource!("", "v1", "Pod", "pods", "pod", true, READ_WRITE, &["po"], &["status"], Generation::Spec);
pub static SERVICES: ResourceType = resource!(
    "",
    "v1",
    "Service",
    "services",
    "service",
    true,
    READ_WRITE,
    &["svc"],
    &[],
    Generation::NotMaintained
);
pub static EVENTS: ResourceType =
    resource!("", "v1", "Event", "events", "event", true, READ, &["ev"], &[], Generation::NotMaintained);
pub static DEPLOYMENTS: ResourceType = resource!(
    "apps",
    "v1",
    "Deployment",
    "deployments",
    "deployment",
    true,
    READ_WRITE,
    &["deploy"],
    &["status", "scale"],
    Generation::Spec,
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
    &[],
    Generation::Content,
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
    &["status"],
    Generation::Spec,
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
    &["status"],
    Generation::SpecBehindHpaGate,
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
    &["status"],
    Generation::Spec,
);
/// `coordination.k8s.io/v1` Lease: what leader election takes and renews. Its strategy keeps
/// no generation (`pkg/registry/coordination/lease/strategy.go`).
pub static LEASES: ResourceType = resource!(
    "coordination.k8s.io",
    "v1",
    "Lease",
    "leases",
    "lease",
    true,
    READ_WRITE,
    &[],
    &[],
    Generation::NotMaintained,
);
pub static POD_METRICS: ResourceType = resource!(
    "metrics.k8s.io",
    "v1beta1",
    "PodMetrics",
    "pods",
    "",
    true,
    &["get", "list"],
    &[],
    &[],
    Generation::NotMaintained
);
pub static NODE_METRICS: ResourceType = resource!(
    "metrics.k8s.io",
    "v1beta1",
    "NodeMetrics",
    "nodes",
    "",
    false,
    &["get", "list"],
    &[],
    &[],
    Generation::NotMaintained
);

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
    &LEASES,
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
