//! The cluster side of an edit: clients that act as the user, the access review the UI asks
//! before offering a form, and the dry-run or apply itself. Everything here is sent with
//! `Impersonate-User`/`-Group`, so the cluster's RBAC decides and its audit log names the person.

use app::{
    dto::Workload,
    scaling::{Outcome, ScalingChange, Seen},
};
use k8s_openapi::api::{
    apps::v1::Deployment,
    authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec},
    autoscaling::v2::HorizontalPodAutoscaler,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
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

/// Why a change was not sent, or what the cluster refused.
enum Refused {
    /// The spec's generation is no longer the one the user saw.
    SpecChanged,
    Cluster(kube::Error),
}

impl From<kube::Error> for Refused {
    fn from(e: kube::Error) -> Self {
        Refused::Cluster(e)
    }
}

/// The resourceVersion to send the patch against. When the spec as seen is the condition,
/// that is the current one, once the current generation is the one seen: a write between
/// this read and the patch still conflicts.
fn version_to_patch(seen: &Seen, current: &ObjectMeta) -> Result<String, Refused> {
    match seen {
        Seen::ResourceVersion(rv) => Ok(rv.clone()),
        Seen::Generation(g) if current.generation == Some(*g) => {
            Ok(current.resource_version.clone().unwrap_or_default())
        }
        Seen::Generation(_) => Err(Refused::SpecChanged),
    }
}

/// How often a change conditional on the spec is sent again after a status write raced it.
const STATUS_RACE_ATTEMPTS: usize = 3;

/// Dry-runs or applies `change` to `w` as `who`, conditional on what the user `seen`.
pub async fn send(
    config: &kube::Config,
    who: &ActingAs,
    w: &Workload,
    change: &ScalingChange,
    seen: &Seen,
    dry_run: bool,
) -> Sent {
    let failed =
        |outcome, message: String| Sent { outcome, message, before: Value::Null, after: Value::Null };
    let client = match client_as(config, who) {
        Ok(c) => c,
        Err(e) => return failed(Outcome::Failed, format!("cannot reach the cluster: {e}")),
    };
    let params = PatchParams { dry_run, ..PatchParams::default() };
    let mut attempt = 1;
    let result = loop {
        let result = send_once(&client, w, change, seen, &params).await;
        // A 409 although the generation matched: the controller wrote the status between the
        // read and the patch. The spec is still as seen, so read and send again.
        let raced = matches!(&result, Err(Refused::Cluster(kube::Error::Api(s))) if s.code == 409)
            && matches!(seen, Seen::Generation(_));
        if !raced || attempt >= STATUS_RACE_ATTEMPTS {
            break result;
        }
        attempt += 1;
    };
    let conflict = || {
        (
            Outcome::Conflict,
            "someone changed this object since you loaded it; nothing was overwritten. Review the current values and try again".to_string(),
        )
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
        Err(Refused::SpecChanged) => {
            let (outcome, message) = conflict();
            failed(outcome, message)
        }
        Err(Refused::Cluster(kube::Error::Api(status))) => {
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
                409 => conflict(),
                422 => (Outcome::Invalid, format!("the cluster rejected the change: {m}")),
                code => (Outcome::Failed, format!("the cluster answered {code}: {m}")),
            };
            failed(outcome, message)
        }
        Err(Refused::Cluster(e)) => failed(Outcome::Failed, format!("the cluster could not be reached: {e}")),
    }
}

/// One read of the object, the precondition checked, and one patch.
async fn send_once(
    client: &Client,
    w: &Workload,
    change: &ScalingChange,
    seen: &Seen,
    params: &PatchParams,
) -> Result<(Value, Value), Refused> {
    match change {
        ScalingChange::Replicas(n) => {
            let api: Api<Deployment> = Api::namespaced(client.clone(), &w.namespace);
            let resource_version = match seen {
                Seen::ResourceVersion(rv) => rv.clone(),
                Seen::Generation(_) => version_to_patch(seen, &api.get(&w.name).await?.metadata)?,
            };
            let before = serde_json::to_value(api.get_scale(&w.name).await?).unwrap_or_default();
            let body = patch::scale_patch(*n, &resource_version);
            let after = api.patch_scale(&w.name, params, &Patch::Merge(body)).await?;
            Ok((
                patch::scale_summary(&before),
                patch::scale_summary(&serde_json::to_value(after).unwrap_or_default()),
            ))
        }
        ScalingChange::Autoscaler { .. } => {
            let hpa_name = w.autoscaler.as_ref().map(|a| a.name.clone()).unwrap_or_default();
            let api: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), &w.namespace);
            let current = api.get(&hpa_name).await?;
            let resource_version = version_to_patch(seen, &current.metadata)?;
            let current = serde_json::to_value(current).unwrap_or_default();
            let body = patch::autoscaler_patch(change, &current, &resource_version)
                .expect("an autoscaler change builds an autoscaler patch");
            let after = api.patch(&hpa_name, params, &Patch::Merge(body)).await?;
            Ok((
                patch::autoscaler_summary(&current),
                patch::autoscaler_summary(&serde_json::to_value(after).unwrap_or_default()),
            ))
        }
    }
}
