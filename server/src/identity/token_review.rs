//! Identity from a bearer token (`Authorization: Bearer …`), for scripts and CLIs that call
//! the API without the auth proxy: the cluster says whose token it is, in a TokenReview made
//! with Paydeck's service account for Paydeck's audience — a token minted for the API server
//! or for another service is not accepted. Answers are kept a short while in a bounded cache
//! (the token itself is never stored, only its digest), concurrent requests with the same
//! token share one review, and each client may cause only so many reviews a minute — the
//! client as the trusted Ingress names it, not the Ingress itself. A token the cluster vouched
//! for in the last hour is reviewed again without spending its client's budget, so a flood of
//! junk tokens from one address cannot lock out the scripts using real ones.

use std::{
    collections::{BTreeMap, HashMap},
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use futures::{
    FutureExt,
    future::{BoxFuture, Shared},
};
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use kube::{Api, Client, api::PostParams};
use ring::digest::{SHA256, digest};

use super::bounds::Identity;
use crate::limiter::Limiter;

const KEEP_VALID: Duration = Duration::from_secs(60);
const KEEP_INVALID: Duration = Duration::from_secs(10);
/// How long a token the cluster vouched for is reviewed again outside the client's budget.
const VOUCHED_FOR: Duration = Duration::from_secs(3600);
/// Longer than any real token (a JWT with many groups is a few KiB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

type Key = [u8; 32];
type Review = Shared<BoxFuture<'static, Option<Option<Identity>>>>;

/// What a review settles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The cluster vouches for this identity.
    Known(Identity),
    /// Nobody: not a token of this cluster for Paydeck's audience (or the cluster did not
    /// answer).
    Unknown,
    /// This client asked for too many reviews; try again after the wait.
    Limited(Duration),
}

/// How a [`TokenReviewer`] is set up.
#[derive(Clone, Debug)]
pub struct ReviewSettings {
    /// The audience tokens must be issued for (`--token-audience`).
    pub audience: String,
    /// Answers kept (`--token-cache-size`).
    pub cache_size: usize,
    /// Reviews one client address may cause per minute (`--token-reviews-per-minute`).
    pub per_client_per_minute: usize,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        ReviewSettings { audience: "paydeck".into(), cache_size: 10_000, per_client_per_minute: 60 }
    }
}

/// A least-recently-used map of answers.
struct Answers {
    capacity: usize,
    /// How long a positive answer is kept (a negative one: [`KEEP_INVALID`]).
    keep_valid: Duration,
    tick: u64,
    entries: HashMap<Key, (Option<Identity>, Instant, u64)>,
    by_use: BTreeMap<u64, Key>,
}

impl Answers {
    fn new(capacity: usize) -> Self {
        Self::keeping(capacity, KEEP_VALID)
    }

    fn keeping(capacity: usize, keep_valid: Duration) -> Self {
        Answers { capacity, keep_valid, tick: 0, entries: HashMap::new(), by_use: BTreeMap::new() }
    }

    fn get(&mut self, key: &Key) -> Option<Option<Identity>> {
        let (identity, at, used) = self.entries.get_mut(key)?;
        let keep = if identity.is_some() { self.keep_valid } else { KEEP_INVALID };
        if at.elapsed() >= keep {
            let used = *used;
            self.by_use.remove(&used);
            self.entries.remove(key);
            return None;
        }
        self.tick += 1;
        self.by_use.remove(used);
        *used = self.tick;
        self.by_use.insert(self.tick, *key);
        Some(identity.clone())
    }

    fn put(&mut self, key: Key, identity: Option<Identity>) {
        if self.capacity == 0 {
            return;
        }
        self.tick += 1;
        if let Some((_, _, used)) = self.entries.insert(key, (identity, Instant::now(), self.tick)) {
            self.by_use.remove(&used);
        }
        self.by_use.insert(self.tick, key);
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.by_use.pop_first() else { break };
            self.entries.remove(&oldest);
        }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

pub struct TokenReviewer {
    client: Client,
    settings: ReviewSettings,
    answers: Mutex<Answers>,
    /// Tokens the cluster vouched for in the last hour (digests only).
    vouched: Mutex<Answers>,
    in_flight: Mutex<HashMap<Key, Review>>,
    per_client: Limiter,
    /// Reviews sent to the cluster (cache misses), for `/metrics`.
    pub reviews_sent: prometheus_client::metrics::counter::Counter,
}

impl std::fmt::Debug for TokenReviewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenReviewer").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// Whether `token` could be a bearer token at all (RFC 6750's token68 characters, a sane
/// length): anything else is refused without asking the cluster.
fn well_formed(token: &str) -> bool {
    token.len() <= MAX_TOKEN_BYTES
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'='))
}

