//! The versioned JSON API (`/api/v1/...`): the same figures the pages show, for automation.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;

use crate::cluster::{ClusterView, snapshot::WorkloadQuery};

/// A JSON error: `{"error": {"code": 404, "message": "..."}}`.
pub fn error(code: StatusCode, message: impl Into<String>) -> Response {
    (code, Json(json!({ "error": { "code": code.as_u16(), "message": message.into() } }))).into_response()
}

async fn overview(State(cluster): State<ClusterView>) -> Response {
    Json(cluster.current().overview()).into_response()
}

async fn workloads(
    State(cluster): State<ClusterView>,
    query: Result<Query<WorkloadQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(query) = match query {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad query: {}", e.body_text())),
    };
    match cluster.current().query(&query) {
        Ok(page) => Json(page).into_response(),
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}

async fn workload(
    State(cluster): State<ClusterView>,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    match cluster.current().workload(&namespace, &name) {
        Some(w) => Json(w).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no Deployment {namespace}/{name} is known to Paydeck")),
    }
}

/// The `/api/v1` routes.
pub fn routes(cluster: ClusterView) -> Router {
    Router::new()
        .route("/api/v1/overview", get(overview))
        .route("/api/v1/workloads", get(workloads))
        .route("/api/v1/workloads/{namespace}/{name}", get(workload))
        .route("/api/v1/live", get(super::live::live))
        .route("/api/v1/openapi.json", get(|| async { Json(super::openapi::document()) }))
        .route("/api/{*rest}", get(|| async { error(StatusCode::NOT_FOUND, "no such API endpoint") }))
        .with_state(cluster)
}
