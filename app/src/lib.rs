//! Paydeck's user interface.
//!
//! Compiled twice: with `ssr` into the server, which renders every page to HTML, and with
//! `hydrate` into the WebAssembly bundle, which takes over those pages in the browser. The
//! server functions here are the only way the browser asks the server for data; their bodies
//! run on the server and reach its state through the [`backend`] traits.

#![recursion_limit = "256"]

pub mod advisor;
pub mod backend;
pub mod charts;
pub mod chosen;
pub mod cluster;
pub mod csp;
pub mod fleet;
/// The data types server and browser exchange (the domain's).
pub use domain::dto;
pub mod format;
pub mod layout;
pub mod live;
pub mod pages;
pub mod plans;
pub mod platform;
pub mod poll;
pub mod scaling;
pub mod shell;
pub mod viewer;
pub mod whatif;
pub mod widgets;
pub mod workloads;

pub use shell::{App, shell};

/// The product version, shown in the footer and reported by the server.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The URL prefix of every server function; the JSON API lives under `/api` instead.
pub const SERVER_FN_PREFIX: &str = "/rpc";

/// The WebAssembly entry point: attaches the interactive app to the server-rendered page.
/// Lazily: a page whose code is a separate chunk ([`pages::AdvisorRoute`] and its kind) is
/// hydrated once that chunk has arrived.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(App);
}
