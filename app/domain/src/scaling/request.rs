//! The JSON API's scaling request: typed, in Kubernetes' field names, partial, strict.
//!
//! ```json
//! { "spec": { "maxReplicas": 12, "behavior": { "scaleDown": { "stabilizationWindowSeconds": 600 } } },
//!   "reason": "CHG-1234 evening peak", "specHash": "sha256:…", "dryRun": true }
//! ```
//!
//! The change is conditional on what was seen, exactly one of: `specHash` (an HPA's spec as
//! Paydeck read it; the HPA controller's status writes every 15 s do not count),
//! `generation` (a Deployment's spec; an HPA's only where the cluster keeps one) or
//! `resourceVersion` (the whole object).
//!
//! `spec` is the HPA's spec as autoscaling/v2 writes it; fields left out keep the values the
//! cluster has when the change is sent, and only the fields given are written. `replicas` is
//! for a Deployment no HPA targets. Numbers are numbers: a float, a string or an
//! out-of-range value is refused naming the field, and so is any field this request does not
//! know (`dry_run` instead of `dryRun` would otherwise preview nothing and apply for real).
//!
//! `null`: in a Kubernetes merge patch it removes a field, in this request leaving a field
//! out keeps it, so `null` is refused wherever removing makes no sense. It is taken in three
//! places, where Kubernetes' own defaults are a sensible value: `behavior` (no behavior: the
//! controller's defaults in both directions), `behavior.scaleUp` and `behavior.scaleDown`
//! (that direction back to its defaults).

use serde::{Deserialize, Serialize};

use super::{
    FieldError,
    field::{Field, Problems},
    validate::{Proposal, ProposedPolicy, ProposedRules},
};
use crate::{dto::Workload, hpa::spec::BehaviorSpec};

use crate::strict::not_null;

/// A field that may be left out (`None`: keep), `null` (`Some(None)`: back to Kubernetes'
/// defaults) or given.
fn or_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A scaling change through the JSON API.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScalingRequest {
    /// The replica count, for a Deployment without an HPA.
    #[serde(default, deserialize_with = "not_null", skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i64>,
    /// The HPA's spec, partly: fields left out keep the values the cluster has.
    #[serde(default, deserialize_with = "not_null", skip_serializing_if = "Option::is_none")]
    pub spec: Option<SpecChange>,
    /// The change ticket, or why; required, at most 500 characters.
    pub reason: String,
    /// The `metadata.resourceVersion` of the HPA (or, for `replicas`, the Deployment) last
    /// seen: any write since, the controllers' status updates included, is a conflict.
    /// Give exactly one of `resourceVersion`, `generation` and `specHash`.
    #[serde(default, deserialize_with = "not_null", skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// The `metadata.generation` last seen: only a change to the spec since is a conflict. A
    /// Deployment's (for `replicas`); an HPA's only where the cluster keeps one (Kubernetes
    /// 1.37 with the HPAGeneration feature gate), else refused: give `specHash`.
    #[serde(default, deserialize_with = "not_null", skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// The HPA's spec as last seen: `autoscaler.specHash` of
    /// `GET /api/v1/workloads/{namespace}/{name}`. Only a change to the spec since is a
    /// conflict, on any cluster.
    #[serde(default, deserialize_with = "not_null", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^sha256:[0-9a-f]{64}$"))]
    pub spec_hash: Option<String>,
    /// Preview with the cluster's dry run; nothing is stored.
    #[serde(default, deserialize_with = "false_unless_true")]
    pub dry_run: bool,
    /// Apply although a GitOps tool (Argo CD, Flux) syncs the object and will set the change
    /// back unless it is made in the repository too: required for such an object
    /// (`autoscaler.owners` / `owners` of the workload).
    #[serde(default, deserialize_with = "false_unless_true")]
    pub confirm_owner: bool,
}

/// `dryRun`: a boolean, never `null`.
fn false_unless_true<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    not_null::<D, bool>(d).map(|b| b.unwrap_or(false))
}

