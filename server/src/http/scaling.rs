//! `POST /api/v1/workloads/{namespace}/{name}/scaling` (with `dry_run`), the rights check the
//! UI asks before offering an edit, and the audit log: `GET /api/v1/audit` (JSON, or CSV
//! streamed a page at a time) and `GET /api/v1/audit/head`.

use app::dto::Viewer;
use axum::{
    Extension, Json,
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::StreamExt;

use super::{ServerState, error::error};
use crate::audit::{AuditQuery, Entry, Outcome};

fn status_of(outcome: Outcome, anonymous: bool) -> StatusCode {
    match outcome {
        Outcome::Applied | Outcome::Previewed => StatusCode::OK,
        Outcome::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        Outcome::Denied if anonymous => StatusCode::UNAUTHORIZED,
        Outcome::Denied => StatusCode::FORBIDDEN,
        Outcome::Conflict => StatusCode::CONFLICT,
        Outcome::Failed => StatusCode::BAD_GATEWAY,
        Outcome::Throttled => StatusCode::TOO_MANY_REQUESTS,
        Outcome::Unrecorded => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Change a Deployment's replicas (no HPA) or its HPA's spec — partly: fields left out keep
/// the values the cluster has, and only the fields given are written. Validated, then sent to
/// Kubernetes as the caller (Impersonate-User/-Group) against what they saw (`specHash`: an
/// HPA's spec; `generation`: a Deployment's spec; or `resourceVersion`: the whole object);
/// `dryRun` previews with the cluster's dry run, which shows exactly what the apply would do.
/// The body is `application/json`, each key once; `null` only resets `behavior` or one of
/// its directions. Every attempt by a signed-in user is audited; an apply's intent is
/// recorded before it is sent.
#[utoipa::path(post, path = "/api/v1/workloads/{namespace}/{name}/scaling", tag = "scaling",
    params(super::api::WorkloadPath),
    request_body(content = domain::scaling::request::ScalingRequest, example = json!({
        "spec": { "maxReplicas": 12, "behavior": { "scaleDown": { "stabilizationWindowSeconds": 600 } } },
        "reason": "CHG-1234 evening peak",
        "specHash": "sha256:0000000000000000000000000000000000000000000000000000000000000000", "dryRun": true
    })),
    responses(
        (status = 200, description = "Previewed (dry run) or applied", body = app::scaling::EditResponse),
        (status = 401, description = "No identity: sign in through the auth proxy, or send a token issued for Paydeck", body = app::scaling::EditResponse),
        (status = 403, description = "Read-only server, cross-site request, an identity Paydeck never acts as (system: users and groups), or the cluster's RBAC refused", body = app::scaling::EditResponse),
        (status = 409, description = "The spec changed since `specHash` or `generation` (or the object since `resourceVersion`); nothing was overwritten", body = app::scaling::EditResponse),
        (status = 413, description = "The body is larger than 64 KiB", body = super::openapi::ErrorBody),
        (status = 415, description = "The body is not `application/json`; nothing was read or recorded", body = super::openapi::ErrorBody),
        (status = 422, description = "Invalid: `errors` names each field (a float, a string, an out-of-range value, an unknown or repeated field, a `null`; `generation` of an HPA on a cluster that keeps none)", body = app::scaling::EditResponse),
        (status = 429, description = "More than 20 attempts a minute; not recorded; Retry-After", body = app::scaling::EditResponse),
        (status = 502, description = "The cluster failed or could not be reached", body = app::scaling::EditResponse),
        (status = 503, description = "The audit log cannot be written: nothing was sent; Retry-After", body = app::scaling::EditResponse),
    ))]
pub async fn submit(
    super::scope::InCluster(state): super::scope::InCluster,
    Extension(viewer): Extension<Viewer>,
    Path(super::api::WorkloadPath { namespace, name }): Path<super::api::WorkloadPath>,
    params: super::api::Params<super::api::NoParams>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(e) = params {
        return super::error::ApiError::from(e).into_response();
    }
    let Some(editor) = &state.editor else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "edits are not available on this server (no audit log)",
        );
    };
    // Not read, not recorded: counted on /metrics like the other refusals before the audit log.
    if let Err(e) = super::error::require_json(&headers) {
        crate::metrics::count(&editor.unrecorded, "unsupported_media_type");
        return e.into_response();
    }
    let response = match app::scaling::request::parse(&body) {
        Ok(request) => editor.submit(&viewer, &namespace, &name, &request.into()).await,
        Err(problem) => editor.refuse_unreadable(&viewer, &namespace, &name, problem).await,
    };
    let status = status_of(response.outcome, viewer.user.is_none());
    let mut answer = (status, Json(response)).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
        answer.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    }
    answer
}

/// Whether the caller may change this workload's scaling (a SelfSubjectAccessReview made as
/// them), and why not.
#[utoipa::path(get, path = "/api/v1/workloads/{namespace}/{name}/rights", tag = "scaling",
    params(super::api::WorkloadPath),
    responses((status = 200, body = app::scaling::Rights), (status = 404, body = super::openapi::ErrorBody)))]
