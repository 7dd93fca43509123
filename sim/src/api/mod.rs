//! The Kubernetes HTTP API in front of the simulated cluster.
//!
//! One fallback handler parses every path the way the real API server lays them out
//! (`/api/v1/...`, `/apis/GROUP/VERSION/...`, `namespaces/NS/RESOURCE/NAME/SUBRESOURCE`),
//! authenticates, authorises with RBAC, and dispatches to the verb.

mod discovery;
mod metrics;
mod patch;
mod rest;
mod reviews;
mod table;
mod watch;

use std::collections::HashMap;

use axum::{
    Router,
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, Method, Uri},
    response::{IntoResponse, Response},
};

use crate::{
    auth::{self, Attributes, User},
    cluster::Cluster,
    resources::{self, ResourceType},
    status::ApiError,
};

/// The router serving the whole API.
pub fn router(cluster: Cluster) -> Router {
    Router::new().fallback(handle).with_state(cluster)
}

/// A request, parsed.
pub(crate) struct Request {
    pub method: Method,
    pub headers: HeaderMap,
    pub query: HashMap<String, String>,
    pub body: Bytes,
    pub user: User,
    /// The cluster's RBAC, which authorises it.
    pub rbac: auth::Rbac,
}

impl Request {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// Who the write's fields are recorded for ([`crate::managed_fields::manager`]).
    pub fn field_manager(&self) -> Result<String, ApiError> {
        let agent = self.headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok());
        crate::managed_fields::manager(self.param("fieldManager"), agent)
    }

    /// Whether `dryRun=All` was asked for (any other value is refused).
    pub fn dry_run(&self) -> Result<bool, ApiError> {
        match self.param("dryRun") {
            None => Ok(false),
            Some("All") => Ok(true),
            Some(other) => {
                Err(ApiError::bad_request(format!("Invalid dry run value: {other} (supported: All)")))
            }
        }
    }
}

/// What a resource path addresses.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ResourcePath {
    pub rt: &'static ResourceType,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

