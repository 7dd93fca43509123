//! `GET /api/v1/notifications`: the sinks and how their deliveries stand; `POST
//! /api/v1/notifications/test`: a test message to one sink, to see it arrive.

use app::dto::Viewer;
use axum::{Extension, Json, extract::State, http::HeaderMap};
use domain::notifications::{NotificationsStatus, TestMessage, TestQueued};

use crate::notify::Refusal;

use super::{
    ServerState,
    api::{NoParams, Params},
    error::ApiError,
    openapi::ErrorBody,
};

/// Every sink (name, type, host — never its URL or secret), what it is sent, and its
/// messages pending, delivered and given up, with the last error. Read like the audit log:
/// anonymous callers only where the audit log is open to them.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications",
    responses(
        (status = 200, body = NotificationsStatus),
        (status = 401, description = "No identity, and the audit log is not open to anonymous readers", body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn status(
    State(state): State<ServerState>,
    Extension(viewer): Extension<Viewer>,
    params: Params<NoParams>,
) -> Result<Json<NotificationsStatus>, ApiError> {
    params?;
    state.notification_desk().read(viewer.user.as_deref()).await.map(Json).map_err(refused)
}

/// Queues a test message to the sink named: it goes out like any other (within the sink's
/// rate, retried) and its delivery shows in the status. Another to the same sink within ten
/// seconds is refused (429). Needs a signed-in user.
#[utoipa::path(post, path = "/api/v1/notifications/test", tag = "notifications",
    request_body(content = TestMessage, example = json!({ "sink": "payments-oncall" })),
    responses(
        (status = 202, body = TestQueued),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No sink of that name, or no notifications on this server", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, description = "A test message to this sink was queued less than ten seconds ago", body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn test(
    State(state): State<ServerState>,
    Extension(viewer): Extension<Viewer>,
    params: Params<NoParams>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(axum::http::StatusCode, Json<TestQueued>), ApiError> {
    params?;
    if viewer.user.is_none() {
        return Err(ApiError::Unauthorized("sign in to send a test message".into()));
    }
    let request: TestMessage = super::plans::read(&headers, &body)?;
    let message =
        state.notification_desk().test(viewer.user.as_deref(), &request.sink).await.map_err(refused)?;
    Ok((axum::http::StatusCode::ACCEPTED, Json(TestQueued { message })))
}

/// The API's answer to the desk's refusal.
fn refused((why, message): (Refusal, String)) -> ApiError {
    match why {
        Refusal::SignIn => ApiError::Unauthorized(message),
        Refusal::NotFound => ApiError::NotFound(message),
        Refusal::TooSoon(retry_after_secs) => ApiError::TooManyRequests { message, retry_after_secs },
        Refusal::Unavailable => ApiError::unavailable(message),
    }
}
