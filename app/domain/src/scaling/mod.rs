//! Scaling edits: the form as typed, the JSON API's typed request ([`request`]), and their
//! validation into a change Kubernetes can take ([`validate`]). The same code checks the form
//! in the browser (as the user types) and both on the server (before anything is sent), so the
//! messages match and the server never trusts the browser.

pub mod field;
pub mod form;
pub mod request;
pub mod touched;
pub mod validate;

use serde::{Deserialize, Serialize};

use crate::hpa::{Behavior, ScalingRules, spec::BehaviorSpec};
use field::{Field, Problems};

/// One scaling policy as typed: `Pods` or `Percent`, a value and a period in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyForm {
    pub kind: String,
    pub value: String,
    pub period: String,
}

/// One direction of an HPA's `behavior` as typed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RulesForm {
    /// Seconds; empty keeps Kubernetes' default.
    pub window: String,
    /// `Max`, `Min` or `Disabled`.
    pub select: String,
    pub policies: Vec<PolicyForm>,
}

/// What the user typed. Every number is text here: "integers only" is a rule to check, not an
/// assumption.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingForm {
    /// Set for a Deployment without an HPA.
    pub replicas: Option<String>,
    /// Set for a Deployment with an HPA.
    pub autoscaler: Option<AutoscalerForm>,
    /// Why: a change ticket or a sentence. Required.
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoscalerForm {
    pub min_replicas: String,
    pub max_replicas: String,
    pub cpu_target: String,
    /// Empty when the HPA has no memory target.
    pub memory_target: String,
    pub scale_up: RulesForm,
    pub scale_down: RulesForm,
}

/// A change that passed validation, ready to become a patch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScalingChange {
    Replicas(i32),
    Autoscaler {
        min_replicas: i32,
        max_replicas: i32,
        cpu_target: Option<i32>,
        memory_target: Option<i32>,
        scale_up: ScalingRules,
        scale_down: ScalingRules,
    },
}

impl ScalingChange {
    /// The behavior an autoscaler change sets.
    pub fn behavior(&self) -> Option<Behavior> {
        match self {
            ScalingChange::Autoscaler { scale_up, scale_down, .. } => {
                Some(Behavior { scale_up: scale_up.clone(), scale_down: scale_down.clone() })
            }
            ScalingChange::Replicas(_) => None,
        }
    }
}

/// What a field is wrong about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FieldError {
    /// The form field, e.g. `autoscaler.max_replicas` or `autoscaler.scale_up.policies.0.period`.
    pub field: String,
    pub message: String,
}

impl RulesForm {
    pub fn from_rules(r: &ScalingRules) -> Self {
        RulesForm {
            window: r.stabilization_window_secs.to_string(),
            select: r.select_policy.as_str().to_string(),
            policies: r
                .policies
                .iter()
                .map(|p| PolicyForm {
                    kind: p.kind.as_str().to_string(),
                    value: p.value.to_string(),
                    period: p.period_secs.to_string(),
                })
                .collect(),
        }
    }
}

impl ScalingForm {
    /// The form filled with what the cluster has now: the HPA when one targets the
    /// Deployment, else the replica count. The reason starts empty.
    pub fn current(w: &crate::dto::Workload) -> Self {
        // Kubernetes' defaults, written out, where the HPA sets no behavior.
        match &w.autoscaler {
            Some(a) => {
                let behavior = BehaviorSpec::resolve_optional(a.behavior.as_ref());
                ScalingForm {
                    replicas: None,
                    autoscaler: Some(AutoscalerForm {
                        min_replicas: a.min_replicas.to_string(),
                        max_replicas: a.max_replicas.to_string(),
                        cpu_target: a.cpu_target_percent.map(|t| t.to_string()).unwrap_or_default(),
                        memory_target: a.memory_target_percent.map(|t| t.to_string()).unwrap_or_default(),
                        scale_up: RulesForm::from_rules(&behavior.scale_up),
                        scale_down: RulesForm::from_rules(&behavior.scale_down),
                    }),
                    reason: String::new(),
                }
            }
            None => ScalingForm {
                replicas: Some(w.replicas.desired.to_string()),
                autoscaler: None,
                reason: String::new(),
            },
        }
    }
}

