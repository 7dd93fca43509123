//! The Pod as Paydeck keeps it: only the fields it reads, so the other fields of tens of
//! thousands of pods are never even deserialised.

use std::{borrow::Cow, collections::BTreeMap};

use k8s_openapi::{
    NamespaceResourceScope,
    apimachinery::pkg::{api::resource::Quantity, apis::meta::v1::ObjectMeta},
};
use serde::{Deserialize, Serialize};

/// `v1/Pod`, reduced to labels, node, container requests, phase, conditions and restarts.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct PodView {
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PodViewSpec,
    #[serde(default)]
    pub status: PodViewStatus,
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
    pub fn phase(&self) -> &str {
        self.status.phase.as_deref().unwrap_or("Unknown")
    }

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

impl kube::Resource for PodView {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "Pod".into()
    }

    fn group(_: &()) -> Cow<'_, str> {
        "".into()
    }

    fn version(_: &()) -> Cow<'_, str> {
        "v1".into()
    }

    fn plural(_: &()) -> Cow<'_, str> {
        "pods".into()
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
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
        assert_eq!((pod.phase(), pod.restarts()), ("Running", 2));
        assert_eq!(pod.requests("cpu").map(|q| q.0.as_str()).collect::<Vec<_>>(), vec!["250m"]);
        assert_eq!(pod.spec.node_name.as_deref(), Some("node-1"));
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
