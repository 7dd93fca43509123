//! The listening loop: hyper with bounded connections, TCP_NODELAY, the peer's address for the
//! handlers, and a graceful shutdown that lets in-flight requests finish.
//!
//! A connection costs a file descriptor whatever it does, so none may sit idle for long:
//! - at most `max_connections` at once; one more is closed as it arrives (and counted);
//! - until its first bytes say which protocol it speaks (an HTTP/2 preface, or anything
//!   else: HTTP/1), it has `header_timeout`, as a request has for its headers — a socket that
//!   sends nothing, or half a preface, is closed then;
//! - with nothing in flight (no request running, no response still streaming: a live feed is
//!   in flight) for `idle_timeout`, it is closed gracefully; HTTP/2 peers are also pinged and
//!   dropped when they stop answering.
//!
//! Probes have a listener of their own (`--probe-listen`) beside these limits: a flood on the
//! main port cannot make the kubelet restart a healthy pod.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{Router, body::Body, extract::ConnectInfo};
use bytes::{Buf, Bytes};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto::Builder,
};
use tokio::{
    io::AsyncReadExt,
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};
use tower::ServiceExt;

/// How long in-flight requests get once the shutdown begins.
const DRAIN: Duration = Duration::from_secs(20);
/// How long an idle connection closed gracefully has to say goodbye before it is dropped.
const GOODBYE: Duration = Duration::from_secs(2);
/// The HTTP/2 connection preface: a connection whose first bytes are not (a start of) it
/// speaks HTTP/1.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What bounds the connections of one listener.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub max_connections: usize,
    pub idle_timeout: Duration,
}

impl ConnectionLimits {
    pub fn of(protection: &crate::config::Protection) -> Self {
        ConnectionLimits {
            header_timeout: protection.header_timeout,
            max_connections: protection.max_connections,
            idle_timeout: protection.idle_timeout,
        }
    }
}

/// Connections turned away or closed by the limits, by why (`/metrics`): `connections` (at
/// the cap), `protocol_timeout` (no request began in time), `idle` (nothing in flight).
pub type Closed = crate::metrics::CounterFamily<crate::metrics::ReasonLabel>;

/// Serves `router` on `listener` until `shutdown` resolves, then waits for open connections
/// to finish (up to 20 s).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    closed: Arc<Closed>,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(Duration::from_secs(20))
        .max_concurrent_streams(256);
    let places = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(place) = places.clone().try_acquire_owned() else {
            crate::metrics::count(&closed, "connections");
            drop(tcp);
            continue;
        };
        // Pages stream in several writes; without TCP_NODELAY, Nagle's algorithm holds the
        // later ones until the browser's delayed ACK (~40 ms per page).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
        let (router, builder, limits, closed, mut stopping) =
            (router.clone(), builder.clone(), limits.clone(), closed.clone(), stopping.clone());
        tokio::spawn(async move {
            let _place = place;
            let Some(io) = protocol_known(tcp, limits.header_timeout).await else {
                crate::metrics::count(&closed, "protocol_timeout");
                return;
            };
            let activity = Arc::new(Activity::new());
            let in_flight = activity.clone();
            let service = tower::service_fn(move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                let guard = in_flight.begin();
                let router = router.clone();
                async move {
                    let response = router.oneshot(request).await?;
                    Ok::<_, std::convert::Infallible>(
                        response.map(|body| Body::new(Tracked { body, _guard: guard })),
                    )
                }
            });
            let connection = builder
                .serve_connection_with_upgrades(io, hyper_util::service::TowerToHyperService::new(service));
            let mut connection = std::pin::pin!(connection);
            let mut closing = false;
            let mut closed_by = std::pin::pin!(tokio::time::sleep(Duration::MAX));
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(%peer, "connection ended: {e}");
                        }
                        break;
                    }
                    // A graceful close waits for the peer (HTTP/2 pings it first): one that
                    // answers nothing is dropped.
                    () = &mut closed_by, if closing => break,
                    _ = stopping.wait_for(|s| *s), if !closing => {
                        connection.as_mut().graceful_shutdown();
                        closed_by.as_mut().reset(tokio::time::Instant::now() + DRAIN);
                        closing = true;
                    }
                    () = activity.idle_for(limits.idle_timeout), if !closing => {
                        crate::metrics::count(&closed, "idle");
                        connection.as_mut().graceful_shutdown();
                        closed_by.as_mut().reset(tokio::time::Instant::now() + GOODBYE);
                        closing = true;
                    }
                }
            }
        });
    }
    drop(listener);
    stop.send_replace(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN, places.acquire_many(all)).await.is_err() {
        tracing::warn!("some connections were still open after {DRAIN:?}; stopping anyway");
    }
}