pub async fn rights(
    super::scope::InCluster(state): super::scope::InCluster,
    Extension(viewer): Extension<Viewer>,
    Path(super::api::WorkloadPath { namespace, name }): Path<super::api::WorkloadPath>,
    params: super::api::Params<super::api::NoParams>,
) -> Response {
    if let Err(e) = params {
        return super::error::ApiError::from(e).into_response();
    }
    let Some(editor) = &state.editor else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "edits are not available on this server (no audit log)",
        );
    };
    match editor.rights(&viewer, &namespace, &name).await {
        Ok(rights) => Json(rights).into_response(),
        Err(unknown) => super::error::ApiError::NotFound(unknown.to_string()).into_response(),
    }
}

/// The audit filters and `format=json|csv`. Spelled out rather than flattened: numbers in a
/// query string only parse into named fields.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only this cluster's rows (and those recorded before rows named their cluster), or
    /// every cluster's with `*`. Default: the path's cluster under
    /// `/api/v1/clusters/{cluster}`, else the primary's.
    #[param(example = "default")]
    cluster: Option<String>,
    /// Only this namespace.
    #[param(example = "payments-core")]
    namespace: Option<String>,
    /// Only this Deployment.
    #[param(example = "ledger")]
    name: Option<String>,
    /// Only this user.
    #[param(example = "operator")]
    user: Option<String>,
    /// Only this outcome (intents, written before an apply is sent, only when asked for).
    #[param(example = "applied")]
    outcome: Option<String>,
    /// From (Unix ms).
    #[param(example = 1_764_201_600_000_i64)]
    from: Option<i64>,
    /// Before (Unix ms).
    #[param(example = 4_102_444_800_000_i64)]
    to: Option<i64>,
    /// At most this many (JSON: default 500, at most 1000; CSV: all unless given).
    #[param(example = 50, minimum = 1)]
    limit: Option<i64>,
    /// Only rows before this sequence number: the next page.
    #[param(example = 1000)]
    before: Option<i64>,
    /// `json` (default), or `csv` (streamed; cells that would start a formula get an apostrophe).
    #[param(example = "json")]
    format: Option<String>,
}

/// Outcomes a filter may name.
const OUTCOMES: [&str; 9] =
    ["applied", "previewed", "invalid", "denied", "conflict", "failed", "intent", "unknown", "reverted"];

impl AuditParams {
    /// The query, within the cluster the path names (if it names one), else the `cluster`
    /// asked for, else `primary`'s.
    fn query(&self, named: Option<String>, primary: &str) -> Result<AuditQuery, String> {
        let cluster = match (named, self.cluster.clone().filter(|c| !c.is_empty())) {
            (Some(path), Some(param)) if path != param => {
                return Err(format!("cluster {param:?} differs from the path's cluster {path:?}"));
            }
            (None, Some(every)) if every == "*" => None,
            (path, param) => Some(path.or(param).unwrap_or_else(|| primary.to_string())),
        };
        if let Some(o) = self.outcome.as_deref().filter(|o| !OUTCOMES.contains(o)) {
            return Err(format!("outcome must be one of {}, got {o:?}", OUTCOMES.join(", ")));
        }
        if let Some(l) = self.limit.filter(|l| *l < 1) {
            return Err(format!("limit must be at least 1, got {l}"));
        }
        let text = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        Ok(AuditQuery {
            cluster,
            namespace: text(&self.namespace),
            name: text(&self.name),
            user: text(&self.user),
            outcome: text(&self.outcome),
            from: self.from,
            to: self.to,
            limit: self.limit,
            before: self.before,
        })
    }
}

/// A CSV cell: quoted when needed, and a leading `=`, `+`, `-`, `@`, tab or carriage return
/// neutralised with an apostrophe, so a spreadsheet shows text instead of running a formula.
pub fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

const CSV_HEADER: &str =
    "seq,atMs,user,groups,namespace,name,target,before,after,reason,outcome,detail,hash,cluster\n";

fn csv_row(e: &Entry) -> String {
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
        e.cluster.clone(),
    ];
    let mut line = row.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
    line.push('\n');
    line
}

/// Audited edit attempts, newest first: the primary cluster's (or, with `cluster`, another's,
/// or every cluster's with `*`); under `/api/v1/clusters/{cluster}` that cluster's.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    responses(
        (status = 200, description = "The entries (JSON), or a CSV export", body = Vec<app::scaling::AuditEntry>),
        (status = 400, description = "An unknown parameter or a bad value", body = super::openapi::ErrorBody),
        (status = 401, description = "No identity, and this server does not show the log to requests without one", body = super::openapi::ErrorBody),
        (status = 429, description = "Too many audit reads from this client (a user, or an address without one) in the last minute; Retry-After", body = super::openapi::ErrorBody),
        (status = 503, description = "The audit log is busy; try again", body = super::openapi::ErrorBody),
    ))]
