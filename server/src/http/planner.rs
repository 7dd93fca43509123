//! `GET /api/v1/plan`: the peak capacity planner.

use axum::{Json, extract::Query};
use domain::planner::{Peak, PlanQuery, PlanReport};
use serde::Deserialize;

use super::{error::ApiError, openapi::ErrorBody};

/// The peak, as written in a URL.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlanParams {
    /// `4x`: each service at four times its recorded peak of the last day (above 0, at most
    /// 100); `2000`: 2,000 req/s at the entry service (the busiest), spread over the others
    /// by their recorded share of it. The default is `4x`.
    #[param(example = "4x")]
    pub peak: Option<String>,
    /// Only this namespace.
    #[param(example = "payments-core")]
    pub namespace: Option<String>,
}

impl PlanParams {
    fn query(self) -> Result<PlanQuery, ApiError> {
        let peak = match self.peak.as_deref().filter(|p| !p.trim().is_empty()) {
            Some(p) => Peak::parse(p).map_err(ApiError::BadRequest)?,
            None => Peak::default(),
        };
        Ok(PlanQuery { peak, namespace: self.namespace.filter(|n| !n.is_empty()) })
    }
}

/// Per service at the planned peak: the replicas needed by the fitted scaling model
/// `N = N₀ + α·(T − T₀)/T₀` and by the HPA's own model, whether the HPA's maximum allows
/// them, the CPU and memory their requests add against the nodes' allocatable, and how many
/// nodes a cluster autoscaler would have to add. Profiles are read from the last day of
/// recorded demand every ten minutes; configurations and room are as they are now.
#[utoipa::path(get, path = "/api/v1/plan", tag = "advisor", params(PlanParams),
    responses((status = 200, body = PlanReport), (status = 400, body = ErrorBody)))]
pub async fn plan(
    super::scope::InCluster(state): super::scope::InCluster,
    params: Result<Query<PlanParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PlanReport>, ApiError> {
    let Query(p) = params?;
    Ok(Json(state.advisor.plan(&p.query()?)))
}
