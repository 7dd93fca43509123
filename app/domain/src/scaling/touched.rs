//! Which fields of an HPA's spec a change sets. The patch writes only those, onto the object
//! as the cluster has it when the change is sent: what the caller left out stays as it is
//! there, whatever Paydeck's own picture of the HPA held.
//!
//! The JSON API's request says what it sets by the fields it gives (`null` where it resets a
//! part of `behavior`). The browser's form shows every field; it sets those that differ from
//! the HPA the form was filled from (the change is conditional on that spec, so a field the
//! operator did not touch is never written back).

use super::{Proposed, ScalingChange, request::ScalingRequest};
use crate::{dto::Autoscaler, hpa::ScalingRules, hpa::spec::BehaviorSpec};

/// The parts of an HPA's spec a change sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Touched {
    pub min_replicas: bool,
    pub max_replicas: bool,
    /// The CPU and memory utilisation targets (in `metrics`; other metrics are kept).
    pub targets: bool,
    pub behavior: BehaviorTouched,
}

/// What a change does to `spec.behavior`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BehaviorTouched {
    #[default]
    Kept,
    /// Removed: the controller's defaults in both directions.
    Removed,
    Directions {
        up: RulesTouched,
        down: RulesTouched,
    },
}

/// What a change does to one direction of `behavior`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RulesTouched {
    #[default]
    Kept,
    /// Removed: Kubernetes fills in its defaults again.
    Removed,
    Fields {
        window: bool,
        select: bool,
        policies: bool,
    },
}

impl Touched {
    /// Whether the change sets nothing at all.
    pub fn is_nothing(&self) -> bool {
        *self == Touched::default()
    }
}

impl RulesTouched {
    /// The fields of `wanted` that differ from `now`.
    fn differing(now: &ScalingRules, wanted: &ScalingRules) -> RulesTouched {
        let window = now.stabilization_window_secs != wanted.stabilization_window_secs;
        let select = now.select_policy != wanted.select_policy;
        let policies = now.policies != wanted.policies;
        if window || select || policies {
            RulesTouched::Fields { window, select, policies }
        } else {
            RulesTouched::Kept
        }
    }
}

/// What `proposed`, validated into `change`, sets of `current` (the HPA as just read).
pub fn touched(proposed: &Proposed, current: &Autoscaler, change: &ScalingChange) -> Touched {
    match proposed {
        Proposed::Typed(request) => given(request),
        Proposed::Form(_) => differing(current, change),
    }
}

/// The fields a JSON API request gives.
fn given(request: &ScalingRequest) -> Touched {
    let Some(spec) = &request.spec else { return Touched::default() };
    let rules = |r: &Option<Option<super::request::RulesChange>>| match r {
        None => RulesTouched::Kept,
        Some(None) => RulesTouched::Removed,
        Some(Some(r)) => RulesTouched::Fields {
            window: r.stabilization_window_seconds.is_some(),
            select: r.select_policy.is_some(),
            policies: r.policies.is_some(),
        },
    };
    Touched {
        min_replicas: spec.min_replicas.is_some(),
        max_replicas: spec.max_replicas.is_some(),
        targets: spec.metrics.is_some(),
        behavior: match &spec.behavior {
            None => BehaviorTouched::Kept,
            Some(None) => BehaviorTouched::Removed,
            Some(Some(b)) => {
                BehaviorTouched::Directions { up: rules(&b.scale_up), down: rules(&b.scale_down) }
            }
        },
    }
}

