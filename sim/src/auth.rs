//! Who is calling (bearer tokens, impersonation) and what they may do (a small RBAC table).
//!
//! The identities mirror a real payment platform's: cluster admins, the dashboard's read-only
//! service account (which may impersonate, so edits run as the person asking), and demo
//! users: a viewer, an operator of the payment namespaces, and an admin.

use axum::http::HeaderMap;

use crate::status::ApiError;

/// An authenticated identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
}

/// A bearer token and whom it stands for.
#[derive(Clone, Debug)]
pub struct Token {
    pub token: &'static str,
    pub user: &'static str,
    pub groups: &'static [&'static str],
}

/// The tokens this cluster accepts.
pub const TOKENS: &[Token] = &[
    Token { token: "paydeck-sim-admin", user: "kubernetes-admin", groups: &["system:masters"] },
    Token {
        token: "paydeck-sim-dashboard",
        user: "system:serviceaccount:paydeck:paydeck",
        groups: &["system:serviceaccounts", "system:serviceaccounts:paydeck"],
    },
    Token { token: "paydeck-sim-viewer", user: "viewer", groups: &["payments:viewers"] },
    Token { token: "paydeck-sim-operator", user: "operator", groups: &["payments:operators"] },
    Token { token: "paydeck-sim-platform-admin", user: "admin", groups: &["payments:admins"] },
];

/// The admin token, written into kubeconfigs for `kubectl`.
pub const ADMIN_TOKEN: &str = "paydeck-sim-admin";
/// The dashboard's service-account token.
pub const DASHBOARD_TOKEN: &str = "paydeck-sim-dashboard";

/// Who an RBAC rule applies to.
#[derive(Clone, Copy, Debug)]
pub enum Subject {
    User(&'static str),
    Group(&'static str),
}

/// One RBAC rule: subjects may use verbs on `group/resource` (subresources as
/// `resource/sub`) in the listed namespaces (`None`: everywhere). `*` matches anything.
#[derive(Clone, Debug)]
pub struct Rule {
    pub subjects: &'static [Subject],
    pub verbs: &'static [&'static str],
    pub resources: &'static [(&'static str, &'static str)],
    pub namespaces: Option<&'static [&'static str]>,
}

const READ: &[&str] = &["get", "list", "watch"];
const EDIT: &[&str] = &["get", "list", "watch", "patch", "update"];

/// Everything readable except Secrets (which this cluster does not serve anyway).
const READABLE: &[(&str, &str)] = &[
    ("", "namespaces"),
    ("", "nodes"),
    ("", "pods"),
    ("", "services"),
    ("", "events"),
    ("apps", "deployments"),
    ("apps", "deployments/scale"),
    ("discovery.k8s.io", "endpointslices"),
    ("networking.k8s.io", "ingresses"),
    ("autoscaling", "horizontalpodautoscalers"),
    ("policy", "poddisruptionbudgets"),
    ("metrics.k8s.io", "pods"),
    ("metrics.k8s.io", "nodes"),
    ("custom.metrics.k8s.io", "*"),
];

const SCALING: &[(&str, &str)] =
    &[("apps", "deployments"), ("apps", "deployments/scale"), ("autoscaling", "horizontalpodautoscalers")];

/// The namespaces operators may change.
pub const OPERATOR_NAMESPACES: &[&str] = &["payments-edge", "payments-core"];

pub const RULES: &[Rule] = &[
    Rule {
        subjects: &[Subject::Group("system:masters")],
        verbs: &["*"],
        resources: &[("*", "*")],
        namespaces: None,
    },
    // The dashboard's service account: exactly what k8s/base grants it (ClusterRole
    // paydeck-read), so every test that syncs through it proves that role is enough. It
    // lists and watches what it shows and may act as the person using it.
    Rule {
        subjects: &[Subject::User("system:serviceaccount:paydeck:paydeck")],
        verbs: &["list", "watch"],
        resources: &[
            ("apps", "deployments"),
            ("autoscaling", "horizontalpodautoscalers"),
            ("", "pods"),
            ("", "nodes"),
            ("", "services"),
            ("discovery.k8s.io", "endpointslices"),
            ("policy", "poddisruptionbudgets"),
        ],
        namespaces: None,
    },
    Rule {
        subjects: &[Subject::User("system:serviceaccount:paydeck:paydeck")],
        verbs: &["list"],
        resources: &[("metrics.k8s.io", "pods"), ("metrics.k8s.io", "nodes")],
        namespaces: None,
    },
    Rule {
        subjects: &[Subject::User("system:serviceaccount:paydeck:paydeck")],
        verbs: &["get"],
        resources: &[("custom.metrics.k8s.io", "pods/http_requests_per_second")],
        namespaces: None,
    },
    Rule {
        subjects: &[Subject::User("system:serviceaccount:paydeck:paydeck")],
        verbs: &["impersonate"],
        resources: &[("", "users"), ("", "groups")],
        namespaces: None,
    },
    Rule {
        subjects: &[Subject::User("system:serviceaccount:paydeck:paydeck")],
        verbs: &["create"],
        resources: &[
            ("authentication.k8s.io", "tokenreviews"),
            ("authorization.k8s.io", "subjectaccessreviews"),
        ],
        namespaces: None,
    },
    Rule {
        subjects: &[
            Subject::Group("payments:viewers"),
            Subject::Group("payments:operators"),
            Subject::Group("payments:admins"),
        ],
        verbs: READ,
        resources: READABLE,
        namespaces: None,
    },
    Rule {
        subjects: &[Subject::Group("payments:operators")],
        verbs: EDIT,
        resources: SCALING,
        namespaces: Some(OPERATOR_NAMESPACES),
    },
    Rule {
        subjects: &[Subject::Group("payments:admins")],
        verbs: EDIT,
        resources: SCALING,
        namespaces: None,
    },
    // Everyone may ask what they themselves may do.
    Rule {
        subjects: &[Subject::Group("system:authenticated")],
        verbs: &["create"],
        resources: &[("authorization.k8s.io", "selfsubjectaccessreviews")],
        namespaces: None,
    },
];

