//! Scaling edits, as explicit stages:
//!
//! 1. **admit** — edits on, someone signed in, under their rate: otherwise refused with
//!    nothing written (a flood of anonymous or throttled attempts must not fill the disk; they
//!    are counted on `/metrics` instead);
//! 2. **authorise and validate** — whom Paydeck would act as (never a `system:` identity), the
//!    workload exists, the form is valid, the change is conditional: a refusal here is
//!    recorded;
//! 3. **record intent** — for an apply, before anything is sent: if the audit log cannot take
//!    the row, nothing is sent;
//! 4. **send** — a dry run or the patch, as the user (`Impersonate-User`/`-Group`), against the
//!    version they saw (the spec's generation, or the object's resourceVersion);
//! 5. **record outcome** — pointing back at the intent.
//!
//! Stages 3–5 run as a task of their own: a client that goes away (or a request timeout)
//! cannot cut an apply off between the cluster's answer and its audit row.

pub mod cluster;
pub mod export;
pub mod patch;
mod record;
pub mod reverts;

use std::{sync::Arc, time::Instant};

use app::{
    dto::{Autoscaler, Viewer, Workload},
    scaling::{
        Edit, EditResponse, FieldError, Outcome, Rights, ScalingChange, Seen, check_edit, validate::Limits,
    },
};
use cluster::ActingAs;
use record::{Record, errors_text, proposed_for_record};
use serde_json::Value;

use crate::{
    audit::{self, Attempt, AuditLog},
    clock::unix_ms,
    cluster::ClusterView,
    limiter::Limiter,
    store::HistoryStore,
};

/// A workload Paydeck does not know (any more).
#[derive(Debug, thiserror::Error)]
#[error("no Deployment {namespace}/{name} is known to Paydeck")]
pub struct UnknownWorkload {
    pub namespace: String,
    pub name: String,
}

/// Attempts refused before anything was written, by reason (`/metrics`): `read_only`,
/// `anonymous`, `throttled`, and `audit_unavailable` (not sent: the audit log could not
/// record the intent).
pub type Unrecorded = crate::metrics::CounterFamily<crate::metrics::ReasonLabel>;

/// How long an answer waits for its outcome row before it goes without (the row still lands).
const OUTCOME_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Sends edits on behalf of users.
pub struct Editor {
    config: kube::Config,
    /// Applied edits become events on the service's charts.
    history: Arc<dyn HistoryStore>,
    cluster: ClusterView,
    /// The fleet's name for the cluster, on its audit rows.
    cluster_name: String,
    audit: Arc<AuditLog>,
    pub limits: Limits,
    pub read_only: bool,
    limiter: Limiter,
    pub unrecorded: Arc<Unrecorded>,
    /// Backtests an applied HPA change for its audit row.
    whatif: Option<crate::whatif::WhatIf>,
    /// How long an applied change to an object something else sets back is watched for that.
    revert_watch: std::time::Duration,
}

fn response(outcome: Outcome, message: impl Into<String>) -> EditResponse {
    EditResponse {
        outcome,
        message: message.into(),
        errors: vec![],
        warnings: vec![],
        before: Value::Null,
        after: Value::Null,
        diff: Value::Null,
        audit_seq: None,
        repository: None,
    }
}

impl Editor {
    pub fn new(
        config: kube::Config,
        cluster: ClusterView,
        history: Arc<dyn HistoryStore>,
        audit: Arc<AuditLog>,
        limits: Limits,
        read_only: bool,
    ) -> Self {
        Self {
            config,
            history,
            cluster,
            cluster_name: crate::history::DEFAULT_CLUSTER.to_string(),
            audit,
            limits,
            read_only,
            limiter: Limiter::new(20, std::time::Duration::from_secs(60)),
            unrecorded: Arc::default(),
            whatif: None,
            revert_watch: reverts::WATCH_FOR,
        }
    }

    /// Sends to the fleet's cluster `name` (its audit rows say so).
    pub fn in_cluster(mut self, name: &str) -> Self {
        self.cluster_name = name.to_string();
        self
    }

    /// The fleet's name for the cluster it sends to.
    pub fn cluster_name(&self) -> &str {
        &self.cluster_name
    }

