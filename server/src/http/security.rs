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
