//! The Kubernetes API access Paydeck needs, as RBAC rules. `k8s/base` grants exactly these
//! (server/tests/integration/manifests.rs compares the rendered ClusterRoles with this list),
//! so a new watch or API call shows up here or the deployment test fails.

use k8s_openapi::api::{
    apps::v1::Deployment,
    autoscaling::v2::HorizontalPodAutoscaler,
    core::v1::{Node, Pod, Service},
    discovery::v1::EndpointSlice,
    policy::v1::PodDisruptionBudget,
};

/// One permission: verbs on a resource of an API group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rule {
    pub api_group: &'static str,
    pub resource: &'static str,
    pub verbs: &'static [&'static str],
}

/// A kind Paydeck keeps a reflector for: listed, then watched (never fetched one by one).
fn watched<K: k8s_openapi::Resource>() -> Rule {
    Rule { api_group: K::GROUP, resource: K::URL_PATH_SEGMENT, verbs: &["list", "watch"] }
}

/// What the dashboard's own service account reads: the watched kinds (`watch.rs`) and the
/// metrics APIs (`usage.rs`). Never Secrets, never a write.
pub fn reads() -> Vec<Rule> {
    vec![
        watched::<Deployment>(),
        watched::<HorizontalPodAutoscaler>(),
        watched::<Pod>(),
        watched::<Node>(),
        watched::<Service>(),
        watched::<EndpointSlice>(),
        watched::<PodDisruptionBudget>(),
        Rule { api_group: "metrics.k8s.io", resource: "pods", verbs: &["list"] },
        Rule { api_group: "metrics.k8s.io", resource: "nodes", verbs: &["list"] },
        // `pods/*/http_requests_per_second`: a named (wildcard) get of the metric subresource.
        Rule {
            api_group: "custom.metrics.k8s.io",
            resource: "pods/http_requests_per_second",
            verbs: &["get"],
        },
    ]
}

/// What scaling edits need, in a role of its own so a read-only installation leaves it out:
/// acting as the signed-in user (so the cluster's RBAC decides and its audit log names them),
/// and checking a bearer token. The rights check is a SelfSubjectAccessReview made *as* the
/// user, which everyone may create; no SubjectAccessReview grant is needed. The manifests name
/// the impersonable groups (`resourceNames`, [`IMPERSONATED_BY_NAME`]), since impersonating a
/// group is a grant of everything the group may do.
pub fn edits() -> Vec<Rule> {
    vec![
        Rule { api_group: "", resource: "users", verbs: &["impersonate"] },
        Rule { api_group: "", resource: "groups", verbs: &["impersonate"] },
        Rule { api_group: "authentication.k8s.io", resource: "tokenreviews", verbs: &["create"] },
    ]
}

/// The resources of [`edits`] the manifests must scope with `resourceNames`.
pub const IMPERSONATED_BY_NAME: &[&str] = &["groups"];

/// What electing a leader among replicas needs (`--leader-elect`; k8s/overlays/ha-postgres,
/// the Role `paydeck-leader` in Paydeck's own namespace): reading and renewing its one Lease,
/// by name ([`LEASE_BY_NAME`]), and creating it the first time.
pub fn leader_election() -> Vec<Rule> {
    vec![Rule { api_group: "coordination.k8s.io", resource: "leases", verbs: &["create", "get", "update"] }]
}

/// The verbs on the Lease the manifests limit to its name (`resourceNames`): a create cannot
/// be, since the authoriser sees no name before the object exists.
pub const LEASE_BY_NAME: &[&str] = &["get", "update"];