/// How an edit attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Applied,
    Previewed,
    Invalid,
    Denied,
    Conflict,
    Failed,
    /// Over the per-user rate: not sent, not recorded.
    Throttled,
    /// The audit log could not record the intent: not sent.
    Unrecorded,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Previewed => "previewed",
            Outcome::Invalid => "invalid",
            Outcome::Denied => "denied",
            Outcome::Conflict => "conflict",
            Outcome::Failed => "failed",
            Outcome::Throttled => "throttled",
            Outcome::Unrecorded => "unrecorded",
        }
    }
}

/// A request to change a workload's scaling, from the browser's form.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EditRequest {
    #[serde(flatten)]
    pub form: ScalingForm,
    /// What the form was filled from ([`Seen::of`]): the change is made against that.
    pub seen: Seen,
    /// Preview only: the cluster validates and answers with the result, stores nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// The person knows a GitOps tool syncs the object and will set the change back.
    #[serde(default)]
    pub confirm_owner: bool,
}

/// What is asked for: the browser's form (text fields) or the JSON API's typed request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Proposed {
    Form(ScalingForm),
    Typed(request::ScalingRequest),
}

/// What a change is conditional on, so it is never made over one the user did not see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Seen {
    /// The object exactly as loaded (`metadata.resourceVersion`): any write since is a
    /// conflict, even the HPA controller's status update every sync.
    ResourceVersion(String),
    /// Its spec as loaded, by `metadata.generation`, which only a spec change moves: a change
    /// to the spec since is a conflict, the controllers' status writes are not. Every API
    /// server keeps it for Deployments; for HPAs only Kubernetes 1.37 with its HPAGeneration
    /// feature gate on, so elsewhere an HPA change conditional on it is refused.
    Generation(i64),
    /// An HPA's spec as loaded, by its hash ([`crate::dto::Autoscaler::spec_hash`]), compared
    /// on the server with the spec it reads before sending: as `Generation`, but on every
    /// cluster.
    SpecHash(String),
}

impl Seen {
    /// What an edit of `w` from the form is conditional on: its HPA's spec, or the
    /// Deployment's generation for replicas. Not the resourceVersion, which the controllers'
    /// status writes move every sync.
    pub fn of(w: &crate::dto::Workload) -> Seen {
        match &w.autoscaler {
            Some(a) => Seen::SpecHash(a.spec_hash.clone()),
            None => Seen::Generation(w.generation),
        }
    }
}

/// An edit as the server carries it out, whichever way it came in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Edit {
    pub proposed: Proposed,
    /// What the user said they saw; [`Edit::seen`] makes it one precondition.
    pub resource_version: Option<String>,
    pub generation: Option<i64>,
    pub spec_hash: Option<String>,
    pub dry_run: bool,
    /// See [`EditRequest::confirm_owner`].
    pub confirm_owner: bool,
}

impl Edit {
    pub fn reason(&self) -> &str {
        match &self.proposed {
            Proposed::Form(f) => &f.reason,
            Proposed::Typed(r) => &r.reason,
        }
    }

    /// The one precondition the change is made against, or why there is none.
    pub fn seen(&self) -> Result<Seen, (Field, &'static str)> {
        let given = [self.resource_version.is_some(), self.generation.is_some(), self.spec_hash.is_some()];
        if given.iter().filter(|g| **g).count() > 1 {
            let field = if self.spec_hash.is_some() { Field::SpecHash } else { Field::Generation };
            return Err((field, "give one of resourceVersion, generation and specHash, not several"));
        }
        match (&self.resource_version, self.generation, &self.spec_hash) {
            (Some(rv), _, _) if !rv.trim().is_empty() => Ok(Seen::ResourceVersion(rv.trim().to_string())),
            (_, Some(g), _) if g >= 1 => Ok(Seen::Generation(g)),
            (_, Some(_), _) => Err((Field::Generation, "the generation you loaded is 1 or more")),
            (_, _, Some(h)) if is_spec_hash(h.trim()) => Ok(Seen::SpecHash(h.trim().to_string())),
            (_, _, Some(_)) => Err((
                Field::SpecHash,
                "specHash is the autoscaler's specHash as read from Paydeck (sha256: and 64 hexadecimal digits)",
            )),
            _ => Err((
                Field::ResourceVersion,
                "the version you loaded is required (resourceVersion; or specHash for an HPA's spec, generation for a Deployment's): a change is always made against what was seen",
            )),
        }
    }
}

