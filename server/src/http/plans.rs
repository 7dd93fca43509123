//! Scheduled plans over the API: list, draft, read, edit, and approve, reject, pause, resume
//! or cancel — per cluster, as the caller. Bodies are read strictly (unknown or repeated
//! fields refused); every change, and every refused one by a signed-in person, is an audit
//! row (see [`crate::plans`]).

use app::dto::Viewer;
use axum::{
    Extension, Json,
    extract::{Path, rejection::PathRejection},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use domain::plan::{Plan, PlanMoveRequest, PlanProposal, PlanRequest, ProposeRequest};
use utoipa::IntoParams;

use super::{
    ServerState,
    api::{NoParams, Params, WorkloadPath},
    error::ApiError,
    openapi::ErrorBody,
};
use crate::plans::{PlanError, Plans, moves::Action};

impl From<PlanError> for ApiError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::SignIn(m) => ApiError::Unauthorized(m),
            PlanError::Refused(m) => ApiError::Forbidden(m),
            PlanError::NotFound(m) => ApiError::NotFound(m),
            PlanError::Stale(m) => ApiError::Conflict(m),
            PlanError::Invalid(errors) => ApiError::Invalid { errors },
            PlanError::Throttled(message) => ApiError::TooManyRequests { message, retry_after_secs: 30 },
            PlanError::Unavailable(message) => ApiError::Unavailable { message, retry_after_secs: Some(30) },
        }
    }
}

/// `?days=` of the calendar.
#[derive(Debug, serde::Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CalendarParams {
    /// How many days ahead, from 1 to 31 (7 when left out).
    #[param(example = 7, minimum = 1, maximum = 31)]
    days: Option<i64>,
}

/// A plan's place: `/plans/{id}`.
#[derive(Debug, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PlanPath {
    /// The plan's number.
    #[param(example = 1, minimum = 1)]
    pub id: i64,
}

/// A move on a plan: `/plans/{id}/{action}`.
#[derive(Debug, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PlanActionPath {
    /// The plan's number.
    #[param(example = 1, minimum = 1)]
    pub id: i64,
    /// `approve` (another person than its author, who may change the HPA), `reject`,
    /// `pause`, `resume` or `cancel`.
    #[param(value_type = String, example = "approve")]
    pub action: Action,
}

fn plans_of(state: &ServerState) -> Result<&Plans, ApiError> {
    state
        .plans
        .as_deref()
        .ok_or_else(|| ApiError::unavailable("plans are not available on this server (no audit log)"))
}

fn editor_of(state: &ServerState) -> Result<&std::sync::Arc<crate::edits::Editor>, ApiError> {
    state
        .editor
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("plans are not available on this server (no audit log)"))
}

/// A plan number that is not one, or an action there is not: said in JSON like every error.
fn bad_path(e: PathRejection) -> ApiError {
    ApiError::NotFound(format!("no such plan or action: {}", e.body_text()))
}

/// A strict JSON body: declared as JSON, each key once, no unknown field.
pub(super) fn read<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, ApiError> {
    super::error::require_json(headers)?;
    domain::strict::from_slice(body).map_err(|e| ApiError::Invalid {
        errors: vec![domain::scaling::FieldError {
            field: if e.path == "." { "(body)".into() } else { e.path },
            message: e.message,
        }],
    })
}

/// The cluster's plans, oldest first: their schedules, who wrote and approved them, what
/// they hold now, their backtests and last steps.
#[utoipa::path(get, path = "/api/v1/plans", tag = "plans",
    responses((status = 200, body = Vec<domain::plan::Plan>), (status = 503, body = ErrorBody)))]
pub async fn list(
    super::scope::InCluster(state): super::scope::InCluster,
    params: Params<NoParams>,
) -> Result<Json<Vec<Plan>>, ApiError> {
    params?;
    Ok(Json(plans_of(&state)?.list(&state.cluster_name).await?))
}

/// One plan.
#[utoipa::path(get, path = "/api/v1/plans/{id}", tag = "plans", params(PlanPath),
    responses((status = 200, body = domain::plan::Plan), (status = 404, body = ErrorBody)))]
pub async fn one(
    super::scope::InCluster(state): super::scope::InCluster,
    path: Result<Path<PlanPath>, PathRejection>,
    params: Params<NoParams>,
) -> Result<Json<Plan>, ApiError> {
    params?;
    let Path(PlanPath { id }) = path.map_err(bad_path)?;
    Ok(Json(plans_of(&state)?.get(&state.cluster_name, id).await?))
}

