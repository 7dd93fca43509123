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
    /// Addresses (the Ingress controller) whose `X-Forwarded-For` names the client, for the
    /// limits kept per client: only that, never who the client is. The proxies are
    /// forwarders too.
    pub forwarders: Vec<IpNet>,
    /// The header carrying the proxy's shared secret, and the secret's SHA-256.
    pub secret: Option<(HeaderName, [u8; 32])>,
    /// Put before the user and each group the proxy names, as the API server's
    /// `--oidc-username-prefix` and `--oidc-groups-prefix` do for the same people signing in
    /// with kubectl: Paydeck then acts as the identity the cluster's RBAC knows them by.
    pub user_prefix: String,
    pub groups_prefix: String,
}

/// Why headers that name a user were not believed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disbelief {
    /// Not from a configured proxy address.
    Address,
    /// From a proxy address, without the proxy's secret (or with a wrong one).
    Proof,
    /// The user header, or the secret's, is there more than once: which one a reader takes
    /// is up to the reader, so none is taken.
    Repeated,
}

/// An address as one family: an IPv4 address written as IPv6 (`::ffff:127.0.0.1`, how a
/// dual-stack socket reports IPv4 peers) is the IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// A range as one family: `::ffff:127.0.0.1` or `::ffff:10.0.0.0/104` is the IPv4 range.
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).map_or(net, IpNet::V4),
            None => net,
        },
        other => other,
    }
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
            forwarders: Vec::new(),
            secret: None,
            user_prefix: String::new(),
            groups_prefix: String::new(),
        }
    }

    /// Whether `peer` is one of the configured proxies (in either spelling of IPv4).
    pub fn is_proxy(&self, peer: IpAddr) -> bool {
        let peer = canonical(peer);
        self.proxies.iter().any(|net| canonical_net(*net).contains(&peer))
    }

    /// Whether `peer`'s `X-Forwarded-For` is believed for the client's address.
    pub fn is_forwarder(&self, peer: IpAddr) -> bool {
        let peer = canonical(peer);
        self.is_proxy(peer) || self.forwarders.iter().any(|net| canonical_net(*net).contains(&peer))
    }

    /// Requires `secret` in `header` on every request whose headers name a user.
    pub fn with_secret(mut self, header: HeaderName, secret: &[u8]) -> Self {
        self.secret = Some((header, sha256(secret)));
        self
    }

    /// Whether any configured proxy address is a loopback address (where port-forwards
    /// arrive too).
    pub fn trusts_loopback(&self) -> bool {
        self.is_proxy(IpAddr::from([127, 0, 0, 1]))
            || self.is_proxy(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]))
    }

    /// The user the headers name: `Ok(None)` when they name nobody, `Err` when they name
    /// someone but are not to be believed.
    pub fn identify(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Result<Option<Identity>, Disbelief> {
        let mut users = headers.get_all(&self.user_header).iter();
        let Some(user) = users.next() else { return Ok(None) };
        if users.next().is_some() {
            return Err(Disbelief::Repeated);
        }
        let Some(user) = user.to_str().ok().map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        if !peer.is_some_and(|peer| self.is_proxy(peer)) {
            return Err(Disbelief::Address);
        }
        if let Some((header, expected)) = &self.secret {
            let mut given = headers.get_all(header).iter();
            let first = given.next();
            if given.next().is_some() {
                return Err(Disbelief::Repeated);
            }
            let proven = first.is_some_and(|given| same_digest(&sha256(given.as_bytes()), expected));
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
            .map(|g| format!("{}{g}", self.groups_prefix))
            .collect();
        Ok(Some(Identity { user: format!("{}{user}", self.user_prefix), groups }))
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

/// Parses one proxy: `10.0.0.0/8`, or a bare address for one host; an IPv4 address or range
/// written as IPv6 (`::ffff:127.0.0.1`) is read as the IPv4 one.
pub fn parse_proxy(text: &str) -> Result<IpNet, String> {
    let s = text.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map(canonical_net)
        .map_err(|_| format!("{s:?} is not an IP address or CIDR range"))
}

/// The client a request comes from: its peer, or — when the peer is a trusted forwarder (the
/// Ingress, the auth proxy) — the first address in `X-Forwarded-For`, read from the right,
/// that is not itself a trusted forwarder: each forwarder appends the address it was reached
/// from, so behind an auth proxy behind an Ingress the last entry is the Ingress and the one
/// before it the client. Entries left of the first untrusted one are that client's own word.
pub fn client(trust: &ProxyTrust, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
    let mut client = canonical(peer?);
    if !trust.is_forwarder(client) {
        return Some(client);
    }
    // Only the last header counts: a forwarder that appends adds to that one.
    let Some(list) = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).next_back()
    else {
        return Some(client);
    };
    for entry in list.rsplit(',') {
        let Ok(address) = entry.trim().parse::<IpAddr>().map(canonical) else { break };
        client = address;
        if !trust.is_forwarder(address) {
            break;
        }
    }
    Some(client)
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
        assert!(trust("::ffff:127.0.0.1").trusts_loopback(), "IPv4 written as IPv6");
        assert!(trust("::ffff:127.0.0.0/104").trusts_loopback());
        assert!(!trust("10.0.0.0/8").trusts_loopback());
    }

    #[test]
    fn an_ipv4_peer_or_proxy_written_as_ipv6_is_the_ipv4_one() {
        let h = headers("ana", "sre");
        assert!(trust("10.0.0.0/8").identify(ip("::ffff:10.1.2.3"), &h).unwrap().is_some());
        assert!(trust("::ffff:10.0.0.0/104").identify(ip("10.1.2.3"), &h).unwrap().is_some());
        assert_eq!(trust("::ffff:10.0.0.5").identify(ip("10.0.0.6"), &h), Err(Disbelief::Address));
        assert_eq!(parse_proxy("::ffff:127.0.0.1").unwrap().to_string(), "127.0.0.1/32");
    }

    #[test]
    fn a_user_or_secret_named_twice_is_not_believed() {
        let mut h = headers("ana", "sre");
        h.append("x-forwarded-user", "admin".parse().unwrap());
        assert_eq!(trust("10.0.0.0/8").identify(ip("10.1.2.3"), &h), Err(Disbelief::Repeated));
        let secret = b"0123456789abcdef0123456789abcdef";
        let t = trust("10.0.0.0/8").with_secret(HeaderName::from_static("x-paydeck-proxy-secret"), secret);
        let mut h = headers("ana", "sre");
        h.insert("x-paydeck-proxy-secret", std::str::from_utf8(secret).unwrap().parse().unwrap());
        assert!(t.identify(ip("10.1.2.3"), &h).unwrap().is_some());
        h.append("x-paydeck-proxy-secret", "wrong".parse().unwrap());
        assert_eq!(t.identify(ip("10.1.2.3"), &h), Err(Disbelief::Repeated));
    }

    #[test]
    fn prefixes_make_the_identity_the_api_server_knows() {
        let t =
            ProxyTrust { user_prefix: "oidc:".into(), groups_prefix: "oidc:".into(), ..trust("10.0.0.0/8") };
        let id = t.identify(ip("10.1.2.3"), &headers("ana", "sre, payments")).unwrap().unwrap();
        assert_eq!(
            id,
            Identity { user: "oidc:ana".into(), groups: vec!["oidc:sre".into(), "oidc:payments".into()] }
        );
    }

    #[test]
    fn the_client_is_the_peer_or_what_a_trusted_proxy_appended() {
        let t = trust("10.0.0.0/8");
        let mut h = HeaderMap::new();
        assert_eq!(client(&t, ip("192.168.1.9"), &h), ip("192.168.1.9"));
        h.insert("x-forwarded-for", "1.2.3.4, 203.0.113.7".parse().unwrap());
        assert_eq!(client(&t, ip("10.0.0.2"), &h), ip("203.0.113.7"), "the proxy's own entry");
        assert_eq!(
            client(&t, ip("192.168.1.9"), &h),
            ip("192.168.1.9"),
            "not a proxy: its word is not taken"
        );
        h.insert("x-forwarded-for", "junk".parse().unwrap());
        assert_eq!(client(&t, ip("::ffff:10.0.0.2"), &h), ip("10.0.0.2"));
    }

    #[test]
    fn behind_a_proxy_behind_an_ingress_the_client_is_the_first_untrusted_address_from_the_right() {
        // The auth proxy on loopback, the Ingress in 10.244.0.0/16.
        let t = ProxyTrust { forwarders: parse_proxies("10.244.0.0/16").unwrap(), ..trust("127.0.0.1") };
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "6.6.6.6, 198.51.100.4, 10.244.1.7".parse().unwrap());
        assert_eq!(client(&t, ip("127.0.0.1"), &h), ip("198.51.100.4"), "the Ingress's entry is skipped");
        // Without the Ingress trusted, its own address is the client (limits shared behind it).
        assert_eq!(client(&trust("127.0.0.1"), ip("127.0.0.1"), &h), ip("10.244.1.7"));
        // A forged trusted address on the client's side stops nothing: the walk ends at the
        // first entry that is not a forwarder, reading from the right.
        h.insert("x-forwarded-for", "10.244.9.9, 198.51.100.4, 10.244.1.7".parse().unwrap());
        assert_eq!(client(&t, ip("127.0.0.1"), &h), ip("198.51.100.4"));
        // Junk ends the walk at the last good address.
        h.insert("x-forwarded-for", "junk, 10.244.1.7".parse().unwrap());
        assert_eq!(client(&t, ip("127.0.0.1"), &h), ip("10.244.1.7"));
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
