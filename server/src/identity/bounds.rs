//! The limits on whom Paydeck will act as. Its service account may impersonate, so every
//! identity it passes on is a grant of that identity's rights: Paydeck never passes on a
//! `system:` group (`system:masters` is cluster-admin, `system:nodes` is every kubelet) nor a
//! `system:` user other than a service account proven by its own token, drops groups outside
//! the configured allow-list, and refuses names and group lists beyond sane sizes.

use std::collections::BTreeSet;

/// How an identity was proven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// The trusted auth proxy's headers.
    Proxy,
    /// A bearer token the cluster vouched for (TokenReview).
    Token,
    /// The simulated cluster's demo-user switcher.
    Demo,
}

/// A user and groups, as claimed by the proxy or vouched for by the cluster.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
}

/// Longest user or group name passed on (Kubernetes names are far shorter).
pub const MAX_NAME_BYTES: usize = 256;
/// Most groups passed on for one person.
pub const MAX_GROUPS: usize = 64;

/// Whom Paydeck may act as, beyond the fixed rules.
#[derive(Clone, Debug, Default)]
pub struct Bounds {
    /// `--impersonate-groups`: when set, only these groups are passed on (others are dropped).
    pub allowed_groups: Option<BTreeSet<String>>,
}

/// An identity after the bounds: what Paydeck would impersonate, or why it will not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bounded {
    pub user: String,
    /// The groups to impersonate (after the allow-list; none for a service account, whose
    /// groups the API server adds itself).
    pub groups: Vec<String>,
    /// Why Paydeck will not act as this identity at all.
    pub refused: Option<String>,
}

/// Groups every authenticated caller has; the API server adds them itself, so passing them
/// on is pointless rather than dangerous.
fn implied_group(group: &str, service_account_namespace: Option<&str>) -> bool {
    if group == "system:authenticated" {
        return true;
    }
    service_account_namespace.is_some_and(|ns| {
        group == "system:serviceaccounts" || group.strip_prefix("system:serviceaccounts:") == Some(ns)
    })
}

/// `system:serviceaccount:NS:NAME` → the namespace, when well formed.
pub fn service_account_namespace(user: &str) -> Option<&str> {
    let rest = user.strip_prefix("system:serviceaccount:")?;
    let (ns, name) = rest.split_once(':')?;
    let label = |s: &str| {
        !s.is_empty()
            && s.len() <= 253
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    };
    (label(ns) && label(name)).then_some(ns)
}

