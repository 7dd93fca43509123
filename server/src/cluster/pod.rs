//! The Pod as Paydeck reads it ([`PodView`]: only the fields it uses, metadata included, so
//! the other fields of tens of thousands of pods are never even deserialised) and as it keeps it ([`Pod`]: those
//! fields reduced to the figures, about 200 bytes a pod, its names and labels shared).

use std::{collections::BTreeMap, sync::Arc};

use k8s_openapi::apimachinery::pkg::{api::resource::Quantity, apis::meta::v1::ObjectMeta};
use serde::{Deserialize, Serialize};

/// `v1/Pod`, reduced to labels, node, container requests, phase, conditions and restarts.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct PodView {
    #[serde(deserialize_with = "read_kept_metadata")]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PodViewSpec,
    #[serde(default)]
    pub status: PodViewStatus,
}

/// The metadata Paydeck reads of a pod: its key, labels, and the resourceVersion the watcher
/// resumes from. The rest (managedFields above all, annotations, owner references,
/// timestamps) is skipped unparsed: on a real API server it is most of a pod's metadata.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeptMetadata {
    name: Option<String>,
    namespace: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    resource_version: Option<String>,
}

fn read_kept_metadata<'de, D: serde::Deserializer<'de>>(from: D) -> Result<ObjectMeta, D::Error> {
    let KeptMetadata { name, namespace, labels, resource_version } = KeptMetadata::deserialize(from)?;
    Ok(ObjectMeta { name, namespace, labels, resource_version, ..ObjectMeta::default() })
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodViewSpec {
    pub node_name: Option<String>,
    #[serde(default)]
    pub containers: Vec<ContainerView>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct ContainerView {
    pub name: String,
    #[serde(default)]
    pub resources: ResourcesView,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct ResourcesView {
    #[serde(default)]
    pub requests: BTreeMap<String, Quantity>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodViewStatus {
    pub phase: Option<String>,
    #[serde(default)]
    pub conditions: Vec<ConditionView>,
    #[serde(default)]
    pub container_statuses: Vec<ContainerStatusView>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct ConditionView {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatusView {
    #[serde(default)]
    pub restart_count: i32,
}

impl PodView {
    fn condition(&self, kind: &str) -> Option<&ConditionView> {
        self.status.conditions.iter().find(|c| c.type_ == kind)
    }

    pub fn ready(&self) -> bool {
        self.condition("Ready").is_some_and(|c| c.status == "True")
    }

    /// The scheduler found no node for it.
    pub fn unschedulable(&self) -> bool {
        self.condition("PodScheduled")
            .is_some_and(|c| c.status == "False" && c.reason.as_deref() == Some("Unschedulable"))
    }

    pub fn restarts(&self) -> i32 {
        self.status.container_statuses.iter().map(|c| c.restart_count).sum()
    }

    /// The summed container requests of `resource`, as quantity strings.
    pub fn requests<'a>(&'a self, resource: &'a str) -> impl Iterator<Item = &'a Quantity> + 'a {
        self.spec.containers.iter().filter_map(move |c| c.resources.requests.get(resource))
    }
}

/// A pod's labels, shared by every pod that has the same (a ReplicaSet's pods do).
pub type Labels = Arc<BTreeMap<String, String>>;

/// A pod's phase; one Paydeck does not know reads as `Unknown`, as an absent one does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Running,
    Succeeded,
    Failed,
    #[default]
    Unknown,
}

impl Phase {
    fn read(phase: Option<&str>) -> Self {
        match phase {
            Some("Pending") => Phase::Pending,
            Some("Running") => Phase::Running,
            Some("Succeeded") => Phase::Succeeded,
            Some("Failed") => Phase::Failed,
            _ => Phase::Unknown,
        }
    }
}

/// A pod as Paydeck keeps it: what the workload and cluster figures need and nothing else.
/// Read through [`PodView`], so it deserialises from a pod's JSON like any other object.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(from = "PodView")]
pub struct Pod {
    pub namespace: Arc<str>,
    pub name: Arc<str>,
    pub labels: Labels,
    pub node: Option<Arc<str>>,
    pub phase: Phase,
    pub ready: bool,
    /// The scheduler found no node for it.
    pub unschedulable: bool,
    pub restarts: i32,
    /// Its containers' requests summed, in cores and bytes (an unreadable quantity counts as
    /// absent).
    pub cpu_requests: f64,
    pub memory_requests: f64,
}

impl From<PodView> for Pod {
    fn from(view: PodView) -> Self {
        let sum = |resource: &str| {
            view.requests(resource)
                .filter_map(|q| domain::quantity::Quantity::parse(&q.0).ok())
                .map(|q| q.as_f64())
                .sum()
        };
        Pod {
            phase: Phase::read(view.status.phase.as_deref()),
            ready: view.ready(),
            unschedulable: view.unschedulable(),
            restarts: view.restarts(),
            cpu_requests: sum("cpu"),
            memory_requests: sum("memory"),
            node: view.spec.node_name.map(Arc::from),
            namespace: view.metadata.namespace.unwrap_or_default().into(),
            name: view.metadata.name.unwrap_or_default().into(),
            labels: Arc::new(view.metadata.labels.unwrap_or_default()),
        }
    }
}

impl Pod {
    /// Scheduled on a node and not finished: its requests hold capacity there.
    pub fn holds_capacity(&self) -> bool {
        self.node.is_some() && !matches!(self.phase, Phase::Succeeded | Phase::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_full_pod_reads_into_the_view() {
        let pod: PodView = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": { "name": "p", "namespace": "n", "labels": { "app": "x" } },
            "spec": { "nodeName": "node-1", "tolerations": [{ "key": "k" }],
                "containers": [{ "name": "c", "image": "x", "resources": { "requests": { "cpu": "250m" }, "limits": { "cpu": "1" } } }] },
            "status": { "phase": "Running", "podIP": "10.0.0.1",
                "conditions": [{ "type": "Ready", "status": "True" }, { "type": "PodScheduled", "status": "True" }],
                "containerStatuses": [{ "name": "c", "ready": true, "restartCount": 2, "image": "x", "imageID": "" }] }
        }))
        .unwrap();
        assert!(pod.ready() && !pod.unschedulable());
        assert_eq!((pod.status.phase.as_deref(), pod.restarts()), (Some("Running"), 2));
        assert_eq!(pod.requests("cpu").map(|q| q.0.as_str()).collect::<Vec<_>>(), vec!["250m"]);
        assert_eq!(pod.spec.node_name.as_deref(), Some("node-1"));
    }

    #[test]
    fn only_the_metadata_paydeck_reads_is_kept() {
        let pod: PodView = serde_json::from_value(json!({
            "metadata": { "name": "p", "namespace": "n", "labels": { "app": "x" }, "resourceVersion": "42",
                "uid": "u", "generateName": "p-", "creationTimestamp": "2026-12-05T06:00:00Z",
                "annotations": { "a": "b" },
                "ownerReferences": [{ "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "r", "uid": "v" }],
                "managedFields": [{ "manager": "kubelet", "operation": "Update", "fieldsType": "FieldsV1",
                    "fieldsV1": { "f:status": { "f:phase": {} } } }] }
        }))
        .unwrap();
        let kept = ObjectMeta {
            name: Some("p".into()),
            namespace: Some("n".into()),
            labels: Some([("app".to_string(), "x".to_string())].into()),
            resource_version: Some("42".into()),
            ..ObjectMeta::default()
        };
        assert_eq!(pod.metadata, kept);
        let bad = serde_json::from_value::<PodView>(json!({ "metadata": { "name": 7 } }));
        assert!(bad.is_err(), "a malformed name is still refused");
    }

    #[test]
    fn a_kept_pod_holds_the_figures_of_its_view() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": { "name": "p", "namespace": "n", "labels": { "app": "x" }, "uid": "u" },
            "spec": { "nodeName": "node-1", "containers": [
                { "name": "a", "resources": { "requests": { "cpu": "250m", "memory": "1Gi" } } },
                { "name": "b", "resources": { "requests": { "cpu": "nonsense", "memory": "512Mi" } } }] },
            "status": { "phase": "Running", "conditions": [{ "type": "Ready", "status": "True" }],
                "containerStatuses": [{ "restartCount": 2 }, { "restartCount": 1 }] }
        }))
        .unwrap();
        assert_eq!((&*pod.namespace, &*pod.name, pod.node.as_deref()), ("n", "p", Some("node-1")));
        assert_eq!(pod.labels.get("app").map(String::as_str), Some("x"));
        assert_eq!((pod.phase, pod.ready, pod.unschedulable, pod.restarts), (Phase::Running, true, false, 3));
        assert_eq!(pod.cpu_requests, 0.25, "the unreadable request counts as absent");
        assert_eq!(pod.memory_requests, 1.5 * 1_073_741_824.0);
        assert!(pod.holds_capacity());
        let odd: Pod =
            serde_json::from_value(json!({ "metadata": { "name": "q" }, "status": { "phase": "Evicted" } }))
                .unwrap();
        assert_eq!(odd.phase, Phase::Unknown);
        assert!(!odd.holds_capacity());
    }

    #[test]
    fn an_unschedulable_pod_says_so() {
        let pod: PodView = serde_json::from_value(json!({
            "metadata": { "name": "p" },
            "status": { "phase": "Pending", "conditions": [{ "type": "PodScheduled", "status": "False", "reason": "Unschedulable" }] }
        }))
        .unwrap();
        assert!(pod.unschedulable() && !pod.ready());
    }
}
