//! The cluster side of an edit: clients that act as the user, the access review the UI asks
//! before offering a form, and the dry-run or apply itself. Everything here is sent with
//! `Impersonate-User`/`-Group`, so the cluster's RBAC decides and its audit log names the person.

use app::{
    dto::{Autoscaler, Workload},
    scaling::{FieldError, Outcome, ScalingChange, Seen, touched::Touched},
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
    /// For an HPA change checked again on the HPA as read before sending: what is wrong.
    pub errors: Vec<FieldError>,
    /// The change as a patch of the object for a repository ([`super::export::patch_body`]).
    pub repository: Option<Value>,
}

/// Why Paydeck cannot act as `who`, from the cluster's refusal `message`.
pub fn may_not_act_as(who: &ActingAs, message: &str) -> String {
    format!(
        "Paydeck may not act as {} in this cluster ({message}); see docs/security.md for the grant",
        who.user
    )
}

/// Kubernetes' refusal of the impersonation itself (rather than of the change), in words.
pub fn impersonation_refused(message: &str) -> bool {
    message.contains("cannot impersonate")
}

/// Why a change was not sent, or what the cluster refused.
enum Refused {
    /// The spec is no longer the one the user saw.
    SpecChanged,
    /// The change is conditional on an HPA's `metadata.generation`, which this cluster does
    /// not keep.
    GenerationNotKept,
    /// On the HPA as it is now, the change breaks a rule.
    Invalid(Vec<FieldError>),
    Cluster(kube::Error),
}

impl From<kube::Error> for Refused {
    fn from(e: kube::Error) -> Self {
        Refused::Cluster(e)
    }
}

/// The resourceVersion to send the patch against, once the object just read is the one the
/// user saw: exactly (`resourceVersion`), or in its spec (`generation`, the spec hash). In
/// the latter case it is the current one: a write between this read and the patch still
/// conflicts (and is retried when it was only the status).
fn version_to_patch(seen: &Seen, current: &ObjectMeta, spec_hash: Option<&str>) -> Result<String, Refused> {
    let current_version = || current.resource_version.clone().unwrap_or_default();
    match seen {
        Seen::ResourceVersion(rv) => Ok(rv.clone()),
        Seen::Generation(_) if current.generation.is_none() => Err(Refused::GenerationNotKept),
        Seen::Generation(g) if current.generation == Some(*g) => Ok(current_version()),
        Seen::SpecHash(h) if spec_hash == Some(h.as_str()) => Ok(current_version()),
        Seen::Generation(_) | Seen::SpecHash(_) => Err(Refused::SpecChanged),
    }
}

/// How often a change conditional on the spec is sent again after a status write raced it.
const STATUS_RACE_ATTEMPTS: usize = 3;

/// The change to make of the HPA as just read, or what is wrong with it there: the request
/// checked again on the cluster's values, and the fields it sets ([`Touched`]).
pub type Rebase<'a> =
    dyn Fn(&Autoscaler) -> Result<(ScalingChange, Touched), Vec<FieldError>> + Send + Sync + 'a;