/// The fields of `change` that differ from `current`.
fn differing(current: &Autoscaler, change: &ScalingChange) -> Touched {
    let ScalingChange::Autoscaler {
        min_replicas,
        max_replicas,
        cpu_target,
        memory_target,
        scale_up,
        scale_down,
    } = change
    else {
        return Touched::default();
    };
    let now = BehaviorSpec::resolve_optional(current.behavior.as_ref());
    let (up, down) = (
        RulesTouched::differing(&now.scale_up, scale_up),
        RulesTouched::differing(&now.scale_down, scale_down),
    );
    Touched {
        min_replicas: current.min_replicas != *min_replicas,
        max_replicas: current.max_replicas != *max_replicas,
        targets: (current.cpu_target_percent, current.memory_target_percent) != (*cpu_target, *memory_target),
        behavior: if up == RulesTouched::Kept && down == RulesTouched::Kept {
            BehaviorTouched::Kept
        } else {
            BehaviorTouched::Directions { up, down }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaling::{ScalingForm, request::parse};

    fn hpa() -> Autoscaler {
        Autoscaler { min_replicas: 2, max_replicas: 4, cpu_target_percent: Some(60), ..Autoscaler::default() }
    }

    fn change(min: i32, max: i32, down_window: u32) -> ScalingChange {
        ScalingChange::Autoscaler {
            min_replicas: min,
            max_replicas: max,
            cpu_target: Some(60),
            memory_target: None,
            scale_up: ScalingRules::default_scale_up(),
            scale_down: ScalingRules {
                stabilization_window_secs: down_window,
                ..ScalingRules::default_scale_down()
            },
        }
    }

    #[test]
    fn the_api_sets_what_it_gives_and_nothing_else() {
        let request =
            parse(br#"{"spec": {"maxReplicas": 13}, "reason": "r", "resourceVersion": "1"}"#).unwrap();
        let t = touched(&Proposed::Typed(request), &hpa(), &change(2, 13, 300));
        assert_eq!(t, Touched { max_replicas: true, ..Touched::default() });
        let request = parse(
            br#"{"spec": {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 600}, "scaleUp": null}},
                "reason": "r", "resourceVersion": "1"}"#,
        )
        .unwrap();
        let t = touched(&Proposed::Typed(request), &hpa(), &change(2, 4, 600));
        assert_eq!(
            t.behavior,
            BehaviorTouched::Directions {
                up: RulesTouched::Removed,
                down: RulesTouched::Fields { window: true, select: false, policies: false },
            }
        );
        let request =
            parse(br#"{"spec": {"behavior": null}, "reason": "r", "resourceVersion": "1"}"#).unwrap();
        assert_eq!(
            touched(&Proposed::Typed(request), &hpa(), &change(2, 4, 300)).behavior,
            BehaviorTouched::Removed
        );
    }

    #[test]
    fn the_form_sets_what_differs_from_the_hpa_it_was_filled_from() {
        let form = Proposed::Form(ScalingForm::default());
        assert!(touched(&form, &hpa(), &change(2, 4, 300)).is_nothing(), "defaults are no change");
        let t = touched(&form, &hpa(), &change(2, 6, 600));
        assert!(t.max_replicas && !t.min_replicas && !t.targets);
        assert_eq!(
            t.behavior,
            BehaviorTouched::Directions {
                up: RulesTouched::Kept,
                down: RulesTouched::Fields { window: true, select: false, policies: false },
            }
        );
    }

    #[test]
    fn null_is_refused_where_removing_makes_no_sense() {
        for body in [
            r#"{"spec": {"maxReplicas": null}, "reason": "r", "resourceVersion": "1"}"#,
            r#"{"spec": {"minReplicas": null}, "reason": "r", "resourceVersion": "1"}"#,
            r#"{"spec": {"metrics": null}, "reason": "r", "resourceVersion": "1"}"#,
            r#"{"spec": {"behavior": {"scaleUp": {"policies": null}}}, "reason": "r", "resourceVersion": "1"}"#,
            r#"{"spec": null, "reason": "r", "resourceVersion": "1"}"#,
            r#"{"replicas": 2, "reason": "r", "resourceVersion": null}"#,
            r#"{"replicas": 2, "reason": "r", "resourceVersion": "1", "dryRun": null}"#,
        ] {
            let e = parse(body.as_bytes()).unwrap_err();
            assert!(e.message.contains("null is not allowed here"), "{body}: {e:?}");
        }
        let e = parse(br#"{"replicas": 2, "reason": null, "resourceVersion": "1"}"#).unwrap_err();
        assert_eq!(e.field, "reason");
    }
}
