//! Scaling edits: the form as typed, and its validation into a change Kubernetes can take.
//! The same code checks the form in the browser (as the user types) and on the server (before
//! anything is sent), so the messages match and the server never trusts the browser.

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
