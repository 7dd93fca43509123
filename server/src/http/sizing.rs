//! `GET /api/v1/sizing`: HPA-aware right-sizing from recorded demand.

use axum::{Json, extract::Query};
use domain::sizing::{SizingQuery, SizingReport};
use serde::Deserialize;

use super::{error::ApiError, openapi::ErrorBody};

/// The scope, as written in a URL.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SizingParams {
    /// Only this namespace.
    #[param(example = "payments-core")]
    pub namespace: Option<String>,
    /// Only this Deployment (with `namespace`).
    #[param(example = "notifications")]
    pub name: Option<String>,
}

/// Each workload's right-sizing over the last week, judged every ten minutes: for the
/// resource an HPA scales on, its minimum and maximum (replayed, with the nodes' room); for
/// other resources, requests from per-pod percentiles with headroom and limits in a ratio;
/// replicas from load per pod for hot Deployments without an HPA. Each recommendation has
/// its evidence, confidence and weekly effect; none is made on less than a day.
#[utoipa::path(get, path = "/api/v1/sizing", tag = "advisor", params(SizingParams),
    responses((status = 200, body = SizingReport), (status = 400, body = ErrorBody)))]
pub async fn sizing(
    super::scope::InCluster(state): super::scope::InCluster,
    params: Result<Query<SizingParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SizingReport>, ApiError> {
    let Query(p) = params?;
    if p.name.is_some() && p.namespace.is_none() {
        return Err(ApiError::BadRequest("name needs namespace".into()));
    }
    let query = SizingQuery {
        namespace: p.namespace.filter(|n| !n.is_empty()),
        name: p.name.filter(|n| !n.is_empty()),
    };
    Ok(Json(state.advisor.sizing(&query)))
}
