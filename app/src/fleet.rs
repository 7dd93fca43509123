//! The fleet, as the pages ask for it.

use leptos::prelude::*;

use crate::dto::Capacity;

pub use domain::fleet::{ClusterChoice, ClusterSummary, FleetOverview};

/// Every cluster side by side, and what needs attention across them.
#[server(prefix = "/rpc", endpoint = "fleet-overview")]
pub async fn fleet_summary() -> Result<FleetOverview, ServerFnError> {
    Ok(crate::backend::backend()?.fleet.overview())
}

/// The clusters the picker offers, the primary first.
#[server(prefix = "/rpc", endpoint = "cluster-choices")]
pub async fn cluster_choices() -> Result<Vec<ClusterChoice>, ServerFnError> {
    Ok(crate::backend::backend()?.fleet.choices())
}

/// `requested of allocatable (share)`, and what is used, for a capacity column.
pub fn capacity(c: &Capacity, show: fn(f64) -> String) -> (String, String) {
    let used = c.usage.map(|u| format!("{} used", show(u))).unwrap_or_else(|| "no usage data".into());
    (
        format!("{} of {}", show(c.requests), show(c.allocatable)),
        format!("{} requested · {used}", crate::format::share(c.requests, c.allocatable)),
    )
}
