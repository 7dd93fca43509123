//! What people do with plans, each as themselves: draft one for an HPA, edit it (back to a
//! draft), approve or reject it (another person than its author, with the right to change
//! that HPA, asked of the cluster as them), pause, resume or cancel it. Each change is
//! checked, written against the version it was made on, and audited with the plan in full;
//! a refused one by a signed-in person is audited too, and changes nothing.

use app::dto::{Viewer, Workload};
use domain::{
    plan::{Plan, PlanMoveRequest, PlanRequest, State},
    plans::lifecycle::{Move, Target},
    scaling::{FieldError, validate::MAX_REASON_CHARS},
};

use super::{MAX_OPEN_PER_HPA, PlanError, PlanRow, Plans};
use crate::edits::Editor;

pub use domain::plan::PlanAction as Action;

/// The plan (or the HPA, for a draft) a change is asked of.
struct Place<'a> {
    cluster: &'a str,
    namespace: &'a str,
    name: &'a str,
    id: Option<i64>,
}

impl<'a> Place<'a> {
    fn of(plan: &'a Plan) -> Place<'a> {
        Place { cluster: &plan.cluster, namespace: &plan.namespace, name: &plan.name, id: Some(plan.id) }
    }
}

/// The person a change is made as, once proven and bounded.
struct Person<'a> {
    user: &'a str,
    groups: &'a [String],
}

impl Plans {
    /// Drafts a plan for the HPA of `namespace/name` in the editor's cluster.
    pub async fn draft(
        &self,
        editor: &Editor,
        viewer: &Viewer,
        namespace: &str,
        name: &str,
        request: PlanRequest,
        now_ms: i64,
    ) -> Result<Plan, PlanError> {
        let who = self.person(editor, viewer)?;
        let cluster = editor.cluster_name();
        let place = Place { cluster, namespace, name, id: None };
        let workload = match plannable(editor, namespace, name) {
            Ok(w) => w,
            Err(e) => return Err(self.refused(&who, &place, outcome_of(&e), e, now_ms).await),
        };
        if let Err(e) = check_request(&request, editor) {
            return Err(self.refused(&who, &place, "invalid", e, now_ms).await);
        }
        let open = self
            .list(cluster)
            .await?
            .into_iter()
            .filter(|p| p.namespace == namespace && p.name == name && !closed(p))
            .count();
        if open >= MAX_OPEN_PER_HPA {
            let e = PlanError::Refused(format!(
                "{namespace}/{name} has {open} open plans, the most one HPA may have: cancel one first"
            ));
            return Err(self.refused(&who, &place, "denied", e, now_ms).await);
        }
        let autoscaler = workload.autoscaler.as_ref().map(|a| a.name.clone()).unwrap_or_default();
        let target = Target { cluster, namespace, name, autoscaler };
        let mut plan = Plan::drafted(target, request, who.user, now_ms);
        plan.backtest = super::backtest::run(editor, &plan, now_ms).await;
        plan.id = self.store.insert(&plan).await?;
        let detail = format!("drafted plan {} for HorizontalPodAutoscaler {}", plan.id, plan.autoscaler);
        let row = PlanRow {
            at_ms: now_ms,
            user: who.user,
            groups: who.groups,
            cluster,
            namespace,
            name,
            id: Some(plan.id),
            before: None,
            after: Some(&plan),
            reason: &plan.reason,
            outcome: "applied",
            detail: &detail,
        };
        if let Err(e) = self.record(row).await {
            // Not recorded: not drafted. Cancelled in the store, so nothing ever runs it.
            let mut undone = plan.clone();
            undone.record.state = State::Cancelled;
            undone.version += 1;
            let _ = self.store.replace(&undone).await;
            return Err(e);
        }
        Ok(plan)
    }

    /// Changes a plan's schedule and reason: a draft again, its approval gone.
    pub async fn edit(
        &self,
        editor: &Editor,
        viewer: &Viewer,
        id: i64,
        request: PlanRequest,
        now_ms: i64,
    ) -> Result<Plan, PlanError> {
        let who = self.person(editor, viewer)?;
        let before = self.get(editor.cluster_name(), id).await?;
        let place = Place::of(&before);
        if request.version != Some(before.version) {
            let e = PlanError::Stale(format!(
                "plan {id} is at version {}, the edit was made on {}: nothing was changed; load it again",
                before.version,
                request.version.map_or("none".to_string(), |v| v.to_string())
            ));
            return Err(self.refused(&who, &place, "conflict", e, now_ms).await);
        }
        if let Err(e) = check_request(&request, editor) {
            return Err(self.refused(&who, &place, "invalid", e, now_ms).await);
        }
        let record = match before.record.after(&Move::Edit, who.user, self.approval) {
            Ok(r) => r,
            Err(why) => {
                return Err(self.refused(&who, &place, "denied", PlanError::Refused(why.0), now_ms).await);
            }
        };
        let mut after = Plan {
            schedule: request.schedule,
            reason: request.reason.trim().to_string(),
            record,
            approver_groups: vec![],
            updated_ms: now_ms,
            version: before.version + 1,
            ..before.clone()
        };
        after.backtest = super::backtest::run(editor, &after, now_ms).await;
        let detail = format!("edited plan {id}: a draft again, to be approved");
        self.commit(&who, &before, after, &detail, now_ms).await
    }