async fn handle(
    State(cluster): State<Cluster>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_end_matches('/').to_string();
    let query = Query::<HashMap<String, String>>::try_from_uri(&uri).map(|q| q.0).unwrap_or_default();

    // Discovery is open to any authenticated caller, as `system:discovery` allows.
    let rbac = cluster.rbac();
    let user = match auth::identify_in(rbac, &headers) {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if let Some(refused) = play_fault(&cluster, &method, &segments).await {
        return refused;
    }
    let writes = matches!(method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    let request = Request { method, headers, query, body, user, rbac };
    let response = match route(&cluster, &segments, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    };
    let delay = cluster.write_delay();
    if writes && !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    response
}

/// What the fault switch makes of a request: a hang until the fault is cleared, an error
/// status for a read of resources or of metrics, or nothing (served as usual).
async fn play_fault(cluster: &Cluster, method: &Method, segments: &[&str]) -> Option<Response> {
    use crate::faults::Fault;
    let faults = cluster.faults();
    let metrics = matches!(segments, ["apis", "metrics.k8s.io" | "custom.metrics.k8s.io", ..]);
    // `/api/v1/RESOURCE…` or `/apis/GROUP/VERSION/RESOURCE…`; shorter paths are discovery.
    let resource_path = match segments.first() {
        Some(&"api") => segments.len() >= 3,
        Some(&"apis") => segments.len() >= 4,
        _ => false,
    };
    let resource_read = *method == Method::GET && resource_path && !metrics;
    if resource_read {
        faults.count_resource_read();
    }
    faults.pass(|f| *f == Fault::Hang).await;
    let refusal = match faults.current()? {
        Fault::Status { code, retry_after_secs } if resource_read => (code, retry_after_secs),
        Fault::MetricsGone if metrics => (503, None),
        _ => return None,
    };
    let reason = match refusal.0 {
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        _ => "Unknown",
    };
    let message = "fault injected by the simulator".to_string();
    let mut response = ApiError { code: refusal.0, reason, message, details: None }.into_response();
    if let Some(secs) = refusal.1 {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
    }
    Some(response)
}

async fn route(cluster: &Cluster, segments: &[&str], request: Request) -> Result<Response, ApiError> {
    let get = request.method == Method::GET;
    match segments {
        ["version"] if get => Ok(discovery::version()),
        ["api"] if get => Ok(discovery::core_versions()),
        ["apis"] if get => Ok(discovery::groups()),
        ["api", "v1"] if get => discovery::resources("", "v1"),
        ["apis", group, version] if get => discovery::resources(group, version),
        ["apis", "authorization.k8s.io", "v1", kind] => reviews::access_review(kind, &request),
        ["apis", "authentication.k8s.io", "v1", "tokenreviews"] => reviews::token_review(&request),
        ["apis", "custom.metrics.k8s.io", "v1beta1", rest @ ..] => metrics::custom(cluster, rest, &request),
        ["api", "v1", rest @ ..] => dispatch(cluster, "", "v1", rest, request).await,
        ["apis", group, version, rest @ ..] => dispatch(cluster, group, version, rest, request).await,
        _ => Err(ApiError::path_not_found(&format!("/{}", segments.join("/")))),
    }
}

/// Splits `[namespaces/NS/]RESOURCE[/NAME[/SUB]]` for a group/version.
pub(crate) fn parse_resource_path(
    group: &str,
    version: &str,
    rest: &[&str],
) -> Result<ResourcePath, ApiError> {
    let not_found = || ApiError::path_not_found(&format!("{group}/{version}/{}", rest.join("/")));
    let (namespace, rest) = match rest {
        ["namespaces", ns, resource, tail @ ..]
            if resources::find(group, version, resource).is_some_and(|r| r.namespaced) =>
        {
            (Some(ns.to_string()), [&[*resource][..], tail].concat())
        }
        _ => (None, rest.to_vec()),
    };
    let (plural, name, sub) = match rest.as_slice() {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(name.to_string()), None),
        [plural, name, sub] => (*plural, Some(name.to_string()), Some(sub.to_string())),
        _ => return Err(not_found()),
    };
    let rt = resources::find(group, version, plural).ok_or_else(not_found)?;
    if let Some(s) = &sub
        && !rt.subresources.contains(&s.as_str())
    {
        return Err(not_found());
    }
    if !rt.namespaced && namespace.is_some() {
        return Err(not_found());
    }
    if rt.namespaced && namespace.is_none() && name.is_some() {
        return Err(not_found());
    }
    Ok(ResourcePath { rt, namespace, name, subresource: sub })
}

async fn dispatch(
    cluster: &Cluster,
    group: &str,
    version: &str,
    rest: &[&str],
    request: Request,
) -> Result<Response, ApiError> {
    let path = parse_resource_path(group, version, rest)?;
    let watching = matches!(request.param("watch"), Some("true" | "1"));
    let verb = match (&request.method, path.name.is_some()) {
        (&Method::GET, false) if watching => "watch",
        (&Method::GET, false) => "list",
        (&Method::GET, true) => "get",
        (&Method::POST, false) => "create",
        (&Method::PUT, true) => "update",
        (&Method::PATCH, true) => "patch",
        (&Method::DELETE, true) => "delete",
        (m, _) => return Err(ApiError::method_not_allowed(m.as_str())),
    };
    let subresource_read = verb == "get" && path.subresource.is_some();
    if !(path.rt.verbs.contains(&verb) || subresource_read) {
        return Err(ApiError::method_not_allowed(verb));
    }
    let resource = match &path.subresource {
        Some(sub) => format!("{}/{sub}", path.rt.plural),
        None => path.rt.plural.to_string(),
    };
    let attrs = Attributes {
        verb,
        group: path.rt.group,
        resource: &resource,
        namespace: path.namespace.as_deref(),
        name: path.name.as_deref(),
    };
    if !request.rbac.allows(&request.user, &attrs) {
        return Err(ApiError::forbidden(
            &request.user.name,
            verb,
            &resource,
            path.rt.group,
            path.namespace.as_deref(),
        ));
    }

    if path.rt.group == "metrics.k8s.io" {
        return metrics::resource_metrics(cluster, &path, &request);
    }
    match verb {
        "watch" => watch::watch(cluster, &path, &request),
        "list" => rest::list(cluster, &path, &request),
        "get" => rest::get(cluster, &path, &request),
        "create" => rest::create(cluster, &path, &request),
        "update" => rest::update(cluster, &path, &request),
        "patch" => rest::patch(cluster, &path, &request),
        "delete" => rest::delete(cluster, &path, &request),
        _ => Err(ApiError::method_not_allowed(verb)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_paths_parse_like_the_api_server() {
        let p =
            parse_resource_path("apps", "v1", &["namespaces", "payments", "deployments", "ledger", "scale"])
                .unwrap();
        assert_eq!(p.rt.kind, "Deployment");
        assert_eq!(p.namespace.as_deref(), Some("payments"));
        assert_eq!(p.name.as_deref(), Some("ledger"));
        assert_eq!(p.subresource.as_deref(), Some("scale"));

        let all = parse_resource_path("", "v1", &["pods"]).unwrap();
        assert_eq!((all.rt.kind, all.namespace), ("Pod", None));

        let ns = parse_resource_path("", "v1", &["namespaces", "payments"]).unwrap();
        assert_eq!((ns.rt.kind, ns.name.as_deref()), ("Namespace", Some("payments")));

        assert_eq!(parse_resource_path("apps", "v1", &["deployments", "x"]).unwrap_err().code, 404);
        assert_eq!(parse_resource_path("", "v1", &["secrets"]).unwrap_err().code, 404);
        assert_eq!(
            parse_resource_path("", "v1", &["namespaces", "a", "pods", "p", "exec"]).unwrap_err().code,
            404
        );
    }
}