pub async fn audit(
    super::scope::InCluster(state): super::scope::InCluster,
    super::scope::NamedCluster(named): super::scope::NamedCluster,
    axum::Extension(viewer): axum::Extension<app::dto::Viewer>,
    params: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if viewer.user.is_none() && !state.audit_anonymous_reads {
        return error(StatusCode::UNAUTHORIZED, crate::edits::AUDIT_NEEDS_IDENTITY);
    }
    let Query(params) = match params {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad query: {}", e.body_text())),
    };
    let query = match params.query(named, &state.cluster_name) {
        Ok(q) => q,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let Some(log) = &state.audit else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "this server keeps no audit log");
    };
    match params.format.as_deref() {
        None | Some("json") => match log.list(&query).await {
            Ok(entries) => Json(entries).into_response(),
            Err(e) => {
                tracing::warn!("audit query failed: {e}");
                error(StatusCode::SERVICE_UNAVAILABLE, "the audit log did not answer; try again")
            }
        },
        Some("csv") => {
            let rows = log.stream(query).map(|entry| match entry {
                Ok(e) => Ok::<_, crate::store::StoreError>(csv_row(&e)),
                Err(e) => {
                    tracing::warn!("audit export failed part-way: {e}");
                    Err(e)
                }
            });
            let body = futures::stream::once(async { Ok(CSV_HEADER.to_string()) }).chain(rows);
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (header::CONTENT_DISPOSITION, "attachment; filename=\"paydeck-audit.csv\""),
                ],
                Body::from_stream(body),
            )
                .into_response()
        }
        Some(other) => error(StatusCode::BAD_REQUEST, format!("format must be json or csv, got {other:?}")),
    }
}

/// The last audit row: its sequence number and hash, and whether rows are keyed.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
    pub keyed: bool,
}

/// The last row's sequence number and hash: keep a copy outside (a log shipper, a ticket) and
/// pass it to `paydeck verify-audit --head SEQ:HASH` to catch a log cut at its end.
#[utoipa::path(get, path = "/api/v1/audit/head", tag = "audit",
    responses((status = 200, description = "`{seq, hash, keyed}`", body = AuditHead)))]
pub async fn head(
    State(state): State<ServerState>,
    params: super::api::Params<super::api::NoParams>,
) -> Response {
    if let Err(e) = params {
        return super::error::ApiError::from(e).into_response();
    }
    let Some(log) = &state.audit else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "this server keeps no audit log");
    };
    match log.head().await {
        Ok(head) => Json(serde_json::json!({ "seq": head.seq, "hash": head.hash, "keyed": log.keyed() }))
            .into_response(),
        Err(e) => {
            tracing::warn!("audit head failed: {e}");
            error(StatusCode::SERVICE_UNAVAILABLE, "the audit log did not answer; try again")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn text() -> impl Strategy<Value = Option<String>> {
            prop_oneof![Just(None), any::<String>().prop_map(Some), Just(Some(String::new()))]
        }

        fn outcome() -> impl Strategy<Value = Option<String>> {
            prop_oneof![text(), proptest::sample::select(OUTCOMES.to_vec()).prop_map(|o| Some(o.to_string()))]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            /// Audit filters: a known outcome and a positive limit are taken, an empty text
            /// filters nothing, and anything else is refused with a reason; never a panic.
            #[test]
            fn audit_filters_are_taken_or_refused(
                namespace in text(), name in text(), user in text(), outcome in outcome(),
                from in any::<Option<i64>>(), to in any::<Option<i64>>(),
                limit in prop_oneof![any::<Option<i64>>(), (-2i64..3).prop_map(Some)],
                before in any::<Option<i64>>(),
            ) {
                let params = AuditParams {
                    cluster: None, namespace: namespace.clone(), name, user, outcome: outcome.clone(),
                    from, to, limit, before, format: None,
                };
                let known = outcome.as_deref().is_none_or(|o| OUTCOMES.contains(&o));
                match params.query(None, "default") {
                    Ok(q) => {
                        prop_assert!(known && limit.is_none_or(|l| l >= 1));
                        prop_assert_eq!(q.namespace, namespace.filter(|n| !n.is_empty()));
                        prop_assert_eq!((q.from, q.to, q.before), (from, to, before));
                    }
                    Err(message) => {
                        prop_assert!(!known || limit.is_some_and(|l| l < 1));
                        prop_assert!(message.starts_with("outcome must be") || message.starts_with("limit must be"));
                    }
                }
            }
        }
    }

    #[test]
    fn csv_cells_never_start_a_formula() {
        assert_eq!(csv_field("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-2"), "'-2");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("CHG-7, peak"), "\"CHG-7, peak\"");
        assert_eq!(csv_field("ledger"), "ledger");
    }
}
