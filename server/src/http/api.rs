//! The versioned JSON API (`/api/v1/...`): the same figures the pages show, for automation.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;

use super::ServerState;
use crate::{cluster::snapshot::WorkloadQuery, history::query};

/// A JSON error: `{"error": {"code": 404, "message": "..."}}`.
pub fn error(code: StatusCode, message: impl Into<String>) -> Response {
    (code, Json(json!({ "error": { "code": code.as_u16(), "message": message.into() } }))).into_response()
}

async fn overview(State(state): State<ServerState>) -> Response {
    Json(state.cluster.current().overview()).into_response()
}

async fn workloads(
    State(state): State<ServerState>,
    query: Result<Query<WorkloadQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(query) = match query {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad query: {}", e.body_text())),
    };
    match state.cluster.current().query(&query) {
        Ok(page) => Json(page).into_response(),
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}

async fn workload(
    State(state): State<ServerState>,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    match state.cluster.current().workload(&namespace, &name) {
        Some(w) => Json(w).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no Deployment {namespace}/{name} is known to Paydeck")),
    }
}

/// `?from=&to=&points=` of a history query (Unix milliseconds).
#[derive(Debug, serde::Deserialize)]
struct HistoryParams {
    from: Option<i64>,
    to: Option<i64>,
    points: Option<i64>,
}

async fn history(
    State(state): State<ServerState>,
    Path((namespace, name)): Path<(String, String)>,
    params: Result<Query<HistoryParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(p) = match params {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad query: {}", e.body_text())),
    };
    let Some(store) = &state.history else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "history is not recorded by this server");
    };
    let now = super::traffic::unix_now() as i64 * 1000;
    let range = match query::Range::new(p.from, p.to, p.points, now) {
        Ok(r) => r,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    match query::history(store, &namespace, &name, range, state.sample_interval.as_millis() as i64, now).await
    {
        Ok(Some(h)) => Json(h).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no history for {namespace}/{name}")),
        Err(e) => {
            tracing::warn!("history query for {namespace}/{name} failed: {e}");
            error(StatusCode::SERVICE_UNAVAILABLE, "the history database did not answer; try again")
        }
    }
}

/// The `/api/v1` routes.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/api/v1/overview", get(overview))
        .route("/api/v1/workloads", get(workloads))
        .route("/api/v1/workloads/{namespace}/{name}", get(workload))
        .route("/api/v1/workloads/{namespace}/{name}/history", get(history))
        .route("/api/v1/live", get(super::live::live))
        .route("/api/v1/openapi.json", get(|| async { Json(super::openapi::document()) }))
        .route("/api/{*rest}", get(|| async { error(StatusCode::NOT_FOUND, "no such API endpoint") }))
}