    /// Watches applied changes for a revert this long (tests shorten it).
    pub fn watching_reverts_for(mut self, window: std::time::Duration) -> Self {
        self.revert_watch = window;
        self
    }

    /// Records with each applied HPA change what it would have done over the last week.
    pub fn with_whatif(mut self, whatif: Option<crate::whatif::WhatIf>) -> Self {
        self.whatif = whatif;
        self
    }

    /// The HPA `namespace/name` as the API server has it now, or `None` when it is gone:
    /// what a plan's step is decided on, not a watch that may lag a step behind. Read with
    /// Paydeck's own account, which lists and watches HPAs (no `get`, `cluster::access`): a
    /// list narrowed to the name, without a resourceVersion, is a consistent read.
    pub async fn read_autoscaler(&self, namespace: &str, name: &str) -> kube::Result<Option<Autoscaler>> {
        use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
        let client = kube::Client::try_from(self.config.clone())?;
        let params = kube::api::ListParams::default().fields(&format!("metadata.name={name}"));
        let list = kube::Api::<HorizontalPodAutoscaler>::namespaced(client, namespace).list(&params).await?;
        Ok(list.items.first().map(crate::cluster::snapshot::autoscaler))
    }

    /// Its replays over the cluster's recorded history, when it has one.
    pub fn whatif(&self) -> Option<&crate::whatif::WhatIf> {
        self.whatif.as_ref()
    }

    /// The cluster's picture it checks edits against.
    pub fn view(&self) -> &ClusterView {
        &self.cluster
    }

    /// Whom Paydeck would act as for `viewer`, or why not (in words).
    pub(crate) fn acting_as(&self, viewer: &Viewer) -> Result<ActingAs, String> {
        if self.read_only {
            return Err("this Paydeck server is read-only: edits are turned off".into());
        }
        let Some(user) = &viewer.user else {
            return Err("sign in to change scaling: no trusted identity arrived with your request".into());
        };
        if let Some(why) = &viewer.refused {
            return Err(why.clone());
        }
        if let Some(why) = crate::identity::vouched_elsewhere(viewer, &self.cluster_name) {
            return Err(why);
        }
        Ok(ActingAs { user: user.clone(), groups: viewer.groups.clone() })
    }

    /// Whether `viewer` may change the scaling of `namespace/name` (`Err` when Paydeck knows no
    /// such Deployment): asked of the cluster with a SelfSubjectAccessReview made as them.
    pub async fn rights(
        &self,
        viewer: &Viewer,
        namespace: &str,
        name: &str,
    ) -> Result<Rights, UnknownWorkload> {
        let snapshot = self.cluster.current();
        let w = snapshot
            .workload(namespace, name)
            .ok_or_else(|| UnknownWorkload { namespace: namespace.to_string(), name: name.to_string() })?;
        let deny = |why: String| Ok(Rights { may_edit: false, reason: Some(why) });
        let who = match self.acting_as(viewer) {
            Ok(who) => who,
            Err(why) => return deny(why),
        };
        // Something that makes the HPA from its own resource sets any change back at once.
        if let Some(o) = w.scaling_owners().iter().find(|o| o.effect == domain::owners::OwnerEffect::Derives)
        {
            return deny(o.consequence());
        }
        match cluster::may_patch(&self.config, &who, w).await {
            Ok(true) => Ok(Rights { may_edit: true, reason: None }),
            Ok(false) => {
                let (_, resource, _, _) = cluster::target_of(w);
                deny(format!(
                    "the cluster's RBAC does not let {} patch {resource} in {}",
                    who.user, w.namespace
                ))
            }
            Err(kube::Error::Api(status)) if status.message.contains("cannot impersonate") => {
                deny(format!("Paydeck may not act as {} in this cluster: {}", who.user, status.message))
            }
            Err(e) => {
                tracing::warn!(user = who.user, "access review failed: {e}");
                deny("the cluster did not answer the access review; try again".into())
            }
        }
    }

