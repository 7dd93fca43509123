//! Scheduled scaling plans on the server: what people ask of a plan ([`moves`]: draft, edit,
//! approve, reject, pause, resume, cancel — each as themselves, each an audit row) and what
//! the leader does with approved ones ([`runner`]: each window's step, as the approver). The
//! rules a plan follows are the domain's (`domain::plans`); a plan as it stands is the
//! store's ([`crate::store::PlanStore`]); its history is the audit log's.

pub mod backtest;
pub mod desk;
pub mod moves;
pub mod runner;

use std::sync::Arc;

use domain::plan::{Approval, CalendarWindow, Plan, PlanView, WindowSpan};
use serde_json::Value;

use crate::{
    audit::{Attempt, AuditLog},
    limiter::Limiter,
    store::PlanStore,
};

/// Why a plan was not changed (or found), in words; the API's status follows the kind.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// No identity to act as (401).
    #[error("{0}")]
    SignIn(String),
    /// Not this person, not now, not on this HPA (403).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    NotFound(String),
    /// Made against a version of the plan (or of the HPA) that is not current (409).
    #[error("{0}")]
    Stale(String),
    /// The fields at fault (422).
    #[error("{}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<domain::scaling::FieldError>),
    /// Too many changes in a minute (429).
    #[error("{0}")]
    Throttled(String),
    /// The store or the audit log cannot take the change: nothing was changed (503).
    #[error("{0}")]
    Unavailable(String),
}

impl PlanError {
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> PlanError {
        PlanError::Invalid(vec![domain::scaling::FieldError { field: field.into(), message: message.into() }])
    }
}

impl From<crate::store::StoreError> for PlanError {
    fn from(e: crate::store::StoreError) -> Self {
        PlanError::Unavailable(format!("{e}: nothing was changed"))
    }
}

/// The plans of every cluster, in one store, audited in one log.
pub struct Plans {
    store: Arc<dyn PlanStore>,
    audit: Arc<AuditLog>,
    /// Whether a second person approves (`--plans`).
    pub approval: Approval,
    /// Drafts and moves per person per minute: a flood cannot fill the store or the log.
    limiter: Limiter,
}

/// Open (not rejected or cancelled) plans one HPA may have: a few peaks, not a calendar of
/// one-off plans.
pub const MAX_OPEN_PER_HPA: usize = 8;

/// Who Paydeck itself is on the audit rows of what a plan does by itself (pausing when the
/// HPA was changed under it).
pub const PAYDECK: &str = "paydeck";

impl Plans {
    pub fn new(store: Arc<dyn PlanStore>, audit: Arc<AuditLog>, approval: Approval) -> Plans {
        Plans { store, audit, approval, limiter: Limiter::new(20, std::time::Duration::from_secs(60)) }
    }

    /// The plans of `cluster`, oldest first.
    pub async fn list(&self, cluster: &str) -> Result<Vec<Plan>, PlanError> {
        Ok(self.store.list(Some(cluster)).await?)
    }

    /// Every cluster's plans, oldest first (the calendar, the leader's steps).
    pub async fn every(&self) -> Result<Vec<Plan>, PlanError> {
        Ok(self.store.list(None).await?)
    }

    /// Plan `id` of `cluster`: a plan of another cluster is not found here.
    pub async fn get(&self, cluster: &str, id: i64) -> Result<Plan, PlanError> {
        match self.store.get(id).await? {
            Some(plan) if plan.cluster == cluster => Ok(plan),
            _ => Err(PlanError::NotFound(format!("no plan {id} in cluster {cluster}"))),
        }
    }

    /// Every cluster's open plans' windows over `[from_ms, to_ms)`, in start order.
    pub async fn calendar(&self, from_ms: i64, to_ms: i64) -> Result<Vec<CalendarWindow>, PlanError> {
        let mut out: Vec<CalendarWindow> = self
            .every()
            .await?
            .into_iter()
            .filter(|p| !moves::closed(p))
            .flat_map(|p| {
                windows(&p, from_ms, to_ms).into_iter().map(move |window| CalendarWindow {
                    cluster: p.cluster.clone(),
                    namespace: p.namespace.clone(),
                    name: p.name.clone(),
                    plan_id: p.id,
                    state: p.record.state,
                    reason: p.reason.clone(),
                    window,
                })
            })
            .collect();
        out.sort_by_key(|c| (c.window.start_ms, c.plan_id));
        Ok(out)
    }

