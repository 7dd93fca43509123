//! The versioned JSON API (`/api/v1/...`): the same figures the pages show, for automation.

use super::{ServerState, error::ApiError};
use crate::{cluster::snapshot::WorkloadQuery, history::query};
use axum::{
    Json, Router,
    extract::{Path, Query, State},
    response::{IntoResponse, Response},
    routing::get,
};

/// `?namespace=` of the overview.
#[derive(Debug, serde::Deserialize)]
struct OverviewParams {
    namespace: Option<String>,
}

type Params<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

async fn overview(
    State(state): State<ServerState>,
    params: Params<OverviewParams>,
) -> Result<Json<app::dto::Overview>, ApiError> {
    let Query(p) = params?;
    Ok(Json(state.cluster.current().overview(p.namespace.as_deref())))
}

async fn workloads(
    State(state): State<ServerState>,
    query: Params<WorkloadQuery>,
) -> Result<Json<app::dto::WorkloadPage>, ApiError> {
    let Query(query) = query?;
    Ok(Json(state.cluster.current().query(&query)?))
}

async fn workload(
    State(state): State<ServerState>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<app::dto::Workload>, ApiError> {
    match state.cluster.current().workload(&namespace, &name) {
        Some(w) => Ok(Json(w.clone())),
        None => Err(ApiError::NotFound(format!("no Deployment {namespace}/{name} is known to Paydeck"))),
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
    params: Params<HistoryParams>,
) -> Result<Json<app::dto::History>, ApiError> {
    let Query(p) = params?;
    let store = state
        .history
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("history is not recorded by this server"))?;
    let interval = state.sample_interval.as_millis() as i64;
    let found =
        query::lookup(store, &namespace, &name, (p.from, p.to, p.points), interval, crate::clock::unix_ms())
            .await?;
    found.map(Json).ok_or_else(|| ApiError::NotFound(format!("no history for {namespace}/{name}")))
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
        .route("/api/{*rest}", get(|| async { ApiError::NotFound("no such API endpoint".into()) }))
}