/// The HPA spec fields that can change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpecChange {
    #[serde(default, deserialize_with = "not_null", skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i64>,
    #[serde(default, deserialize_with = "not_null", skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<i64>,
    /// CPU and memory utilisation targets, as the HPA writes them. When given, they replace
    /// the current CPU and memory targets (one left out is removed); other metrics the HPA
    /// has are kept.
    #[serde(default, deserialize_with = "not_null", skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Vec<MetricSpec>>,
    /// Per direction and per field: what is left out keeps its current value; `null`
    /// removes the behavior (Kubernetes' defaults in both directions).
    #[serde(default, deserialize_with = "or_null", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<BehaviorChange>, nullable))]
    pub behavior: Option<Option<BehaviorChange>>,
}

/// `{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}`
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricSpec {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "not_null", skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceMetric>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceMetric {
    pub name: String,
    pub target: MetricTarget,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricTarget {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "not_null", skip_serializing_if = "Option::is_none")]
    pub average_utilization: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BehaviorChange {
    /// `null`: back to Kubernetes' scale-up defaults.
    #[serde(default, deserialize_with = "or_null", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<RulesChange>, nullable))]
    pub scale_up: Option<Option<RulesChange>>,
    /// `null`: back to Kubernetes' scale-down defaults.
    #[serde(default, deserialize_with = "or_null", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<RulesChange>, nullable))]
    pub scale_down: Option<Option<RulesChange>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RulesChange {
    #[serde(default, deserialize_with = "not_null", skip_serializing_if = "Option::is_none")]
    pub stabilization_window_seconds: Option<i64>,
    /// `Max`, `Min` or `Disabled`.
    #[serde(default, deserialize_with = "not_null", skip_serializing_if = "Option::is_none")]
    pub select_policy: Option<String>,
    /// Replaces the direction's policies when given.
    #[serde(default, deserialize_with = "not_null", skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<PolicyChange>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyChange {
    /// `Pods` or `Percent`.
    #[serde(rename = "type")]
    pub kind: String,
    pub value: i64,
    pub period_seconds: i64,
}

/// Reads a request body strictly: the first problem, with the field's path.
pub fn parse(body: &[u8]) -> Result<ScalingRequest, FieldError> {
    crate::strict::from_slice(body).map_err(|e| FieldError {
        field: if e.path == "." { "(body)".into() } else { e.path },
        message: e.message,
    })
}

/// The request as a proposal against `current` (fields left out keep their values), or the
/// problems with its shape.
pub fn proposal(request: &ScalingRequest, current: &Workload, problems: &mut Problems) -> Option<Proposal> {
    match (&request.replicas, &request.spec, &current.autoscaler) {
        (Some(_), Some(_), _) => {
            problems.add(Field::Form, "change either replicas or spec, not both");
            None
        }
        (None, None, _) => {
            problems.add(
                Field::Form,
                "nothing to change: give replicas (a Deployment without an HPA) or spec (its HPA)",
            );
            None
        }
        (Some(_), None, Some(_)) => {
            problems.add(
                Field::Replicas,
                "an HPA sets this Deployment's replicas; change the HPA's spec instead",
            );
            None
        }
        (None, Some(_), None) => {
            problems.add(Field::Form, "no HPA targets this Deployment: change replicas instead");
            None
        }
        (Some(n), None, None) => Some(Proposal::Replicas(Some(*n))),
        (None, Some(spec), Some(hpa)) => Some(spec_proposal(spec, hpa, problems)),
    }
}

fn spec_proposal(spec: &SpecChange, hpa: &crate::dto::Autoscaler, problems: &mut Problems) -> Proposal {
    let (mut cpu, mut memory) =
        (Ok(hpa.cpu_target_percent.map(i64::from)), Ok(hpa.memory_target_percent.map(i64::from)));
    if let Some(metrics) = &spec.metrics {
        (cpu, memory) = (Ok(None), Ok(None));
        for m in metrics {
            let utilization = m
                .resource
                .as_ref()
                .filter(|r| m.kind == "Resource" && r.target.kind == "Utilization")
                .and_then(|r| Some((r.name.as_str(), r.target.average_utilization?)));
            match utilization {
                Some(("cpu", n)) => cpu = Ok(Some(n)),
                Some(("memory", n)) => memory = Ok(Some(n)),
                _ => problems.add(
                    Field::CpuTarget,
                    "only cpu and memory Resource metrics with a Utilization target (averageUtilization) can be set here",
                ),
            }
        }
    }
    let current = BehaviorSpec::resolve_optional(hpa.behavior.as_ref());
    let defaults = BehaviorSpec::resolve_optional(None);
    // What each direction starts from: as the cluster has it, or Kubernetes' defaults when
    // the request resets it (`null`); and the fields the request gives.
    let (up_from, up, down_from, down) = match &spec.behavior {
        None => (&current.scale_up, None, &current.scale_down, None),
        Some(None) => (&defaults.scale_up, None, &defaults.scale_down, None),
        Some(Some(b)) => {
            let side = |change: &Option<Option<RulesChange>>, now, default| match change {
                None => (now, None),
                Some(None) => (default, None),
                Some(Some(r)) => (now, Some(r.clone())),
            };
            let (up_from, up) = side(&b.scale_up, &current.scale_up, &defaults.scale_up);
            let (down_from, down) = side(&b.scale_down, &current.scale_down, &defaults.scale_down);
            (up_from, up, down_from, down)
        }
    };
    let rules = |change: Option<&RulesChange>, now: &crate::hpa::ScalingRules| ProposedRules {
        window: Ok(Some(
            change
                .and_then(|c| c.stabilization_window_seconds)
                .unwrap_or(i64::from(now.stabilization_window_secs)),
        )),
        select: change
            .and_then(|c| c.select_policy.clone())
            .unwrap_or_else(|| now.select_policy.as_str().to_string()),
        policies: match change.and_then(|c| c.policies.as_ref()) {
            Some(given) => given
                .iter()
                .map(|p| ProposedPolicy {
                    kind: p.kind.clone(),
                    value: Some(p.value),
                    period: Some(p.period_seconds),
                })
                .collect(),
            None => now
                .policies
                .iter()
                .map(|p| ProposedPolicy {
                    kind: p.kind.as_str().to_string(),
                    value: Some(i64::from(p.value)),
                    period: Some(i64::from(p.period_secs)),
                })
                .collect(),
        },
    };
    Proposal::Autoscaler {
        min: Some(spec.min_replicas.unwrap_or(i64::from(hpa.min_replicas))),
        max: Some(spec.max_replicas.unwrap_or(i64::from(hpa.max_replicas))),
        cpu,
        memory,
        up: rules(up.as_ref(), up_from),
        down: rules(down.as_ref(), down_from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strict_reader_names_the_field_at_fault() {
        let bad = |body: &str| parse(body.as_bytes()).unwrap_err();
        let e = bad(r#"{"spec": {"maxReplicas": 2.5}, "reason": "r", "resourceVersion": "1"}"#);
        assert_eq!(e.field, "spec.maxReplicas");
        assert!(e.message.contains("floating point"), "{}", e.message);
        let e = bad(r#"{"spec": {"maxReplicas": "12"}, "reason": "r", "resourceVersion": "1"}"#);
        assert_eq!(e.field, "spec.maxReplicas");
        let e = bad(r#"{"replicas": 2, "reason": "r", "resourceVersion": "1", "dry_run": true}"#);
        assert!(e.message.contains("unknown field `dry_run`"), "{e:?}");
        let e = bad(
            r#"{"spec": {"behavior": {"scaleUp": {"window": 5}}}, "reason": "r", "resourceVersion": "1"}"#,
        );
        assert_eq!(e.field, "spec.behavior.scaleUp.window");
        assert!(e.message.contains("unknown field `window`"), "{e:?}");
        let e = bad(r#"{"replicas": 99999999999999999999, "reason": "r", "resourceVersion": "1"}"#);
        assert_eq!(e.field, "replicas");
        let e = bad(r#"{"replicas": 2}"#);
        assert!(e.message.contains("missing field `reason`"), "{e:?}");
        let ok = parse(
            br#"{"spec": {"maxReplicas": 12}, "reason": "CHG-1", "resourceVersion": "9", "dryRun": true}"#,
        )
        .unwrap();
        assert!(ok.dry_run);
        assert_eq!(ok.spec.unwrap().max_replicas, Some(12));
    }
}
