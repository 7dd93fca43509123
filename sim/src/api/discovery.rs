//! `/version`, `/api`, `/apis` and the resource lists `kubectl` and kube-rs discover from.

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::{resources, status::ApiError};

/// Groups served besides the stored kinds.
const EXTRA_GROUPS: &[(&str, &str)] =
    &[("authorization.k8s.io", "v1"), ("authentication.k8s.io", "v1"), ("custom.metrics.k8s.io", "v1beta1")];

pub fn version() -> Response {
    Json(json!({
        "major": "1", "minor": "33", "gitVersion": "v1.33.4-paydeck-sim", "gitCommit": "", "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z", "goVersion": "", "compiler": "rust", "platform": "linux/amd64",
    }))
    .into_response()
}

pub fn core_versions() -> Response {
    Json(json!({
        "kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1" }],
    }))
    .into_response()
}

pub fn groups() -> Response {
    let mut all = resources::group_versions();
    all.extend_from_slice(EXTRA_GROUPS);
    let groups: Vec<Value> = all
        .iter()
        .map(|(g, v)| {
            let gv = json!({ "groupVersion": format!("{g}/{v}"), "version": v });
            json!({ "name": g, "versions": [gv.clone()], "preferredVersion": gv })
        })
        .collect();
    Json(json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })).into_response()
}

pub fn resources(group: &str, version: &str) -> Result<Response, ApiError> {
    let group_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    let mut list: Vec<Value> = Vec::new();
    for r in resources::ALL.iter().filter(|r| r.group == group && r.version == version) {
        list.push(json!({
            "name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
            "verbs": r.verbs, "shortNames": r.short_names,
        }));
        for sub in r.subresources {
            let (kind, group, version) =
                if *sub == "scale" { ("Scale", "autoscaling", "v1") } else { (r.kind, r.group, r.version) };
            list.push(json!({
                "name": format!("{}/{sub}", r.plural), "singularName": "", "namespaced": r.namespaced, "kind": kind,
                "group": group, "version": version, "verbs": ["get", "patch", "update"],
            }));
        }
    }
    match (group, version) {
        ("authorization.k8s.io", "v1") => {
            for (name, kind, namespaced) in [
                ("selfsubjectaccessreviews", "SelfSubjectAccessReview", false),
                ("subjectaccessreviews", "SubjectAccessReview", false),
            ] {
                list.push(json!({ "name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": ["create"] }));
            }
        }
        ("authentication.k8s.io", "v1") => {
            list.push(json!({ "name": "tokenreviews", "singularName": "", "namespaced": false, "kind": "TokenReview", "verbs": ["create"] }));
        }
        ("custom.metrics.k8s.io", "v1beta1") => {
            list.push(json!({
                "name": format!("pods/{}", resources::REQUEST_RATE_METRIC), "singularName": "", "namespaced": true,
                "kind": "MetricValueList", "verbs": ["get"],
            }));
        }
        _ => {}
    }
    if list.is_empty() {
        return Err(ApiError::path_not_found(&group_version));
    }
    Ok(Json(json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list })).into_response())
}
