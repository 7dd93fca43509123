//! Who is calling (bearer tokens, impersonation) and what they may do (a small RBAC table).
//!
//! The identities mirror a real payment platform's: cluster admins, the dashboard's read-only
//! service account (which may impersonate, so edits run as the person asking), demo users (a
//! viewer, an operator of the payment namespaces, and an admin) and a CI service account.
//!
//! Tokens carry audiences as projected service-account tokens do: the API server accepts only
//! tokens meant for it, and a TokenReview answers for the audiences it was asked about.

use axum::http::HeaderMap;

use crate::status::ApiError;

/// An authenticated identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
}

/// The audience of tokens meant for this API server (what a real cluster's issuer uses).
pub const API_AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";

/// A bearer token, whom it stands for, and whom it is meant for.
#[derive(Clone, Debug)]
pub struct Token {
    pub token: &'static str,
    pub user: &'static str,
    pub groups: &'static [&'static str],
    pub audiences: &'static [&'static str],
}

const API: &[&str] = &[API_AUDIENCE];
/// Tokens made for Paydeck (`kubectl create token … --audience paydeck`).
const FOR_PAYDECK: &[&str] = &["paydeck"];

/// The CI service account that scales payments-core from a pipeline.
pub const DEPLOYER: &str = "system:serviceaccount:payments-core:deployer";
const SA_GROUPS_CORE: &[&str] = &["system:serviceaccounts", "system:serviceaccounts:payments-core"];

/// The tokens this cluster accepts.
pub const TOKENS: &[Token] = &[
    Token {
        token: "paydeck-sim-admin",
        user: "kubernetes-admin",
        groups: &["system:masters"],
        audiences: API,
    },
    Token {
        token: "paydeck-sim-dashboard",
        user: "system:serviceaccount:paydeck:paydeck",
        groups: &["system:serviceaccounts", "system:serviceaccounts:paydeck"],
        audiences: API,
    },
    Token { token: "paydeck-sim-viewer", user: "viewer", groups: &["payments:viewers"], audiences: API },
    Token {
        token: "paydeck-sim-operator",
        user: "operator",
        groups: &["payments:operators"],
        audiences: API,
    },
    Token {
        token: "paydeck-sim-platform-admin",
        user: "admin",
        groups: &["payments:admins"],
        audiences: API,
    },
    // Tokens for Paydeck's audience: what scripts send to Paydeck's API.
    Token {
        token: "paydeck-audience-viewer",
        user: "viewer",
        groups: &["payments:viewers"],
        audiences: FOR_PAYDECK,
    },
    Token {
        token: "paydeck-audience-operator",
        user: "operator",
        groups: &["payments:operators"],
        audiences: FOR_PAYDECK,
    },
    Token {
        token: "paydeck-audience-deployer",
        user: DEPLOYER,
        groups: SA_GROUPS_CORE,
        audiences: FOR_PAYDECK,
    },
    Token {
        token: "paydeck-audience-batch-runner",
        user: "system:serviceaccount:payments-batch:batch-runner",
        groups: &["system:serviceaccounts", "system:serviceaccounts:payments-batch"],
        audiences: FOR_PAYDECK,
    },
    // A token that claims the cluster-admin group, meant for Paydeck: Paydeck must never act
    // with it (a static token file or a webhook could produce one).
    Token {
        token: "paydeck-audience-masters",
        user: "root",
        groups: &["system:masters"],
        audiences: FOR_PAYDECK,
    },
];

/// The admin token, written into kubeconfigs for `kubectl`.
pub const ADMIN_TOKEN: &str = "paydeck-sim-admin";
/// The dashboard's service-account token.
pub const DASHBOARD_TOKEN: &str = "paydeck-sim-dashboard";

/// The demo users of the simulated cluster and their groups: Paydeck's identity switcher
/// offers them when it runs on this cluster.
pub const DEMO_USERS: [(&str, &str); 3] =
    [("viewer", "payments:viewers"), ("operator", "payments:operators"), ("admin", "payments:admins")];

/// The groups the dashboard may impersonate: k8s/base names them with `resourceNames` (and in
/// `PAYDECK_IMPERSONATE_GROUPS`).
pub const IMPERSONABLE_GROUPS: &[&str] = &["payments:viewers", "payments:operators", "payments:admins"];

