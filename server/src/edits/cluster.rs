//! The cluster side of an edit: clients that act as the user, the access review the UI asks
//! before offering a form, and the dry-run or apply itself. Everything here is sent with
//! `Impersonate-User`/`-Group`, so the cluster's RBAC decides and its audit log names the person.

use app::{
    dto::Workload,
    scaling::{Outcome, ScalingChange},
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

use super::patch;

/// Whom a request acts as.
#[derive(Clone, Debug)]
pub struct ActingAs {
    pub user: String,
    /// Empty for a service account: the API server gives it its own groups.
    pub groups: Vec<String>,
}

/// A client that acts as `who`.
pub fn client_as(config: &kube::Config, who: &ActingAs) -> kube::Result<Client> {
    let mut config = config.clone();
    config.auth_info.impersonate = Some(who.user.clone());
    config.auth_info.impersonate_groups = (!who.groups.is_empty()).then(|| who.groups.clone());
    Client::try_from(config)
}

/// The object a change to `w` patches: `(group, resource, subresource, name)`.
pub fn target_of(w: &Workload) -> (&'static str, &'static str, Option<&'static str>, String) {
    match &w.autoscaler {
        Some(a) => ("autoscaling", "horizontalpodautoscalers", None, a.name.clone()),
        None => ("apps", "deployments", Some("scale"), w.name.clone()),
    }
}

/// Whether `who` may patch what a change to `w` patches: `Ok(allowed)`, or the cluster's error.
pub async fn may_patch(config: &kube::Config, who: &ActingAs, w: &Workload) -> kube::Result<bool> {
    let (group, resource, subresource, name) = target_of(w);
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                group: Some(group.into()),
                resource: Some(resource.into()),
                subresource: subresource.map(str::to_string),
                verb: Some("patch".into()),
                namespace: Some(w.namespace.clone()),
                name: Some(name),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let client = client_as(config, who)?;
    let answer = Api::<SelfSubjectAccessReview>::all(client).create(&PostParams::default(), &review).await?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

/// The cluster's answer to a sent change.
#[derive(Clone, Debug)]
pub struct Sent {
    pub outcome: Outcome,
    pub message: String,
    /// The object's scaling fields before and after (for a dry run: as they would be).
    pub before: Value,
    pub after: Value,
}

/// Kubernetes' refusal of the impersonation itself (rather than of the change), in words.
fn impersonation_refused(message: &str) -> bool {
    message.contains("cannot impersonate")
}

/// Dry-runs or applies `change` to `w` as `who`, conditional on `resource_version`.
pub async fn send(
    config: &kube::Config,
    who: &ActingAs,
    w: &Workload,
    change: &ScalingChange,
    resource_version: &str,
    dry_run: bool,
) -> Sent {
    let failed =
        |outcome, message: String| Sent { outcome, message, before: Value::Null, after: Value::Null };
    let client = match client_as(config, who) {
        Ok(c) => c,
        Err(e) => return failed(Outcome::Failed, format!("cannot reach the cluster: {e}")),
    };
    let params = PatchParams { dry_run, ..PatchParams::default() };
    let result: Result<(Value, Value), kube::Error> = match change {
        ScalingChange::Replicas(n) => {
            let api: Api<Deployment> = Api::namespaced(client, &w.namespace);
            async {
                let before = serde_json::to_value(api.get_scale(&w.name).await?).unwrap_or_default();
                let body = patch::scale_patch(*n, resource_version);
                let after = api.patch_scale(&w.name, &params, &Patch::Merge(body)).await?;
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
                let body = patch::autoscaler_patch(change, &current, resource_version)
                    .expect("an autoscaler change builds an autoscaler patch");
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
        Ok((before, after)) => Sent {
            outcome: if dry_run { Outcome::Previewed } else { Outcome::Applied },
            message: if dry_run {
                "preview from the cluster's dry run: nothing was changed".into()
            } else {
                "the cluster accepted the change.".into()
            },
            before,
            after,
        },
        Err(kube::Error::Api(status)) => {
            let m = status.message.clone();
            let (outcome, message) = match status.code {
                403 if impersonation_refused(&m) => (
                    Outcome::Denied,
                    format!(
                        "Paydeck may not act as {} in this cluster ({m}); see the README's security model for the grant",
                        who.user
                    ),
                ),
                403 => (Outcome::Denied, format!("the cluster refused: {m}")),
                409 => (
                    Outcome::Conflict,
                    "someone changed this object since you loaded it; nothing was overwritten. Review the current values and try again".into(),
                ),
                422 => (Outcome::Invalid, format!("the cluster rejected the change: {m}")),
                code => (Outcome::Failed, format!("the cluster answered {code}: {m}")),
            };
            failed(outcome, message)
        }
        Err(e) => failed(Outcome::Failed, format!("the cluster could not be reached: {e}")),
    }
}
