//! Scaling edits: the form as typed, and its validation into a change Kubernetes can take.
//! The same code checks the form in the browser (as the user types) and on the server (before
//! anything is sent), so the messages match and the server never trusts the browser.

pub mod api;
pub mod validate;

use serde::{Deserialize, Serialize};

/// One scaling policy as typed: `Pods` or `Percent`, a value and a period in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyForm {
    pub kind: String,
    pub value: String,
    pub period: String,
}

/// One direction of an HPA's `behavior` as typed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
pub struct ScalingForm {
    /// Set for a Deployment without an HPA.
    pub replicas: Option<String>,
    /// Set for a Deployment with an HPA.
    pub autoscaler: Option<AutoscalerForm>,
    /// Why: a change ticket or a sentence. Required.
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AutoscalerForm {
    pub min_replicas: String,
    pub max_replicas: String,
    pub cpu_target: String,
    /// Empty when the HPA has no memory target.
    pub memory_target: String,
    pub scale_up: RulesForm,
    pub scale_down: RulesForm,
}

/// A scaling policy that passed validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// `Pods` or `Percent`.
    pub kind: String,
    pub value: i32,
    pub period_seconds: i32,
}

/// One direction of `behavior` that passed validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    pub stabilization_window_seconds: Option<i32>,
    pub select_policy: String,
    pub policies: Vec<Policy>,
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
        scale_up: Rules,
        scale_down: Rules,
    },
}

/// What a field is wrong about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The form field, e.g. `autoscaler.max_replicas` or `autoscaler.scale_up.policies.0.period`.
    pub field: String,
    pub message: String,
}

/// Kubernetes' behavior when an HPA sets none (autoscaling/v2 defaults).
pub fn default_rules(direction: &str) -> Rules {
    let policy = |kind: &str, value, period_seconds| Policy { kind: kind.into(), value, period_seconds };
    match direction {
        "scaleUp" => Rules {
            stabilization_window_seconds: Some(0),
            select_policy: "Max".into(),
            policies: vec![policy("Percent", 100, 15), policy("Pods", 4, 15)],
        },
        _ => Rules {
            stabilization_window_seconds: Some(300),
            select_policy: "Max".into(),
            policies: vec![policy("Percent", 100, 15)],
        },
    }
}

/// One direction of an HPA's stored `behavior` (defaults where unset).
pub fn rules_of(behavior: Option<&serde_json::Value>, direction: &str) -> Rules {
    let Some(b) = behavior.and_then(|b| b.get(direction)).filter(|r| !r.is_null()) else {
        return default_rules(direction);
    };
    let defaults = default_rules(direction);
    let policies = b.get("policies").and_then(|p| p.as_array()).map(|ps| {
        ps.iter()
            .map(|p| Policy {
                kind: p.get("type").and_then(|t| t.as_str()).unwrap_or("Pods").to_string(),
                value: p.get("value").and_then(|v| v.as_i64()).unwrap_or(0) as i32,
                period_seconds: p.get("periodSeconds").and_then(|v| v.as_i64()).unwrap_or(0) as i32,
            })
            .collect()
    });
    Rules {
        stabilization_window_seconds: b
            .get("stabilizationWindowSeconds")
            .and_then(|w| w.as_i64())
            .map(|w| w as i32)
            .or(defaults.stabilization_window_seconds),
        select_policy: b.get("selectPolicy").and_then(|s| s.as_str()).unwrap_or("Max").to_string(),
        policies: policies.unwrap_or(defaults.policies),
    }
}

impl RulesForm {
    pub fn from_rules(r: &Rules) -> Self {
        RulesForm {
            window: r.stabilization_window_seconds.map(|w| w.to_string()).unwrap_or_default(),
            select: r.select_policy.clone(),
            policies: r
                .policies
                .iter()
                .map(|p| PolicyForm {
                    kind: p.kind.clone(),
                    value: p.value.to_string(),
                    period: p.period_seconds.to_string(),
                })
                .collect(),
        }
    }
}

impl ScalingForm {
    /// The form filled with what the cluster has now: the HPA when one targets the
    /// Deployment, else the replica count. The reason starts empty.
    pub fn current(w: &crate::dto::Workload) -> Self {
        match &w.autoscaler {
            Some(a) => ScalingForm {
                replicas: None,
                autoscaler: Some(AutoscalerForm {
                    min_replicas: a.min_replicas.to_string(),
                    max_replicas: a.max_replicas.to_string(),
                    cpu_target: a.cpu_target_percent.map(|t| t.to_string()).unwrap_or_default(),
                    memory_target: a.memory_target_percent.map(|t| t.to_string()).unwrap_or_default(),
                    scale_up: RulesForm::from_rules(&rules_of(a.behavior.as_ref(), "scaleUp")),
                    scale_down: RulesForm::from_rules(&rules_of(a.behavior.as_ref(), "scaleDown")),
                }),
                reason: String::new(),
            },
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

/// A request to change a workload's scaling.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct EditRequest {
    #[serde(flatten)]
    pub form: ScalingForm,
    /// The resourceVersion the user saw (the HPA's, or the Deployment's for replicas).
    pub resource_version: String,
    /// Preview only: the cluster validates and answers with the result, stores nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What happened to an edit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EditResponse {
    pub outcome: Outcome,
    pub message: String,
    pub errors: Vec<FieldError>,
    pub warnings: Vec<String>,
    /// The object as it was, and as it is (or would be, for a dry run), in the fields a
    /// scaling change touches.
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    /// `{field: [before, after]}` of what differs.
    pub diff: serde_json::Value,
    /// The audit row recording this attempt.
    pub audit_seq: Option<i64>,
}

/// What a user may change on a workload, as the cluster answers for them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rights {
    pub may_edit: bool,
    /// Why not, in words.
    pub reason: Option<String>,
}

/// One audited attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub user: String,
    pub groups: Vec<String>,
    pub namespace: String,
    pub name: String,
    pub target: String,
    pub before: serde_json::Value,
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
}

/// Filters of an audit query.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditQuery {
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