/// Drafts a plan for the Deployment's HPA: levels over windows of local time in an IANA
/// zone (every day, on weekdays, or once), less exclusions. Backtested over the recorded
/// weeks; another person approves it before it runs.
#[utoipa::path(post, path = "/api/v1/workloads/{namespace}/{name}/plans", tag = "plans",
    params(WorkloadPath),
    request_body(content = domain::plan::PlanRequest, example = json!({
        "schedule": {
            "timeZone": "Asia/Shanghai",
            "windows": [{ "repeat": { "every": "day" }, "start": "17:45", "end": "21:15",
                          "level": { "minReplicas": 8 } }],
            "exclusions": [{ "date": "2026-12-25" }]
        },
        "reason": "CHG-2041 evening peak"
    })),
    responses(
        (status = 201, description = "Drafted", body = domain::plan::Plan),
        (status = 401, body = ErrorBody), (status = 403, description = "Read-only server, an identity Paydeck never acts as, or an HPA something else sets back (KEDA, a CronHPA, a GitOps tool)", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "Each field at fault named", body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody),
    ))]
pub async fn draft(
    super::scope::InCluster(state): super::scope::InCluster,
    Extension(viewer): Extension<Viewer>,
    Path(WorkloadPath { namespace, name }): Path<WorkloadPath>,
    params: Params<NoParams>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    params?;
    let (plans, editor) = (plans_of(&state)?, editor_of(&state)?);
    let request: PlanRequest = read(&headers, &body)?;
    let plan = plans.draft(editor, &viewer, &namespace, &name, request, crate::clock::unix_ms()).await?;
    Ok((StatusCode::CREATED, Json(plan)).into_response())
}

/// Edits a plan's schedule and reason, against the version read: a draft again, to be
/// approved again.
#[utoipa::path(put, path = "/api/v1/plans/{id}", tag = "plans", params(PlanPath),
    request_body(content = domain::plan::PlanRequest, example = json!({
        "schedule": {
            "timeZone": "Europe/Berlin",
            "windows": [{ "repeat": { "every": "week", "days": ["friday"] }, "start": "11:30", "end": "14:00",
                          "level": { "minReplicas": 6, "maxReplicas": 12 } }]
        },
        "reason": "CHG-2042 Friday lunch", "version": 1
    })),
    responses(
        (status = 200, description = "Edited: a draft again", body = domain::plan::Plan),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The plan changed since `version`", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`; nothing was read", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody),
    ))]
pub async fn edit(
    super::scope::InCluster(state): super::scope::InCluster,
    Extension(viewer): Extension<Viewer>,
    path: Result<Path<PlanPath>, PathRejection>,
    params: Params<NoParams>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Plan>, ApiError> {
    params?;
    let (plans, editor) = (plans_of(&state)?, editor_of(&state)?);
    let Path(PlanPath { id }) = path.map_err(bad_path)?;
    let request: PlanRequest = read(&headers, &body)?;
    Ok(Json(plans.edit(editor, &viewer, id, request, crate::clock::unix_ms()).await?))
}

/// Approves (another person than its author, who may change the HPA: asked of the cluster as
/// them; pinned to the HPA's spec apart from its bounds), rejects, pauses, resumes or
/// cancels a plan, against the version read. A cancelled plan holding a window puts back
/// what was there before it.
#[utoipa::path(post, path = "/api/v1/plans/{id}/{action}", tag = "plans", params(PlanActionPath),
    request_body(content = domain::plan::PlanMoveRequest, example = json!({ "reason": "CHG-2041 reviewed", "version": 1 })),
    responses(
        (status = 200, body = domain::plan::Plan),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Its author approving (maker–checker), no right to change the HPA, or a move the plan's state does not allow", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The plan changed since `version`", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`; nothing was read", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody),
    ))]
