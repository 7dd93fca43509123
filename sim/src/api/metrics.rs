//! `metrics.k8s.io` (pod and node usage, as metrics-server reports it: pods from its last
//! scrape, each stamped with that scrape's time and window) and `custom.metrics.k8s.io`
//! (requests per second per pod), from the model.

use std::sync::Arc;

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use domain::quantity::{format_cpu_nanos, format_memory_ki, format_milli};
use serde_json::{Value, json};

use super::{Request, ResourcePath, rest::selectors};
use crate::{
    auth::Attributes,
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
        for (key, pod) in world.store.list(&PODS, path.namespace.as_deref(), None) {
            let (ns, name) = key;
            if path.name.as_deref().is_some_and(|n| n != name) || !labels.matches_object(pod) {
                continue;
            }
            // A pod metrics-server has not read through a whole window yet is not listed.
            let Some(reading) = world.model.pod_metrics(key) else { continue };
            let specs = pod["spec"]["containers"].as_array().cloned().unwrap_or_default();
            let each = specs.len().max(1) as f64;
            let containers: Vec<Value> = specs
                .iter()
                .map(|c| {
                    json!({ "name": c["name"], "usage": {
                    "cpu": format_cpu_nanos(reading.cpu_cores / each),
                    "memory": format_memory_ki(reading.memory_bytes / each) } })
                })
                .collect();
            items.push(Arc::new(json!({
                "kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": { "name": name, "namespace": ns, "labels": pod["metadata"]["labels"], "creationTimestamp": timestamp },
                "timestamp": rfc3339(reading.at_ms), "window": go_duration(reading.window_ms), "containers": containers,
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

/// A duration as Go's `time.Duration` writes it (what `metav1.Duration` serialises):
/// `15s`, `15.5s`, `1m0s`, `1m15s`.
pub fn go_duration(ms: u64) -> String {
    let (minutes, rest) = (ms / 60_000, ms % 60_000);
    let seconds = if rest % 1000 == 0 {
        format!("{}s", rest / 1000)
    } else {
        format!("{}.{}s", rest / 1000, format!("{:03}", rest % 1000).trim_end_matches('0'))
    };
    if minutes == 0 { seconds } else { format!("{minutes}m{seconds}") }
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
    if !request.rbac.allows(&request.user, &attrs) {
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

#[cfg(test)]
mod tests {
    use super::go_duration;

    #[test]
    fn windows_are_written_as_go_writes_durations() {
        assert_eq!(go_duration(15_000), "15s");
        assert_eq!(go_duration(15_500), "15.5s");
        assert_eq!(go_duration(15_042), "15.042s");
        assert_eq!(go_duration(60_000), "1m0s");
        assert_eq!(go_duration(75_000), "1m15s");
        assert_eq!(go_duration(0), "0s");
    }
}
