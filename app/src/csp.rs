//! The Content-Security-Policy of HTML pages.
//!
//! Only this origin may serve scripts, styles, images and connections. Scripts also need the
//! per-request nonce (Leptos's hydration and streaming scripts carry it) and WebAssembly
//! compilation. ECharts positions its tooltips with inline `style` attributes, hence
//! `style-src-attr 'unsafe-inline'`; Paydeck's own markup uses classes only.

/// The policy for a page rendered with `nonce`.
pub fn policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// Puts the policy for this request's nonce on the response being rendered.
#[cfg(feature = "ssr")]
pub fn set_header_for_page() {
    use http::{HeaderValue, header::CONTENT_SECURITY_POLICY};
    use leptos::prelude::use_context;

    let (Some(nonce), Some(response)) =
        (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&policy(&nonce)) {
        response.insert_header(CONTENT_SECURITY_POLICY, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_only_this_origin_and_the_nonce() {
        let p = policy("abc123");
        assert!(p.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval'"));
        assert!(p.contains("frame-ancestors 'none'"));
        assert!(p.contains("object-src 'none'"));
        assert!(!p.contains(" 'unsafe-eval'"), "no general eval: {p}");
        assert!(!p.contains("http"), "no other origin is named: {p}");
    }
}