    /// Stage 1: refusals that write nothing (`Some` is the refusal).
    fn admit(&self, viewer: &Viewer) -> Option<EditResponse> {
        let refuse = |reason, outcome, message: String| {
            crate::metrics::count(&self.unrecorded, reason);
            Some(response(outcome, message))
        };
        if self.read_only {
            return refuse(
                "read_only",
                Outcome::Denied,
                "this Paydeck server is read-only: edits are turned off".into(),
            );
        }
        let Some(user) = &viewer.user else {
            return refuse(
                "anonymous",
                Outcome::Denied,
                "sign in to change scaling: no trusted identity arrived with your request".into(),
            );
        };
        if let Err(wait) = self.limiter.allow(user, Instant::now()) {
            return refuse(
                "throttled",
                Outcome::Throttled,
                format!("too many changes in a minute; try again in {} s", wait.as_secs().max(1)),
            );
        }
        None
    }

    /// Validates, previews or applies, and records the attempt — in a span naming the user,
    /// the workload and, once known, the outcome and audit row.
    #[tracing::instrument(
        name = "edit",
        skip_all,
        fields(
            user = viewer.user.as_deref().unwrap_or("anonymous"),
            namespace,
            name,
            dry_run = edit.dry_run,
            outcome = tracing::field::Empty,
            audit_seq = tracing::field::Empty,
        )
    )]
    pub async fn submit(
        self: &Arc<Self>,
        viewer: &Viewer,
        namespace: &str,
        name: &str,
        edit: &Edit,
    ) -> EditResponse {
        let answer = self.stages(viewer, namespace, name, edit).await;
        let span = tracing::Span::current();
        span.record("outcome", answer.outcome.as_str());
        if let Some(seq) = answer.audit_seq {
            span.record("audit_seq", seq);
        }
        tracing::info!(message = %answer.message, "edit finished");
        answer
    }

    async fn stages(
        self: &Arc<Self>,
        viewer: &Viewer,
        namespace: &str,
        name: &str,
        edit: &Edit,
    ) -> EditResponse {
        if let Some(refused) = self.admit(viewer) {
            return refused;
        }
        let snapshot = self.cluster.current();
        let workload = snapshot.workload(namespace, name).cloned();
        let record = Record {
            user: viewer.user.clone().unwrap_or_default(),
            groups: viewer.groups.clone(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            target: match workload.as_ref().and_then(|w| w.autoscaler.as_ref()) {
                Some(a) => format!("HorizontalPodAutoscaler/{}", a.name),
                None => format!("Deployment/{name}/scale"),
            },
            reason: edit.reason().trim().to_string(),
        };
        let mut answer = response(Outcome::Invalid, "");
        if let Some(w) = &workload {
            answer.before = patch::workload_summary(w);
        }

        // Stage 2: authorise, then validate.
        let who = match self.acting_as(viewer) {
            Ok(who) => who,
            Err(why) => {
                answer.outcome = Outcome::Denied;
                answer.message = why;
                return self.conclude(&record, answer, Value::Null, None).await;
            }
        };
        let Some(w) = workload else {
            answer.message = format!("no Deployment {namespace}/{name} is known to Paydeck");
            return self.conclude(&record, answer, Value::Null, None).await;
        };
        let checked = check_edit(edit, &w, &self.limits, snapshot.totals.cpu.allocatable);
        answer.warnings = checked.warnings;
        let Some(change) = checked.change else {
            answer.errors = checked.errors;
            answer.message = "nothing was sent: correct the fields marked".into();
            return self.conclude(&record, answer, proposed_for_record(&edit.proposed), None).await;
        };

        // Stages 3–5, in a task a dropped request cannot cancel.
        let editor = self.clone();
        // check_edit refuses an edit without exactly one precondition.
        let Ok(seen) = edit.seen() else {
            return response(Outcome::Invalid, "nothing was sent: the version you loaded is required");
        };
        let sending =
            Sending { edit: edit.clone(), seen, allocatable_cpu: snapshot.totals.cpu.allocatable, change };
        let task = tokio::spawn(tracing::Instrument::in_current_span(async move {
            editor.carry_out(record, answer, who, w, sending).await
        }));
        match task.await {
            Ok(answer) => answer,
            Err(e) => {
                tracing::error!("an edit task failed: {e}");
                response(Outcome::Failed, "the edit did not complete; check the audit log and the object")
            }
        }
    }

    /// A request body the strict reader refused (a float, a string, an unknown field): an
    /// invalid attempt like any other — admitted, then recorded with the field at fault.
    pub async fn refuse_unreadable(
        self: &Arc<Self>,
        viewer: &Viewer,
        namespace: &str,
        name: &str,
        problem: FieldError,
    ) -> EditResponse {
        if let Some(refused) = self.admit(viewer) {
            return refused;
        }
        let record = Record {
            user: viewer.user.clone().unwrap_or_default(),
            groups: viewer.groups.clone(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            target: String::new(),
            reason: String::new(),
        };
        let mut answer =
            response(Outcome::Invalid, format!("nothing was sent: {}: {}", problem.field, problem.message));
        answer.errors = vec![problem];
        self.conclude(&record, answer, Value::Null, None).await
    }

    /// Stages 3–5: intent, send, outcome.
    async fn carry_out(
        self: &Arc<Self>,
        record: Record,
        mut answer: EditResponse,
        who: ActingAs,
        w: Workload,
        sending: Sending,
    ) -> EditResponse {
        let Sending { edit, seen, allocatable_cpu, change } = sending;
        let dry_run = edit.dry_run;
        let owned;
        let intent_seq = if dry_run {
            match owner_gate(&w, &edit, &mut answer) {
                Ok(note) => owned = note,
                Err(()) => return self.conclude(&record, answer, patch::change_summary(&change), None).await,
            }
            None
        } else {
            // Asked before an intent is written: someone the cluster will refuse anyway
            // leaves a compact refused attempt, not an intent and its outcome. (The patch is
            // still authorised by the API server itself.)
            let refused = match cluster::may_patch(&self.config, &who, &w).await {
                Ok(false) => {
                    let (_, resource, _, _) = cluster::target_of(&w);
                    Some(format!(
                        "nothing was sent: the cluster's RBAC does not let {} patch {resource} in {}",
                        who.user, w.namespace
                    ))
                }
                Err(kube::Error::Api(status)) if cluster::impersonation_refused(&status.message) => {
                    Some(format!("nothing was sent: {}", cluster::may_not_act_as(&who, &status.message)))
                }
                _ => None,
            };
            if let Some(why) = refused {
                answer.outcome = Outcome::Denied;
                answer.message = why;
                let asked = patch::change_summary(&change);
                return self.conclude(&record, answer, asked, None).await;
            }
            // Then what the object's other writers make of it: refused, unconfirmed, or noted.
            match owner_gate(&w, &edit, &mut answer) {
                Ok(note) => owned = note,
                Err(()) => return self.conclude(&record, answer, patch::change_summary(&change), None).await,
            }
            let intended = patch::change_summary(&change);
            let detail = match &owned {
                Some(note) => format!("sending to the cluster; {note}"),
                None => "sending to the cluster".to_string(),
            };
            let intent = self.attempt(&record, &answer.before, &intended, audit::INTENT, &detail, None);
            match self.audit.record_intent(&intent).await {
                Ok(seq) => Some(seq),
                Err(e) => {
                    crate::metrics::count(&self.unrecorded, "audit_unavailable");
                    tracing::error!(
                        user = record.user,
                        namespace = record.namespace,
                        name = record.name,
                        "edit not sent: {e}"
                    );
                    return response(
                        Outcome::Unrecorded,
                        format!(
                            "{e}: nothing was sent to the cluster. Edits resume once the audit log can be written; reading is not affected"
                        ),
                    );
                }
            }
        };
        // An HPA's change is made again from the HPA as read just before the patch: checked
        // on the cluster's values, writing only the fields it sets.
        let rebase = |current: &Autoscaler| {
            let mut fresh = w.clone();
            fresh.autoscaler = Some(current.clone());
            let checked = check_edit(&edit, &fresh, &self.limits, allocatable_cpu);
            match checked.change {
                Some(change) => {
                    let touched = app::scaling::touched::touched(&edit.proposed, current, &change);
                    Ok((change, touched))
                }
                None => Err(checked.errors),
            }
        };
        let replicas = match change {
            ScalingChange::Replicas(n) => Some(n),
            ScalingChange::Autoscaler { .. } => None,
        };
        let sent = cluster::send(&self.config, &who, &w, replicas, &rebase, &seen, dry_run).await;
        answer.outcome = sent.outcome;
        answer.message = sent.message;
        if let Some(note) =
            owned.as_ref().filter(|_| matches!(sent.outcome, Outcome::Applied | Outcome::Previewed))
        {
            answer.message = format!("{} The object is {note}.", answer.message);
        }
        answer.errors = sent.errors;
        if !sent.before.is_null() {
            answer.diff = patch::diff(&sent.before, &sent.after);
            answer.before = sent.before;
            answer.after = sent.after;
        }
        let done = matches!(answer.outcome, Outcome::Applied | Outcome::Previewed);
        let whatif = match &self.whatif {
            Some(whatif) if done => whatif.summary_of(&w, &change).await,
            _ => None,
        };
        if answer.outcome == Outcome::Applied {
            self.mark_on_charts(&record, &answer).await;
            if let Some(summary) = &whatif {
                answer.message = format!("{} {summary}.", answer.message);
            }
        }
        if let Some(body) = sent.repository.filter(|_| done) {
            let changed = patch::diff_in_words(&answer.diff);
            let mut comments = vec![
                format!(
                    "Scaling change for {}/{} ({}): {}",
                    w.namespace,
                    w.name,
                    record.target,
                    changed.join(", ")
                ),
                format!("Reason: {}", record.reason),
            ];
            comments.extend(whatif.map(|summary| format!("What-if: {summary}")));
            comments.extend(owned.as_ref().map(|note| format!("The live object is {note}")));
            answer.repository = Some(export::repository_patch(&body, &comments));
        }
        let after = if answer.after.is_null() {
            serde_json::to_value(&change).unwrap_or(Value::Null)
        } else {
            answer.after.clone()
        };
        let reverting = domain::owners::reverting(w.scaling_owners()).cloned();
        let answer = self.conclude(&record, answer, after, intent_seq).await;
        if answer.outcome == Outcome::Applied
            && let Some(owner) = reverting
            && answer.diff.as_object().is_some_and(|d| !d.is_empty())
        {
            let applied =
                reverts::Applied { record, owner, diff: answer.diff.clone(), audit_seq: answer.audit_seq };
            self.watch_for_revert(applied);
        }
        answer
    }

    /// An applied edit becomes an event on the service's replicas chart.
    async fn mark_on_charts(&self, record: &Record, answer: &EditResponse) {
        let changed = patch::diff_in_words(&answer.diff);
        let message = format!("{} by {}: {}", changed.join(", "), record.user, record.reason);
        if let Err(e) =
            self.history.write_event(&record.namespace, &record.name, unix_ms(), "edit", &message).await
        {
            tracing::warn!("history: cannot record the edit of {}/{}: {e}", record.namespace, record.name);
        }
    }

    fn attempt<'a>(
        &'a self,
        record: &'a Record,
        before: &'a Value,
        after: &'a Value,
        outcome: &'a str,
        detail: &'a str,
        intent_seq: Option<i64>,
    ) -> Attempt<'a> {
        Attempt {
            at_ms: unix_ms(),
            user: &record.user,
            groups: &record.groups,
            namespace: &record.namespace,
            name: &record.name,
            target: &record.target,
            before,
            after,
            reason: &record.reason,
            outcome,
            detail,
            intent_seq,
            cluster: &self.cluster_name,
        }
    }

    /// Records how an attempt ended and says so in the answer.
    async fn conclude(
        &self,
        record: &Record,
        mut answer: EditResponse,
        after: Value,
        intent_seq: Option<i64>,
    ) -> EditResponse {
        let detail =
            if answer.errors.is_empty() { answer.message.clone() } else { errors_text(&answer.errors) };
        let outcome = answer.outcome;
        let attempt = self.attempt(record, &answer.before, &after, outcome.as_str(), &detail, intent_seq);
        if let Some(intent) = intent_seq {
            // The change was sent: its outcome is written whatever it takes. The answer
            // waits a while for it, and says so when it must go without.
            let landing = self.audit.record_outcome(&attempt, self.unrecorded.clone());
            match tokio::time::timeout(OUTCOME_WAIT, landing).await {
                Ok(Ok(seq)) => answer.audit_seq = Some(seq),
                Ok(Err(e)) => {
                    tracing::error!("audit: the outcome task failed: {e}");
                    answer.audit_seq = Some(intent);
                }
                Err(_) => {
                    answer.message.push_str(&format!(
                        " The audit log is slow: the outcome is still being recorded; row {intent} records the attempt."
                    ));
                    answer.audit_seq = Some(intent);
                }
            }
            return answer;
        }
        match self.audit.record(&attempt).await {
            Ok(seq) => answer.audit_seq = Some(seq),
            Err(e @ audit::AuditError::OverBudget { .. }) => {
                crate::metrics::count(&self.unrecorded, "refusal_budget");
                answer.message.push_str(&format!(" ({e})"));
            }
            Err(e) => {
                tracing::error!(
                    user = record.user,
                    ?outcome,
                    "audit: cannot record the attempt on {}/{}: {e}",
                    record.namespace,
                    record.name
                );
                answer.message.push_str(&format!(" (the audit log could not record this attempt: {e})"));
            }
        }
        answer
    }
}

