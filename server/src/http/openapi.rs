//! The OpenAPI 3.1 description of the JSON API, served at `/api/v1/openapi.json`.

use serde_json::{Value, json};

fn error_responses() -> Value {
    json!({
        "400": { "description": "The query is wrong; the message says which parameter and why.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "404": { "description": "No such workload or endpoint.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
    })
}

fn ok(description: &str, schema: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn param(name: &str, location: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": location, "required": location == "path", "description": description, "schema": schema })
}

/// The document.
pub fn document() -> Value {
    let mut workloads_responses = error_responses();
    workloads_responses["200"] = ok("A page of workloads.", "WorkloadPage");
    let mut workload_responses = error_responses();
    workload_responses["200"] = ok("The workload.", "Workload");
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Paydeck API",
            "version": app::VERSION,
            "description": "Replicas, autoscalers, load and CPU/memory requests, limits and usage of the Deployments in the cluster Paydeck watches. CPU is in cores, memory in bytes, rates in requests per second, times in Unix milliseconds."
        },
        "paths": {
            "/api/v1/overview": { "get": {
                "summary": "Cluster totals, what needs attention, and the connection state",
                "parameters": [
                    param("namespace", "query", "Narrow workload, pod and request figures to this namespace (nodes stay cluster-wide).", json!({ "type": "string" }))
                ],
                "responses": { "200": ok("The overview.", "Overview") }
            } },
            "/api/v1/workloads": { "get": {
                "summary": "Deployments, filtered, sorted and paged",
                "parameters": [
                    param("namespace", "query", "Only this namespace.", json!({ "type": "string" })),
                    param("q", "query", "Namespace or name contains this (case-insensitive).", json!({ "type": "string" })),
                    param("health", "query", "Only workloads in this state.", json!({ "type": "string", "enum": ["critical", "warning", "healthy"] })),
                    param("sort", "query", "Sort key.", json!({ "type": "string", "enum": ["name", "namespace", "health", "replicas", "cpu", "memory", "rate", "utilization", "load"], "default": "name" })),
                    param("order", "query", "Sort order.", json!({ "type": "string", "enum": ["asc", "desc"], "default": "asc" })),
                    param("offset", "query", "Workloads to skip.", json!({ "type": "integer", "minimum": 0, "default": 0 })),
                    param("limit", "query", "Page size.", json!({ "type": "integer", "minimum": 1, "maximum": 2000, "default": 100 }))
                ],
                "responses": workloads_responses
            } },
            "/api/v1/workloads/{namespace}/{name}": { "get": {
                "summary": "One Deployment with its autoscaler, resources, load, endpoints and disruption budget",
                "parameters": [
                    param("namespace", "path", "The namespace.", json!({ "type": "string" })),
                    param("name", "path", "The Deployment's name.", json!({ "type": "string" }))
                ],
                "responses": workload_responses
            } },
            "/api/v1/live": { "get": {
                "summary": "Server-Sent Events: a `snapshot` event with every workload first, then one per change with the workloads that changed and those removed",
                "parameters": [
                    param("workloads", "query", "`names` leaves the workloads' bodies out (`changed_names` still lists them).", json!({ "type": "string", "enum": ["full", "names"], "default": "full" }))
                ],
                "responses": { "200": { "description": "An event stream.", "content": { "text/event-stream": { "schema": { "$ref": "#/components/schemas/LiveChange" } } } } }
            } },
            "/api/v1/openapi.json": { "get": { "summary": "This document", "responses": { "200": { "description": "OpenAPI 3.1" } } } }
        },
        "components": { "schemas": {
            "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "object", "properties": {
                "code": { "type": "integer" }, "message": { "type": "string" } } } } },
            "Resource": { "type": "object", "properties": {
                "requests": { "type": "number" }, "limits": { "type": ["number", "null"] }, "usage": { "type": ["number", "null"] } } },
            "Autoscaler": { "type": "object", "properties": {
                "name": { "type": "string" }, "min_replicas": { "type": "integer" }, "max_replicas": { "type": "integer" },
                "current_replicas": { "type": "integer" }, "desired_replicas": { "type": "integer" },
                "cpu_target_percent": { "type": ["integer", "null"] }, "cpu_current_percent": { "type": ["integer", "null"] },
                "behavior": { "type": ["object", "null"] }, "at_max": { "type": "boolean" }, "resource_version": { "type": "string" } } },
            "Workload": { "type": "object", "properties": {
                "namespace": { "type": "string" }, "name": { "type": "string" }, "critical": { "type": "boolean" },
                "replicas": { "type": "object", "properties": { "desired": { "type": "integer" }, "ready": { "type": "integer" }, "available": { "type": "integer" }, "updated": { "type": "integer" } } },
                "autoscaler": { "oneOf": [{ "$ref": "#/components/schemas/Autoscaler" }, { "type": "null" }] },
                "cpu": { "$ref": "#/components/schemas/Resource" }, "memory": { "$ref": "#/components/schemas/Resource" },
                "cpu_utilization_percent": { "type": ["number", "null"] },
                "request_rate": { "type": ["number", "null"], "description": "T, requests per second" },
                "load_per_replica": { "type": ["number", "null"], "description": "L = T / N over ready replicas" },
                "endpoints_ready": { "type": "integer" }, "endpoints_total": { "type": "integer" },
                "health": { "type": "string", "enum": ["critical", "warning", "healthy"] },
                "findings": { "type": "array", "items": { "type": "object", "properties": { "health": { "type": "string" }, "code": { "type": "string" }, "message": { "type": "string" } } } },
                "resource_version": { "type": "string" } } },
            "WorkloadPage": { "type": "object", "properties": {
                "version": { "type": "integer" }, "total": { "type": "integer" }, "items": { "type": "array", "items": { "$ref": "#/components/schemas/Workload" } } } },
            "Overview": { "type": "object", "properties": {
                "version": { "type": "integer" }, "taken_at_ms": { "type": "integer" },
                "connection": { "type": "object", "properties": { "cluster": { "type": "string" }, "synced": { "type": "boolean" }, "reachable": { "type": "boolean" }, "metrics_available": { "type": "boolean" }, "problems": { "type": "array", "items": { "type": "string" } } } },
                "totals": { "type": "object" },
                "attention": { "type": "array", "items": { "type": "object" } },
                "namespaces": { "type": "array", "items": { "type": "string" } },
                "namespace": { "type": ["string", "null"] } } },
            "LiveChange": { "type": "object", "properties": {
                "version": { "type": "integer" }, "changed": { "type": "array", "items": { "$ref": "#/components/schemas/Workload" } },
                "changed_names": { "type": "array", "items": { "type": "string" } },
                "removed": { "type": "array", "items": { "type": "string" } } } }
        } }
    })
}
