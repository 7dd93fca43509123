//! Who is asking, and whom Paydeck will act as for them.
//!
//! Paydeck's service account may impersonate, so every identity it believes is a grant of
//! that identity's rights. An identity is believed only with proof — an auth proxy's headers
//! from its address with its shared secret ([`proxy`]), a bearer token the cluster vouches for
//! for Paydeck's audience ([`token_review`]), or the demo switcher on the simulated cluster
//! — and then bounded ([`bounds`]): never a `system:` group or user, only allowed groups.
//! Everyone else is anonymous and reads only.

pub mod bounds;
pub mod proxy;
pub mod token_review;

use std::{net::IpAddr, sync::Arc};

use axum::http::{HeaderMap, header};

pub use app::dto::Viewer;
pub use bounds::{Bounds, Identity, Via};
pub use proxy::{Disbelief, ProxyTrust, client, parse_proxies, parse_proxy};
use token_review::{TokenReviewer, Verdict};

/// Identity claims Paydeck did not believe, by reason (`/metrics`): `address` (user headers
/// from an address that is not a configured proxy), `proxy_proof` (from a proxy address
/// without the proxy's secret), `repeated` (the user or secret header twice: refused),
/// `token` (a bearer token the cluster did not vouch for, for Paydeck's audience),
/// `review_rate` (not reviewed: too many reviews from the client).
pub type Disbelieved = crate::metrics::CounterFamily<crate::metrics::ReasonLabel>;

/// What the request handlers know of the person asking.
#[derive(Clone, Debug)]
pub struct Asking {
    pub trust: Arc<ProxyTrust>,
    pub read_only: bool,
    /// On the simulated cluster only: the demo users (and their group) the identity
    /// switcher's cookie may name.
    pub demo_users: Arc<Vec<(String, String)>>,
    /// Checks bearer tokens with the cluster (absent in tests without one).
    pub tokens: Option<Arc<TokenReviewer>>,
    /// The primary cluster's name, and the reviewers of the fleet's other clusters: a token
    /// sent to `/api/v1/clusters/{cluster}/…` is checked by that cluster.
    pub primary: String,
    pub member_tokens: Arc<Vec<(String, Arc<TokenReviewer>)>>,
    /// Refuse requests without an identity (else they may read).
    pub require_identity: bool,
    pub bounds: Arc<Bounds>,
    pub disbelieved: Arc<Disbelieved>,
}

impl Default for Asking {
    fn default() -> Self {
        Asking {
            trust: Arc::new(ProxyTrust::none()),
            read_only: false,
            demo_users: Arc::default(),
            tokens: None,
            primary: crate::history::DEFAULT_CLUSTER.to_string(),
            member_tokens: Arc::default(),
            require_identity: false,
            bounds: Arc::default(),
            disbelieved: Arc::default(),
        }
    }
}

/// What anyone may fetch without an identity: probes, metrics and the static site. These
/// never cost a token review either.
fn open_to_anyone(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics" | "/favicon.svg")
        || path.starts_with("/pkg/")
        || path.starts_with("/assets/")
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The demo user a request's switcher cookie names, with their group.
fn demo_identity(headers: &HeaderMap, demo_users: &[(String, String)]) -> Option<Identity> {
    let cookies = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok());
    let chosen = cookies
        .flat_map(|c| c.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == app::viewer::DEMO_USER_COOKIE)
        .map(|(_, v)| v.trim())?;
    let (user, group) = demo_users.iter().find(|(u, _)| *u == chosen)?;
    Some(Identity { user: user.clone(), groups: vec![group.clone()] })
}

/// Why a request's identity cannot be settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsettled {
    /// The client asked for too many token reviews; it may try again after the wait.
    Limited(std::time::Duration),
    /// The request names its user (or carries the proxy's secret) more than once.
    Repeated,
}

impl Asking {
    /// The proven identity of a request, if any; `Err` when the client may not have its
    /// bearer token checked now.
    pub async fn prove(
        &self,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
        path: &str,
    ) -> Result<Option<(Identity, Via)>, Unsettled> {
        match self.trust.identify(peer, headers) {
            Ok(Some(identity)) => return Ok(Some((identity, Via::Proxy))),
            Ok(None) => {}
            Err(Disbelief::Repeated) => {
                crate::metrics::count(&self.disbelieved, "repeated");
                return Err(Unsettled::Repeated);
            }
            Err(why) => {
                let reason = match why {
                    Disbelief::Address => "address",
                    _ => "proxy_proof",
                };
                crate::metrics::count(&self.disbelieved, reason);
                tracing::debug!(?peer, ?why, "identity headers ignored");
            }
        }
        if let Some(identity) = demo_identity(headers, &self.demo_users) {
            return Ok(Some((identity, Via::Demo)));
        }
        if open_to_anyone(path) {
            return Ok(None);
        }
        let (Some((_, tokens)), Some(token)) = (self.reviewer_for(path), bearer(headers)) else {
            return Ok(None);
        };
        // Behind an Ingress every request comes from it: the budget is the client's it names.
        match tokens.review(token, client(&self.trust, peer, headers)).await {
            Verdict::Known(identity) => Ok(Some((identity, Via::Token))),
            Verdict::Unknown => {
                crate::metrics::count(&self.disbelieved, "token");
                Ok(None)
            }
            Verdict::Limited(wait) => {
                crate::metrics::count(&self.disbelieved, "review_rate");
                Err(Unsettled::Limited(wait))
            }
        }
    }
}

impl Asking {
    /// Whether a request without an identity is refused on `path`.
    pub fn refuses_anonymous(&self, path: &str) -> bool {
        self.require_identity && !open_to_anyone(path)
    }