pub async fn act(
    super::scope::InCluster(state): super::scope::InCluster,
    Extension(viewer): Extension<Viewer>,
    path: Result<Path<PlanActionPath>, PathRejection>,
    params: Params<NoParams>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Plan>, ApiError> {
    params?;
    let (plans, editor) = (plans_of(&state)?, editor_of(&state)?);
    let Path(PlanActionPath { id, action }) = path.map_err(bad_path)?;
    let request: PlanMoveRequest = read(&headers, &body)?;
    Ok(Json(plans.act(editor, &viewer, id, action, request, crate::clock::unix_ms()).await?))
}

/// Proposes a plan from the Deployment's recorded demand: its recurring peaks (daily, or on
/// a weekday), read in the time zone given, each a window opening a start-up delay before the
/// rise with the smallest minimum that removes the recorded overload. Nothing is stored: draft
/// the `request` it returns to keep it.
#[utoipa::path(post, path = "/api/v1/workloads/{namespace}/{name}/plans/propose", tag = "plans",
    params(WorkloadPath),
    request_body(content = domain::plan::ProposeRequest, example = json!({ "timeZone": "UTC" })),
    responses(
        (status = 200, body = domain::plan::PlanProposal),
        (status = 404, description = "Unknown workload, or nothing recorded yet", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "Not an IANA time zone, an unreadable body, or no HPA", body = ErrorBody),
        (status = 429, description = "Too many replays started by this client in the last minute", body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn propose(
    super::scope::InCluster(state): super::scope::InCluster,
    Extension(client): Extension<super::identify::ClientKey>,
    Path(WorkloadPath { namespace, name }): Path<WorkloadPath>,
    params: Params<NoParams>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<PlanProposal>, ApiError> {
    params?;
    let editor = editor_of(&state)?;
    let request: ProposeRequest = read(&headers, &body)?;
    // A proposal replays weeks of demand: it counts as backtests do.
    if let Err(wait) = state.backtests.allow(&client.0, std::time::Instant::now()) {
        super::guard::refused(&state.refusals, "backtests");
        return Err(ApiError::TooManyRequests {
            message: format!(
                "too many replays started in the last minute; try again in {} s",
                wait.as_secs().max(1)
            ),
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    let proposal = crate::plans::backtest::propose(
        editor,
        &namespace,
        &name,
        &request.time_zone,
        crate::clock::unix_ms(),
    )
    .await?;
    Ok(Json(proposal))
}

/// Every cluster's plan windows over the next days (7 unless `days` says), in start order,
/// in each plan's time zone: what the fleet will run, and what waits for approval.
#[utoipa::path(get, path = "/api/v1/calendar", tag = "plans", params(CalendarParams),
    responses((status = 200, body = Vec<domain::plan::CalendarWindow>), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn calendar(
    axum::extract::State(state): axum::extract::State<ServerState>,
    params: Params<CalendarParams>,
) -> Result<Json<Vec<domain::plan::CalendarWindow>>, ApiError> {
    let axum::extract::Query(p) = params?;
    let days = p.days.unwrap_or(7);
    if !(1..=31).contains(&days) {
        return Err(ApiError::BadRequest(format!("days must be from 1 to 31, got {days}")));
    }
    let now = (state.plan_clock)();
    Ok(Json(plans_of(&state)?.calendar(now, now + days * 86_400_000).await?))
}

/// Replays a schedule for the Deployment's HPA over every recorded week, before anyone drafts
/// it (a draft stores its own): per week and per window, overloaded minutes and minutes above
/// target with and without, extra replica- and core-hours. Checked as a draft is; nothing is
/// stored.
#[utoipa::path(post, path = "/api/v1/workloads/{namespace}/{name}/plans/backtest", tag = "plans",
    params(WorkloadPath),
    request_body(content = domain::plan::PlanRequest, example = json!({
        "schedule": { "timeZone": "UTC", "windows": [{ "repeat": { "every": "day" }, "start": "17:55", "end": "21:45",
                      "level": { "minReplicas": 4 } }] },
        "reason": "CHG-2041 evening peak"
    })),
    responses(
        (status = 200, body = domain::plan::Backtest),
        (status = 404, description = "Unknown workload, or nothing recorded yet", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "Each field at fault named, or no HPA", body = ErrorBody),
        (status = 429, description = "Too many replays started by this client in the last minute", body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn backtest(
    super::scope::InCluster(state): super::scope::InCluster,
    Extension(client): Extension<super::identify::ClientKey>,
    Path(WorkloadPath { namespace, name }): Path<WorkloadPath>,
    params: Params<NoParams>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<domain::plan::Backtest>, ApiError> {
    params?;
    let editor = editor_of(&state)?;
    let request: PlanRequest = read(&headers, &body)?;
    replays_allowed(&state, &client)?;
    let now = crate::clock::unix_ms();
    Ok(Json(crate::plans::backtest::of_request(editor, &namespace, &name, request, now).await?))
}

/// A replay counts against the client's backtests a minute.
fn replays_allowed(state: &ServerState, client: &super::identify::ClientKey) -> Result<(), ApiError> {
    match state.backtests.allow(&client.0, std::time::Instant::now()) {
        Ok(()) => Ok(()),
        Err(wait) => {
            super::guard::refused(&state.refusals, "backtests");
            Err(ApiError::TooManyRequests {
                message: format!(
                    "too many replays started in the last minute; try again in {} s",
                    wait.as_secs().max(1)
                ),
                retry_after_secs: wait.as_secs().max(1),
            })
        }
    }
}
