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

/// `?namespace=` of the overview.
#[derive(Debug, serde::Deserialize)]
struct OverviewParams {
    namespace: Option<String>,
}

async fn overview(
    State(state): State<ServerState>,
    params: Result<Query<OverviewParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    match params {
        Ok(Query(p)) => Json(state.cluster.current().overview(p.namespace.as_deref())).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, format!("bad query: {}", e.body_text())),
    }
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
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
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
    let interval = state.sample_interval.as_millis() as i64;
    match query::lookup(store, &namespace, &name, (p.from, p.to, p.points), interval, crate::clock::unix_ms())
        .await
    {
        Ok(Some(h)) => Json(h).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no history for {namespace}/{name}")),
        Err(query::LookupError::Invalid(message)) => error(StatusCode::BAD_REQUEST, message),
        Err(query::LookupError::Database(_)) => {
            error(StatusCode::SERVICE_UNAVAILABLE, "the history database did not answer; try again")
        }
    }
}

/// Who the server takes the caller for.
async fn whoami(axum::Extension(viewer): axum::Extension<app::dto::Viewer>) -> Response {
    Json(viewer).into_response()
}

/// The `/api/v1` routes.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/api/v1/overview", get(overview))
        .route("/api/v1/whoami", get(whoami))
        .route("/api/v1/workloads", get(workloads))
        .route("/api/v1/workloads/{namespace}/{name}", get(workload))
        .route("/api/v1/workloads/{namespace}/{name}/history", get(history))
        .route("/api/v1/workloads/{namespace}/{name}/scaling", axum::routing::post(super::scaling::submit))
        .route("/api/v1/workloads/{namespace}/{name}/rights", get(super::scaling::rights))
        .route("/api/v1/audit", get(super::scaling::audit))
        .route("/api/v1/audit/head", get(super::scaling::head))
        .route("/api/v1/live", get(super::live::live))
        .route("/api/v1/openapi.json", get(|| async { Json(super::openapi::document()) }))
        .route("/api/{*rest}", get(|| async { error(StatusCode::NOT_FOUND, "no such API endpoint") }))
}
