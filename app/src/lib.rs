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
pub mod notifications;
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

#[cfg(test)]
mod tests {
    /// Every server function has an address of its own: two with one endpoint answer each
    /// other's calls (whichever registered last wins), which no type checks.
    #[test]
    fn server_function_endpoints_are_unique() {
        fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    sources(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        sources(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
        let mut seen = std::collections::BTreeMap::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (_, rest) in text.match_indices("endpoint = \"").map(|(i, _)| ((), &text[i + 12..])) {
                let endpoint = rest.split('"').next().unwrap().to_string();
                if let Some(other) = seen.insert(endpoint.clone(), file.clone()) {
                    panic!("endpoint {endpoint:?} in {} and {}", other.display(), file.display());
                }
            }
        }
        assert!(seen.len() > 10, "{seen:?}");
    }
}
