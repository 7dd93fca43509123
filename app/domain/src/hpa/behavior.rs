//! `behavior` with every field filled in: the policies, their selection, the stabilisation
//! windows, and Kubernetes' defaults.

use serde::{Deserialize, Serialize};

/// A scaling policy: at most `value` pods or percent per `period_secs`. Serialised as the
/// HPA spec writes it (`type`, `value`, `periodSeconds`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Policy {
    #[serde(rename = "type")]
    pub kind: PolicyKind,
    pub value: i32,
    #[serde(rename = "periodSeconds")]
    pub period_secs: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PolicyKind {
    Pods,
    Percent,
}

impl PolicyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Pods => "Pods",
            PolicyKind::Percent => "Percent",
        }
    }
}

/// Which policy wins when several apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SelectPolicy {
    /// The policy allowing the biggest change (the default).
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction at all.
    Disabled,
}

impl SelectPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            SelectPolicy::Max => "Max",
            SelectPolicy::Min => "Min",
            SelectPolicy::Disabled => "Disabled",
        }
    }
}

/// One direction of `behavior`, every field filled in (serialised in Kubernetes' names).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScalingRules {
    #[serde(rename = "stabilizationWindowSeconds")]
    pub stabilization_window_secs: u32,
    #[serde(rename = "selectPolicy")]
    pub select_policy: SelectPolicy,
    pub policies: Vec<Policy>,
}

/// `spec.behavior` with every field filled in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Behavior {
    #[serde(rename = "scaleUp")]
    pub scale_up: ScalingRules,
    #[serde(rename = "scaleDown")]
    pub scale_down: ScalingRules,
}

impl ScalingRules {
    /// Scale-up default: no stabilisation; +100 % or +4 pods per 15 s, whichever is more.
    pub fn default_scale_up() -> Self {
        ScalingRules {
            stabilization_window_secs: 0,
            select_policy: SelectPolicy::Max,
            policies: vec![
                Policy { kind: PolicyKind::Percent, value: 100, period_secs: 15 },
                Policy { kind: PolicyKind::Pods, value: 4, period_secs: 15 },
            ],
        }
    }

    /// Scale-down default: 300 s stabilisation; up to 100 % per 15 s.
    pub fn default_scale_down() -> Self {
        ScalingRules {
            stabilization_window_secs: 300,
            select_policy: SelectPolicy::Max,
            policies: vec![Policy { kind: PolicyKind::Percent, value: 100, period_secs: 15 }],
        }
    }
}

impl Default for Behavior {
    fn default() -> Self {
        Behavior {
            scale_up: ScalingRules::default_scale_up(),
            scale_down: ScalingRules::default_scale_down(),
        }
    }
}
