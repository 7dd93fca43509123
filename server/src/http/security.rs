//! Security headers on every response.
//!
//! HTML pages carry a Content-Security-Policy with the request's nonce, set while the page
//! renders (see `app::csp`). Everything else (JSON, static files, errors) gets the strictest
//! policy, since none of it should load anything.

use axum::{
    Router,
    http::{HeaderName, HeaderValue, header},
};
use tower_http::set_header::SetResponseHeaderLayer;

/// The policy for responses that are not pages.
pub const NON_PAGE_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Adds the security headers to every response of `router`.
pub fn apply(router: Router) -> Router {
    let always = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(NON_PAGE_CSP),
        ))
        .layer(always(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(always(header::X_FRAME_OPTIONS, "DENY"))
        .layer(always(header::REFERRER_POLICY, "same-origin"))
        .layer(always(HeaderName::from_static("cross-origin-opener-policy"), "same-origin"))
}

/// CSRF protection for every state-changing request (anything but GET, HEAD, OPTIONS): a
/// browser must say the request comes from this origin. `Sec-Fetch-Site` (sent by every
/// current browser) must be `same-origin` (or `none`: typed by the user), and an `Origin`
/// header must name this host. Clients that are not browsers send neither and pass.
pub async fn same_origin_writes(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let cross_site = site.is_some_and(|s| s != "same-origin" && s != "none");
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let foreign_origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).is_some_and(|origin| {
        let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or(origin);
        Some(origin_host) != host
    });
    if cross_site || foreign_origin {
        return super::error::error(
            axum::http::StatusCode::FORBIDDEN,
            "cross-site request refused: changes must come from Paydeck's own pages",
        );
    }
    next.run(request).await
}