/// What a request asks to do, in RBAC terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attributes<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    /// `resource` or `resource/subresource`.
    pub resource: &'a str,
    pub namespace: Option<&'a str>,
}

/// Whether `user` may do what `attrs` describe.
pub fn allowed(user: &User, attrs: &Attributes) -> bool {
    let is_subject = |s: &Subject| match s {
        Subject::User(u) => *u == user.name,
        Subject::Group(g) => user.groups.iter().any(|ug| ug == g),
    };
    RULES.iter().any(|rule| {
        rule.subjects.iter().any(is_subject)
            && rule.verbs.iter().any(|v| *v == "*" || *v == attrs.verb)
            && rule.resources.iter().any(|(g, r)| {
                (*g == "*" || *g == attrs.group)
                    && (*r == "*"
                        || *r == attrs.resource
                        || r.strip_suffix("/*").is_some_and(|base| attrs.resource.starts_with(base)))
            })
            && match (rule.namespaces, attrs.namespace) {
                (None, _) => true,
                (Some(allowed), Some(ns)) => allowed.contains(&ns),
                (Some(_), None) => false,
            }
    })
}

/// The user a bearer token stands for.
pub fn user_for_token(token: &str) -> Option<User> {
    TOKENS.iter().find(|t| t.token == token).map(|t| {
        let mut groups: Vec<String> = t.groups.iter().map(|g| g.to_string()).collect();
        groups.push("system:authenticated".into());
        User { name: t.user.to_string(), groups }
    })
}

/// Authenticates a request and applies impersonation: the identity the request acts as.
pub fn identify(headers: &HeaderMap) -> Result<User, ApiError> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(ApiError::unauthorized)?;
    let caller = user_for_token(token.trim()).ok_or_else(ApiError::unauthorized)?;

    let Some(as_user) = headers.get("impersonate-user").and_then(|v| v.to_str().ok()) else {
        if headers.contains_key("impersonate-group") {
            return Err(ApiError::bad_request(
                "requested impersonation of groups without impersonating a user",
            ));
        }
        return Ok(caller);
    };
    let as_groups: Vec<String> = headers
        .get_all("impersonate-group")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect();

    let may = |resource: &'static str| {
        allowed(&caller, &Attributes { verb: "impersonate", group: "", resource, namespace: None })
    };
    if !may("users") {
        return Err(ApiError::forbidden(&caller.name, "impersonate", "users", "", None));
    }
    if !as_groups.is_empty() && !may("groups") {
        return Err(ApiError::forbidden(&caller.name, "impersonate", "groups", "", None));
    }
    let mut groups = as_groups;
    groups.push("system:authenticated".into());
    Ok(User { name: as_user.to_string(), groups })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn attrs<'a>(
        verb: &'a str,
        group: &'a str,
        resource: &'a str,
        namespace: Option<&'a str>,
    ) -> Attributes<'a> {
        Attributes { verb, group, resource, namespace }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn operators_scale_only_in_their_namespaces_and_viewers_only_read() {
        let operator = user_for_token("paydeck-sim-operator").unwrap();
        let viewer = user_for_token("paydeck-sim-viewer").unwrap();
        let patch_hpa = |ns| attrs("patch", "autoscaling", "horizontalpodautoscalers", Some(ns));
        assert!(allowed(&operator, &patch_hpa("payments-core")));
        assert!(!allowed(&operator, &patch_hpa("payments-batch")));
        assert!(!allowed(&viewer, &patch_hpa("payments-core")));
        assert!(allowed(&viewer, &attrs("list", "apps", "deployments", None)));
        assert!(allowed(&operator, &attrs("patch", "apps", "deployments/scale", Some("payments-edge"))));
    }

    #[test]
    fn the_dashboard_reads_but_does_not_write() {
        let sa = user_for_token(DASHBOARD_TOKEN).unwrap();
        assert!(allowed(&sa, &attrs("watch", "", "pods", None)));
        assert!(!allowed(&sa, &attrs("patch", "apps", "deployments", Some("payments-core"))));
        assert!(!allowed(&sa, &attrs("get", "", "secrets", Some("payments-core"))));
    }

    #[test]
    fn the_dashboard_may_impersonate_and_the_result_is_the_impersonated_user() {
        let h = headers(&[
            ("authorization", "Bearer paydeck-sim-dashboard"),
            ("impersonate-user", "operator"),
            ("impersonate-group", "payments:operators"),
        ]);
        let user = identify(&h).unwrap();
        assert_eq!(user.name, "operator");
        assert!(user.groups.contains(&"payments:operators".to_string()));
    }

    #[test]
    fn a_viewer_may_not_impersonate() {
        let h = headers(&[("authorization", "Bearer paydeck-sim-viewer"), ("impersonate-user", "admin")]);
        assert_eq!(identify(&h).unwrap_err().code, 403);
    }

    #[test]
    fn unknown_or_missing_tokens_are_unauthorised() {
        assert_eq!(identify(&headers(&[])).unwrap_err().code, 401);
        assert_eq!(identify(&headers(&[("authorization", "Bearer nope")])).unwrap_err().code, 401);
    }
}
