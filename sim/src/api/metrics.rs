//! `metrics.k8s.io` (pod and node usage, as metrics-server reports it) and
//! `custom.metrics.k8s.io` (requests per second per pod), computed from the model on request.

use std::sync::Arc;

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use domain::quantity::{format_cpu_nanos, format_memory_ki, format_milli};
use serde_json::{Value, json};

use super::{Request, ResourcePath, rest::selectors};
use crate::{
    auth::{self, Attributes},
    clock::rfc3339,
    cluster::Cluster,
    resources::{self, NODES, PODS},
    status::ApiError,
};

pub fn resource_metrics(
    cluster: &Cluster,
    path: &ResourcePath,
    request: &Request,
) -> Result<Response, ApiError> {
    let (labels, _) = selectors(request)?;
    let world = cluster.lock();
    let now = world.model.time();
    let timestamp = rfc3339(now);
    let mut items: Vec<Arc<Value>> = Vec::new();
    if path.rt.kind == "PodMetrics" {
        for ((ns, name), pod) in world.store.list(&PODS, path.namespace.as_deref(), None) {
            if path.name.as_deref().is_some_and(|n| n != name) || !labels.matches_object(pod) {
                continue;
            }
            let Some(usage) = world.model.pod_usage(ns, name) else { continue };
            let containers: Vec<Value> = pod["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| json!({ "name": c["name"], "usage": { "cpu": format_cpu_nanos(usage.cpu_cores), "memory": format_memory_ki(usage.memory_bytes) } }))
                .collect();
            items.push(Arc::new(json!({
                "kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": { "name": name, "namespace": ns, "labels": pod["metadata"]["labels"], "creationTimestamp": timestamp },
                "timestamp": timestamp, "window": "15s", "containers": containers,
            })));
        }
    } else {
        let usage = world.model.node_usage();
        for ((_, name), node) in world.store.list(&NODES, None, None) {
            if path.name.as_deref().is_some_and(|n| n != name) || !labels.matches_object(node) {
                continue;
            }
            let u = usage.get(name).copied().unwrap_or_default();
            // The system's own daemons use a little of every node.
            items.push(Arc::new(json!({
                "kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": { "name": name, "labels": node["metadata"]["labels"], "creationTimestamp": timestamp },
                "timestamp": timestamp, "window": "15s",
                "usage": { "cpu": format_cpu_nanos(u.cpu_cores + 0.12), "memory": format_memory_ki(u.memory_bytes + 900.0 * 1_048_576.0) },
            })));
        }
    }
    drop(world);
    match (&path.name, items.first()) {
        (Some(_), Some(item)) => Ok(Json(item.as_ref()).into_response()),
        (Some(name), None) => Err(ApiError::not_found(&format!("{}.metrics.k8s.io", path.rt.plural), name)),
        (None, _) => Ok(super::rest::list_response(path.rt, json!({}), &items)),
    }
}

/// `GET /apis/custom.metrics.k8s.io/v1beta1/namespaces/NS/pods/NAME|*/http_requests_per_second`
pub fn custom(cluster: &Cluster, rest: &[&str], request: &Request) -> Result<Response, ApiError> {
    let ["namespaces", ns, "pods", pod_name, metric] = rest else {
        return Err(ApiError::path_not_found(&format!("custom.metrics.k8s.io/v1beta1/{}", rest.join("/"))));
    };
    if *metric != resources::REQUEST_RATE_METRIC {
        return Err(ApiError::not_found("pods.custom.metrics.k8s.io", metric));
    }
    let attrs = Attributes {
        verb: "get",
        group: "custom.metrics.k8s.io",
        resource: "pods/http_requests_per_second",
        namespace: Some(ns),
        name: Some(pod_name),
    };
    if !auth::allowed(&request.user, &attrs) {
        return Err(ApiError::forbidden(
            &request.user.name,
            "get",
            "pods/http_requests_per_second",
            "custom.metrics.k8s.io",
            Some(ns),
        ));
    }
    let (labels, _) = selectors(request)?;
    let world = cluster.lock();
    let timestamp = rfc3339(world.model.time());
    let items: Vec<Value> = world
        .store
        .list(&PODS, Some(ns), None)
        .filter(|((_, name), pod)| (*pod_name == "*" || pod_name == name) && labels.matches_object(pod))
        .filter_map(|((_, name), _)| {
            let usage = world.model.pod_usage(ns, name)?;
            Some(json!({
                "describedObject": { "kind": "Pod", "namespace": ns, "name": name, "apiVersion": "/v1" },
                "metricName": metric, "timestamp": timestamp, "windowSeconds": 15,
                "value": format_milli(usage.requests_per_sec),
            }))
        })
        .collect();
    if *pod_name != "*" && items.is_empty() {
        return Err(ApiError::not_found("pods", pod_name));
    }
    Ok(Json(json!({ "kind": "MetricValueList", "apiVersion": "custom.metrics.k8s.io/v1beta1", "metadata": {}, "items": items })).into_response())
}