    /// The viewer for a proven identity (or none): whom Paydeck would act as, within its
    /// bounds, and whether edits are off.
    /// The cluster that checks a bearer token sent to `path`, and its reviewer: the one the
    /// path names under `/api/v1/clusters/`, else the primary.
    pub fn reviewer_for(&self, path: &str) -> Option<(&str, &Arc<TokenReviewer>)> {
        let named = path.strip_prefix("/api/v1/clusters/").and_then(|rest| rest.split('/').next());
        if let Some(member) = named.and_then(|n| self.member_tokens.iter().find(|(name, _)| name == n)) {
            return Some((&member.0, &member.1));
        }
        self.tokens.as_ref().map(|t| (self.primary.as_str(), t))
    }

    /// The viewer of a request to `path` proven as `proven`.
    pub fn viewer(&self, proven: Option<(Identity, Via)>, path: &str) -> Viewer {
        let vouched_by = match &proven {
            Some((_, Via::Token)) => self.reviewer_for(path).map(|(name, _)| name.to_string()),
            _ => None,
        };
        let bounded = proven.map(|(identity, via)| bounds::bound(identity, via, &self.bounds));
        Viewer {
            user: bounded.as_ref().map(|b| b.user.clone()),
            groups: bounded.as_ref().map(|b| b.groups.clone()).unwrap_or_default(),
            refused: bounded.and_then(|b| b.refused),
            read_only: self.read_only,
            demo_users: self.demo_users.iter().map(|(u, _)| u.clone()).collect(),
            vouched_by,
        }
    }
}

/// Why Paydeck will not act on `cluster` as `viewer`, whose bearer token another cluster
/// checked: a token one cluster vouched for names someone of that cluster, and another
/// cluster's user of the same name may be someone else. `None` for a token `cluster` checked,
/// and for identities from the auth proxy (the same person everywhere).
pub fn vouched_elsewhere(viewer: &Viewer, cluster: &str) -> Option<String> {
    let by = viewer.vouched_by.as_deref().filter(|by| *by != cluster)?;
    Some(format!(
        "your bearer token was checked by cluster {by}, not {cluster}: send it to /api/v1/clusters/{cluster}/… for {cluster} to check it"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reviewer() -> Arc<TokenReviewer> {
        let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        let settings = token_review::ReviewSettings {
            audience: "paydeck".into(),
            cache_size: 16,
            per_client_per_minute: 10,
        };
        Arc::new(TokenReviewer::new(kube::Client::try_from(config).unwrap(), settings))
    }

    #[tokio::test]
    async fn a_token_is_checked_by_the_cluster_the_path_names_and_acts_there_only() {
        let (primary, member) = (reviewer(), reviewer());
        let asking = Asking {
            tokens: Some(primary.clone()),
            primary: "eu".into(),
            member_tokens: Arc::new(vec![("us".into(), member.clone())]),
            ..Asking::default()
        };
        let by = |path: &str| {
            asking.reviewer_for(path).map(|(name, r)| (name.to_string(), Arc::ptr_eq(r, &member)))
        };
        assert_eq!(by("/api/v1/clusters/us/workloads"), Some(("us".into(), true)));
        assert_eq!(by("/api/v1/workloads"), Some(("eu".into(), false)));
        assert_eq!(
            by("/rpc/scaling-submit"),
            Some(("eu".into(), false)),
            "server functions: the first cluster"
        );
        // A cluster Paydeck does not watch checks nothing; the first cluster does (the path is a 404).
        assert_eq!(by("/api/v1/clusters/nowhere/workloads"), Some(("eu".into(), false)));

        let token = |who: &str| Identity { user: "ana".into(), groups: vec![who.into()] };
        let viewer =
            asking.viewer(Some((token("payments:operators"), Via::Token)), "/api/v1/clusters/us/audit");
        assert_eq!(viewer.vouched_by.as_deref(), Some("us"));
        assert_eq!(vouched_elsewhere(&viewer, "us"), None);
        assert!(vouched_elsewhere(&viewer, "eu").unwrap().contains("checked by cluster us, not eu"));
        // The auth proxy's identity is the same person on every cluster.
        let proxied =
            asking.viewer(Some((token("payments:operators"), Via::Proxy)), "/api/v1/clusters/us/audit");
        assert_eq!((proxied.vouched_by.clone(), vouched_elsewhere(&proxied, "eu")), (None, None));
    }

    #[test]
    fn the_demo_cookie_names_a_known_demo_user_only() {
        let users = vec![("operator".to_string(), "payments:operators".to_string())];
        let mut h = HeaderMap::new();
        h.insert("cookie", "theme=dark; paydeck_demo_user=operator".parse().unwrap());
        assert_eq!(
            demo_identity(&h, &users),
            Some(Identity { user: "operator".into(), groups: vec!["payments:operators".into()] })
        );
        assert_eq!(demo_identity(&h, &[]), None, "no demo users off the simulated cluster");
        h.insert("cookie", "paydeck_demo_user=system:admin".parse().unwrap());
        assert_eq!(demo_identity(&h, &users), None);
    }

    #[test]
    fn probes_and_static_files_never_need_an_identity() {
        for path in ["/healthz", "/readyz", "/metrics", "/pkg/app.wasm", "/assets/echarts.min.js"] {
            assert!(open_to_anyone(path), "{path}");
        }
        for path in ["/", "/api/v1/workloads", "/rpc/viewer", "/api/v1/audit"] {
            assert!(!open_to_anyone(path), "{path}");
        }
    }
}