/// Who an RBAC rule applies to.
#[derive(Clone, Copy, Debug)]
pub enum Subject {
    User(&'static str),
    Group(&'static str),
}

/// One RBAC rule: subjects may use verbs on `group/resource` (subresources as
/// `resource/sub`) in the listed namespaces (`None`: everywhere), on the named objects only
/// when `names` is set (`resourceNames`). `*` matches anything.
#[derive(Clone, Debug)]
pub struct Rule {
    pub subjects: &'static [Subject],
    pub verbs: &'static [&'static str],
    pub resources: &'static [(&'static str, &'static str)],
    pub namespaces: Option<&'static [&'static str]>,
    pub names: Option<&'static [&'static str]>,
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

/// The namespace Paydeck runs in (k8s/base), where its replicas elect a leader.
pub const PAYDECK_NAMESPACE: &str = "paydeck";
/// The Lease Paydeck's replicas elect their leader with.
pub const LEADER_LEASE: &str = "paydeck-leader";

/// The namespaces operators may change.
pub const OPERATOR_NAMESPACES: &[&str] = &["payments-edge", "payments-core"];

pub const RULES: &[Rule] = &[
    Rule {
        subjects: &[Subject::Group("system:masters")],
        verbs: &["*"],
        resources: &[("*", "*")],
        namespaces: None,
        names: None,
    },
    // The dashboard's service account: exactly what k8s/base grants it (ClusterRoles
    // paydeck-read and paydeck-edits), so every test that syncs through it proves those
    // roles are enough. It lists and watches what it shows and may act as the person using it.
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
        names: None,
    },
    Rule {
        subjects: &[Subject::User("system:serviceaccount:paydeck:paydeck")],
        verbs: &["list"],
        resources: &[("metrics.k8s.io", "pods"), ("metrics.k8s.io", "nodes")],
        namespaces: None,
        names: None,
    },
    Rule {
        subjects: &[Subject::User("system:serviceaccount:paydeck:paydeck")],
        verbs: &["get"],
        resources: &[("custom.metrics.k8s.io", "pods/http_requests_per_second")],
        namespaces: None,
        names: None,
    },
    // People cannot be listed in advance; their groups can.
    Rule {
        subjects: &[Subject::User("system:serviceaccount:paydeck:paydeck")],
        verbs: &["impersonate"],
        resources: &[("", "users")],
        namespaces: None,
        names: None,
    },
    Rule {
        subjects: &[Subject::User("system:serviceaccount:paydeck:paydeck")],
        verbs: &["impersonate"],
        resources: &[("", "groups")],
        namespaces: None,
        names: Some(IMPERSONABLE_GROUPS),
    },
    Rule {
        subjects: &[Subject::User("system:serviceaccount:paydeck:paydeck")],
        verbs: &["create"],
        resources: &[("authentication.k8s.io", "tokenreviews")],
        namespaces: None,
        names: None,
    },
    // Leader election among replicas (k8s/overlays/ha-postgres, Role paydeck-leader): its
    // one Lease in Paydeck's namespace. A create cannot be limited by name (the name is not
    // known to the authoriser before the object exists), so it is limited to the namespace.
    Rule {
        subjects: &[Subject::User("system:serviceaccount:paydeck:paydeck")],
        verbs: &["get", "update"],
        resources: &[("coordination.k8s.io", "leases")],
        namespaces: Some(&[PAYDECK_NAMESPACE]),
        names: Some(&[LEADER_LEASE]),
    },
    Rule {
        subjects: &[Subject::User("system:serviceaccount:paydeck:paydeck")],
        verbs: &["create"],
        resources: &[("coordination.k8s.io", "leases")],
        namespaces: Some(&[PAYDECK_NAMESPACE]),
        names: None,
    },
    // The optional Role docs/security.md describes for a CI service account that scales through
    // Paydeck: impersonating exactly that account, in its namespace.
    Rule {
        subjects: &[Subject::User("system:serviceaccount:paydeck:paydeck")],
        verbs: &["impersonate"],
        resources: &[("", "serviceaccounts")],
        namespaces: Some(&["payments-core"]),
        names: Some(&["deployer"]),
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
        names: None,
    },
    Rule {
        subjects: &[Subject::Group("payments:operators")],
        verbs: EDIT,
        resources: SCALING,
        namespaces: Some(OPERATOR_NAMESPACES),
        names: None,
    },
    Rule {
        subjects: &[Subject::User(DEPLOYER)],
        verbs: EDIT,
        resources: SCALING,
        namespaces: Some(&["payments-core"]),
        names: None,
    },
    Rule {
        subjects: &[Subject::Group("payments:admins")],
        verbs: EDIT,
        resources: SCALING,
        namespaces: None,
        names: None,
    },
    // Everyone may ask what they themselves may do.
    Rule {
        subjects: &[Subject::Group("system:authenticated")],
        verbs: &["create"],
        resources: &[("authorization.k8s.io", "selfsubjectaccessreviews")],
        namespaces: None,
        names: None,
    },
];

