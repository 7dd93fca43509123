//! SelfSubjectAccessReview, SubjectAccessReview and TokenReview, answered from the same
//! tokens and RBAC table that guard every other request.

use axum::{
    Json,
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::Request;
use crate::{
    auth::{self, Attributes, User},
    status::ApiError,
};

fn body(request: &Request) -> Result<Value, ApiError> {
    if request.method != Method::POST {
        return Err(ApiError::method_not_allowed(request.method.as_str()));
    }
    serde_json::from_slice(&request.body)
        .map_err(|e| ApiError::bad_request(format!("error decoding request body: {e}")))
}

fn may_create(request: &Request, group: &str, resource: &str) -> Result<(), ApiError> {
    let (user, attrs) =
        (&request.user, Attributes { verb: "create", group, resource, ..Attributes::default() });
    if request.rbac.allows(user, &attrs) {
        Ok(())
    } else {
        Err(ApiError::forbidden(&user.name, "create", resource, group, None))
    }
}

/// Answers whether a user (the caller, or the one named) may do what `spec` describes.
pub fn access_review(kind: &str, request: &Request) -> Result<Response, ApiError> {
    let (resource, review_kind) = match kind {
        "selfsubjectaccessreviews" => ("selfsubjectaccessreviews", "SelfSubjectAccessReview"),
        "subjectaccessreviews" => ("subjectaccessreviews", "SubjectAccessReview"),
        other => return Err(ApiError::path_not_found(&format!("authorization.k8s.io/v1/{other}"))),
    };
    let mut review = body(request)?;
    may_create(request, "authorization.k8s.io", resource)?;
    let subject = if review_kind == "SubjectAccessReview" {
        let mut groups: Vec<String> = review["spec"]["groups"]
            .as_array()
            .map(|g| g.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        groups.push("system:authenticated".into());
        User { name: review["spec"]["user"].as_str().unwrap_or_default().to_string(), groups }
    } else {
        request.user.clone()
    };
    let attrs = &review["spec"]["resourceAttributes"];
    let resource_name = match attrs["subresource"].as_str().filter(|s| !s.is_empty()) {
        Some(sub) => format!("{}/{sub}", attrs["resource"].as_str().unwrap_or_default()),
        None => attrs["resource"].as_str().unwrap_or_default().to_string(),
    };
    let verb = attrs["verb"].as_str().unwrap_or_default();
    let group = attrs["group"].as_str().unwrap_or_default();
    let namespace = attrs["namespace"].as_str().filter(|n| !n.is_empty());
    let name = attrs["name"].as_str().filter(|n| !n.is_empty());
    let allowed =
        request.rbac.allows(&subject, &Attributes { verb, group, resource: &resource_name, namespace, name });
    review["kind"] = json!(review_kind);
    review["apiVersion"] = json!("authorization.k8s.io/v1");
    review["status"] = if allowed {
        json!({ "allowed": true, "reason": format!("RBAC: allowed by the simulator's role for {}", subject.name) })
    } else {
        json!({ "allowed": false })
    };
    Ok((StatusCode::CREATED, Json(review)).into_response())
}

/// Whose token it is, for the audiences asked about (the API server's when none are): a
/// token is valid only for an audience it was issued for, and the answer names the audiences
/// that matched, as a real API server does.
pub fn token_review(request: &Request) -> Result<Response, ApiError> {
    let mut review = body(request)?;
    may_create(request, "authentication.k8s.io", "tokenreviews")?;
    let token = review["spec"]["token"].as_str().unwrap_or_default().to_string();
    let asked: Vec<String> = match review["spec"]["audiences"].as_array() {
        Some(list) if !list.is_empty() => {
            list.iter().filter_map(|a| a.as_str().map(str::to_string)).collect()
        }
        _ => vec![auth::API_AUDIENCE.to_string()],
    };
    review["kind"] = json!("TokenReview");
    review["apiVersion"] = json!("authentication.k8s.io/v1");
    review["status"] = match auth::token(&token) {
        Some((user, audiences)) => {
            let matched: Vec<&String> = asked.iter().filter(|a| audiences.contains(&a.as_str())).collect();
            if matched.is_empty() {
                json!({ "authenticated": false, "error": "token audiences do not match the requested audiences" })
            } else {
                json!({
                    "authenticated": true,
                    "user": { "username": user.name, "groups": user.groups },
                    "audiences": matched,
                })
            }
        }
        None => json!({ "authenticated": false, "error": "invalid bearer token" }),
    };
    Ok((StatusCode::CREATED, Json(review)).into_response())
}
