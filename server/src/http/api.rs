//! The versioned JSON API (`/api/v1/...`): the same figures the pages show, for automation.
//! Every handler carries its OpenAPI description (`#[utoipa::path]`), and the routes are
//! added through [`ApiRoutes`], which remembers them, so a test can hold the document and the
//! router to each other.

use axum::{
    Json, Router,
    extract::{Path, Query},
    http::Method,
    routing::{MethodRouter, any, get, post},
};
use utoipa::IntoParams;

use super::{ServerState, error::ApiError, openapi::ErrorBody};
use crate::{cluster::snapshot::WorkloadQuery, history::query};

/// `?namespace=` of the overview.
#[derive(Debug, serde::Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OverviewParams {
    /// Narrow the workload figures to this namespace (nodes stay cluster-wide).
    #[param(example = "payments-core")]
    namespace: Option<String>,
}

/// An operation's query parameters: an unknown one is refused (400) by every operation.
pub type Params<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

/// The query of an operation that takes none: any parameter is refused, as an unknown one is
/// everywhere (a `?dryRun=true` on an edit must not be ignored and the change applied).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// Cluster totals, what needs attention, the namespaces, the connection state.
#[utoipa::path(get, path = "/api/v1/overview", tag = "cluster", params(OverviewParams),
    responses((status = 200, body = app::dto::Overview), (status = 400, body = ErrorBody)))]
pub async fn overview(
    super::scope::InCluster(state): super::scope::InCluster,
    params: Params<OverviewParams>,
) -> Result<Json<app::dto::Overview>, ApiError> {
    let Query(p) = params?;
    Ok(Json(state.cluster.current().overview(p.namespace.as_deref())))
}

/// Deployments with replicas, HPA, requests/limits/usage, request rate and load per replica.
#[utoipa::path(get, path = "/api/v1/workloads", tag = "cluster", params(WorkloadQuery),
    responses((status = 200, body = app::dto::WorkloadPage), (status = 400, body = ErrorBody)))]
pub async fn workloads(
    super::scope::InCluster(state): super::scope::InCluster,
    query: Params<WorkloadQuery>,
) -> Result<Json<app::dto::WorkloadPage>, ApiError> {
    let Query(query) = query?;
    Ok(Json(state.cluster.current().query(&query)?))
}

/// One Deployment in full.
#[utoipa::path(get, path = "/api/v1/workloads/{namespace}/{name}", tag = "cluster", params(WorkloadPath),
    responses((status = 200, body = app::dto::Workload), (status = 404, body = ErrorBody)))]
pub async fn workload(
    super::scope::InCluster(state): super::scope::InCluster,
    Path(WorkloadPath { namespace, name }): Path<WorkloadPath>,
    params: Params<NoParams>,
) -> Result<Json<app::dto::Workload>, ApiError> {
    params?;
    match state.cluster.current().workload(&namespace, &name) {
        Some(w) => Ok(Json(w.clone())),
        None => Err(ApiError::NotFound(format!("no Deployment {namespace}/{name} is known to Paydeck"))),
    }
}

/// A workload's place: `/workloads/{namespace}/{name}`.
#[derive(Debug, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WorkloadPath {
    /// The namespace.
    #[param(example = "payments-core")]
    pub namespace: String,
    /// The Deployment's name.
    #[param(example = "ledger")]
    pub name: String,
}

/// `?from=&to=&points=` of a history query (Unix milliseconds).
#[derive(Debug, serde::Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Start, Unix ms (default: an hour before `to`).
    #[param(example = 1_764_201_600_000_i64, minimum = 0, maximum = 253_402_300_799_999_i64)]
    from: Option<i64>,
    /// End, Unix ms (default: now).
    #[param(example = 1_764_205_200_000_i64, minimum = 0, maximum = 253_402_300_799_999_i64)]
    to: Option<i64>,
    /// At most this many buckets (1–2000, default 300).
    #[param(example = 60, minimum = 1, maximum = 2000)]
    points: Option<i64>,
}