impl TokenReviewer {
    /// What it was set up with (the fleet's other clusters check tokens the same way).
    pub fn settings(&self) -> &ReviewSettings {
        &self.settings
    }

    pub fn new(client: Client, settings: ReviewSettings) -> Self {
        let per_client = Limiter::new(settings.per_client_per_minute.max(1), Duration::from_secs(60));
        Self {
            client,
            answers: Mutex::new(Answers::new(settings.cache_size)),
            // Kept even without a cache of answers: it holds digests, and only of real tokens.
            vouched: Mutex::new(Answers::keeping(settings.cache_size.max(1024), VOUCHED_FOR)),
            settings,
            in_flight: Mutex::new(HashMap::new()),
            per_client,
            reviews_sent: Default::default(),
        }
    }

    /// Answers held in the cache now.
    pub fn cached(&self) -> usize {
        self.answers.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whose token this is, for a request from `client`.
    pub async fn review(&self, token: &str, client: Option<IpAddr>) -> Verdict {
        if !well_formed(token) {
            return Verdict::Unknown;
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
        if let Some(known) = self.answers.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return known.map_or(Verdict::Unknown, Verdict::Known);
        }
        let review = {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            match in_flight.get(&key) {
                Some(shared) => shared.clone(),
                None => {
                    let vouched = self
                        .vouched
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get(&key)
                        .is_some_and(|v| v.is_some());
                    let address = client.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
                    if !vouched && let Err(wait) = self.per_client.allow(&address, Instant::now()) {
                        return Verdict::Limited(wait);
                    }
                    self.reviews_sent.inc();
                    let shared = ask(self.client.clone(), self.settings.audience.clone(), token.to_string())
                        .boxed()
                        .shared();
                    in_flight.insert(key, shared.clone());
                    shared
                }
            }
        };
        let answer = review.await;
        if let Some(identity) = &answer {
            self.answers.lock().unwrap_or_else(|e| e.into_inner()).put(key, identity.clone());
            if identity.is_some() {
                self.vouched.lock().unwrap_or_else(|e| e.into_inner()).put(key, identity.clone());
            }
        }
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
        match answer.flatten() {
            Some(identity) => Verdict::Known(identity),
            None => Verdict::Unknown,
        }
    }
}

/// Asks the cluster: `Some(answer)` when it answered (`Some(None)`: not a valid token for
/// `audience`), `None` when it could not be asked (not cached).
async fn ask(client: Client, audience: String, token: String) -> Option<Option<Identity>> {
    let review = TokenReview {
        spec: TokenReviewSpec { token: Some(token), audiences: Some(vec![audience.clone()]) },
        ..Default::default()
    };
    let answer = match Api::<TokenReview>::all(client).create(&PostParams::default(), &review).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!("token review failed: {e}");
            return None;
        }
    };
    let Some(status) = answer.status.filter(|s| s.authenticated == Some(true)) else {
        return Some(None);
    };
    // An API server that ignores audiences answers without naming one: such a token was
    // meant for the API server, not for Paydeck.
    if !status.audiences.as_ref().is_some_and(|a| a.contains(&audience)) {
        tracing::info!(audience, "a bearer token was refused: not issued for Paydeck's audience");
        return Some(None);
    }
    Some(status.user.and_then(|u| Some(Identity { user: u.username?, groups: u.groups.unwrap_or_default() })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(user: &str) -> Option<Identity> {
        Some(Identity { user: user.into(), groups: vec![] })
    }

    #[test]
    fn the_cache_forgets_the_least_recently_used() {
        let mut answers = Answers::new(2);
        answers.put([1; 32], who("a"));
        answers.put([2; 32], who("b"));
        assert_eq!(answers.get(&[1; 32]), Some(who("a")), "a is now the most recent");
        answers.put([3; 32], who("c"));
        assert_eq!(answers.len(), 2);
        assert_eq!(answers.get(&[2; 32]), None, "b went first");
        assert_eq!(answers.get(&[1; 32]), Some(who("a")));
        assert_eq!(answers.get(&[3; 32]), Some(who("c")));
        let mut none = Answers::new(0);
        none.put([1; 32], who("a"));
        assert_eq!(none.len(), 0);
    }

    #[test]
    fn only_token_shaped_strings_are_reviewed() {
        assert!(well_formed("eyJhbGciOi.J9-_~+/="));
        assert!(!well_formed("has space"));
        assert!(!well_formed("quote\""));
        assert!(!well_formed(&"a".repeat(MAX_TOKEN_BYTES + 1)));
    }
}