/// Whether `text` is a spec hash as Paydeck writes them: `sha256:` and 64 lowercase hex digits.
pub fn is_spec_hash(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

impl From<EditRequest> for Edit {
    fn from(r: EditRequest) -> Self {
        let (mut resource_version, mut generation, mut spec_hash) = (None, None, None);
        match r.seen {
            Seen::ResourceVersion(rv) => resource_version = Some(rv),
            Seen::Generation(g) => generation = Some(g),
            Seen::SpecHash(h) => spec_hash = Some(h),
        }
        Edit {
            proposed: Proposed::Form(r.form),
            resource_version,
            generation,
            spec_hash,
            dry_run: r.dry_run,
            confirm_owner: r.confirm_owner,
        }
    }
}

impl From<request::ScalingRequest> for Edit {
    fn from(r: request::ScalingRequest) -> Self {
        Edit {
            resource_version: r.resource_version.clone(),
            generation: r.generation,
            spec_hash: r.spec_hash.clone(),
            dry_run: r.dry_run,
            confirm_owner: r.confirm_owner,
            proposed: Proposed::Typed(r),
        }
    }
}

/// A change as the files a repository would hold (see the server's `edits::export`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RepositoryPatch {
    /// What to call the patch file, e.g. `payment-api-hpa-scaling.patch.yaml`.
    pub file_name: String,
    /// A strategic-merge patch of the object with only what the change sets, the reason and
    /// the what-if in comments.
    pub patch: String,
    /// The `patches:` entry of a `kustomization.yaml` that applies it.
    pub kustomization: String,
    /// The same change with kubectl, from the patch file.
    pub kubectl: String,
}

/// What happened to an edit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EditResponse {
    pub outcome: Outcome,
    pub message: String,
    pub errors: Vec<FieldError>,
    pub warnings: Vec<String>,
    /// The object as it was, and as it is (or would be, for a dry run), in the fields a
    /// scaling change touches.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub before: serde_json::Value,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub after: serde_json::Value,
    /// `{field: [before, after]}` of what differs.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub diff: serde_json::Value,
    /// The audit row recording this attempt.
    pub audit_seq: Option<i64>,
    /// A previewed or applied change as a repository would hold it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<RepositoryPatch>,
}

/// What a user may change on a workload, as the cluster answers for them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Rights {
    pub may_edit: bool,
    /// Why not, in words.
    pub reason: Option<String>,
}

/// One audited attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub user: String,
    pub groups: Vec<String>,
    pub namespace: String,
    pub name: String,
    pub target: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub before: serde_json::Value,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub after: serde_json::Value,
    pub reason: String,
    pub outcome: String,
    pub detail: String,
    pub hash: String,
    /// For the outcome of an apply: the row that recorded its intent before it was sent.
    #[serde(default)]
    pub intent_seq: Option<i64>,
    /// Whether the row's hash is keyed (HMAC).
    #[serde(default)]
    pub keyed: bool,
    /// The fleet's name for the cluster the change was for; empty on rows recorded before
    /// Paydeck named it.
    #[serde(default)]
    pub cluster: String,
}

/// Filters of an audit query.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditQuery {
    /// Only this cluster's rows (and those recorded before rows named their cluster).
    #[serde(default)]
    pub cluster: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub user: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub limit: Option<i64>,
    /// Only rows before this sequence number (the next page of a listing).
    pub before: Option<i64>,
}

