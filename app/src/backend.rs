//! What the server functions need from the server process: the domain's ports
//! ([`domain::ports`]), which the server implements, provided as Leptos context for every
//! request.

#[cfg(feature = "ssr")]
use std::sync::Arc;

#[cfg(feature = "ssr")]
pub use domain::ports::{
    AdvisorSource, BoxFuture, ClusterSource, EditSource, FleetSource, HistoryFuture, HistorySource,
    WhatIfSource,
};

/// Everything the server functions may ask of the server, provided as one context value.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct Backend {
    pub cluster: Arc<dyn ClusterSource>,
    /// `None` when this server records no history.
    pub history: Option<Arc<dyn HistorySource>>,
    /// `None` when this server offers no edits (no audit log).
    pub edits: Option<Arc<dyn EditSource>>,
    /// `None` when this server records no history.
    pub whatif: Option<Arc<dyn WhatIfSource>>,
    pub advisor: Arc<dyn AdvisorSource>,
    /// Every cluster watched (the one above first).
    pub fleet: Arc<dyn FleetSource>,
}

/// The backend of the current request, or a server-function error saying it is missing.
#[cfg(feature = "ssr")]
pub fn backend() -> Result<Backend, leptos::prelude::ServerFnError> {
    leptos::prelude::use_context::<Backend>()
        .ok_or_else(|| leptos::prelude::ServerFnError::new("the server did not provide its backend"))
}