    /// Writes `plan` over the version before it; `Stale` when someone changed it meanwhile.
    async fn replace(&self, plan: &Plan) -> Result<(), PlanError> {
        if self.store.replace(plan).await? {
            Ok(())
        } else {
            Err(PlanError::Stale(format!(
                "plan {} was changed by someone else meanwhile: nothing was changed; load it again",
                plan.id
            )))
        }
    }

    /// Records a change to a plan (or a refused one): the plan before and after in full.
    async fn record(&self, row: PlanRow<'_>) -> Result<i64, PlanError> {
        let before = row.before.map_or(Value::Null, |p| serde_json::to_value(p).unwrap_or(Value::Null));
        let after = row.after.map_or(Value::Null, |p| serde_json::to_value(p).unwrap_or(Value::Null));
        let target = match row.id {
            Some(id) => format!("Plan/{id}"),
            None => "Plan".to_string(),
        };
        let attempt = Attempt {
            at_ms: row.at_ms,
            user: row.user,
            groups: row.groups,
            namespace: row.namespace,
            name: row.name,
            target: &target,
            before: &before,
            after: &after,
            reason: row.reason,
            outcome: row.outcome,
            detail: row.detail,
            intent_seq: None,
            cluster: row.cluster,
        };
        self.audit.record(&attempt).await.map_err(|e| {
            PlanError::Unavailable(format!("the audit log cannot record it ({e}): nothing was changed"))
        })
    }
}

impl<'a> PlanRow<'a> {
    /// A change made to a plan by `user`: the plan before and after in full.
    fn changed(
        at_ms: i64,
        (user, groups): (&'a str, &'a [String]),
        before: &'a Plan,
        after: &'a Plan,
        detail: &'a str,
    ) -> PlanRow<'a> {
        PlanRow {
            at_ms,
            user,
            groups,
            cluster: &after.cluster,
            namespace: &after.namespace,
            name: &after.name,
            id: Some(after.id),
            before: Some(before),
            after: Some(after),
            reason: &after.reason,
            outcome: "applied",
            detail,
        }
    }
}

/// One audit row about a plan.
struct PlanRow<'a> {
    at_ms: i64,
    user: &'a str,
    groups: &'a [String],
    cluster: &'a str,
    namespace: &'a str,
    name: &'a str,
    id: Option<i64>,
    before: Option<&'a Plan>,
    after: Option<&'a Plan>,
    reason: &'a str,
    /// `applied` for a change made; `denied`, `invalid`, `conflict` for one refused.
    outcome: &'a str,
    detail: &'a str,
}

/// How far back and ahead a plan's windows are listed with it: the day before (the charts'
/// bands) and the week ahead.
pub const WINDOWS_BEFORE_MS: i64 = 86_400_000;
pub const WINDOWS_AHEAD_MS: i64 = 7 * 86_400_000;

/// The windows of `plan` that fall in `[from_ms, to_ms)`, in its time zone's words.
pub fn windows(plan: &Plan, from_ms: i64, to_ms: i64) -> Vec<WindowSpan> {
    let Ok(schedule) = plan.schedule.check() else { return vec![] };
    schedule
        .occurrences(from_ms, to_ms)
        .into_iter()
        .filter(|o| o.end_ms > from_ms && o.start_ms < to_ms)
        .map(|o| WindowSpan {
            start_ms: o.start_ms,
            end_ms: o.end_ms,
            level: o.level,
            local: schedule.span_words(o.start_ms, o.end_ms),
        })
        .collect()
}

/// A plan with its windows from a day before `now_ms` to a week after.
pub fn view_of(plan: Plan, now_ms: i64) -> PlanView {
    let windows = windows(&plan, now_ms - WINDOWS_BEFORE_MS, now_ms + WINDOWS_AHEAD_MS);
    PlanView { plan, windows, now_ms }
}