/// What a request asks to do, in RBAC terms.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Attributes<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    /// `resource` or `resource/subresource`.
    pub resource: &'a str,
    pub namespace: Option<&'a str>,
    /// The object's name, when the request names one.
    pub name: Option<&'a str>,
}

/// Which RBAC a simulated cluster has: clusters of one fleet differ, as real ones do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rbac {
    /// [`RULES`]: operators scale in [`OPERATOR_NAMESPACES`].
    #[default]
    Standard,
    /// A locked-down cluster (a PCI zone): operators read but change nothing; only admins
    /// (and the deployer account) scale.
    Restricted,
}

/// [`RULES`] without the operators' scaling grant.
static RESTRICTED_RULES: std::sync::LazyLock<Vec<Rule>> = std::sync::LazyLock::new(|| {
    let operators_edit = |rule: &Rule| {
        rule.verbs == EDIT && rule.subjects.iter().any(|s| matches!(s, Subject::Group("payments:operators")))
    };
    RULES.iter().filter(|rule| !operators_edit(rule)).cloned().collect()
});

impl Rbac {
    pub fn rules(self) -> &'static [Rule] {
        match self {
            Rbac::Standard => RULES,
            Rbac::Restricted => RESTRICTED_RULES.as_slice(),
        }
    }

    /// Whether `user` may do what `attrs` describe on a cluster with these rules.
    pub fn allows(self, user: &User, attrs: &Attributes) -> bool {
        allowed_by(self.rules(), user, attrs)
    }
}

/// Whether `user` may do what `attrs` describe under the standard rules.
pub fn allowed(user: &User, attrs: &Attributes) -> bool {
    Rbac::Standard.allows(user, attrs)
}

fn allowed_by(rules: &[Rule], user: &User, attrs: &Attributes) -> bool {
    let is_subject = |s: &Subject| match s {
        Subject::User(u) => *u == user.name,
        Subject::Group(g) => user.groups.iter().any(|ug| ug == g),
    };
    rules.iter().any(|rule| {
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
            && match (rule.names, attrs.name) {
                (None, _) => true,
                (Some(names), Some(name)) => names.contains(&name),
                (Some(_), None) => false,
            }
    })
}

/// The token a bearer string stands for, with `system:authenticated` added to its groups.
pub fn token(bearer: &str) -> Option<(User, &'static [&'static str])> {
    TOKENS.iter().find(|t| t.token == bearer).map(|t| {
        let mut groups: Vec<String> = t.groups.iter().map(|g| g.to_string()).collect();
        groups.push("system:authenticated".into());
        (User { name: t.user.to_string(), groups }, t.audiences)
    })
}

/// The user a token meant for this API server stands for.
pub fn user_for_token(bearer: &str) -> Option<User> {
    token(bearer).filter(|(_, audiences)| audiences.contains(&API_AUDIENCE)).map(|(user, _)| user)
}

/// `system:serviceaccount:NS:NAME` → `(NS, NAME)`.
pub fn service_account(user: &str) -> Option<(&str, &str)> {
    let rest = user.strip_prefix("system:serviceaccount:")?;
    let (ns, name) = rest.split_once(':')?;
    (!ns.is_empty() && !name.is_empty() && !name.contains(':')).then_some((ns, name))
}

