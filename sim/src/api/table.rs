//! Server-side printing: the `meta.k8s.io/v1 Table` that `kubectl get` asks for, with the
//! columns a real API server prints for the kinds operators look at most.

use std::sync::Arc;

use axum::{
    Json,
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::{clock::parse_rfc3339, resources::ResourceType};

/// Whether the client asked for a Table.
pub fn wanted(headers: &HeaderMap) -> bool {
    headers.get("accept").and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("as=Table"))
}

/// A kind's extra columns (name, type) and the function filling them for one object.
type Printer = (&'static [(&'static str, &'static str)], fn(&Value) -> Vec<Value>);

/// Renders objects as a Table at simulated time `now_ms`.
pub fn render(rt: &ResourceType, metadata: Value, objects: &[Arc<Value>], now_ms: u64) -> Response {
    let (columns, cells): Printer = match rt.kind {
        "Deployment" => {
            (&[("Ready", "string"), ("Up-to-date", "integer"), ("Available", "integer")], deployment)
        }
        "HorizontalPodAutoscaler" => (
            &[
                ("Reference", "string"),
                ("Targets", "string"),
                ("MinPods", "string"),
                ("MaxPods", "integer"),
                ("Replicas", "integer"),
            ],
            hpa,
        ),
        "Pod" => (&[("Ready", "string"), ("Status", "string"), ("Restarts", "string")], pod),
        "Node" => (&[("Status", "string"), ("Roles", "string"), ("Version", "string")], node),
        "Lease" => (&[("Holder", "string")], |l| vec![l["spec"]["holderIdentity"].clone()]),
        _ => (&[], |_| Vec::new()),
    };
    let mut definitions = vec![json!({ "name": "Name", "type": "string", "format": "name", "priority": 0 })];
    definitions.extend(columns.iter().map(|(name, ty)| json!({ "name": name, "type": ty, "priority": 0 })));
    definitions.push(json!({ "name": "Age", "type": "string", "priority": 0 }));
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut row = vec![o["metadata"]["name"].clone()];
            row.extend(cells(o));
            row.push(json!(age(o, now_ms)));
            let partial = json!({ "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"] });
            json!({ "cells": row, "object": partial })
        })
        .collect();
    Json(json!({ "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "columnDefinitions": definitions, "rows": rows }))
        .into_response()
}

fn age(o: &Value, now_ms: u64) -> String {
    let Some(created) = o["metadata"]["creationTimestamp"].as_str().and_then(parse_rfc3339) else {
        return "<unknown>".into();
    };
    let s = now_ms.saturating_sub(created) / 1000;
    match s {
        0..120 => format!("{s}s"),
        120..7200 => format!("{}m", s / 60),
        7200..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn deployment(d: &Value) -> Vec<Value> {
    let s = &d["status"];
    vec![
        json!(format!("{}/{}", int(&s["readyReplicas"]), int(&d["spec"]["replicas"]))),
        json!(int(&s["updatedReplicas"])),
        json!(int(&s["availableReplicas"])),
    ]
}

fn hpa(h: &Value) -> Vec<Value> {
    let spec = &h["spec"];
    let targets: Vec<String> = spec["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let name = m["resource"]["name"].as_str().unwrap_or("?");
            let target = int(&m["resource"]["target"]["averageUtilization"]);
            let current = h["status"]["currentMetrics"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["resource"]["name"] == m["resource"]["name"]))
                .and_then(|c| c["resource"]["current"]["averageUtilization"].as_i64())
                .map_or("<unknown>".to_string(), |u| format!("{u}%"));
            format!("{name}: {current}/{target}%")
        })
        .collect();
    let reference = format!(
        "{}/{}",
        spec["scaleTargetRef"]["kind"].as_str().unwrap_or(""),
        spec["scaleTargetRef"]["name"].as_str().unwrap_or("")
    );
    vec![
        json!(reference),
        json!(targets.join(", ")),
        json!(spec["minReplicas"].as_i64().unwrap_or(1).to_string()),
        json!(int(&spec["maxReplicas"])),
        json!(int(&h["status"]["currentReplicas"])),
    ]
}

fn pod(p: &Value) -> Vec<Value> {
    let statuses = p["status"]["containerStatuses"].as_array().cloned().unwrap_or_default();
    let containers = p["spec"]["containers"].as_array().map_or(0, Vec::len);
    let ready = statuses.iter().filter(|c| c["ready"] == true).count();
    let restarts: i64 = statuses.iter().map(|c| int(&c["restartCount"])).sum();
    let unschedulable =
        p["status"]["conditions"].as_array().into_iter().flatten().any(|c| c["reason"] == "Unschedulable");
    let status = match p["status"]["phase"].as_str() {
        Some("Pending") if !unschedulable && p["spec"]["nodeName"].is_string() => "ContainerCreating",
        Some(phase) => phase,
        None => "Unknown",
    };
    vec![json!(format!("{ready}/{containers}")), json!(status), json!(restarts.to_string())]
}

fn node(n: &Value) -> Vec<Value> {
    let ready = n["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    vec![
        json!(if ready { "Ready" } else { "NotReady" }),
        json!("<none>"),
        n["status"]["nodeInfo"]["kubeletVersion"].clone(),
    ]
}
