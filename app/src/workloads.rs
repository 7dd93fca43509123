//! Server functions for the services pages: a page of workloads, one workload, its history —
//! each of the cluster the page names (`None`: the primary).

use leptos::prelude::*;

use crate::dto::{History, RowPage, Workload, WorkloadQuery};

/// Table rows filtered, sorted and paged as the services page's URL says.
#[server(prefix = "/rpc", endpoint = "workloads")]
pub async fn list_workloads(cluster: Option<String>, query: WorkloadQuery) -> Result<RowPage, ServerFnError> {
    if crate::chosen::is_every(cluster.as_deref()) {
        return crate::backend::backend()?.fleet.workloads(&query).map_err(ServerFnError::new);
    }
    crate::backend::backend_in(&cluster)?
        .cluster
        .workloads(&query)
        .map(RowPage::from)
        .map_err(ServerFnError::new)
}

/// One Deployment, or `None` when the cluster has no such Deployment (any more).
#[server(prefix = "/rpc", endpoint = "workload")]
pub async fn get_workload(
    cluster: Option<String>,
    namespace: String,
    name: String,
) -> Result<Option<Workload>, ServerFnError> {
    Ok(crate::backend::backend_in(&cluster)?.cluster.workload(&namespace, &name))
}

/// A workload's history over the last `range_ms` (up to now), in at most `points` buckets;
/// `None` when nothing was recorded for it yet.
#[server(prefix = "/rpc", endpoint = "workload-history")]
pub async fn workload_history(
    cluster: Option<String>,
    namespace: String,
    name: String,
    range_ms: i64,
    points: i64,
) -> Result<Option<History>, ServerFnError> {
    let backend = crate::backend::backend_in(&cluster)?;
    let Some(history) = backend.history else {
        return Err(ServerFnError::new("this server records no history"));
    };
    history.recent(&namespace, &name, range_ms, points).await.map_err(ServerFnError::new)
}
