//! Who is asking. Behind an Ingress with an auth proxy (oauth2-proxy and the like), the proxy
//! names the user in request headers; those headers are believed only when the request comes
//! straight from a configured proxy address, since anyone can send them. Everyone else is
//! anonymous and reads only.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderName},
    middleware::Next,
    response::{IntoResponse, Response},
};
use ipnet::IpNet;
use serde::Serialize;

/// A user as the auth proxy named them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
}

/// Which headers name the user, and whose headers to believe.
#[derive(Clone, Debug)]
pub struct ProxyTrust {
    pub user_header: HeaderName,
    pub groups_header: HeaderName,
    /// Addresses of the auth proxies; empty: no header is believed.
    pub proxies: Vec<IpNet>,
}

impl ProxyTrust {
    /// Believes nobody.
    pub fn none() -> Self {
        Self {
            user_header: HeaderName::from_static("x-forwarded-user"),
            groups_header: HeaderName::from_static("x-forwarded-groups"),
            proxies: Vec::new(),
        }
    }

    /// The user the headers name, if `peer` is a trusted proxy and the user header is set.
    pub fn identify(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<Identity> {
        let peer = peer?;
        if !self.proxies.iter().any(|net| net.contains(&peer)) {
            return None;
        }
        let user = headers.get(&self.user_header)?.to_str().ok()?.trim();
        if user.is_empty() {
            return None;
        }
        let groups = headers
            .get_all(&self.groups_header)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect();
        Some(Identity { user: user.to_string(), groups })
    }
}

/// Parses one proxy: `10.0.0.0/8`, or a bare address for one host.
pub fn parse_proxy(text: &str) -> Result<IpNet, String> {
    let s = text.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{s:?} is not an IP address or CIDR range"))
}

/// Parses a comma-separated list of proxies.
pub fn parse_proxies(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',').filter(|s| !s.trim().is_empty()).map(parse_proxy).collect()
}

/// What the request handlers know of the person asking.
#[derive(Clone, Debug)]
pub struct Asking {
    pub trust: std::sync::Arc<ProxyTrust>,
    pub read_only: bool,
    /// On the simulated cluster only: the identity switcher's cookie names a demo user.
    pub demo: bool,
    /// Checks bearer tokens with the cluster (absent in tests without one).
    pub tokens: Option<std::sync::Arc<crate::token_review::TokenReviewer>>,
    /// Refuse requests without an identity (else they may read).
    pub require_identity: bool,
}

/// What anyone may fetch without an identity: probes, metrics and the static site.
fn open_to_anyone(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics" | "/favicon.svg")
        || path.starts_with("/pkg/")
        || path.starts_with("/assets/")
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The demo user a request's switcher cookie names, with their groups.
fn demo_identity(headers: &HeaderMap) -> Option<Identity> {
    let cookies = headers.get_all(axum::http::header::COOKIE).iter().filter_map(|v| v.to_str().ok());
    let chosen = cookies
        .flat_map(|c| c.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == app::dto::DEMO_USER_COOKIE)
        .map(|(_, v)| v.trim())?;
    let (user, group) = app::dto::DEMO_USERS.iter().find(|(u, _)| *u == chosen)?;
    Some(Identity { user: user.to_string(), groups: vec![group.to_string()] })
}

/// Middleware: puts the [`Viewer`] (who asks, whether edits are off) into the request's
/// extensions, where pages, server functions and the API read it.
pub async fn identify(State(asking): State<Asking>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let mut identity = asking
        .trust
        .identify(peer, request.headers())
        .or_else(|| asking.demo.then(|| demo_identity(request.headers())).flatten());
    if identity.is_none()
        && let (Some(tokens), Some(token)) = (&asking.tokens, bearer(request.headers()))
    {
        identity = tokens.review(token).await;
    }
    if identity.is_none() && asking.require_identity && !open_to_anyone(request.uri().path()) {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            "Paydeck needs to know who you are: sign in through your auth proxy, or send a bearer token.\n",
        )
            .into_response();
    }
    let viewer = Viewer {
        user: identity.as_ref().map(|i| i.user.clone()),
        groups: identity.map(|i| i.groups).unwrap_or_default(),
        read_only: asking.read_only,
        demo_users: if asking.demo {
            app::dto::DEMO_USERS.iter().map(|(u, _)| u.to_string()).collect()
        } else {
            Vec::new()
        },
    };
    request.extensions_mut().insert(viewer);
    next.run(request).await
}

pub use app::dto::Viewer;

#[cfg(test)]
mod tests {
    use super::*;

    fn trust(proxies: &str) -> ProxyTrust {
        ProxyTrust { proxies: parse_proxies(proxies).unwrap(), ..ProxyTrust::none() }
    }

    fn headers(user: &str, groups: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-user", user.parse().unwrap());
        h.insert("x-forwarded-groups", groups.parse().unwrap());
        h
    }

    #[test]
    fn headers_from_a_trusted_proxy_name_the_user_and_groups() {
        let id =
            trust("10.0.0.0/8").identify(Some("10.1.2.3".parse().unwrap()), &headers("ana", "sre, payments"));
        assert_eq!(id, Some(Identity { user: "ana".into(), groups: vec!["sre".into(), "payments".into()] }));
    }

    #[test]
    fn headers_from_anyone_else_are_ignored() {
        let h = headers("mallory", "system:masters");
        assert_eq!(trust("10.0.0.0/8").identify(Some("192.168.1.1".parse().unwrap()), &h), None);
        assert_eq!(trust("").identify(Some("127.0.0.1".parse().unwrap()), &h), None, "no proxy configured");
        assert_eq!(trust("127.0.0.1").identify(None, &h), None, "unknown peer");
        assert_eq!(trust("127.0.0.1").identify(Some("127.0.0.1".parse().unwrap()), &headers(" ", "")), None);
    }

    #[test]
    fn the_demo_cookie_names_a_known_demo_user_only() {
        let mut h = HeaderMap::new();
        h.insert("cookie", "theme=dark; paydeck_demo_user=operator".parse().unwrap());
        assert_eq!(
            demo_identity(&h),
            Some(Identity { user: "operator".into(), groups: vec!["payments:operators".into()] })
        );
        h.insert("cookie", "paydeck_demo_user=system:admin".parse().unwrap());
        assert_eq!(demo_identity(&h), None);
    }

    #[test]
    fn proxy_lists_are_checked() {
        assert_eq!(parse_proxies("127.0.0.1, ::1, 10.0.0.0/8").unwrap().len(), 3);
        assert!(parse_proxies("10.0.0.0/33").unwrap_err().contains("10.0.0.0/33"));
        assert!(parse_proxies("proxy.local").is_err());
    }
}
