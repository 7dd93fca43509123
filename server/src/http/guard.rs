//! Limits that keep clients from exhausting the server: a small body on every write, a cap
//! on requests handled at once, and (in `live`) on open live feeds. Each refusal says what
//! was too much and, where waiting helps, when to try again.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::Response,
};
use tokio::sync::Semaphore;

use super::error::error;

/// The largest body a write may carry: a scaling change is well under 2 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Refusals by the guards, by limit (`/metrics`): `body_size`, `concurrency`, `live_feeds`.
pub type Refusals = crate::metrics::CounterFamily<crate::metrics::LimitLabel>;

fn refused(refusals: &Refusals, limit: &'static str) {
    refusals.get_or_create(&crate::metrics::LimitLabel { limit }).inc();
}

fn retry_after(mut response: Response, secs: u64) -> Response {
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// Middleware: a write's body is read here, up to [`MAX_BODY_BYTES`]; beyond that the answer
/// is 413 before any handler runs (the JSON API and the server functions alike).
pub async fn limit_bodies(State(refusals): State<Arc<Refusals>>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let too_large = || {
        refused(&refusals, "body_size");
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
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(_) => too_large(),
    }
}

/// Middleware: at most this many requests are handled at once; beyond, 503 at once rather
/// than a queue that grows with the flood. (A live feed holds its place only while its
/// handler runs; open feeds are capped separately.)
pub async fn limit_concurrency(
    State((permits, refusals)): State<(Arc<Semaphore>, Arc<Refusals>)>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(_permit) = permits.try_acquire() else {
        refused(&refusals, "concurrency");
        return retry_after(
            error(StatusCode::SERVICE_UNAVAILABLE, "Paydeck is busy; try again in a moment"),
            1,
        );
    };
    next.run(request).await
}

/// Places for open live feeds: per client (a user, or an address without one) and in all.
#[derive(Debug)]
pub struct LiveSlots {
    per_client: usize,
    total: usize,
    open: AtomicUsize,
    by_client: Mutex<std::collections::HashMap<String, usize>>,
}

/// A place held by one open feed; given back when the feed ends.
#[derive(Debug)]
pub struct LiveSlot {
    slots: Arc<LiveSlots>,
    client: String,
}

impl Drop for LiveSlot {
    fn drop(&mut self) {
        let mut by_client = self.slots.by_client.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = by_client.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                by_client.remove(&self.client);
            }
        }
        self.slots.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl LiveSlots {
    pub fn new(per_client: usize, total: usize) -> Self {
        LiveSlots { per_client, total, open: AtomicUsize::new(0), by_client: Default::default() }
    }

    /// Feeds open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// A place for `client`, or the 429 that says why not.
    pub fn take(self: &Arc<Self>, client: String, refusals: &Refusals) -> Result<LiveSlot, Box<Response>> {
        let mut by_client = self.by_client.lock().unwrap_or_else(|e| e.into_inner());
        let mine = by_client.get(&client).copied().unwrap_or(0);
        let why = if mine >= self.per_client {
            Some(format!(
                "you already have {mine} live feeds open (at most {}); close a tab",
                self.per_client
            ))
        } else if self.open.load(Ordering::Relaxed) >= self.total {
            Some(format!("Paydeck is serving its maximum of {} live feeds", self.total))
        } else {
            None
        };
        if let Some(why) = why {
            refused(refusals, "live_feeds");
            return Err(Box::new(retry_after(error(StatusCode::TOO_MANY_REQUESTS, why), 30)));
        }
        *by_client.entry(client.clone()).or_default() += 1;
        self.open.fetch_add(1, Ordering::Relaxed);
        Ok(LiveSlot { slots: self.clone(), client })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_places_are_capped_per_client_and_in_all_and_given_back() {
        let slots = Arc::new(LiveSlots::new(2, 3));
        let refusals = Refusals::default();
        let a1 = slots.take("user:ana".into(), &refusals).unwrap();
        let _a2 = slots.take("user:ana".into(), &refusals).unwrap();
        let refused = slots.take("user:ana".into(), &refusals).unwrap_err();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.headers().contains_key(header::RETRY_AFTER));
        let _b = slots.take("addr:10.0.0.9".into(), &refusals).unwrap();
        assert!(slots.take("user:ben".into(), &refusals).is_err(), "three in all");
        drop(a1);
        assert_eq!(slots.open(), 2);
        assert!(slots.take("user:ben".into(), &refusals).is_ok());
        assert_eq!(refusals.get_or_create(&crate::metrics::LimitLabel { limit: "live_feeds" }).get(), 2);
    }
}