/// Dry-runs or applies a change to `w` as `who`, conditional on what the user `seen`. A
/// Deployment's replicas are `replicas`; an HPA's change is made from the HPA as read just
/// before the patch, by `rebase`.
pub async fn send(
    config: &kube::Config,
    who: &ActingAs,
    w: &Workload,
    replicas: Option<i32>,
    rebase: &Rebase<'_>,
    seen: &Seen,
    dry_run: bool,
) -> Sent {
    let failed = |outcome, message: String| Sent {
        outcome,
        message,
        before: Value::Null,
        after: Value::Null,
        errors: Vec::new(),
        repository: None,
    };
    let client = match client_as(config, who) {
        Ok(c) => c,
        Err(e) => return failed(Outcome::Failed, format!("cannot reach the cluster: {e}")),
    };
    // Named, so `managedFields` says which fields Paydeck set (a real API server records it).
    let params = PatchParams { dry_run, field_manager: Some("paydeck".into()), ..PatchParams::default() };
    let mut attempt = 1;
    let result = loop {
        let result = match replicas {
            Some(n) => send_replicas(&client, w, n, seen, &params).await,
            None => send_autoscaler(&client, w, rebase, seen, &params).await,
        };
        // A 409 although the spec was as seen: the controller wrote the status between the
        // read and the patch. The spec is still as seen, so read and send again.
        let raced = matches!(&result, Err(Refused::Cluster(kube::Error::Api(s))) if s.code == 409)
            && !matches!(seen, Seen::ResourceVersion(_));
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
        Ok(Objects { before, after, repository }) => {
            let unchanged = before == after;
            Sent {
                repository,
                outcome: if dry_run { Outcome::Previewed } else { Outcome::Applied },
                message: match (dry_run, unchanged) {
                    (true, false) => "preview from the cluster's dry run: nothing was changed".into(),
                    (true, true) => {
                        "preview from the cluster's dry run: the object already has these values, so applying changes nothing".into()
                    }
                    (false, false) => "the cluster accepted the change.".into(),
                    (false, true) => "the cluster accepted the change; the object already had these values.".into(),
                },
                before,
                after,
                errors: Vec::new(),
            }
        }
        Err(Refused::SpecChanged) => {
            let (outcome, message) = conflict();
            failed(outcome, message)
        }
        Err(Refused::GenerationNotKept) => Sent {
            errors: vec![FieldError { field: "generation".into(), message: GENERATION_NOT_KEPT.into() }],
            ..failed(Outcome::Invalid, format!("nothing was sent: {GENERATION_NOT_KEPT}"))
        },
        Err(Refused::Invalid(errors)) => Sent {
            errors,
            ..failed(
                Outcome::Invalid,
                "nothing was sent: on the HPA as the cluster has it now, the change breaks the rules marked"
                    .into(),
            )
        },
        Err(Refused::Cluster(kube::Error::Api(status))) => {
            let m = status.message.clone();
            let (outcome, message) = match status.code {
                403 if impersonation_refused(&m) => (Outcome::Denied, may_not_act_as(who, &m)),
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

/// Why an HPA change cannot be conditional on its generation here.
pub const GENERATION_NOT_KEPT: &str = "this cluster keeps no metadata.generation for HorizontalPodAutoscalers (Kubernetes before 1.37, or its HPAGeneration feature gate off): give specHash (autoscaler.specHash of GET /api/v1/workloads/{namespace}/{name}) or resourceVersion";

/// One read of the Deployment, the precondition checked, and one patch of its scale.
async fn send_replicas(
    client: &Client,
    w: &Workload,
    replicas: i32,
    seen: &Seen,
    params: &PatchParams,
) -> Result<Objects, Refused> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), &w.namespace);
    let resource_version = match seen {
        Seen::ResourceVersion(rv) => rv.clone(),
        _ => version_to_patch(seen, &api.get(&w.name).await?.metadata, None)?,
    };
    let before = serde_json::to_value(api.get_scale(&w.name).await?).unwrap_or_default();
    let body = patch::scale_patch(replicas, &resource_version);
    let after = serde_json::to_value(api.patch_scale(&w.name, params, &Patch::Merge(body)).await?)
        .unwrap_or_default();
    Ok(Objects {
        repository: super::export::patch_body(&before, &after),
        before: patch::scale_summary(&before),
        after: patch::scale_summary(&after),
    })
}

/// The scaling fields before and after a patch, and the change as a repository patch.
struct Objects {
    before: Value,
    after: Value,
    repository: Option<Value>,
}

/// One read of the HPA, the precondition checked, the change made from what was read, and
/// one patch of the fields it sets.
async fn send_autoscaler(
    client: &Client,
    w: &Workload,
    rebase: &Rebase<'_>,
    seen: &Seen,
    params: &PatchParams,
) -> Result<Objects, Refused> {
    let hpa_name = w.autoscaler.as_ref().map(|a| a.name.clone()).unwrap_or_default();
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), &w.namespace);
    let current = api.get(&hpa_name).await?;
    let shown = crate::cluster::snapshot::autoscaler(&current);
    let resource_version = version_to_patch(seen, &current.metadata, Some(&shown.spec_hash))?;
    let (change, touched) = rebase(&shown).map_err(Refused::Invalid)?;
    let current = serde_json::to_value(current).unwrap_or_default();
    let body = patch::autoscaler_patch(&change, &touched, &current, &resource_version)
        .expect("an autoscaler change builds an autoscaler patch");
    let after =
        serde_json::to_value(api.patch(&hpa_name, params, &Patch::Merge(body)).await?).unwrap_or_default();
    Ok(Objects {
        repository: super::export::patch_body(&current, &after),
        before: patch::autoscaler_summary(&current),
        after: patch::autoscaler_summary(&after),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(generation: Option<i64>) -> ObjectMeta {
        ObjectMeta { resource_version: Some("77".into()), generation, ..ObjectMeta::default() }
    }

    #[test]
    fn the_precondition_is_checked_on_the_object_just_read() {
        let ok = |r: Result<String, Refused>| r.ok();
        let hash = "sha256:aa";
        assert_eq!(
            ok(version_to_patch(&Seen::ResourceVersion("70".into()), &meta(None), None)),
            Some("70".into())
        );
        assert_eq!(
            ok(version_to_patch(&Seen::SpecHash(hash.into()), &meta(None), Some(hash))),
            Some("77".into())
        );
        assert!(matches!(
            version_to_patch(&Seen::SpecHash(hash.into()), &meta(None), Some("sha256:bb")),
            Err(Refused::SpecChanged)
        ));
        assert_eq!(ok(version_to_patch(&Seen::Generation(3), &meta(Some(3)), None)), Some("77".into()));
        assert!(matches!(
            version_to_patch(&Seen::Generation(3), &meta(Some(4)), None),
            Err(Refused::SpecChanged)
        ));
        // No generation kept (an HPA on a real cluster): never taken as "unchanged".
        assert!(matches!(
            version_to_patch(&Seen::Generation(1), &meta(None), Some(hash)),
            Err(Refused::GenerationNotKept)
        ));
    }
}