    /// Approves, rejects, pauses, resumes or cancels plan `id`.
    pub async fn act(
        &self,
        editor: &Editor,
        viewer: &Viewer,
        id: i64,
        action: Action,
        request: PlanMoveRequest,
        now_ms: i64,
    ) -> Result<Plan, PlanError> {
        let who = self.person(editor, viewer)?;
        let before = self.get(editor.cluster_name(), id).await?;
        let place = Place::of(&before);
        if let Some(e) = reason_problem(&request.reason) {
            return Err(self.refused(&who, &place, "invalid", e, now_ms).await);
        }
        if request.version != before.version {
            let e = PlanError::Stale(format!(
                "plan {id} is at version {}, the request was made on {}: nothing was changed; load it again",
                before.version, request.version
            ));
            return Err(self.refused(&who, &place, "conflict", e, now_ms).await);
        }
        let step = match action {
            Action::Approve => {
                // The approver's right to change that HPA, asked of the cluster as them, and
                // the HPA as they see it now, which the approval is pinned to.
                let workload = match plannable(editor, &before.namespace, &before.name) {
                    Ok(w) => w,
                    Err(e) => return Err(self.refused(&who, &place, outcome_of(&e), e, now_ms).await),
                };
                match editor.rights(viewer, &before.namespace, &before.name).await {
                    Ok(rights) if rights.may_edit => {}
                    Ok(rights) => {
                        let why = rights.reason.unwrap_or_else(|| "the cluster refused".into());
                        return Err(self
                            .refused(
                                &who,
                                &place,
                                "denied",
                                PlanError::Refused(format!(
                                    "{why}: only someone who may change the HPA approves its plan"
                                )),
                                now_ms,
                            )
                            .await);
                    }
                    Err(e) => {
                        return Err(self
                            .refused(&who, &place, "invalid", PlanError::NotFound(e.to_string()), now_ms)
                            .await);
                    }
                }
                let pin = workload.autoscaler.as_ref().map(|a| a.policy_hash.clone()).unwrap_or_default();
                Move::Approve { spec: pin }
            }
            Action::Reject => Move::Reject,
            Action::Pause => Move::Pause,
            Action::Resume => Move::Resume,
            Action::Cancel => Move::Cancel,
        };
        let record = match before.record.after(&step, who.user, self.approval) {
            Ok(r) => r,
            Err(why) => {
                return Err(self.refused(&who, &place, "denied", PlanError::Refused(why.0), now_ms).await);
            }
        };
        let mut after = Plan { record, updated_ms: now_ms, version: before.version + 1, ..before.clone() };
        match action {
            Action::Approve => after.approver_groups = who.groups.to_vec(),
            Action::Resume => after.paused_why = None,
            _ => {}
        }
        let mut detail = format!("{} plan {id}: {}", action.past(), request.reason.trim());
        if action == Action::Approve && before.record.author == who.user {
            detail.push_str(" (approved by its author: this server runs single-person plans)");
        }
        self.commit(&who, &before, after, &detail, now_ms).await
    }

