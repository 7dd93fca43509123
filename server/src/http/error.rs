//! The JSON API's errors: one type, one mapping to HTTP status codes, one body shape
//! (`{"error": {"code": 404, "message": "..."}}`). Module errors convert into it.

use axum::{
    Json,
    extract::rejection::QueryRejection,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

/// Why a request was not answered with what it asked for.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// Made against a version that is no longer current.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A body that was read but is not valid: each field at fault (422, as Kubernetes answers
    /// an invalid object).
    #[error("{}", errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid { errors: Vec<domain::scaling::FieldError> },
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_secs: u64 },
    #[error("{message}")]
    Unavailable { message: String, retry_after_secs: Option<u64> },
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// 503 without a hint of when to come back.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError::Unavailable { message: message.into(), retry_after_secs: None }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry = match &self {
            ApiError::TooManyRequests { retry_after_secs, .. } => Some(*retry_after_secs),
            ApiError::Unavailable { retry_after_secs, .. } => *retry_after_secs,
            _ => None,
        };
        let mut body = json!({ "error": { "code": status.as_u16(), "message": self.to_string() } });
        if let ApiError::Invalid { errors } = &self {
            body["errors"] = json!(errors);
        }
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Refuses a request body not declared as `application/json` (a charset, if given, must be
/// UTF-8): a form or `text/plain` body is what a cross-site page can send without asking,
/// and what the JSON reader must never be handed.
pub fn require_json(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let given = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut parts = given.split(';').map(str::trim);
    let media = parts.next().unwrap_or("");
    let utf8 = parts.all(|p| match p.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => false,
    });
    if media.eq_ignore_ascii_case("application/json") && utf8 {
        return Ok(());
    }
    let got =
        if given.is_empty() { "no Content-Type".to_string() } else { format!("Content-Type {given:?}") };
    Err(ApiError::UnsupportedMediaType(format!(
        "send the body as application/json (UTF-8); got {got}: nothing was read"
    )))
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::BadRequest(format!("bad query: {}", e.body_text()))
    }
}

impl From<domain::query::QueryError> for ApiError {
    fn from(e: domain::query::QueryError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

impl From<crate::history::query::LookupError> for ApiError {
    fn from(e: crate::history::query::LookupError) -> Self {
        match e {
            crate::history::query::LookupError::Invalid(range) => ApiError::BadRequest(range.to_string()),
            crate::history::query::LookupError::Database(_) => {
                ApiError::unavailable("the history database did not answer; try again")
            }
        }
    }
}

/// A JSON error with `code` (for the few answers built from a status directly).
pub fn error(code: StatusCode, message: impl Into<String>) -> Response {
    (code, Json(json!({ "error": { "code": code.as_u16(), "message": message.into() } }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_its_status_and_hints_when_to_come_back() {
        let limited =
            ApiError::TooManyRequests { message: "slow down".into(), retry_after_secs: 30 }.into_response();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()[header::RETRY_AFTER], "30");
        assert_eq!(ApiError::NotFound("x".into()).status(), StatusCode::NOT_FOUND);
        assert_eq!(ApiError::from(domain::query::QueryError::Limit(0)).status(), StatusCode::BAD_REQUEST);
        assert!(!ApiError::unavailable("later").into_response().headers().contains_key(header::RETRY_AFTER));
    }

    #[test]
    fn only_json_bodies_are_read() {
        let with = |ct: Option<&str>| {
            let mut h = axum::http::HeaderMap::new();
            if let Some(ct) = ct {
                h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            }
            require_json(&h)
        };
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
        ] {
            assert!(with(Some(ok)).is_ok(), "{ok}");
        }
        for bad in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/json; charset=latin1"),
            Some("application/json-patch+json"),
            Some("application/jsonx"),
        ] {
            let e = with(bad).unwrap_err();
            assert_eq!(e.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{bad:?}");
            assert!(e.to_string().starts_with("send the body as application/json"), "{e}");
        }
    }
}
