//! `GET /api/v1/clusters` and `GET /api/v1/clusters/{cluster}`: every cluster Paydeck
//! watches at a glance, read from each one's latest snapshot (never waiting on a cluster).

use axum::{
    Json,
    extract::{Path, State},
};
use domain::fleet::{ClusterSummary, FleetOverview};

use super::{
    ServerState,
    api::{NoParams, Params},
    error::ApiError,
    openapi::ErrorBody,
};

/// Every cluster side by side — reachable or not and since when, nodes, pods, CPU and memory
/// requested vs allocatable vs used, HPAs at their maximum, findings by severity — and the
/// workloads needing attention across the fleet, worst first.
#[utoipa::path(get, path = "/api/v1/clusters", tag = "fleet",
    responses((status = 200, body = FleetOverview), (status = 400, body = ErrorBody)))]
pub async fn clusters(
    State(state): State<ServerState>,
    params: Params<NoParams>,
) -> Result<Json<FleetOverview>, ApiError> {
    params?;
    Ok(Json(state.fleet.overview()))
}

/// A cluster's place: `/clusters/{cluster}`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ClusterPath {
    /// The cluster's name (`default` when one cluster is watched without a name).
    #[param(example = "default")]
    pub cluster: String,
}

/// One cluster at a glance.
#[utoipa::path(get, path = "/api/v1/clusters/{cluster}", tag = "fleet", params(ClusterPath),
    responses((status = 200, body = ClusterSummary), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn cluster(
    State(state): State<ServerState>,
    Path(ClusterPath { cluster }): Path<ClusterPath>,
    params: Params<NoParams>,
) -> Result<Json<ClusterSummary>, ApiError> {
    params?;
    state
        .fleet
        .cluster(&cluster)
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no cluster {cluster:?} is watched by Paydeck")))
}