fn printable(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

/// Applies the rules to `identity`, proven `via`.
pub fn bound(identity: Identity, via: Via, bounds: &Bounds) -> Bounded {
    let refuse =
        |why: String| Bounded { user: identity.user.clone(), groups: Vec::new(), refused: Some(why) };
    let user = identity.user.as_str();
    if user.len() > MAX_NAME_BYTES || !printable(user) {
        return refuse(format!(
            "the user name is not acceptable (at most {MAX_NAME_BYTES} bytes, no control characters)"
        ));
    }
    let service_account = service_account_namespace(user);
    if user.starts_with("system:") {
        match (service_account, via) {
            (Some(_), Via::Token) => {}
            (Some(_), _) => {
                return refuse(format!(
                    "Paydeck acts as the service account {user} only with that account's own token \
                     (send it as a bearer token), never on an auth proxy's word"
                ));
            }
            (None, _) => {
                return refuse(format!(
                    "Paydeck never acts as the system user {user}: system identities belong to \
                     Kubernetes' own components"
                ));
            }
        }
    }
    if identity.groups.len() > MAX_GROUPS {
        return refuse(format!(
            "{} groups arrived with the identity; Paydeck passes on at most {MAX_GROUPS}",
            identity.groups.len()
        ));
    }
    let mut groups = Vec::new();
    for group in &identity.groups {
        if group.len() > MAX_NAME_BYTES || !printable(group) {
            return refuse(format!(
                "a group name is not acceptable (at most {MAX_NAME_BYTES} bytes, no control characters)"
            ));
        }
        if implied_group(group, service_account) {
            continue;
        }
        if group.starts_with("system:") {
            return refuse(format!(
                "Paydeck never acts with the group {group}: system groups grant Kubernetes' own \
                 powers (system:masters is cluster-admin); use kubectl with your own credentials"
            ));
        }
        if service_account.is_some() {
            // The API server gives a service account its own groups; others cannot be added.
            continue;
        }
        if bounds.allowed_groups.as_ref().is_some_and(|allowed| !allowed.contains(group)) {
            tracing::debug!(user, group, "group not in --impersonate-groups: not passed on");
            continue;
        }
        if !groups.contains(group) {
            groups.push(group.clone());
        }
    }
    Bounded { user: identity.user, groups, refused: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(user: &str, groups: &[&str]) -> Identity {
        Identity { user: user.into(), groups: groups.iter().map(|g| g.to_string()).collect() }
    }

    fn allow(groups: &[&str]) -> Bounds {
        Bounds { allowed_groups: Some(groups.iter().map(|g| g.to_string()).collect()) }
    }

    #[test]
    fn ordinary_people_pass_with_their_groups() {
        let b = bound(
            id("ana", &["sre", "payments", "system:authenticated", "sre"]),
            Via::Proxy,
            &Bounds::default(),
        );
        assert_eq!((b.groups, b.refused), (vec!["sre".to_string(), "payments".to_string()], None));
    }

    #[test]
    fn system_groups_are_refused_whoever_claims_them() {
        for group in ["system:masters", "system:nodes", "system:serviceaccounts:kube-system"] {
            for via in [Via::Proxy, Via::Token, Via::Demo] {
                let b = bound(id("mallory", &["payments", group]), via, &Bounds::default());
                let why = b.refused.unwrap_or_else(|| panic!("{group} via {via:?} passed"));
                assert!(why.contains(group), "{why}");
                assert!(b.groups.is_empty());
            }
        }
    }

    #[test]
    fn system_users_are_refused_and_service_accounts_need_their_own_token() {
        for user in
            ["system:admin", "system:kube-controller-manager", "system:anonymous", "system:serviceaccount:x"]
        {
            assert!(bound(id(user, &[]), Via::Token, &Bounds::default()).refused.is_some(), "{user}");
        }
        let sa = "system:serviceaccount:payments-core:deployer";
        let groups =
            ["system:serviceaccounts", "system:serviceaccounts:payments-core", "system:authenticated"];
        let by_token = bound(id(sa, &groups), Via::Token, &Bounds::default());
        assert_eq!((by_token.refused, by_token.groups), (None, vec![]), "the API server adds its groups");
        let by_proxy = bound(id(sa, &[]), Via::Proxy, &Bounds::default());
        assert!(by_proxy.refused.unwrap().contains("own token"));
        // A service account that claims another namespace's group is refused.
        let foreign = bound(id(sa, &["system:serviceaccounts:kube-system"]), Via::Token, &Bounds::default());
        assert!(foreign.refused.is_some());
    }

    #[test]
    fn the_allow_list_drops_other_groups() {
        let b =
            bound(id("ana", &["payments:operators", "finance"]), Via::Proxy, &allow(&["payments:operators"]));
        assert_eq!((b.groups, b.refused), (vec!["payments:operators".to_string()], None));
    }

    #[test]
    fn oversized_or_odd_identities_are_refused() {
        assert!(bound(id(&"a".repeat(257), &[]), Via::Proxy, &Bounds::default()).refused.is_some());
        assert!(bound(id("ana\u{7}", &[]), Via::Proxy, &Bounds::default()).refused.is_some());
        let many: Vec<String> = (0..65).map(|i| format!("g{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(
            bound(id("ana", &refs), Via::Proxy, &Bounds::default()).refused.unwrap().contains("65 groups")
        );
        assert!(bound(id("ana", &[&"g".repeat(300)]), Via::Proxy, &Bounds::default()).refused.is_some());
    }
}
