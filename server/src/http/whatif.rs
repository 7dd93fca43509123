//! The what-if over HTTP: `GET …/demand` (the recorded demand a browser replays) and
//! `POST …/backtest` (the current HPA and a proposed spec replayed on the server).

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{Path, Query},
};
use domain::{
    scaling::{FieldError, request::SpecChange},
    whatif::{Backtest, Options, Series},
};
use serde::Deserialize;

use super::{api::WorkloadPath, error::ApiError, openapi::ErrorBody};
use domain::whatif::Window;

use crate::whatif::WhatIfError;

impl From<WhatIfError> for ApiError {
    fn from(e: WhatIfError) -> Self {
        match e {
            WhatIfError::UnknownWorkload(_) | WhatIfError::NoHistory(_) => ApiError::NotFound(e.to_string()),
            WhatIfError::NoAutoscaler(_) => ApiError::Invalid {
                errors: vec![FieldError { field: "spec".into(), message: e.to_string() }],
            },
            WhatIfError::Invalid(errors) => ApiError::Invalid { errors },
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
    super::scope::InCluster(state): super::scope::InCluster,
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
    #[serde(default, deserialize_with = "domain::strict::not_null")]
    #[schema(value_type = Option<String>, example = "7d")]
    pub window: Option<Window>,
    /// The proposed HPA spec, as the scaling endpoint takes it: fields left out keep their
    /// current values.
    pub spec: SpecChange,
    /// How long new pods take to serve, in seconds, 0–3600 (default: measured from the
    /// recording).
    #[serde(default, deserialize_with = "domain::strict::not_null")]
    #[schema(minimum = 0, maximum = 3600)]
    pub ready_delay_seconds: Option<u32>,
}

impl BacktestRequest {
    /// The replay's options, or why a figure is out of its range (an hour's ready delay is
    /// already far beyond any HPA's life). What the controller read is recorded with each
    /// metrics reading, so there is no metrics period to assume.
    fn options(&self) -> Result<Options, FieldError> {
        if let Some(s) = self.ready_delay_seconds.filter(|s| *s > 3600) {
            return Err(FieldError {
                field: "readyDelaySeconds".into(),
                message: format!("readyDelaySeconds must be between 0 and 3600, got {s}"),
            });
        }
        Ok(Options {
            ready_delay_ms: self.ready_delay_seconds.map(|s| i64::from(s) * 1000),
            ..Options::default()
        })
    }
}

/// A 422's body: the error, and each field at fault.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldErrors {
    pub error: super::openapi::ErrorDetail,
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
        (status = 404, description = "Unknown workload, or nothing recorded yet", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 429, description = "This client (a user, or an address without one) started too many backtests in the last minute; Retry-After", body = ErrorBody),
        (status = 422, description = "The body is not a valid backtest request (unreadable, an unknown or repeated field, a value out of range), the proposed spec is not valid, or no HPA targets the Deployment: `errors` names each field", body = FieldErrors),
    ))]
pub async fn backtest(
    super::scope::InCluster(state): super::scope::InCluster,
    Extension(client): Extension<super::identify::ClientKey>,
    Path(WorkloadPath { namespace, name }): Path<WorkloadPath>,
    params: super::api::Params<super::api::NoParams>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Json<Backtest>, ApiError> {
    params?;
    super::error::require_json(&headers)?;
    let request: BacktestRequest = domain::strict::from_slice(&body).map_err(|e| ApiError::Invalid {
        errors: vec![FieldError {
            field: if e.path == "." { "(body)".into() } else { e.path },
            message: e.message,
        }],
    })?;
    let whatif =
        state.whatif().ok_or_else(|| ApiError::unavailable("history is not recorded by this server"))?;
    let options = request.options().map_err(|e| ApiError::Invalid { errors: vec![e] })?;
    // Counted once the request is well formed: a typo does not spend the budget.
    if let Err(wait) = state.backtests.allow(&client.0, std::time::Instant::now()) {
        super::guard::refused(&state.refusals, "backtests");
        return Err(ApiError::TooManyRequests {
            message: format!(
                "you have started {} backtests in the last minute, the most allowed; try again in {} s",
                state.protection.backtests_per_minute,
                wait.as_secs().max(1)
            ),
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    Ok(Json(
        whatif
            .backtest(&namespace, &name, request.window.unwrap_or_default(), &request.spec, &options)
            .await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::BacktestRequest;

    #[test]
    fn replay_options_outside_their_ranges_are_refused_with_the_field_named() {
        let request =
            |ready: Option<u32>| BacktestRequest { ready_delay_seconds: ready, ..BacktestRequest::default() };
        let e = request(Some(3601)).options().unwrap_err();
        assert_eq!(e.field, "readyDelaySeconds");
        assert_eq!(e.message, "readyDelaySeconds must be between 0 and 3600, got 3601");
        assert_eq!(request(Some(3600)).options().unwrap().ready_delay_ms, Some(3_600_000));
        assert_eq!(request(None).options().unwrap().ready_delay_ms, None);
        let e =
            domain::strict::from_slice::<BacktestRequest>(br#"{"spec": {}, "metricsResolutionSeconds": 15}"#)
                .unwrap_err();
        assert!(e.message.contains("unknown field `metricsResolutionSeconds`"), "{e:?}");
        let e =
            domain::strict::from_slice::<BacktestRequest>(br#"{"spec": {}, "window": null}"#).unwrap_err();
        assert!(e.message.contains("null is not allowed"), "{e:?}");
    }
}