    /// Who is asking, proven and bounded, under their rate; else why not.
    fn person<'a>(&self, editor: &Editor, viewer: &'a Viewer) -> Result<Person<'a>, PlanError> {
        let Some(user) = viewer.user.as_deref() else {
            return Err(PlanError::SignIn(
                "sign in to work on plans: no trusted identity arrived with your request".into(),
            ));
        };
        if let Err(why) = editor.acting_as(viewer) {
            return Err(PlanError::Refused(why));
        }
        if let Err(wait) = self.limiter.allow(user, std::time::Instant::now()) {
            return Err(PlanError::Throttled(format!(
                "too many changes to plans in a minute; try again in {} s",
                wait.as_secs().max(1)
            )));
        }
        Ok(Person { user, groups: &viewer.groups })
    }

    /// Writes `after` over `before` and audits it; if the log cannot take the row, puts
    /// `before` back and says nothing was changed.
    async fn commit(
        &self,
        who: &Person<'_>,
        before: &Plan,
        after: Plan,
        detail: &str,
        now_ms: i64,
    ) -> Result<Plan, PlanError> {
        self.replace(&after).await?;
        let row = PlanRow::changed(now_ms, (who.user, who.groups), before, &after, detail);
        if let Err(e) = self.record(row).await {
            let undone = Plan { version: after.version + 1, ..before.clone() };
            if let Err(undo) = self.store.replace(&undone).await {
                tracing::error!(
                    plan = after.id,
                    "a plan change the audit log refused could not be undone: {undo}"
                );
            }
            return Err(e);
        }
        Ok(after)
    }

    /// Records a refused change (nothing was changed) and gives back why.
    async fn refused(
        &self,
        who: &Person<'_>,
        at: &Place<'_>,
        outcome: &str,
        e: PlanError,
        now_ms: i64,
    ) -> PlanError {
        let detail = format!("nothing was changed: {e}");
        let row = PlanRow {
            at_ms: now_ms,
            user: who.user,
            groups: who.groups,
            cluster: at.cluster,
            namespace: at.namespace,
            name: at.name,
            id: at.id,
            before: None,
            after: None,
            reason: "",
            outcome,
            detail: &detail,
        };
        if let Err(audit) = self.record(row).await {
            tracing::warn!(user = who.user, "audit: a refused plan change was not recorded: {audit}");
        }
        e
    }
}

/// Whether a plan is over: nothing more is done with it.
pub fn closed(plan: &Plan) -> bool {
    matches!(plan.record.state, State::Rejected | State::Cancelled)
}

/// The Deployment, if its HPA may have a plan: it exists, has an HPA, and nothing else sets
/// that HPA back (KEDA, a CronHPA, a GitOps tool would undo every step).
fn plannable(editor: &Editor, namespace: &str, name: &str) -> Result<Workload, PlanError> {
    let snapshot = editor.view().current();
    let Some(w) = snapshot.workload(namespace, name) else {
        return Err(PlanError::NotFound(format!("no Deployment {namespace}/{name} is known to Paydeck")));
    };
    let Some(a) = &w.autoscaler else {
        return Err(PlanError::invalid(
            "autoscaler",
            format!("{namespace}/{name} has no HorizontalPodAutoscaler: a plan raises an HPA's bounds"),
        ));
    };
    if let Some(owner) = &a.reverted_by {
        return Err(PlanError::Refused(format!(
            "HorizontalPodAutoscaler {} is set back by {owner}: a plan's steps would be undone; schedule it there instead",
            a.name
        )));
    }
    Ok(w.clone())
}

fn outcome_of(e: &PlanError) -> &'static str {
    match e {
        PlanError::Refused(_) => "denied",
        _ => "invalid",
    }
}

fn reason_problem(reason: &str) -> Option<PlanError> {
    let reason = reason.trim();
    if reason.is_empty() {
        Some(PlanError::invalid("reason", "a reason is required: the change ticket, or why"))
    } else if reason.chars().count() > MAX_REASON_CHARS {
        Some(PlanError::invalid(
            "reason",
            format!("the reason must be at most {MAX_REASON_CHARS} characters"),
        ))
    } else {
        None
    }
}

/// A drafted or edited plan's schedule, levels and reason, every field at fault named.
pub(super) fn check_request(request: &PlanRequest, editor: &Editor) -> Result<(), PlanError> {
    let mut errors: Vec<FieldError> = match request.schedule.check() {
        Ok(_) => vec![],
        Err(problems) => problems
            .into_iter()
            .map(|p| FieldError { field: format!("schedule.{}", p.field), message: p.message })
            .collect(),
    };
    let cap = editor.limits.max_replicas;
    for (i, w) in request.schedule.windows.iter().enumerate() {
        let at = |f: &str| format!("schedule.windows[{i}].level.{f}");
        if w.level.min_replicas.is_none() && w.level.max_replicas.is_none() {
            errors.push(FieldError {
                field: at("minReplicas"),
                message: "a level sets minReplicas, maxReplicas or both".into(),
            });
        }
        for (field, value) in [("minReplicas", w.level.min_replicas), ("maxReplicas", w.level.max_replicas)] {
            if let Some(v) = value.filter(|v| !(1..=cap).contains(v)) {
                errors.push(FieldError {
                    field: at(field),
                    message: format!("must be from 1 to {cap} (this server's limit), got {v}"),
                });
            }
        }
    }
    if let Some(PlanError::Invalid(mut e)) = reason_problem(&request.reason) {
        errors.append(&mut e);
    }
    if errors.is_empty() { Ok(()) } else { Err(PlanError::Invalid(errors)) }
}
