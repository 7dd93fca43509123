//! Scaling edits: validated here, then sent to Kubernetes as the person asking
//! (`Impersonate-User`/`-Group`), so the cluster's RBAC decides and its audit log names them;
//! previewed with a server-side dry run; applied only against the resourceVersion the user
//! saw; recorded in the audit log whatever the outcome.

pub mod limiter;
pub mod patch;

use std::{sync::Arc, time::Instant};

use app::{
    dto::{Viewer, Workload},
    scaling::{
        EditRequest, EditResponse, FieldError, Rights, ScalingChange,
        validate::{Checked, Context, Limits, check},
    },
};
use k8s_openapi::api::{
    apps::v1::Deployment,
    authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec},
    autoscaling::v2::HorizontalPodAutoscaler,
};
use kube::{
    Api, Client,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::Value;

use crate::{
    audit::{Attempt, AuditLog, Outcome},
    clock::unix_ms,
    cluster::ClusterView,
    history::History,
};
use limiter::Limiter;

/// Sends edits on behalf of users.
pub struct Editor {
    config: kube::Config,
    /// Applied edits become events on the service's charts.
    history: Arc<History>,
    cluster: ClusterView,
    audit: Arc<AuditLog>,
    pub limits: Limits,
    pub read_only: bool,
    limiter: Limiter,
}

/// Kubernetes' status code and message, when the API server answered with an error.
fn api_error(e: &kube::Error) -> Option<(u16, String)> {
    match e {
        kube::Error::Api(status) => Some((status.code, status.message.clone())),
        _ => None,
    }
}

impl Editor {
    pub fn new(
        config: kube::Config,
        cluster: ClusterView,
        history: Arc<History>,
        audit: Arc<AuditLog>,
        limits: Limits,
        read_only: bool,
    ) -> Self {
        Self {
            config,
            history,
            cluster,
            audit,
            limits,
            read_only,
            limiter: Limiter::new(20, std::time::Duration::from_secs(60)),
        }
    }

    /// A client that acts as `user` with `groups`.
    fn client_as(&self, user: &str, groups: &[String]) -> kube::Result<Client> {
        let mut config = self.config.clone();
        config.auth_info.impersonate = Some(user.to_string());
        config.auth_info.impersonate_groups = (!groups.is_empty()).then(|| groups.to_vec());
        Client::try_from(config)
    }

    /// Whether `viewer` may change the scaling of `namespace/name` (`Err` when Paydeck knows no
    /// such Deployment): asked of the cluster with a SelfSubjectAccessReview made as them.
    pub async fn rights(&self, viewer: &Viewer, namespace: &str, name: &str) -> Result<Rights, String> {
        let snapshot = self.cluster.current();
        let w = snapshot
            .workload(namespace, name)
            .ok_or_else(|| format!("no Deployment {namespace}/{name} is known to Paydeck"))?;
        Ok(self.rights_on(viewer, w).await)
    }

    async fn rights_on(&self, viewer: &Viewer, w: &Workload) -> Rights {
        let deny = |why: &str| Rights { may_edit: false, reason: Some(why.to_string()) };
        if self.read_only {
            return deny("this Paydeck server is read-only");
        }
        let Some(user) = &viewer.user else {
            return deny("sign in to change scaling (no trusted identity arrived with your request)");
        };
        let (group, resource, subresource, name) = match &w.autoscaler {
            Some(a) => ("autoscaling", "horizontalpodautoscalers", None, a.name.clone()),
            None => ("apps", "deployments", Some("scale".to_string()), w.name.clone()),
        };
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    group: Some(group.into()),
                    resource: Some(resource.into()),
                    subresource,
                    verb: Some("patch".into()),
                    namespace: Some(w.namespace.clone()),
                    name: Some(name),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = match self.client_as(user, &viewer.groups) {
            Ok(client) => {
                Api::<SelfSubjectAccessReview>::all(client).create(&PostParams::default(), &review).await
            }
            Err(e) => Err(e),
        };
        match answer {
            Ok(r) if r.status.as_ref().is_some_and(|s| s.allowed) => Rights { may_edit: true, reason: None },
            Ok(_) => {
                deny(&format!("the cluster's RBAC does not let {user} patch {resource} in {}", w.namespace))
            }
            Err(e) => {
                tracing::warn!("access review for {user} failed: {e}");
                deny("the cluster did not answer the access review; try again")
            }
        }
    }

    /// Validates, previews or applies, and records the attempt.
    pub async fn submit(
        &self,
        viewer: &Viewer,
        namespace: &str,
        name: &str,
        request: &EditRequest,
    ) -> EditResponse {
        let user = viewer.user.clone().unwrap_or_else(|| "anonymous".into());
        let snapshot = self.cluster.current();
        let workload = snapshot.workload(namespace, name).cloned();
        let target = match workload.as_ref().and_then(|w| w.autoscaler.as_ref()) {
            Some(a) => format!("HorizontalPodAutoscaler/{}", a.name),
            None => format!("Deployment/{name}/scale"),
        };
        let mut response = EditResponse {
            outcome: Outcome::Invalid,
            message: String::new(),
            errors: vec![],
            warnings: vec![],
            before: Value::Null,
            after: Value::Null,
            diff: Value::Null,
            audit_seq: None,
        };

        if let Some(w) = &workload {
            response.before = patch::workload_summary(w);
        }
        let verdict = if self.read_only {
            Err((Outcome::Denied, "this Paydeck server is read-only: edits are turned off".into()))
        } else if viewer.user.is_none() {
            Err((
                Outcome::Denied,
                "sign in to change scaling: no trusted identity arrived with your request".into(),
            ))
        } else if let Err(wait) = self.limiter.allow(&user, Instant::now()) {
            Err((
                Outcome::Denied,
                format!("too many changes in a minute; try again in {} s", wait.as_secs().max(1)),
            ))
        } else if let Some(w) = &workload {
            Ok(w)
        } else {
            Err((Outcome::Invalid, format!("no Deployment {namespace}/{name} is known to Paydeck")))
        };

        match verdict {
            Err((outcome, message)) => {
                response.outcome = outcome;
                response.message = message;
            }
            Ok(w) => {
                let context = Context::of(w, snapshot.totals.cpu.allocatable);
                let mut checked: Checked = check(&request.form, &self.limits, &context);
                if request.form.replicas.is_some() && w.autoscaler.is_some() {
                    checked.change = None;
                    checked.errors.push(FieldError {
                        field: "replicas".into(),
                        message: "an HPA sets this Deployment's replicas; change the HPA's minimum and maximum instead".into(),
                    });
                }
                if request.form.autoscaler.is_some() && w.autoscaler.is_none() {
                    checked.change = None;
                    checked.errors.push(FieldError {
                        field: "form".into(),
                        message: "no HPA targets this Deployment".into(),
                    });
                }
                response.warnings = checked.warnings.clone();
                match checked.change {
                    None => {
                        response.outcome = Outcome::Invalid;
                        response.message = "nothing was sent: correct the fields marked".into();
                        response.errors = checked.errors;
                    }
                    Some(change) => self.send(viewer, w, &change, request, &mut response).await,
                }
            }
        }

        let reason = request.form.reason.trim();
        let after_or_form = if response.after.is_null() {
            serde_json::to_value(&request.form).unwrap_or(Value::Null)
        } else {
            response.after.clone()
        };
        let detail = if response.errors.is_empty() {
            response.message.clone()
        } else {
            response
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let outcome = response.outcome;
        if outcome == Outcome::Applied {
            let changed: Vec<String> = response
                .diff
                .as_object()
                .into_iter()
                .flatten()
                .map(|(field, pair)| format!("{field} {} → {}", pair[0], pair[1]))
                .collect();
            let message = format!("{} by {user}: {reason}", changed.join(", "));
            if let Err(e) = self.history.write_event(namespace, name, unix_ms(), "edit", &message).await {
                tracing::warn!("history: cannot record the edit of {namespace}/{name}: {e}");
            }
        }
        match self
            .audit
            .record(&Attempt {
                at_ms: unix_ms(),
                user: &user,
                groups: &viewer.groups,
                namespace,
                name,
                target: &target,
                before: &response.before,
                after: &after_or_form,
                reason,
                outcome,
                detail: &detail,
            })
            .await
        {
            Ok(seq) => response.audit_seq = Some(seq),
            Err(e) => {
                // An edit that cannot be audited must not look like it went through quietly.
                tracing::error!("audit: cannot record {outcome:?} by {user} on {namespace}/{name}: {e}");
                response.message.push_str(" (the audit log could not record this attempt)");
            }
        }
        response
    }

    /// Dry-runs or applies a valid change as the user.
    async fn send(
        &self,
        viewer: &Viewer,
        w: &Workload,
        change: &ScalingChange,
        request: &EditRequest,
        out: &mut EditResponse,
    ) {
        let user = viewer.user.as_deref().unwrap_or("anonymous");
        let client = match self.client_as(user, &viewer.groups) {
            Ok(c) => c,
            Err(e) => {
                out.outcome = Outcome::Failed;
                out.message = format!("cannot reach the cluster: {e}");
                return;
            }
        };
        let params = PatchParams { dry_run: request.dry_run, ..PatchParams::default() };
        let result: Result<(Value, Value), kube::Error> = match change {
            ScalingChange::Replicas(n) => {
                let api: Api<Deployment> = Api::namespaced(client, &w.namespace);
                async {
                    let before = serde_json::to_value(api.get_scale(&w.name).await?).unwrap_or_default();
                    let after = api
                        .patch_scale(
                            &w.name,
                            &params,
                            &Patch::Merge(patch::scale_patch(*n, &request.resource_version)),
                        )
                        .await?;
                    Ok((
                        patch::scale_summary(&before),
                        patch::scale_summary(&serde_json::to_value(after).unwrap_or_default()),
                    ))
                }
                .await
            }
            ScalingChange::Autoscaler { .. } => {
                let hpa_name = w.autoscaler.as_ref().map(|a| a.name.clone()).unwrap_or_default();
                let api: Api<HorizontalPodAutoscaler> = Api::namespaced(client, &w.namespace);
                async {
                    let current = serde_json::to_value(api.get(&hpa_name).await?).unwrap_or_default();
                    let Some(body) = patch::autoscaler_patch(change, &current, &request.resource_version)
                    else {
                        unreachable!("an autoscaler change builds an autoscaler patch")
                    };
                    let after = api.patch(&hpa_name, &params, &Patch::Merge(body)).await?;
                    Ok((
                        patch::autoscaler_summary(&current),
                        patch::autoscaler_summary(&serde_json::to_value(after).unwrap_or_default()),
                    ))
                }
                .await
            }
        };
        match result {
            Ok((before, after)) => {
                out.diff = patch::diff(&before, &after);
                out.before = before;
                out.after = after;
                if request.dry_run {
                    out.outcome = Outcome::Previewed;
                    out.message = "preview from the cluster's dry run: nothing was changed".into();
                } else {
                    out.outcome = Outcome::Applied;
                    out.message = "the cluster accepted the change.".into();
                }
            }
            Err(e) => {
                let (outcome, message) = match api_error(&e) {
                    Some((403, m)) => (Outcome::Denied, format!("the cluster refused: {m}")),
                    Some((409, _)) => (
                        Outcome::Conflict,
                        "someone changed this object since you loaded it; nothing was overwritten. Review the current values and try again".into(),
                    ),
                    Some((422, m)) => (Outcome::Invalid, format!("the cluster rejected the change: {m}")),
                    Some((code, m)) => (Outcome::Failed, format!("the cluster answered {code}: {m}")),
                    None => (Outcome::Failed, format!("the cluster could not be reached: {e}")),
                };
                out.outcome = outcome;
                out.message = message;
            }
        }
    }
}

/// The editor and the audit log as the app's server functions see them.
pub struct EditService {
    pub editor: Arc<Editor>,
    pub audit: Arc<AuditLog>,
}

impl app::backend::EditSource for EditService {
    fn limits(&self) -> Limits {
        self.editor.limits
    }

    fn rights<'a>(
        &'a self,
        viewer: &'a Viewer,
        namespace: &'a str,
        name: &'a str,
    ) -> app::backend::BoxFuture<'a, Result<Rights, String>> {
        Box::pin(self.editor.rights(viewer, namespace, name))
    }

    fn submit<'a>(
        &'a self,
        viewer: &'a Viewer,
        namespace: &'a str,
        name: &'a str,
        request: &'a EditRequest,
    ) -> app::backend::BoxFuture<'a, EditResponse> {
        Box::pin(self.editor.submit(viewer, namespace, name, request))
    }

    fn audit<'a>(
        &'a self,
        query: &'a app::scaling::AuditQuery,
    ) -> app::backend::BoxFuture<'a, Result<Vec<app::scaling::AuditEntry>, String>> {
        Box::pin(async move {
            self.audit.list(query).await.map_err(|e| {
                tracing::warn!("audit query failed: {e}");
                "the audit log did not answer; try again".to_string()
            })
        })
    }
}
