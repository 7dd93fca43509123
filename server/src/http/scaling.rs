//! `POST /api/v1/workloads/{namespace}/{name}/scaling` (with `dryRun`), the rights check the
//! UI asks before offering an edit, and `GET /api/v1/audit` (JSON or CSV).

use app::{dto::Viewer, scaling::EditRequest};
use axum::{
    Extension, Json,
    extract::{Path, Query, State, rejection::JsonRejection},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{ServerState, api::error};
use crate::audit::{AuditQuery, Outcome};

fn status_of(outcome: Outcome, anonymous: bool) -> StatusCode {
    match outcome {
        Outcome::Applied | Outcome::Previewed => StatusCode::OK,
        Outcome::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        Outcome::Denied if anonymous => StatusCode::UNAUTHORIZED,
        Outcome::Denied => StatusCode::FORBIDDEN,
        Outcome::Conflict => StatusCode::CONFLICT,
        Outcome::Failed => StatusCode::BAD_GATEWAY,
    }
}

pub async fn submit(
    State(state): State<ServerState>,
    Extension(viewer): Extension<Viewer>,
    Path((namespace, name)): Path<(String, String)>,
    body: Result<Json<EditRequest>, JsonRejection>,
) -> Response {
    let Some(editor) = &state.editor else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "edits are not available on this server (no audit log)",
        );
    };
    let Json(request) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad request body: {}", e.body_text())),
    };
    let response = editor.submit(&viewer, &namespace, &name, &request).await;
    let status = status_of(response.outcome, viewer.user.is_none());
    (status, Json(response)).into_response()
}

pub async fn rights(
    State(state): State<ServerState>,
    Extension(viewer): Extension<Viewer>,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    let Some(editor) = &state.editor else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "edits are not available on this server (no audit log)",
        );
    };
    match editor.rights(&viewer, &namespace, &name).await {
        Ok(rights) => Json(rights).into_response(),
        Err(message) => error(StatusCode::NOT_FOUND, message),
    }
}

/// `?format=csv|json` beside the audit filters.
#[derive(Debug, serde::Deserialize)]
pub struct AuditParams {
    #[serde(flatten)]
    query: AuditQuery,
    format: Option<String>,
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

pub async fn audit(
    State(state): State<ServerState>,
    params: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(params) = match params {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad query: {}", e.body_text())),
    };
    let Some(log) = &state.audit else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "this server keeps no audit log");
    };
    let entries = match log.list(&params.query).await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!("audit query failed: {e}");
            return error(StatusCode::SERVICE_UNAVAILABLE, "the audit log did not answer; try again");
        }
    };
    match params.format.as_deref() {
        None | Some("json") => Json(entries).into_response(),
        Some("csv") => {
            let mut out = String::from(
                "seq,at_ms,user,groups,namespace,name,target,before,after,reason,outcome,detail,hash\n",
            );
            for e in &entries {
                let row = [
                    e.seq.to_string(),
                    e.at_ms.to_string(),
                    e.user.clone(),
                    e.groups.join(" "),
                    e.namespace.clone(),
                    e.name.clone(),
                    e.target.clone(),
                    e.before.to_string(),
                    e.after.to_string(),
                    e.reason.clone(),
                    e.outcome.clone(),
                    e.detail.clone(),
                    e.hash.clone(),
                ];
                out.push_str(&row.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
                out.push('\n');
            }
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (header::CONTENT_DISPOSITION, "attachment; filename=\"paydeck-audit.csv\""),
                ],
                out,
            )
                .into_response()
        }
        Some(other) => error(StatusCode::BAD_REQUEST, format!("format must be json or csv, got {other:?}")),
    }
}