/// What the object's other writers make of an edit ([`domain::owners::before_edit`]): `Err`
/// when it is refused (the answer says why), else what the audit row notes about them; their
/// warnings are added to the answer.
fn owner_gate(w: &Workload, edit: &Edit, answer: &mut EditResponse) -> Result<Option<String>, ()> {
    use domain::owners::Verdict;
    match domain::owners::before_edit(w.scaling_owners(), edit.dry_run, edit.confirm_owner) {
        Verdict::Refused(why) => {
            answer.outcome = Outcome::Denied;
            answer.message = why;
            Err(())
        }
        Verdict::Unconfirmed(why) => {
            answer.outcome = Outcome::Invalid;
            answer.message = format!("nothing was sent: {why}");
            answer.errors = vec![FieldError { field: "confirmOwner".into(), message: why }];
            Err(())
        }
        Verdict::Go { warnings, audit } => {
            answer.warnings.extend(warnings);
            Ok(audit)
        }
    }
}

/// What stages 3–5 send: the edit as asked, its precondition, and the change as checked on
/// Paydeck's picture of the workload (what the intent records).
struct Sending {
    edit: Edit,
    seen: Seen,
    allocatable_cpu: f64,
    change: ScalingChange,
}

/// The editor and the audit log as the app's server functions see them.
pub struct EditService {
    pub editor: Arc<Editor>,
    pub audit: Arc<AuditLog>,
    /// Whether requests without an identity may read the log.
    pub anonymous_reads: bool,
}

