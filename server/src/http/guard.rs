//! Limits that keep clients from exhausting the server: a small body, sent in time, on every
//! write; a cap on requests handled at once, in all and per client; and (in `live`) on open
//! live feeds. Each refusal says what
//! was too much and, where waiting helps, when to try again.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::Response,
};
use tokio::sync::Semaphore;

use super::error::error;

/// The largest body a write may carry: a scaling change is well under 2 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Refusals by the guards, by limit (`/metrics`): `body_size`, `body_time`, `concurrency`,
/// `client_concurrency`, `live_feeds`, `backtests`, `audit_reads`.
pub type Refusals = crate::metrics::CounterFamily<crate::metrics::LimitLabel>;

pub(crate) fn refused(refusals: &Refusals, limit: &'static str) {
    refusals.get_or_create(&crate::metrics::LimitLabel { limit }).inc();
}

pub(crate) fn retry_after(mut response: Response, secs: u64) -> Response {
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// What bounds a write's body: its size, and the time it may take to arrive.
#[derive(Clone)]
pub struct BodyLimits {
    pub refusals: Arc<Refusals>,
    pub deadline: Duration,
}

/// Middleware: a write's body is read here, up to [`MAX_BODY_BYTES`] and within the body
/// deadline; beyond the size the answer is 413, beyond the time 408, before any handler runs
/// (the JSON API and the server functions alike). A slow body would otherwise hold one of
/// the places for requests handled at once for as long as its sender liked.
pub async fn limit_bodies(State(limits): State<BodyLimits>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let too_large = || {
        refused(&limits.refusals, "body_size");
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {} KiB; nothing was done", MAX_BODY_BYTES / 1024),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    match tokio::time::timeout(limits.deadline, axum::body::to_bytes(body, MAX_BODY_BYTES)).await {
        Ok(Ok(bytes)) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Ok(Err(_)) => too_large(),
        Err(_) => {
            refused(&limits.refusals, "body_time");
            let mut response = error(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} s; nothing was done",
                    limits.deadline.as_secs()
                ),
            );
            // The rest of the body may still be coming: the connection cannot be reused.
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

/// What bounds the requests handled at once: in all, and per client (its address, as a
/// trusted forwarder reports it: no identity is proven yet at this layer).
#[derive(Clone)]
pub struct Concurrency {
    pub total: Arc<Semaphore>,
    pub per_client: Arc<Places>,
    pub trust: Arc<crate::identity::ProxyTrust>,
    pub refusals: Arc<Refusals>,
}

/// The paths that answer whatever the load: the kubelet restarting a pod because a flood
/// kept its probe waiting would turn a slowdown into an outage.
fn is_probe(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz")
}

/// Middleware: at most so many requests are handled at once, and so many per client;
/// beyond, 503 (in all) or 429 (this client) at once rather than a queue that grows with the
/// flood. Probes are not counted. (A live feed holds its place only while its handler runs;
/// open feeds are capped separately.)
pub async fn limit_concurrency(State(limits): State<Concurrency>, request: Request, next: Next) -> Response {
    if is_probe(request.uri().path()) {
        return next.run(request).await;
    }
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let client = crate::identity::proxy::client(&limits.trust, peer, request.headers())
        .map_or_else(|| "addr:unknown".to_string(), |ip| format!("addr:{ip}"));
    let _mine = match limits.per_client.take(client) {
        Ok(place) => place,
        Err(Crowded::Mine(n)) => {
            refused(&limits.refusals, "client_concurrency");
            return retry_after(
                error(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("you already have {n} requests in progress; wait for them to finish"),
                ),
                1,
            );
        }
        Err(Crowded::All(_)) => unreachable!("requests in all are bounded by the semaphore"),
    };
    let Ok(_permit) = limits.total.try_acquire() else {
        refused(&limits.refusals, "concurrency");
        return retry_after(
            error(StatusCode::SERVICE_UNAVAILABLE, "Paydeck is busy; try again in a moment"),
            1,
        );
    };
    next.run(request).await
}

/// What bounds audit reads: so many per client per minute.
#[derive(Clone)]
pub struct AuditReads {
    pub limiter: Arc<crate::limiter::Limiter>,
    pub per_minute: usize,
    pub refusals: Arc<Refusals>,
}

/// The paths that read the audit log: the API (JSON and CSV), the page and its server
/// function.
fn reads_audit(path: &str) -> bool {
    matches!(path, "/api/v1/audit" | "/audit") || path == format!("{}/audit", app::SERVER_FN_PREFIX)
}

/// Middleware (inside the identity one): audit reads are counted per client, a user or an
/// address; beyond the limit, 429. A listing walks the log; a flood of them must not.
pub async fn limit_audit_reads(State(limits): State<AuditReads>, request: Request, next: Next) -> Response {
    if !reads_audit(request.uri().path()) {
        return next.run(request).await;
    }
    let client = request
        .extensions()
        .get::<super::identify::ClientKey>()
        .map_or_else(|| "addr:unknown".to_string(), |c| c.0.clone());
    if let Err(wait) = limits.limiter.allow(&client, std::time::Instant::now()) {
        refused(&limits.refusals, "audit_reads");
        let wait = wait.as_secs().max(1);
        return retry_after(
            error(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "you have read the audit log {} times in the last minute, the most allowed; try again in {wait} s",
                    limits.per_minute
                ),
            ),
            wait,
        );
    }
    next.run(request).await
}

/// Places counted per client (a user, or an address without one) and in all: open live
/// feeds, requests in progress.
#[derive(Debug)]
pub struct Places {
    per_client: usize,
    total: usize,
    open: AtomicUsize,
    by_client: Mutex<std::collections::HashMap<String, usize>>,
}

/// A place held; given back when dropped.
#[derive(Debug)]
pub struct Place {
    places: Arc<Places>,
    client: String,
}

/// Why no place was given: this client holds its maximum, or all are taken.
#[derive(Debug, PartialEq, Eq)]
pub enum Crowded {
    Mine(usize),
    All(usize),
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut by_client = self.places.by_client.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = by_client.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                by_client.remove(&self.client);
            }
        }
        self.places.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Places {
    pub fn new(per_client: usize, total: usize) -> Self {
        Places { per_client, total, open: AtomicUsize::new(0), by_client: Default::default() }
    }

    /// Places held now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// A place for `client`, or why not.
    pub fn take(self: &Arc<Self>, client: String) -> Result<Place, Crowded> {
        let mut by_client = self.by_client.lock().unwrap_or_else(|e| e.into_inner());
        let mine = by_client.get(&client).copied().unwrap_or(0);
        if mine >= self.per_client {
            return Err(Crowded::Mine(mine));
        }
        if self.open.load(Ordering::Relaxed) >= self.total {
            return Err(Crowded::All(self.total));
        }
        *by_client.entry(client.clone()).or_default() += 1;
        self.open.fetch_add(1, Ordering::Relaxed);
        Ok(Place { places: self.clone(), client })
    }

    /// A place for one more live feed of `client`, or the 429 that says why not.
    pub fn take_live_feed(
        self: &Arc<Self>,
        client: String,
        refusals: &Refusals,
    ) -> Result<Place, Box<Response>> {
        let why = match self.take(client) {
            Ok(place) => return Ok(place),
            Err(Crowded::Mine(mine)) => {
                format!("you already have {mine} live feeds open (at most {}); close a tab", self.per_client)
            }
            Err(Crowded::All(total)) => format!("Paydeck is serving its maximum of {total} live feeds"),
        };
        refused(refusals, "live_feeds");
        Err(Box::new(retry_after(error(StatusCode::TOO_MANY_REQUESTS, why), 30)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_places_are_capped_per_client_and_in_all_and_given_back() {
        let slots = Arc::new(Places::new(2, 3));
        let refusals = Refusals::default();
        let a1 = slots.take_live_feed("user:ana".into(), &refusals).unwrap();
        let _a2 = slots.take_live_feed("user:ana".into(), &refusals).unwrap();
        let refused = slots.take_live_feed("user:ana".into(), &refusals).unwrap_err();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.headers().contains_key(header::RETRY_AFTER));
        let _b = slots.take_live_feed("addr:10.0.0.9".into(), &refusals).unwrap();
        assert!(slots.take_live_feed("user:ben".into(), &refusals).is_err(), "three in all");
        drop(a1);
        assert_eq!(slots.open(), 2);
        assert!(slots.take_live_feed("user:ben".into(), &refusals).is_ok());
        assert_eq!(refusals.get_or_create(&crate::metrics::LimitLabel { limit: "live_feeds" }).get(), 2);
    }
}
