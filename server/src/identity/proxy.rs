//! The auth proxy's word: user and groups in request headers, believed only when the request
//! comes from a configured proxy address *and* carries the proxy's shared secret (when one is
//! configured). An address alone proves little: `kubectl port-forward` also arrives on
//! loopback, so in a pod with a sidecar proxy, anyone allowed to port-forward could otherwise
//! claim any user.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderName};
use ipnet::IpNet;
use ring::digest::{SHA256, digest};

use super::Identity;

/// The shortest shared secret accepted (bytes).
pub const MIN_SECRET_BYTES: usize = 32;

/// Which headers name the user, and whose headers to believe.
#[derive(Clone, Debug)]
pub struct ProxyTrust {
    pub user_header: HeaderName,
    pub groups_header: HeaderName,
    /// Addresses of the auth proxies; empty: no header is believed.
    pub proxies: Vec<IpNet>,
    /// The header carrying the proxy's shared secret, and the secret's SHA-256.
    pub secret: Option<(HeaderName, [u8; 32])>,
}

/// Why headers that name a user were not believed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disbelief {
    /// Not from a configured proxy address.
    Address,
    /// From a proxy address, without the proxy's secret (or with a wrong one).
    Proof,
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

/// Equal in time independent of where they differ: both sides are fixed-size digests.
fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl ProxyTrust {
    /// Believes nobody.
    pub fn none() -> Self {
        Self {
            user_header: HeaderName::from_static("x-forwarded-user"),
            groups_header: HeaderName::from_static("x-forwarded-groups"),
            proxies: Vec::new(),
            secret: None,
        }
    }

    /// Requires `secret` in `header` on every request whose headers name a user.
    pub fn with_secret(mut self, header: HeaderName, secret: &[u8]) -> Self {
        self.secret = Some((header, sha256(secret)));
        self
    }

    /// Whether any configured proxy address is a loopback address (where port-forwards
    /// arrive too).
    pub fn trusts_loopback(&self) -> bool {
        self.proxies.iter().any(|net| {
            net.contains(&IpAddr::from([127, 0, 0, 1]))
                || net.contains(&IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]))
        })
    }

    /// The user the headers name: `Ok(None)` when they name nobody, `Err` when they name
    /// someone but are not to be believed.
    pub fn identify(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Result<Option<Identity>, Disbelief> {
        let Some(user) = headers.get(&self.user_header) else { return Ok(None) };
        let Some(user) = user.to_str().ok().map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let from_proxy = peer.is_some_and(|peer| self.proxies.iter().any(|net| net.contains(&peer)));
        if !from_proxy {
            return Err(Disbelief::Address);
        }
        if let Some((header, expected)) = &self.secret {
            let proven =
                headers.get(header).is_some_and(|given| same_digest(&sha256(given.as_bytes()), expected));
            if !proven {
                return Err(Disbelief::Proof);
            }
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
        Ok(Some(Identity { user: user.to_string(), groups }))
    }
}

/// Reads the proxy's shared secret from a mounted file (trailing newline ignored).
pub fn read_secret(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read the proxy secret {}: {e}", path.display()))?;
    let secret = bytes.trim_ascii_end().to_vec();
    if secret.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "the proxy secret in {} is {} bytes; at least {MIN_SECRET_BYTES} are needed (e.g. `openssl rand -hex 32`)",
            path.display(),
            secret.len()
        ));
    }
    Ok(secret)
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

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn headers_from_a_trusted_proxy_name_the_user_and_groups() {
        let id = trust("10.0.0.0/8").identify(ip("10.1.2.3"), &headers("ana", "sre, payments"));
        assert_eq!(
            id,
            Ok(Some(Identity { user: "ana".into(), groups: vec!["sre".into(), "payments".into()] }))
        );
    }

    #[test]
    fn headers_from_anyone_else_are_ignored() {
        let h = headers("mallory", "system:masters");
        assert_eq!(trust("10.0.0.0/8").identify(ip("192.168.1.1"), &h), Err(Disbelief::Address));
        assert_eq!(trust("").identify(ip("127.0.0.1"), &h), Err(Disbelief::Address), "no proxy configured");
        assert_eq!(trust("127.0.0.1").identify(None, &h), Err(Disbelief::Address), "unknown peer");
        assert_eq!(trust("127.0.0.1").identify(ip("127.0.0.1"), &headers(" ", "")), Ok(None));
    }

    #[test]
    fn with_a_secret_the_address_alone_is_not_enough() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let t = trust("127.0.0.1").with_secret(HeaderName::from_static("x-paydeck-proxy-secret"), secret);
        let mut h = headers("operator", "payments:operators");
        assert_eq!(t.identify(ip("127.0.0.1"), &h), Err(Disbelief::Proof), "a port-forward sends no secret");
        h.insert("x-paydeck-proxy-secret", "0123456789abcdef0123456789abcdeX".parse().unwrap());
        assert_eq!(t.identify(ip("127.0.0.1"), &h), Err(Disbelief::Proof), "a wrong secret");
        h.insert("x-paydeck-proxy-secret", std::str::from_utf8(secret).unwrap().parse().unwrap());
        assert_eq!(t.identify(ip("127.0.0.1"), &h).unwrap().unwrap().user, "operator");
        assert_eq!(t.identify(ip("10.0.0.1"), &h), Err(Disbelief::Address), "the secret alone is not enough");
    }

    #[test]
    fn loopback_is_recognised_in_any_spelling() {
        assert!(trust("127.0.0.1").trusts_loopback());
        assert!(trust("127.0.0.0/8").trusts_loopback());
        assert!(trust("::1").trusts_loopback());
        assert!(trust("0.0.0.0/0").trusts_loopback());
        assert!(!trust("10.0.0.0/8").trusts_loopback());
    }

    #[test]
    fn proxy_lists_are_checked() {
        assert_eq!(parse_proxies("127.0.0.1, ::1, 10.0.0.0/8").unwrap().len(), 3);
        assert!(parse_proxies("10.0.0.0/33").unwrap_err().contains("10.0.0.0/33"));
        assert!(parse_proxies("proxy.local").is_err());
    }

    #[test]
    fn short_secrets_are_refused() {
        let dir = std::env::temp_dir().join(format!("paydeck-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret");
        std::fs::write(&file, "short\n").unwrap();
        assert!(read_secret(&file).unwrap_err().contains("at least 32"));
        std::fs::write(&file, format!("{}\n", "s".repeat(40))).unwrap();
        assert_eq!(read_secret(&file).unwrap().len(), 40);
        assert!(read_secret(&dir.join("missing")).is_err());
    }
}
