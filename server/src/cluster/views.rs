//! Deployments, Services and EndpointSlices as Paydeck reads them: only the fields the figures
//! use, under the same names as the full types, so the rest of each object (pod template
//! volumes and env, endpoint addresses and targets, ports) is skipped while reading and never
//! kept. At 10,000 Deployments the full types held tens of megabytes nobody looked at.

use std::{borrow::Cow, collections::BTreeMap};

use k8s_openapi::{
    NamespaceResourceScope,
    api::{apps::v1::DeploymentStatus, core::v1::ResourceRequirements},
    apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta},
};
use serde::Deserialize;

use super::pod::PodView;

/// `kube::Resource` for a view of a namespaced kind.
macro_rules! view_of {
    ($view:ty, $kind:literal, $group:literal, $version:literal, $plural:literal) => {
        impl kube::Resource for $view {
            type DynamicType = ();
            type Scope = NamespaceResourceScope;

            fn kind(_: &()) -> Cow<'_, str> {
                $kind.into()
            }

            fn group(_: &()) -> Cow<'_, str> {
                $group.into()
            }

            fn version(_: &()) -> Cow<'_, str> {
                $version.into()
            }

            fn plural(_: &()) -> Cow<'_, str> {
                $plural.into()
            }

            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }

            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

view_of!(PodView, "Pod", "", "v1", "pods");
view_of!(DeploymentView, "Deployment", "apps", "v1", "deployments");
view_of!(ServiceView, "Service", "", "v1", "services");
view_of!(EndpointSliceView, "EndpointSlice", "discovery.k8s.io", "v1", "endpointslices");

/// A field whose presence is all that matters (a probe, a spread constraint): read and
/// skipped, kept as nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
pub struct Present {}

/// `apps/v1` Deployment: replicas, selector, the template's labels, containers' resources and
/// readiness probes, whether it spreads its pods, and the status counts.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct DeploymentView {
    pub metadata: ObjectMeta,
    pub spec: Option<DeploymentViewSpec>,
    pub status: Option<DeploymentStatus>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct DeploymentViewSpec {
    pub replicas: Option<i32>,
    #[serde(default)]
    pub selector: LabelSelector,
    #[serde(default)]
    pub template: TemplateView,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct TemplateView {
    pub metadata: Option<TemplateMeta>,
    pub spec: Option<TemplateSpec>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct TemplateMeta {
    pub labels: Option<BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSpec {
    #[serde(default)]
    pub containers: Vec<TemplateContainer>,
    pub topology_spread_constraints: Option<Vec<Present>>,
    pub affinity: Option<AffinityView>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AffinityView {
    pub pod_anti_affinity: Option<Present>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateContainer {
    pub name: String,
    pub resources: Option<ResourceRequirements>,
    pub readiness_probe: Option<Present>,
}

/// `v1` Service: its selector.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ServiceView {
    pub metadata: ObjectMeta,
    pub spec: Option<ServiceViewSpec>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ServiceViewSpec {
    pub selector: Option<BTreeMap<String, String>>,
}

/// `discovery.k8s.io/v1` EndpointSlice: whether each endpoint is ready.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct EndpointSliceView {
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub endpoints: Vec<EndpointView>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
pub struct EndpointView {
    pub conditions: Option<EndpointConditionsView>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
pub struct EndpointConditionsView {
    pub ready: Option<bool>,
}

/// A list the API server may write as `null`.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_full_deployment_reads_into_the_view() {
        let d: DeploymentView = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": { "name": "ledger", "namespace": "pay", "generation": 3 },
            "spec": { "replicas": 4, "selector": { "matchLabels": { "app": "ledger" } },
                "strategy": { "type": "RollingUpdate" },
                "template": { "metadata": { "labels": { "app": "ledger" } }, "spec": {
                    "topologySpreadConstraints": [{ "maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule" }],
                    "volumes": [{ "name": "v", "emptyDir": {} }],
                    "containers": [{ "name": "ledger", "image": "x", "env": [{ "name": "A", "value": "b" }],
                        "readinessProbe": { "httpGet": { "path": "/ready", "port": 8080 } },
                        "resources": { "requests": { "cpu": "500m" }, "limits": { "memory": "1Gi" } } }] } } },
            "status": { "replicas": 4, "readyReplicas": 3 }
        }))
        .unwrap();
        let spec = d.spec.unwrap();
        let template = spec.template.spec.unwrap();
        assert_eq!(spec.replicas, Some(4));
        assert_eq!(spec.selector.match_labels.unwrap()["app"], "ledger");
        assert_eq!(spec.template.metadata.unwrap().labels.unwrap()["app"], "ledger");
        assert_eq!(template.topology_spread_constraints.map(|c| c.len()), Some(1));
        assert!(template.affinity.is_none());
        let c = &template.containers[0];
        assert!(c.readiness_probe.is_some());
        assert_eq!(c.resources.as_ref().unwrap().requests.as_ref().unwrap()["cpu"].0, "500m");
        assert_eq!(d.status.unwrap().ready_replicas, Some(3));
    }

    #[test]
    fn an_endpoint_slice_keeps_only_readiness() {
        let s: EndpointSliceView = serde_json::from_value(json!({
            "metadata": { "name": "ledger-x", "namespace": "pay", "labels": { "kubernetes.io/service-name": "ledger" } },
            "addressType": "IPv4", "ports": [{ "port": 80 }],
            "endpoints": [
                { "addresses": ["10.0.0.1"], "conditions": { "ready": true, "serving": true }, "targetRef": { "kind": "Pod", "name": "p" } },
                { "addresses": ["10.0.0.2"] }
            ]
        }))
        .unwrap();
        let ready: Vec<Option<bool>> =
            s.endpoints.iter().map(|e| e.conditions.and_then(|c| c.ready)).collect();
        assert_eq!(ready, vec![Some(true), None]);
        let empty: EndpointSliceView =
            serde_json::from_value(json!({ "metadata": { "name": "e" }, "endpoints": null })).unwrap();
        assert!(empty.endpoints.is_empty());
    }
}
