//! What the pages ask of the server: the ports the server implements (live cluster, recorded
//! history, edits and their audit log, demand for the what-if, the advisor) and the UI calls
//! through its server functions. Plain traits over the domain's types, so the UI does not
//! depend on the server and the server does not depend on the UI's framework for them.

use std::{future::Future, pin::Pin};

use crate::{
    dto::{History, Overview, Viewer, Workload, WorkloadPage, WorkloadQuery},
    scaling::{AuditEntry, AuditQuery, Edit, EditResponse, Rights, validate::Limits},
};

/// The live picture of the cluster.
pub trait ClusterSource: Send + Sync + 'static {
    /// Totals and findings, narrowed to a namespace when given.
    fn overview(&self, namespace: Option<&str>) -> Overview;
    /// A page of workloads, or why the query is wrong.
    fn workloads(&self, query: &WorkloadQuery) -> Result<WorkloadPage, crate::query::QueryError>;
    fn workload(&self, namespace: &str, name: &str) -> Option<Workload>;
    /// The platform now: its totals over the workloads of `namespace` (all when `None`) as
    /// the one point, with the nodes' allocatable.
    fn platform_now(&self, namespace: Option<&str>) -> crate::dto::Platform;
}

/// A future the history store answers with.
pub type HistoryFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<History>, String>> + Send + 'a>>;

/// Recorded history.
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
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Scaling edits and their audit log.
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

/// Every cluster Paydeck watches.
pub trait FleetSource: Send + Sync + 'static {
    /// Every cluster side by side, and what needs attention across them.
    fn overview(&self) -> crate::fleet::FleetOverview;
    /// The clusters, the primary first, for the picker (cheap: no figures).
    fn choices(&self) -> Vec<crate::fleet::ClusterChoice>;
    /// A page of every cluster's workloads at once, each row naming its cluster.
    fn workloads(&self, query: &WorkloadQuery) -> Result<crate::dto::RowPage, crate::query::QueryError>;
}

/// Recorded demand, for the what-if replay in the browser.
pub trait WhatIfSource: Send + Sync + 'static {
    /// The workload's demand over `window`; `Err` says why there is none.
    fn demand<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        window: crate::whatif::Window,
    ) -> BoxFuture<'a, Result<crate::whatif::Series, String>>;
}

/// The advisor: the governance rules' findings, right-sizing and the capacity planner.
pub trait AdvisorSource: Send + Sync + 'static {
    fn findings(&self, query: &crate::rules::report::FindingsQuery) -> crate::rules::report::FindingsReport;
    fn sizing(&self, query: &crate::sizing::SizingQuery) -> crate::sizing::SizingReport;
    /// The plan, or why the peak asked for is not one.
    fn plan(&self, query: &crate::planner::PlanQuery) -> Result<crate::planner::PlanReport, String>;
}

/// Scheduled plans, as one cluster's pages ask for them.
pub trait PlanSource: Send + Sync + 'static {
    /// The cluster's plans (one Deployment's, when named), oldest first, each with its
    /// windows from a day ago to a week ahead.
    fn plans<'a>(
        &'a self,
        workload: Option<(&'a str, &'a str)>,
    ) -> BoxFuture<'a, Result<Vec<crate::plan::PlanView>, String>>;
    fn plan(&self, id: i64) -> BoxFuture<'_, Result<crate::plan::PlanView, String>>;
    /// Drafts a plan as `viewer`.
    fn draft<'a>(
        &'a self,
        viewer: &'a Viewer,
        namespace: &'a str,
        name: &'a str,
        request: crate::plan::PlanRequest,
    ) -> BoxFuture<'a, Result<crate::plan::Plan, crate::plan::PlanRefusal>>;
    /// Approves, rejects, pauses, resumes or cancels plan `id` as `viewer`.
    fn act<'a>(
        &'a self,
        viewer: &'a Viewer,
        id: i64,
        action: crate::plan::PlanAction,
        request: crate::plan::PlanMoveRequest,
    ) -> BoxFuture<'a, Result<crate::plan::Plan, crate::plan::PlanRefusal>>;
    /// A plan proposed from the Deployment's recorded demand, read in `time_zone`.
    fn propose<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        time_zone: &'a str,
    ) -> BoxFuture<'a, Result<crate::plan::PlanProposal, crate::plan::PlanRefusal>>;
    /// Every cluster's open plans' windows over the next `days`.
    fn calendar(&self, days: i64) -> BoxFuture<'_, Result<Vec<crate::plan::CalendarWindow>, String>>;
}

/// Notifications: the sinks and their deliveries, and a test message to one.
pub trait NotificationSource: Send + Sync + 'static {
    /// What the settings page shows `viewer` (refused like the audit log to anonymous readers
    /// where it is closed to them).
    fn status<'a>(
        &'a self,
        viewer: &'a crate::dto::Viewer,
    ) -> BoxFuture<'a, Result<crate::notifications::NotificationsStatus, String>>;

    /// Queues a test message to `sink` as `viewer`: what came of it, in words.
    fn send_test<'a>(
        &'a self,
        viewer: &'a crate::dto::Viewer,
        sink: &'a str,
    ) -> BoxFuture<'a, Result<String, String>>;
}