/// Checks an edit of `w` either way it came in: the form's or the API's rules, the shape of
/// the change against the workload (replicas only where no HPA decides), and that it is
/// conditional on the version seen ([`Edit::seen`]). Fields are named as the way in names them.
pub fn check_edit(
    edit: &Edit,
    w: &crate::dto::Workload,
    limits: &validate::Limits,
    allocatable_cpu: f64,
) -> validate::Checked {
    let context = validate::Context::of(w, allocatable_cpu);
    let (mut checked, name): (validate::Checked, fn(Field) -> String) = match &edit.proposed {
        Proposed::Form(form) => {
            let mut checked = form::check(form, limits, &context);
            let mut shape = Problems::default();
            if form.replicas.is_some() && w.autoscaler.is_some() {
                shape.add(
                    Field::Replicas,
                    "an HPA sets this Deployment's replicas; change the HPA's minimum and maximum instead",
                );
            }
            if form.autoscaler.is_some() && w.autoscaler.is_none() {
                shape.add(Field::Form, "no HPA targets this Deployment");
            }
            checked.errors.extend(shape.named(Field::form_name));
            (checked, Field::form_name)
        }
        Proposed::Typed(request) => {
            let mut problems = Problems::default();
            let mut warnings = Vec::new();
            validate::check_reason(&request.reason, &mut problems);
            let change = request::proposal(request, w, &mut problems)
                .and_then(|p| validate::check_proposal(&p, limits, &context, &mut problems, &mut warnings));
            (validate::Checked { change, errors: problems.named(Field::api_name), warnings }, Field::api_name)
        }
    };
    match edit.seen() {
        Err((field, message)) => checked.errors.push(FieldError { field: name(field), message: message.into() }),
        Ok(Seen::SpecHash(_)) if w.autoscaler.is_none() => checked.errors.push(FieldError {
            field: name(Field::SpecHash),
            message: "specHash is an HPA's, and no HPA targets this Deployment: give its generation or resourceVersion".into(),
        }),
        Ok(_) => {}
    }
    if !checked.errors.is_empty() {
        checked.change = None;
    }
    checked
}

/// Checks a partial HPA spec against `w` and the rules, without the reason and version an
/// edit needs: what the what-if replays. Fields are named as the JSON API names them.
pub fn check_spec(
    spec: &request::SpecChange,
    w: &crate::dto::Workload,
    limits: &validate::Limits,
    allocatable_cpu: f64,
) -> validate::Checked {
    let request = request::ScalingRequest { spec: Some(spec.clone()), ..Default::default() };
    let context = validate::Context::of(w, allocatable_cpu);
    let mut problems = Problems::default();
    let mut warnings = Vec::new();
    let change = request::proposal(&request, w, &mut problems)
        .and_then(|p| validate::check_proposal(&p, limits, &context, &mut problems, &mut warnings));
    validate::Checked { change, errors: problems.named(Field::api_name), warnings }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(resource_version: Option<&str>, generation: Option<i64>, spec_hash: Option<&str>) -> Edit {
        Edit {
            proposed: Proposed::Typed(request::ScalingRequest::default()),
            resource_version: resource_version.map(str::to_string),
            generation,
            spec_hash: spec_hash.map(str::to_string),
            dry_run: true,
            confirm_owner: false,
        }
    }

    #[test]
    fn an_edit_is_conditional_on_exactly_one_version_seen() {
        let hash = format!("sha256:{}", "0a".repeat(32));
        assert_eq!(edit(Some(" 41 "), None, None).seen(), Ok(Seen::ResourceVersion("41".into())));
        assert_eq!(edit(None, Some(3), None).seen(), Ok(Seen::Generation(3)));
        assert_eq!(edit(None, None, Some(&hash)).seen(), Ok(Seen::SpecHash(hash.clone())));
        assert_eq!(edit(Some("41"), Some(3), None).seen().unwrap_err().0, Field::Generation);
        assert_eq!(edit(Some("41"), None, Some(&hash)).seen().unwrap_err().0, Field::SpecHash);
        assert_eq!(edit(None, None, None).seen().unwrap_err().0, Field::ResourceVersion);
        assert_eq!(edit(Some("  "), None, None).seen().unwrap_err().0, Field::ResourceVersion);
        assert_eq!(edit(None, Some(0), None).seen().unwrap_err().0, Field::Generation);
        for bad in [
            "",
            "sha256:",
            "0a0a",
            &format!("sha256:{}", "0A".repeat(32)),
            &format!("md5:{}", "0a".repeat(32)),
        ] {
            assert_eq!(edit(None, None, Some(bad)).seen().unwrap_err().0, Field::SpecHash, "{bad:?}");
        }
    }
}
