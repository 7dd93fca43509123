//! What the server functions need from the server process.
//!
//! The app cannot depend on the server crate (the server depends on it), so the server
//! implements these traits and provides them as Leptos context for every request.

#[cfg(feature = "ssr")]
use std::{future::Future, pin::Pin, sync::Arc};

#[cfg(feature = "ssr")]
use crate::{
    dto::{History, Overview, Viewer, Workload, WorkloadPage, WorkloadQuery},
    scaling::{AuditEntry, AuditQuery, Edit, EditResponse, Rights, validate::Limits},
};

/// The live picture of the cluster.
#[cfg(feature = "ssr")]
pub trait ClusterSource: Send + Sync + 'static {
    /// Totals and findings, narrowed to a namespace when given.
    fn overview(&self, namespace: Option<&str>) -> Overview;
    /// A page of workloads, or why the query is wrong.
    fn workloads(&self, query: &WorkloadQuery) -> Result<WorkloadPage, domain::query::QueryError>;
    fn workload(&self, namespace: &str, name: &str) -> Option<Workload>;
    /// The platform now: its totals over the workloads of `namespace` (all when `None`) as
    /// the one point, with the nodes' allocatable.
    fn platform_now(&self, namespace: Option<&str>) -> crate::dto::Platform;
}

/// A future the history store answers with.
#[cfg(feature = "ssr")]
pub type HistoryFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<History>, String>> + Send + 'a>>;

/// Recorded history.
#[cfg(feature = "ssr")]
pub trait HistorySource: Send + Sync + 'static {
    /// A workload's history over the last `range_ms` in at most `points` buckets; `None`
    /// when nothing was ever recorded for it; `Err` says what was wrong with the request or
    /// store.
    fn recent<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        range_ms: i64,
        points: i64,
    ) -> HistoryFuture<'a>;

    /// The platform's recorded totals per 5-minute bucket over the last `range_ms`.
    fn platform<'a>(
        &'a self,
        namespace: Option<&'a str>,
        range_ms: i64,
    ) -> BoxFuture<'a, Result<Vec<crate::dto::PlatformPoint>, String>>;
}

/// A boxed future, for the async methods of these traits.
#[cfg(feature = "ssr")]
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Scaling edits and their audit log.
#[cfg(feature = "ssr")]
pub trait EditSource: Send + Sync + 'static {
    /// The bounds edits are checked against (the form checks the same as the user types).
    fn limits(&self) -> Limits;
    /// Whether `viewer` may change the workload's scaling, as the cluster answers for them.
    fn rights<'a>(
        &'a self,
        viewer: &'a Viewer,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Rights, String>>;
    /// Validates, previews or applies, and audits.
    fn submit<'a>(
        &'a self,
        viewer: &'a Viewer,
        namespace: &'a str,
        name: &'a str,
        edit: &'a Edit,
    ) -> BoxFuture<'a, EditResponse>;
    /// Audited attempts for `viewer` (refused without an identity unless the server allows
    /// anonymous audit reads).
    fn audit<'a>(
        &'a self,
        viewer: &'a Viewer,
        query: &'a AuditQuery,
    ) -> BoxFuture<'a, Result<Vec<AuditEntry>, String>>;
}

/// Recorded demand, for the what-if replay in the browser.
#[cfg(feature = "ssr")]
pub trait WhatIfSource: Send + Sync + 'static {
    /// The workload's demand over `window`; `Err` says why there is none.
    fn demand<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        window: domain::whatif::Window,
    ) -> BoxFuture<'a, Result<domain::whatif::Series, String>>;
}

/// The advisor: the governance rules' findings, right-sizing and the capacity planner.
#[cfg(feature = "ssr")]
pub trait AdvisorSource: Send + Sync + 'static {
    fn findings(&self, query: &domain::rules::report::FindingsQuery)
    -> domain::rules::report::FindingsReport;
    fn sizing(&self, query: &domain::sizing::SizingQuery) -> domain::sizing::SizingReport;
    /// The plan, or why the peak asked for is not one.
    fn plan(&self, query: &domain::planner::PlanQuery) -> Result<domain::planner::PlanReport, String>;
}

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
}

/// The backend of the current request, or a server-function error saying it is missing.
#[cfg(feature = "ssr")]
pub fn backend() -> Result<Backend, leptos::prelude::ServerFnError> {
    leptos::prelude::use_context::<Backend>()
        .ok_or_else(|| leptos::prelude::ServerFnError::new("the server did not provide its backend"))
}
