//! Counts the requests this server answers, for `/metrics` (`paydeck_http_requests`).

use std::sync::Arc;

use axum::{extract::Request, middleware::Next, response::Response};

/// Requests answered since the server started.
#[derive(Debug, Default)]
pub struct TrafficMeter {
    pub requests: prometheus_client::metrics::counter::Counter,
}

/// Middleware: counts every request once its response is ready.
pub async fn count_requests(
    axum::extract::State(meter): axum::extract::State<Arc<TrafficMeter>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    meter.requests.inc();
    response
}
