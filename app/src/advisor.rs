//! The server functions behind the Advisor and Planner pages and a service's governance
//! section.

use domain::{
    planner::{PlanQuery, PlanReport},
    rules::report::{FindingsQuery, FindingsReport},
    sizing::{SizingQuery, SizingReport},
};
use leptos::prelude::*;

/// The governance findings `query` asks for, with per-rule counts.
#[server(prefix = "/rpc", endpoint = "findings")]
pub async fn findings(
    cluster: Option<String>,
    query: FindingsQuery,
) -> Result<FindingsReport, ServerFnError> {
    if crate::chosen::is_every(cluster.as_deref()) {
        let reports = crate::backend::every_backend()?
            .into_iter()
            .map(|b| (b.cluster_name.clone(), b.advisor.findings(&query)))
            .collect();
        return Ok(domain::rules::report::merge(reports));
    }
    Ok(crate::backend::backend_in(&cluster)?.advisor.findings(&query))
}

/// Right-sizing for the workloads in `query`'s scope.
#[server(prefix = "/rpc", endpoint = "sizing")]
pub async fn sizing(cluster: Option<String>, query: SizingQuery) -> Result<SizingReport, ServerFnError> {
    Ok(crate::backend::backend_in(&cluster)?.advisor.sizing(&query))
}

/// The capacity plan for a peak.
#[server(prefix = "/rpc", endpoint = "plan")]
pub async fn plan(cluster: Option<String>, query: PlanQuery) -> Result<PlanReport, ServerFnError> {
    crate::backend::backend_in(&cluster)?.advisor.plan(&query).map_err(ServerFnError::new)
}