/// What a request without an identity is told when it may not read the audit log.
pub const AUDIT_NEEDS_IDENTITY: &str =
    "sign in to read the audit log: this server does not show it to requests without an identity";

impl domain::ports::EditSource for EditService {
    fn limits(&self) -> Limits {
        self.editor.limits
    }

    fn rights<'a>(
        &'a self,
        viewer: &'a Viewer,
        namespace: &'a str,
        name: &'a str,
    ) -> domain::ports::BoxFuture<'a, Result<Rights, String>> {
        Box::pin(async move { self.editor.rights(viewer, namespace, name).await.map_err(|e| e.to_string()) })
    }

    fn submit<'a>(
        &'a self,
        viewer: &'a Viewer,
        namespace: &'a str,
        name: &'a str,
        edit: &'a Edit,
    ) -> domain::ports::BoxFuture<'a, EditResponse> {
        Box::pin(self.editor.submit(viewer, namespace, name, edit))
    }

    fn audit<'a>(
        &'a self,
        viewer: &'a Viewer,
        query: &'a app::scaling::AuditQuery,
    ) -> domain::ports::BoxFuture<'a, Result<Vec<app::scaling::AuditEntry>, String>> {
        Box::pin(async move {
            if viewer.user.is_none() && !self.anonymous_reads {
                return Err(AUDIT_NEEDS_IDENTITY.to_string());
            }
            self.audit.list(query).await.map_err(|e| {
                tracing::warn!("audit query failed: {e}");
                "the audit log did not answer; try again".to_string()
            })
        })
    }
}