/// Authenticates a request and applies impersonation: the identity the request acts as.
/// Impersonation is authorised as the API server does it: `impersonate` on the named user
/// (or, for `system:serviceaccount:NS:NAME`, on that service account in its namespace) and on
/// each named group; a service account without impersonated groups gets its own groups.
pub fn identify(headers: &HeaderMap) -> Result<User, ApiError> {
    identify_in(Rbac::Standard, headers)
}

/// [`identify`] on a cluster with the RBAC `rbac`.
pub fn identify_in(rbac: Rbac, headers: &HeaderMap) -> Result<User, ApiError> {
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

    let may = |resource: &'static str, namespace: Option<&str>, name: &str| {
        let attrs = Attributes { verb: "impersonate", group: "", resource, namespace, name: Some(name) };
        if rbac.allows(&caller, &attrs) {
            Ok(())
        } else {
            Err(ApiError::forbidden_named(&caller.name, "impersonate", resource, name, "", namespace))
        }
    };
    let mut groups = as_groups.clone();
    match service_account(as_user) {
        Some((ns, name)) => {
            may("serviceaccounts", Some(ns), name)?;
            if groups.is_empty() {
                groups = vec!["system:serviceaccounts".into(), format!("system:serviceaccounts:{ns}")];
            }
        }
        None => may("users", None, as_user)?,
    }
    for group in &as_groups {
        may("groups", None, group)?;
    }
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
        Attributes { verb, group, resource, namespace, name: None }
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
    fn a_restricted_cluster_lets_operators_read_but_only_admins_scale() {
        let operator = User { name: "operator".into(), groups: vec!["payments:operators".into()] };
        let admin = User { name: "admin".into(), groups: vec!["payments:admins".into()] };
        let patch = attrs("patch", "autoscaling", "horizontalpodautoscalers", Some("payments-core"));
        let get = attrs("get", "autoscaling", "horizontalpodautoscalers", Some("payments-core"));
        assert!(Rbac::Standard.allows(&operator, &patch));
        assert!(!Rbac::Restricted.allows(&operator, &patch));
        assert!(Rbac::Restricted.allows(&operator, &get));
        assert!(Rbac::Restricted.allows(&admin, &patch));
        assert_eq!(Rbac::Restricted.rules().len(), RULES.len() - 1, "only the operators' grant is gone");
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

    #[test]
    fn groups_are_impersonated_only_by_name_and_system_masters_never() {
        let as_ = |user: &str, group: &str| {
            let mut pairs =
                vec![("authorization", "Bearer paydeck-sim-dashboard"), ("impersonate-user", user)];
            if !group.is_empty() {
                pairs.push(("impersonate-group", group));
            }
            identify(&headers(&pairs))
        };
        assert!(as_("operator", "payments:operators").is_ok());
        let masters = as_("mallory", "system:masters").unwrap_err();
        assert_eq!(masters.code, 403);
        assert!(masters.message.contains("cannot impersonate resource \"groups\""), "{}", masters.message);
        assert_eq!(as_("mallory", "payments:everyone").unwrap_err().code, 403);
    }

    #[test]
    fn service_accounts_are_impersonated_in_their_namespace_with_their_own_groups() {
        let h = headers(&[("authorization", "Bearer paydeck-sim-dashboard"), ("impersonate-user", DEPLOYER)]);
        let user = identify(&h).unwrap();
        assert!(user.groups.contains(&"system:serviceaccounts:payments-core".to_string()));
        let other = headers(&[
            ("authorization", "Bearer paydeck-sim-dashboard"),
            ("impersonate-user", "system:serviceaccount:kube-system:replicaset-controller"),
        ]);
        let refused = identify(&other).unwrap_err();
        assert!(refused.message.contains("serviceaccounts"), "{}", refused.message);
        assert_eq!(service_account("system:serviceaccount:a:b"), Some(("a", "b")));
        assert_eq!(service_account("system:serviceaccount:a"), None);
    }

    #[test]
    fn tokens_for_another_audience_do_not_reach_the_api() {
        assert!(user_for_token("paydeck-sim-operator").is_some());
        assert!(user_for_token("paydeck-audience-operator").is_none(), "meant for Paydeck, not the API");
        assert_eq!(token("paydeck-audience-operator").unwrap().1, &["paydeck"]);
    }
}
