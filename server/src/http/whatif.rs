//! The what-if over HTTP: `GET …/demand` (the recorded demand a browser replays) and
//! `POST …/backtest` (the current HPA and a proposed spec replayed on the server).

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use domain::{
    scaling::{FieldError, request::SpecChange},
    whatif::{Backtest, Options, Series},
};
use serde::Deserialize;

use super::{ServerState, api::WorkloadPath, error::ApiError, openapi::ErrorBody};
use domain::whatif::Window;

use crate::whatif::WhatIfError;

impl From<WhatIfError> for ApiError {
    fn from(e: WhatIfError) -> Self {
        match e {
            WhatIfError::UnknownWorkload(_) | WhatIfError::NoHistory(_) => ApiError::NotFound(e.to_string()),
            WhatIfError::NoAutoscaler(_) | WhatIfError::Invalid(_) => ApiError::BadRequest(e.to_string()),
            WhatIfError::Database(_) => {
                ApiError::unavailable("the history database did not answer; try again")
            }
        }
    }
}

/// `?window=` of the demand.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DemandParams {
    /// `1d` (default) or `7d`.
    #[param(example = "1d", value_type = Option<String>)]
    window: Option<Window>,
}

/// The workload's recorded demand at the sampling interval: CPU, memory, request rate,
/// ready and set replicas per step (`null`: nothing recorded), for replaying it elsewhere.
#[utoipa::path(get, path = "/api/v1/workloads/{namespace}/{name}/demand", tag = "what-if",
    params(WorkloadPath, DemandParams),
    responses((status = 200, body = Series), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn demand(
    State(state): State<ServerState>,
    Path(WorkloadPath { namespace, name }): Path<WorkloadPath>,
    params: Result<Query<DemandParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Series>, ApiError> {
    let Query(p) = params?;
    let whatif =
        state.whatif().ok_or_else(|| ApiError::unavailable("history is not recorded by this server"))?;
    Ok(Json(whatif.series(&namespace, &name, p.window.unwrap_or_default()).await?))
}

/// A backtest request: a window and a proposed (partial) HPA spec.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BacktestRequest {
    /// `1d` (default) or `7d`.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "7d")]
    pub window: Option<Window>,
    /// The proposed HPA spec, as the scaling endpoint takes it: fields left out keep their
    /// current values.
    pub spec: SpecChange,
    /// How long new pods take to serve, in seconds (default: measured from the recording).
    #[serde(default)]
    pub ready_delay_seconds: Option<u32>,
    /// How often the metrics API refreshes a pod's usage, in seconds (default 15).
    #[serde(default)]
    pub metrics_resolution_seconds: Option<u32>,
}

/// Replays the recorded demand through the HPA as it is and as proposed: replicas,
/// overloaded minutes, minutes above target, replica- and core-hours, scale events, time at
/// min and max — and how closely the replay of the current HPA matches the recording.
#[utoipa::path(post, path = "/api/v1/workloads/{namespace}/{name}/backtest", tag = "what-if",
    params(WorkloadPath),
    request_body(content = BacktestRequest, example = json!({ "window": "1d", "spec": { "maxReplicas": 12 } })),
    responses(
        (status = 200, body = Backtest),
        (status = 400, description = "No HPA, or the body is not a backtest request", body = ErrorBody),
        (status = 404, description = "Unknown workload, or nothing recorded yet", body = ErrorBody),
        (status = 422, description = "The proposed spec is not valid: `errors` names each field", body = Vec<FieldError>),
    ))]
pub async fn backtest(
    State(state): State<ServerState>,
    Path(WorkloadPath { namespace, name }): Path<WorkloadPath>,
    body: Bytes,
) -> Response {
    let request: BacktestRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return ApiError::BadRequest(format!("bad request body: {e}")).into_response(),
    };
    let Some(whatif) = state.whatif() else {
        return ApiError::unavailable("history is not recorded by this server").into_response();
    };
    let options = Options {
        ready_delay_ms: request.ready_delay_seconds.map(|s| i64::from(s) * 1000),
        metrics_resolution_ms: request
            .metrics_resolution_seconds
            .map_or(15_000, |s| i64::from(s.max(1)) * 1000),
        ..Options::default()
    };
    match whatif
        .backtest(&namespace, &name, request.window.unwrap_or_default(), &request.spec, &options)
        .await
    {
        Ok(b) => Json(b).into_response(),
        Err(WhatIfError::Invalid(errors)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, Json(serde_json::json!({ "errors": errors }))).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}
