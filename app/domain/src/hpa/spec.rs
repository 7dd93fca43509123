//! The HPA's `behavior` as Kubernetes writes it — every field optional — and what applies
//! when a field is not set (the documented defaults). The dashboard reads it from the
//! cluster, shows it in words, edits it, and replays it; the simulator runs it.

use serde::{Deserialize, Serialize};

use super::{Behavior, Policy, ScalingRules, SelectPolicy};

/// One direction of `spec.behavior` as written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RulesSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stabilization_window_seconds: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_policy: Option<SelectPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<Policy>>,
}

/// `spec.behavior` as written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BehaviorSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<RulesSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<RulesSpec>,
}

impl RulesSpec {
    /// What applies: each field as written, else the default's.
    pub fn resolve(&self, default: ScalingRules) -> ScalingRules {
        ScalingRules {
            stabilization_window_secs: self
                .stabilization_window_seconds
                .map_or(default.stabilization_window_secs, |w| w.max(0) as u32),
            select_policy: self.select_policy.unwrap_or(default.select_policy),
            policies: self.policies.clone().unwrap_or(default.policies),
        }
    }
}

impl BehaviorSpec {
    /// What applies, with the documented defaults for whatever is not set.
    pub fn resolve(&self) -> Behavior {
        Behavior {
            scale_up: self
                .scale_up
                .as_ref()
                .map_or_else(ScalingRules::default_scale_up, |r| r.resolve(ScalingRules::default_scale_up())),
            scale_down: self.scale_down.as_ref().map_or_else(ScalingRules::default_scale_down, |r| {
                r.resolve(ScalingRules::default_scale_down())
            }),
        }
    }

    /// The behavior that applies to an HPA whose spec has `spec` (or none).
    pub fn resolve_optional(spec: Option<&BehaviorSpec>) -> Behavior {
        spec.map_or_else(Behavior::default, BehaviorSpec::resolve)
    }

    /// Reads `spec.behavior` from an object as JSON; anything unreadable counts as not set.
    pub fn from_json(value: &serde_json::Value) -> Option<BehaviorSpec> {
        (!value.is_null()).then(|| serde_json::from_value(value.clone()).ok()).flatten()
    }
}

impl From<&Behavior> for BehaviorSpec {
    /// Every field written out.
    fn from(b: &Behavior) -> Self {
        let rules = |r: &ScalingRules| RulesSpec {
            stabilization_window_seconds: Some(r.stabilization_window_secs as i32),
            select_policy: Some(r.select_policy),
            policies: Some(r.policies.clone()),
        };
        BehaviorSpec { scale_up: Some(rules(&b.scale_up)), scale_down: Some(rules(&b.scale_down)) }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::hpa::PolicyKind;

    #[test]
    fn unset_fields_take_the_documented_defaults() {
        let spec: BehaviorSpec = serde_json::from_value(json!({
            "scaleDown": { "stabilizationWindowSeconds": 600, "selectPolicy": "Min",
                "policies": [{ "type": "Pods", "value": 1, "periodSeconds": 60 }] }
        }))
        .unwrap();
        let b = spec.resolve();
        assert_eq!(b.scale_up, ScalingRules::default_scale_up());
        assert_eq!(b.scale_down.stabilization_window_secs, 600);
        assert_eq!(b.scale_down.select_policy, SelectPolicy::Min);
        assert_eq!(b.scale_down.policies, vec![Policy { kind: PolicyKind::Pods, value: 1, period_secs: 60 }]);
        let partial: BehaviorSpec =
            serde_json::from_value(json!({ "scaleUp": { "stabilizationWindowSeconds": 30 } })).unwrap();
        let up = partial.resolve().scale_up;
        assert_eq!(up.stabilization_window_secs, 30);
        assert_eq!(up.policies, ScalingRules::default_scale_up().policies);
        assert_eq!(BehaviorSpec::resolve_optional(None), Behavior::default());
    }

    #[test]
    fn written_out_it_reads_back_the_same() {
        let b = Behavior::default();
        let text = serde_json::to_value(BehaviorSpec::from(&b)).unwrap();
        assert_eq!(
            text["scaleUp"]["policies"][1],
            json!({ "type": "Pods", "value": 4, "periodSeconds": 15 })
        );
        assert_eq!(BehaviorSpec::from_json(&text).unwrap().resolve(), b);
        assert_eq!(BehaviorSpec::from_json(&serde_json::Value::Null), None);
    }
}
