//! What the server functions need from the server process.
//!
//! The app cannot depend on the server crate (the server depends on it), so the server
//! implements these traits and provides them as Leptos context for every request.

#[cfg(feature = "ssr")]
use std::sync::Arc;

#[cfg(feature = "ssr")]
use crate::{dto::Overview, traffic::TrafficSeries};

/// The server's own HTTP traffic, as counted by its request meter.
#[cfg(feature = "ssr")]
pub trait TrafficSource: Send + Sync + 'static {
    fn recent_traffic(&self) -> TrafficSeries;
}

/// The live picture of the cluster.
#[cfg(feature = "ssr")]
pub trait ClusterSource: Send + Sync + 'static {
    fn overview(&self) -> Overview;
}

/// Everything the server functions may ask of the server, provided as one context value.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct Backend {
    pub traffic: Arc<dyn TrafficSource>,
    pub cluster: Arc<dyn ClusterSource>,
}

/// The backend of the current request, or a server-function error saying it is missing.
#[cfg(feature = "ssr")]
pub fn backend() -> Result<Backend, leptos::prelude::ServerFnError> {
    leptos::prelude::use_context::<Backend>()
        .ok_or_else(|| leptos::prelude::ServerFnError::new("the server did not provide its backend"))
}
