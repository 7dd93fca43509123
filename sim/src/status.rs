//! Kubernetes-shaped errors: a `Status` object with the HTTP code, reason and causes.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

/// An API error, rendered as a `meta.k8s.io/v1 Status`.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

/// One field problem of a `422 Invalid`.
#[derive(Clone, Debug, PartialEq)]
pub struct Cause {
    pub field: String,
    pub message: String,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError { code, reason, message: message.into(), details: None }
    }

    pub fn not_found(kind_plural: &str, name: &str) -> Self {
        Self::new(404, "NotFound", format!("{kind_plural} \"{name}\" not found"))
            .with_details(json!({ "name": name, "kind": kind_plural }))
    }

    pub fn path_not_found(path: &str) -> Self {
        Self::new(404, "NotFound", format!("the server could not find the requested resource ({path})"))
    }

    pub fn already_exists(kind_plural: &str, name: &str) -> Self {
        Self::new(409, "AlreadyExists", format!("{kind_plural} \"{name}\" already exists"))
            .with_details(json!({ "name": name, "kind": kind_plural }))
    }

    pub fn conflict(kind_plural: &str, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {kind_plural} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again"
            ),
        )
        .with_details(json!({ "name": name, "kind": kind_plural }))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn forbidden(user: &str, verb: &str, resource: &str, group: &str, namespace: Option<&str>) -> Self {
        Self::forbidden_on(resource, user, verb, resource, group, namespace)
    }

    /// Forbidden on a named object: `users "mallory" is forbidden: User "…" cannot …`.
    pub fn forbidden_named(
        user: &str,
        verb: &str,
        resource: &str,
        name: &str,
        group: &str,
        namespace: Option<&str>,
    ) -> Self {
        Self::forbidden_on(&format!("{resource} \"{name}\""), user, verb, resource, group, namespace)
    }

    fn forbidden_on(
        what: &str,
        user: &str,
        verb: &str,
        resource: &str,
        group: &str,
        namespace: Option<&str>,
    ) -> Self {
        let scope = match namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        let group = if group.is_empty() { "\"\"".to_string() } else { format!("\"{group}\"") };
        Self::new(
            403,
            "Forbidden",
            format!(
                "{what} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group {group} {scope}"
            ),
        )
    }

    pub fn method_not_allowed(verb: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({verb})"),
        )
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {content_type})"
            ),
        )
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn invalid(kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let summary: Vec<String> = causes.iter().map(|c| format!("{}: {}", c.field, c.message)).collect();
        let cause_json: Vec<Value> = causes
            .iter()
            .map(|c| json!({ "reason": "FieldValueInvalid", "message": c.message, "field": c.field }))
            .collect();
        let qualified = match group_of(kind) {
            "" => kind.to_string(),
            group => format!("{kind}.{group}"),
        };
        Self::new(422, "Invalid", format!("{qualified} \"{name}\" is invalid: {}", summary.join(", ")))
            .with_details(json!({ "name": name, "kind": kind, "causes": cause_json }))
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

/// The group suffix Kubernetes puts after a kind in `Invalid` messages.
fn group_of(kind: &str) -> &'static str {
    match kind {
        "Deployment" => "apps",
        "HorizontalPodAutoscaler" => "autoscaling",
        "PodDisruptionBudget" => "policy",
        "Ingress" => "networking.k8s.io",
        "Lease" => "coordination.k8s.io",
        _ => "",
    }
}

impl Cause {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Cause { field: field.into(), message: message.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, Json(self.to_status())).into_response()
    }
}