/// min/avg/max per bucket from raw samples or rollups, gaps where nothing was recorded,
/// scale, HPA, rollout and edit events.
#[utoipa::path(get, path = "/api/v1/workloads/{namespace}/{name}/history", tag = "history",
    params(WorkloadPath, HistoryParams),
    responses((status = 200, body = app::dto::History), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn history(
    super::scope::InCluster(state): super::scope::InCluster,
    Path(WorkloadPath { namespace, name }): Path<WorkloadPath>,
    params: Params<HistoryParams>,
) -> Result<Json<app::dto::History>, ApiError> {
    let Query(p) = params?;
    let store = state
        .history
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("history is not recorded by this server"))?;
    let interval = state.sample_interval.as_millis() as i64;
    let found = query::lookup(
        store.as_ref(),
        &namespace,
        &name,
        (p.from, p.to, p.points),
        interval,
        crate::clock::unix_ms(),
    )
    .await?;
    found.map(Json).ok_or_else(|| ApiError::NotFound(format!("no history for {namespace}/{name}")))
}

/// Who the server takes the caller for: the user, the groups it would pass on, why it would
/// not act as them (if so), and whether edits are off.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "identity", responses((status = 200, body = app::dto::Viewer)))]
pub async fn whoami(
    axum::Extension(viewer): axum::Extension<app::dto::Viewer>,
    params: Params<NoParams>,
) -> Result<Json<app::dto::Viewer>, ApiError> {
    params?;
    Ok(Json(viewer))
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI 3.1")))]
pub async fn openapi_json(params: Params<NoParams>) -> Result<Json<utoipa::openapi::OpenApi>, ApiError> {
    params?;
    Ok(Json(super::openapi::document()))
}

/// The API's routes, remembered as they are added.
pub struct ApiRoutes {
    router: Router<ServerState>,
    /// `(method, path)` of every route, in the router's path syntax (= OpenAPI's).
    pub registered: Vec<(Method, String)>,
}

impl ApiRoutes {
    fn new() -> Self {
        ApiRoutes { router: Router::new(), registered: Vec::new() }
    }

    fn route(self, method: Method, path: &str, handler: MethodRouter<ServerState>) -> Self {
        self.route_methods(&[method], path, handler)
    }

    /// A path that takes several methods, in one handler (`get(a).put(b)`).
    fn route_methods(mut self, methods: &[Method], path: &str, handler: MethodRouter<ServerState>) -> Self {
        // Another method gets a JSON 405 naming the ones this path takes (axum's own is empty).
        let allowed: Vec<String> = methods
            .iter()
            .map(|m| if *m == Method::GET { "GET, HEAD".to_string() } else { m.to_string() })
            .collect();
        let allow = allowed.join(", ");
        let named = path.to_string();
        let handler = handler.fallback(move || async move { method_not_allowed(&named, &allow) });
        for method in methods {
            self.registered.push((method.clone(), path.to_string()));
        }
        self.router = self.router.route(path, handler);
        self
    }

    /// A resource of a cluster, `/api/v1{path}`: the primary's at that path, and every
    /// cluster's under `/api/v1/clusters/{cluster}{path}` (the handler takes
    /// [`super::scope::InCluster`]).
    fn per_cluster(self, method: Method, path: &str, handler: MethodRouter<ServerState>) -> Self {
        self.per_cluster_methods(&[method], path, handler)
    }

    /// [`Self::per_cluster`] for a path that takes several methods.
    fn per_cluster_methods(self, methods: &[Method], path: &str, handler: MethodRouter<ServerState>) -> Self {
        self.route_methods(methods, &format!("{API}{path}"), handler.clone()).route_methods(
            methods,
            &format!("{CLUSTER}{path}"),
            handler,
        )
    }

    pub fn into_router(self) -> Router<ServerState> {
        self.router.route("/api/{*rest}", any(|| async { ApiError::NotFound("no such API endpoint".into()) }))
    }
}

fn method_not_allowed(path: &str, allow: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response =
        super::error::error(axum::http::StatusCode::METHOD_NOT_ALLOWED, format!("{path} takes {allow} only"));
    if let Ok(value) = axum::http::HeaderValue::from_str(allow) {
        response.headers_mut().insert(axum::http::header::ALLOW, value);
    }
    response.into_response()
}

/// Where the API is.
const API: &str = "/api/v1";
/// Where a cluster's resources are.
pub const CLUSTER: &str = "/api/v1/clusters/{cluster}";

/// The resources every cluster has, relative to [`API`] (and to [`CLUSTER`]).
pub const PER_CLUSTER: &[&str] = &[
    "/overview",
    "/workloads",
    "/workloads/{namespace}/{name}",
    "/workloads/{namespace}/{name}/history",
    "/workloads/{namespace}/{name}/scaling",
    "/workloads/{namespace}/{name}/rights",
    "/workloads/{namespace}/{name}/demand",
    "/workloads/{namespace}/{name}/backtest",
    "/audit",
    "/findings",
    "/sizing",
    "/plan",
    "/live",
    "/plans",
    "/plans/{id}",
    "/plans/{id}/{action}",
    "/workloads/{namespace}/{name}/plans",
    "/workloads/{namespace}/{name}/plans/propose",
    "/workloads/{namespace}/{name}/plans/backtest",
];

/// The `/api/v1` routes.
pub fn routes() -> ApiRoutes {
    use super::{live, scaling, whatif};
    ApiRoutes::new()
        .per_cluster(Method::GET, "/overview", get(overview))
        .route(Method::GET, "/api/v1/clusters", get(super::clusters::clusters))
        .route(Method::GET, CLUSTER, get(super::clusters::cluster))
        .route(Method::GET, "/api/v1/whoami", get(whoami))
        .per_cluster(Method::GET, "/workloads", get(workloads))
        .per_cluster(Method::GET, "/workloads/{namespace}/{name}", get(workload))
        .per_cluster(Method::GET, "/workloads/{namespace}/{name}/history", get(history))
        .per_cluster(Method::POST, "/workloads/{namespace}/{name}/scaling", post(scaling::submit))
        .per_cluster(Method::GET, "/workloads/{namespace}/{name}/rights", get(scaling::rights))
        .per_cluster(Method::GET, "/audit", get(scaling::audit))
        .route(Method::GET, "/api/v1/audit/head", get(scaling::head))
        .per_cluster(Method::GET, "/workloads/{namespace}/{name}/demand", get(whatif::demand))
        .per_cluster(Method::POST, "/workloads/{namespace}/{name}/backtest", post(whatif::backtest))
        .per_cluster(Method::GET, "/findings", get(super::findings::findings))
        .per_cluster(Method::GET, "/sizing", get(super::sizing::sizing))
        .per_cluster(Method::GET, "/plan", get(super::planner::plan))
        .per_cluster(Method::GET, "/live", get(live::live))
        .per_cluster(Method::GET, "/plans", get(super::plans::list))
        .per_cluster_methods(
            &[Method::GET, Method::PUT],
            "/plans/{id}",
            get(super::plans::one).put(super::plans::edit),
        )
        .per_cluster(Method::POST, "/plans/{id}/{action}", post(super::plans::act))
        .per_cluster(Method::POST, "/workloads/{namespace}/{name}/plans", post(super::plans::draft))
        .per_cluster(Method::POST, "/workloads/{namespace}/{name}/plans/propose", post(super::plans::propose))
        .per_cluster(
            Method::POST,
            "/workloads/{namespace}/{name}/plans/backtest",
            post(super::plans::backtest),
        )
        .route(Method::GET, "/api/v1/calendar", get(super::plans::calendar))
        .route(Method::GET, "/api/v1/notifications", get(super::notifications::status))
        .route(Method::POST, "/api/v1/notifications/test", post(super::notifications::test))
        .route(Method::GET, "/api/v1/openapi.json", get(openapi_json))
}
