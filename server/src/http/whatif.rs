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
    #[param(example = "1d", value_type = Option<String>, pattern = "^(1d|7d)$")]
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
    /// How long new pods take to serve, in seconds, 0–3600 (default: measured from the
    /// recording).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 3600)]
    pub ready_delay_seconds: Option<u32>,
    /// How often the metrics API refreshes a pod's usage, in seconds, 1–300 (default 15).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 300)]
    pub metrics_resolution_seconds: Option<u32>,
}

impl BacktestRequest {
    /// The replay's options, or why a figure is out of its range (an hour's ready delay or a
    /// five-minute metrics period is already far beyond any HPA's life).
    fn options(&self) -> Result<Options, String> {
        if let Some(s) = self.ready_delay_seconds.filter(|s| *s > 3600) {
            return Err(format!("readyDelaySeconds must be between 0 and 3600, got {s}"));
        }
        if let Some(s) = self.metrics_resolution_seconds.filter(|s| !(1..=300).contains(s)) {
            return Err(format!("metricsResolutionSeconds must be between 1 and 300, got {s}"));
        }
        Ok(Options {
            ready_delay_ms: self.ready_delay_seconds.map(|s| i64::from(s) * 1000),
            metrics_resolution_ms: self.metrics_resolution_seconds.map_or(15_000, |s| i64::from(s) * 1000),
            ..Options::default()
        })
    }
}

/// A 422's body: each field the proposed spec gets wrong.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FieldErrors {
    pub errors: Vec<FieldError>,
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
        (status = 422, description = "The proposed spec is not valid: `errors` names each field", body = FieldErrors),
    ))]
pub async fn backtest(
    State(state): State<ServerState>,
    Path(WorkloadPath { namespace, name }): Path<WorkloadPath>,
    body: Bytes,
) -> Response {
    let request: BacktestRequest = match domain::strict::from_slice(&body) {
        Ok(r) => r,
        Err(e) if e.path == "." => {
            return ApiError::BadRequest(format!("bad request body: {}", e.message)).into_response();
        }
        Err(e) => {
            return ApiError::BadRequest(format!("bad request body: {}: {}", e.path, e.message))
                .into_response();
        }
    };
    let Some(whatif) = state.whatif() else {
        return ApiError::unavailable("history is not recorded by this server").into_response();
    };
    let options = match request.options() {
        Ok(o) => o,
        Err(message) => return ApiError::BadRequest(message).into_response(),
    };
    match whatif
        .backtest(&namespace, &name, request.window.unwrap_or_default(), &request.spec, &options)
        .await
    {
        Ok(b) => Json(b).into_response(),
        Err(WhatIfError::Invalid(errors)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, Json(FieldErrors { errors })).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::BacktestRequest;

    #[test]
    fn replay_options_outside_their_ranges_are_refused_with_the_field_named() {
        let request = |ready: Option<u32>, resolution: Option<u32>| BacktestRequest {
            ready_delay_seconds: ready,
            metrics_resolution_seconds: resolution,
            ..BacktestRequest::default()
        };
        let e = request(Some(3601), None).options().unwrap_err();
        assert_eq!(e, "readyDelaySeconds must be between 0 and 3600, got 3601");
        let e = request(None, Some(0)).options().unwrap_err();
        assert_eq!(e, "metricsResolutionSeconds must be between 1 and 300, got 0");
        assert!(request(None, Some(2_147_483_648u64 as u32)).options().is_err());
        let ok = request(Some(3600), Some(300)).options().unwrap();
        assert_eq!((ok.ready_delay_ms, ok.metrics_resolution_ms), (Some(3_600_000), 300_000));
        assert_eq!(request(None, None).options().unwrap().metrics_resolution_ms, 15_000);
    }
}