/// Reads a new connection's first bytes, until they tell HTTP/2 (its whole preface) from
/// HTTP/1 (anything else), within `within`; the connection as hyper then reads it, those bytes
/// first. `None`: it said too little in time, or closed.
async fn protocol_known(mut tcp: TcpStream, within: Duration) -> Option<Prefixed> {
    let mut first = Vec::with_capacity(H2_PREFACE.len());
    let read = async {
        let mut buf = [0u8; 24];
        loop {
            let n = tcp.read(&mut buf[..H2_PREFACE.len() - first.len()]).await.ok()?;
            if n == 0 {
                return None;
            }
            first.extend_from_slice(&buf[..n]);
            if first.len() >= H2_PREFACE.len() || !H2_PREFACE.starts_with(&first) {
                return Some(());
            }
        }
    };
    tokio::time::timeout(within, read).await.ok()??;
    Some(Prefixed { first: Bytes::from(first), inner: TokioIo::new(tcp) })
}

/// A connection whose first bytes were read already: hyper reads them again first.
struct Prefixed {
    first: Bytes,
    inner: TokioIo<TcpStream>,
}

impl hyper::rt::Read for Prefixed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.first.is_empty() {
            let n = self.first.len().min(buf.remaining());
            buf.put_slice(&self.first[..n]);
            self.first.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Prefixed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
}

/// What one connection has in flight: requests running and responses still being sent.
struct Activity {
    in_flight: AtomicUsize,
    /// When the last thing in flight ended (or the connection began).
    since: Mutex<Instant>,
}

/// One request in flight, until its response has been sent (or abandoned).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.0.since.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        }
    }
}

impl Activity {
    fn new() -> Self {
        Activity { in_flight: AtomicUsize::new(0), since: Mutex::new(Instant::now()) }
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    /// Resolves once nothing has been in flight for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let quiet_since = *self.since.lock().unwrap_or_else(|e| e.into_inner());
            if self.in_flight.load(Ordering::Acquire) == 0 && quiet_since.elapsed() >= limit {
                return;
            }
            let wait = if self.in_flight.load(Ordering::Acquire) > 0 {
                limit
            } else {
                limit.saturating_sub(quiet_since.elapsed())
            };
            tokio::time::sleep(wait.max(Duration::from_millis(100))).await;
        }
    }
}

/// A response body that keeps its request in flight until it is done.
struct Tracked {
    body: Body,
    _guard: InFlight,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Serves `state` on `listener` in the background until the process ends (tests, benchmarks).
pub fn spawn(listener: TcpListener, state: super::ServerState) -> tokio::task::JoinHandle<()> {
    let limits = ConnectionLimits::of(&state.protection);
    let closed = state.closed.clone();
    tokio::spawn(serve(listener, super::router(state), limits, closed, std::future::pending()))
}

/// The probes alone (`/healthz`, `/readyz`), on a listener of their own beside the limits of
/// the main one.
pub fn probes(readiness: super::health::Readiness) -> Router {
    use axum::routing::get;
    Router::new()
        .route("/healthz", get(super::health::healthz))
        .route("/readyz", get(super::health::readyz))
        .with_state(readiness)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn idle_means_nothing_in_flight_for_the_whole_limit() {
        let a = Arc::new(Activity::new());
        let guard = a.begin();
        let waited =
            tokio::time::timeout(Duration::from_millis(300), a.idle_for(Duration::from_millis(100))).await;
        assert!(waited.is_err(), "a request in flight is not idle");
        drop(guard);
        let started = Instant::now();
        a.idle_for(Duration::from_millis(150)).await;
        assert!(started.elapsed() >= Duration::from_millis(140));
    }
}
