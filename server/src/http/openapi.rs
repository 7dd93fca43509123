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
                "responses": {
                    "200": { "description": "An event stream.", "content": { "text/event-stream": { "schema": { "$ref": "#/components/schemas/LiveChange" } } } },
                    "429": { "description": "Too many live feeds open for this user (or address), or in all (Retry-After).", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
                }
            } },
            "/api/v1/workloads/{namespace}/{name}/history": { "get": {
                "summary": "A Deployment's history: min/avg/max per bucket from raw samples or rollups, gaps where nothing was recorded, scale/HPA/rollout/edit events",
                "parameters": [
                    param("namespace", "path", "The namespace.", json!({ "type": "string" })),
                    param("name", "path", "The Deployment's name.", json!({ "type": "string" })),
                    param("from", "query", "Start, Unix ms (default: an hour before `to`).", json!({ "type": "integer" })),
                    param("to", "query", "End, Unix ms (default: now).", json!({ "type": "integer" })),
                    param("points", "query", "At most this many buckets.", json!({ "type": "integer", "minimum": 1, "maximum": 2000, "default": 300 }))
                ],
                "responses": {
                    "200": { "description": "from_ms, to_ms, step_ms, source (raw, 5m, 1h), points, gaps, events." },
                    "400": { "description": "A bad range or point count.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                    "404": { "description": "Nothing recorded for this Deployment.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
                }
            } },
            "/api/v1/workloads/{namespace}/{name}/scaling": { "post": {
                "summary": "Change a Deployment's replicas (when no HPA targets it) or its HPA's min, max, utilisation targets and behavior. Validated, then sent to Kubernetes as the caller (Impersonate-User/-Group) with the resourceVersion they saw; `dry_run` previews with the cluster's dry run. Every attempt is audited.",
                "parameters": [
                    param("namespace", "path", "The namespace.", json!({ "type": "string" })),
                    param("name", "path", "The Deployment's name.", json!({ "type": "string" }))
                ],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EditRequest" } } } },
                "responses": {
                    "200": { "description": "Previewed (dry run) or applied.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EditResponse" } } } },
                    "400": { "description": "The body is not an edit request.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                    "401": { "description": "No identity: sign in through the auth proxy.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EditResponse" } } } },
                    "403": { "description": "Read-only server, a cross-site request, an identity Paydeck never acts as (system: users and groups), or the cluster's RBAC refused (its message names the user).", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EditResponse" } } } },
                    "409": { "description": "The object changed since `resource_version`; nothing was overwritten.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EditResponse" } } } },
                    "422": { "description": "Invalid values: `errors` names each field.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EditResponse" } } } },
                    "413": { "description": "The body is larger than 64 KiB.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                    "429": { "description": "More than 20 attempts in a minute by this user (Retry-After); not recorded.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EditResponse" } } } },
                    "502": { "description": "The cluster failed or could not be reached." },
                    "503": { "description": "The audit log cannot be written (full, locked): nothing was sent (Retry-After).", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EditResponse" } } } }
                }
            } },
            "/api/v1/workloads/{namespace}/{name}/rights": { "get": {
                "summary": "Whether the caller may change this workload's scaling (a SelfSubjectAccessReview made as them)",
                "responses": { "200": { "description": "`{may_edit, reason}`" } }
            } },
            "/api/v1/audit": { "get": {
                "summary": "Audited edit attempts, newest first",
                "parameters": [
                    param("namespace", "query", "Only this namespace.", json!({ "type": "string" })),
                    param("name", "query", "Only this Deployment.", json!({ "type": "string" })),
                    param("user", "query", "Only this user.", json!({ "type": "string" })),
                    param("outcome", "query", "Only this outcome (intents — written before an apply is sent — are listed only when asked for).", json!({ "type": "string", "enum": ["applied", "previewed", "invalid", "denied", "conflict", "failed", "intent", "unknown"] })),
                    param("from", "query", "From (Unix ms).", json!({ "type": "integer" })),
                    param("to", "query", "Before (Unix ms).", json!({ "type": "integer" })),
                    param("limit", "query", "At most this many (JSON: default 500, at most 1000; CSV: all unless given).", json!({ "type": "integer", "minimum": 1 })),
                    param("before", "query", "Only rows before this sequence number: the next page.", json!({ "type": "integer" })),
                    param("format", "query", "json, or csv (streamed; cells that would start a spreadsheet formula are prefixed with an apostrophe).", json!({ "type": "string", "enum": ["json", "csv"], "default": "json" }))
                ],
                "responses": {
                    "200": { "description": "The entries: seq, at_ms, user, groups, namespace, name, target, before, after, reason, outcome, detail, hash, intent_seq, keyed." },
                    "400": { "description": "An unknown parameter or a bad value.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
                }
            } },
            "/api/v1/audit/head": { "get": {
                "summary": "The last audit row's sequence number and hash: keep a copy elsewhere and check it with `paydeck verify-audit --head SEQ:HASH`",
                "responses": { "200": { "description": "`{seq, hash, keyed}`" } }
            } },
            "/api/v1/whoami": { "get": {
                "summary": "Who the server takes the caller for, and whether edits are off",
                "responses": { "200": { "description": "`{user, groups, refused, read_only, demo_users}`: `groups` are those Paydeck would pass on; `refused` says why it would not act as this identity at all." } }
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
            "EditRequest": { "type": "object", "required": ["reason", "resource_version"], "properties": {
                "replicas": { "type": "string", "description": "A whole number, for a Deployment without an HPA." },
                "autoscaler": { "type": "object", "properties": {
                    "min_replicas": { "type": "string" }, "max_replicas": { "type": "string" },
                    "cpu_target": { "type": "string" }, "memory_target": { "type": "string" },
                    "scale_up": { "$ref": "#/components/schemas/Rules" }, "scale_down": { "$ref": "#/components/schemas/Rules" } } },
                "reason": { "type": "string", "description": "The change ticket or why; required." },
                "resource_version": { "type": "string", "description": "The HPA's (or, for replicas, the Deployment's) resourceVersion as last seen." },
                "dry_run": { "type": "boolean", "default": false } } },
            "Rules": { "type": "object", "properties": {
                "window": { "type": "string", "description": "Stabilisation window, 0–3600 s; empty keeps the default." },
                "select": { "type": "string", "enum": ["Max", "Min", "Disabled"] },
                "policies": { "type": "array", "items": { "type": "object", "properties": {
                    "kind": { "type": "string", "enum": ["Pods", "Percent"] }, "value": { "type": "string" }, "period": { "type": "string", "description": "1–1800 s" } } } } } },
            "EditResponse": { "type": "object", "properties": {
                "outcome": { "type": "string", "enum": ["applied", "previewed", "invalid", "denied", "conflict", "failed", "throttled", "unrecorded"] },
                "message": { "type": "string" },
                "errors": { "type": "array", "items": { "type": "object", "properties": { "field": { "type": "string" }, "message": { "type": "string" } } } },
                "warnings": { "type": "array", "items": { "type": "string" } },
                "before": { "type": "object" }, "after": { "type": "object" },
                "diff": { "type": "object", "description": "{field: [before, after]}" },
                "audit_seq": { "type": ["integer", "null"] } } },
            "LiveChange": { "type": "object", "properties": {
                "version": { "type": "integer" }, "changed": { "type": "array", "items": { "$ref": "#/components/schemas/Workload" } },
                "changed_names": { "type": "array", "items": { "type": "string" } },
                "removed": { "type": "array", "items": { "type": "string" } } } }
        } }
    })
}
