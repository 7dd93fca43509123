//! What the server functions need from the server process: the domain's ports
//! ([`domain::ports`]), which the server implements, provided as Leptos context for every
//! request.

#[cfg(feature = "ssr")]
use std::sync::Arc;

#[cfg(feature = "ssr")]
pub use domain::ports::{
    AdvisorSource, BoxFuture, ClusterSource, EditSource, FleetSource, HistoryFuture, HistorySource,
    NotificationSource, PlanSource, WhatIfSource,
};

/// Everything the server functions may ask of the server, provided as one context value.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct Backend {
    /// The fleet's name for this cluster.
    pub cluster_name: String,
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
    /// `None` when this server offers no edits (plans are audited as edits are).
    pub plans: Option<Arc<dyn PlanSource>>,
    /// `None` when no notifications file is set.
    pub notifications: Option<Arc<dyn NotificationSource>>,
}

/// Every cluster's backend, the primary's first: what the server provides to every request.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct Backends(pub Arc<Vec<Backend>>);

/// The primary cluster's backend (the fleet's and the viewer's questions are not per
/// cluster), or a server-function error saying it is missing.
#[cfg(feature = "ssr")]
pub fn backend() -> Result<Backend, leptos::prelude::ServerFnError> {
    backend_in(&None)
}

/// Every cluster's backend, the primary's first.
#[cfg(feature = "ssr")]
pub fn every_backend() -> Result<Vec<Backend>, leptos::prelude::ServerFnError> {
    let Backends(all) = leptos::prelude::use_context::<Backends>()
        .ok_or_else(|| leptos::prelude::ServerFnError::new("the server did not provide its backend"))?;
    Ok(all.as_ref().clone())
}

/// The backend of the cluster `cluster` names (the primary's for `None`), or an error saying
/// Paydeck does not watch it.
#[cfg(feature = "ssr")]
pub fn backend_in(cluster: &Option<String>) -> Result<Backend, leptos::prelude::ServerFnError> {
    use leptos::prelude::ServerFnError;
    let Backends(all) = leptos::prelude::use_context::<Backends>()
        .ok_or_else(|| ServerFnError::new("the server did not provide its backend"))?;
    match cluster {
        None => all.first().cloned().ok_or_else(|| ServerFnError::new("the server watches no cluster")),
        Some(every) if every == crate::chosen::EVERY_CLUSTER => {
            Err(ServerFnError::new("this page shows one cluster at a time: choose one in the cluster picker"))
        }
        Some(name) => all
            .iter()
            .find(|b| &b.cluster_name == name)
            .cloned()
            .ok_or_else(|| ServerFnError::new(format!("Paydeck does not watch a cluster named {name:?}"))),
    }
}
