//! The browser's form: text fields read into a [`Proposal`] (whole numbers only, one message
//! per field) and checked with the shared rules.

use super::{
    AutoscalerForm, RulesForm, ScalingForm,
    field::{Direction, Field, Problems},
    validate::{
        Checked, Context, Limits, Proposal, ProposedPolicy, ProposedRules, check_proposal, check_reason,
    },
};

/// The form's text as a proposal (unreadable numbers are problems already).
fn proposal(form: &ScalingForm, problems: &mut Problems) -> Option<Proposal> {
    match (&form.replicas, &form.autoscaler) {
        (Some(replicas), None) => Some(Proposal::Replicas(problems.typed(Field::Replicas, replicas))),
        (None, Some(hpa)) => Some(autoscaler_proposal(hpa, problems)),
        _ => {
            problems.add(Field::Form, "change either the replica count or the autoscaler, not both");
            None
        }
    }
}

fn autoscaler_proposal(form: &AutoscalerForm, problems: &mut Problems) -> Proposal {
    let optional = |problems: &mut Problems, field, text: &str| -> Result<Option<i64>, ()> {
        if text.trim().is_empty() { Ok(None) } else { problems.typed(field, text).map(Some).ok_or(()) }
    };
    let rules = |problems: &mut Problems, r: &RulesForm, d: Direction| ProposedRules {
        window: optional(problems, Field::Window(d), &r.window),
        select: r.select.clone(),
        policies: r
            .policies
            .iter()
            .enumerate()
            .map(|(i, p)| ProposedPolicy {
                kind: p.kind.clone(),
                value: problems.typed(Field::PolicyValue(d, i), &p.value),
                period: problems.typed(Field::PolicyPeriod(d, i), &p.period),
            })
            .collect(),
    };
    Proposal::Autoscaler {
        min: problems.typed(Field::MinReplicas, &form.min_replicas),
        max: problems.typed(Field::MaxReplicas, &form.max_replicas),
        cpu: optional(problems, Field::CpuTarget, &form.cpu_target),
        memory: optional(problems, Field::MemoryTarget, &form.memory_target),
        up: rules(problems, &form.scale_up, Direction::Up),
        down: rules(problems, &form.scale_down, Direction::Down),
    }
}

/// Checks a form against the limits and the workload's context.
pub fn check(form: &ScalingForm, limits: &Limits, context: &Context) -> Checked {
    let mut problems = Problems::default();
    let mut warnings = Vec::new();
    check_reason(&form.reason, &mut problems);
    let change = proposal(form, &mut problems)
        .and_then(|p| check_proposal(&p, limits, context, &mut problems, &mut warnings));
    Checked {
        change: change.filter(|_| problems.is_empty()),
        errors: problems.named(Field::form_name),
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaling::{
        PolicyForm, ScalingChange,
        validate::{Guard, MAX_POLICIES},
    };

    fn rules(window: &str) -> RulesForm {
        RulesForm {
            window: window.into(),
            select: "Max".into(),
            policies: vec![PolicyForm { kind: "Percent".into(), value: "100".into(), period: "15".into() }],
        }
    }

    fn hpa(min: &str, max: &str, cpu: &str) -> ScalingForm {
        ScalingForm {
            replicas: None,
            autoscaler: Some(AutoscalerForm {
                min_replicas: min.into(),
                max_replicas: max.into(),
                cpu_target: cpu.into(),
                memory_target: String::new(),
                scale_up: rules("0"),
                scale_down: rules("300"),
            }),
            reason: "CHG-1234 evening peak".into(),
        }
    }

    fn replicas(n: &str) -> ScalingForm {
        ScalingForm { replicas: Some(n.into()), autoscaler: None, reason: "CHG-1".into() }
    }

    fn fields(c: &Checked) -> Vec<&str> {
        c.errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_good_hpa_change_passes() {
        let c = check(&hpa("2", "12", "70"), &Limits::default(), &Context::default());
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        let Some(ScalingChange::Autoscaler { min_replicas, max_replicas, cpu_target, scale_down, .. }) =
            c.change
        else {
            panic!("no change")
        };
        assert_eq!((min_replicas, max_replicas, cpu_target), (2, 12, Some(70)));
        assert_eq!(scale_down.stabilization_window_secs, 300);
    }

    #[test]
    fn every_bad_field_gets_its_own_message() {
        let table: &[(ScalingForm, &str, &str)] = &[
            (replicas("3.5"), "replicas", "whole number"),
            (replicas("-1"), "replicas", "whole number"),
            (replicas("101"), "replicas", "between 0 and 100"),
            (replicas(""), "replicas", "required"),
            (replicas("1e3"), "replicas", "whole number"),
            (hpa("0", "5", "70"), "autoscaler.min_replicas", "between 1 and 100"),
            (hpa("6", "5", "70"), "autoscaler.max_replicas", "must not be below the minimum (6)"),
            (hpa("2", "500", "70"), "autoscaler.max_replicas", "between 1 and 100"),
            (hpa("2", "5", "0"), "autoscaler.cpu_target", "between 1 and 100"),
            (hpa("2", "5", "101"), "autoscaler.cpu_target", "between 1 and 100"),
            (hpa("2", "5", ""), "autoscaler.cpu_target", "needs something to scale on"),
            (hpa("2", "5", "seventy"), "autoscaler.cpu_target", "whole number"),
            (ScalingForm { reason: "  ".into(), ..replicas("3") }, "reason", "reason is required"),
            (ScalingForm { reason: "x".repeat(501), ..replicas("3") }, "reason", "at most 500"),
            (ScalingForm { autoscaler: hpa("1", "2", "50").autoscaler, ..replicas("3") }, "form", "not both"),
        ];
        for (form, field, words) in table {
            let c = check(form, &Limits::default(), &Context::default());
            assert_eq!(c.change, None, "{form:?}");
            let e = c
                .errors
                .iter()
                .find(|e| e.field == *field)
                .unwrap_or_else(|| panic!("no error on {field}: {:?}", c.errors));
            assert!(e.message.contains(words), "{field}: {:?} lacks {words:?}", e.message);
        }
    }

    #[test]
    fn behavior_windows_periods_and_values_are_bounded() {
        let with = |f: &dyn Fn(&mut AutoscalerForm)| {
            let mut form = hpa("2", "10", "70");
            f(form.autoscaler.as_mut().unwrap());
            check(&form, &Limits::default(), &Context::default())
        };
        assert_eq!(fields(&with(&|a| a.scale_up.window = "3601".into())), ["autoscaler.scale_up.window"]);
        assert_eq!(
            fields(&with(&|a| a.scale_down.policies[0].period = "0".into())),
            ["autoscaler.scale_down.policies.0.period"]
        );
        assert_eq!(
            fields(&with(&|a| a.scale_down.policies[0].period = "1801".into())),
            ["autoscaler.scale_down.policies.0.period"]
        );
        assert_eq!(
            fields(&with(&|a| a.scale_up.policies[0].value = "0".into())),
            ["autoscaler.scale_up.policies.0.value"]
        );
        assert_eq!(
            fields(&with(&|a| a.scale_up.policies[0].kind = "Nodes".into())),
            ["autoscaler.scale_up.policies.0.kind"]
        );
        assert_eq!(
            fields(&with(&|a| a.scale_up.select = "Sometimes".into())),
            ["autoscaler.scale_up.select"]
        );
        assert_eq!(fields(&with(&|a| a.scale_up.policies.clear())), ["autoscaler.scale_up.policies"]);
        assert_eq!(
            fields(&with(&|a| a.scale_up.policies = vec![a.scale_up.policies[0].clone(); MAX_POLICIES + 1])),
            ["autoscaler.scale_up.policies"]
        );
        let disabled = with(&|a| {
            a.scale_down.select = "Disabled".into();
            a.scale_down.policies.clear();
        });
        assert!(disabled.errors.is_empty(), "scale-down may be switched off: {:?}", disabled.errors);
        let default_window = with(&|a| a.scale_down.window = String::new());
        assert!(default_window.errors.is_empty(), "an empty window keeps the default");
        let Some(ScalingChange::Autoscaler { scale_down, .. }) = default_window.change else { panic!() };
        assert_eq!(scale_down.stabilization_window_secs, 300, "Kubernetes' default, written out");
    }

    #[test]
    fn critical_services_keep_their_floor_and_big_maxima_are_called_out() {
        let critical = Context { critical: true, cpu_request_per_pod: 0.5, allocatable_cpu: 32.0 };
        let blocked = check(&replicas("1"), &Limits::default(), &critical);
        assert_eq!(fields(&blocked), ["replicas"]);
        assert!(blocked.errors[0].message.contains("critical"));
        let warn = Limits { critical_guard: Guard::Warn, ..Limits::default() };
        let warned = check(&hpa("1", "10", "70"), &warn, &critical);
        assert!(warned.errors.is_empty() && warned.change.is_some());
        assert!(warned.warnings[0].contains("at least 2"));

        let too_big = check(&hpa("2", "80", "70"), &Limits::default(), &critical);
        assert!(too_big.change.is_some(), "a warning does not block");
        assert!(
            too_big.warnings.iter().any(|w| w.contains("40.0 cores") && w.contains("32.0 allocatable")),
            "{:?}",
            too_big.warnings
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::scaling::PolicyForm;
    use crate::{
        hpa::{ScalingRules, SelectPolicy},
        scaling::{ScalingChange, validate::MAX_POLICIES},
    };

    /// Text a user might type in a number field: numbers in and out of range, signs,
    /// decimals, exponents, spaces, words, huge values.
    fn typed() -> impl Strategy<Value = String> {
        prop_oneof![
            (-20i64..5000).prop_map(|n| n.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            (0.0f64..500.0).prop_map(|f| format!("{f:.2}")),
            "[ 0-9eE+.,-]{0,6}",
            "\\PC{0,8}",
        ]
    }

    fn rules() -> impl Strategy<Value = RulesForm> {
        (
            typed(),
            prop_oneof![Just("Max"), Just("Min"), Just("Disabled"), Just("max"), Just("")],
            prop::collection::vec(
                (prop_oneof![Just("Pods"), Just("Percent"), Just("Nodes")], typed(), typed()),
                0..3,
            ),
        )
            .prop_map(|(window, select, policies)| RulesForm {
                window,
                select: select.into(),
                policies: policies
                    .into_iter()
                    .map(|(kind, value, period)| PolicyForm { kind: kind.into(), value, period })
                    .collect(),
            })
    }

    fn form() -> impl Strategy<Value = ScalingForm> {
        let hpa = (typed(), typed(), typed(), typed(), rules(), rules()).prop_map(
            |(min, max, cpu, memory, up, down)| AutoscalerForm {
                min_replicas: min,
                max_replicas: max,
                cpu_target: cpu,
                memory_target: memory,
                scale_up: up,
                scale_down: down,
            },
        );
        (prop::option::of(typed()), prop::option::of(hpa), "\\PC{0,12}")
            .prop_map(|(replicas, autoscaler, reason)| ScalingForm { replicas, autoscaler, reason })
    }

    fn rules_hold(r: &ScalingRules) -> bool {
        (0..=3600).contains(&r.stabilization_window_secs)
            && (r.select_policy == SelectPolicy::Disabled || !r.policies.is_empty())
            && r.policies.len() <= MAX_POLICIES
            && r.policies.iter().all(|p| p.value > 0 && (1..=1800).contains(&p.period_secs))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever is typed, an accepted change obeys every rule.
        #[test]
        fn no_invalid_value_is_ever_accepted(form in form(), critical in any::<bool>()) {
            let limits = Limits::default();
            let context = Context { critical, cpu_request_per_pod: 0.5, allocatable_cpu: 32.0 };
            let checked = check(&form, &limits, &context);
            prop_assert_eq!(checked.change.is_some(), checked.errors.is_empty());
            if let Some(change) = checked.change {
                prop_assert!(!form.reason.trim().is_empty() && form.reason.trim().chars().count() <= 500);
                match change {
                    ScalingChange::Replicas(n) => {
                        prop_assert!((0..=limits.max_replicas).contains(&n));
                        prop_assert!(!critical || n >= limits.critical_min_replicas);
                        prop_assert_eq!(form.replicas.as_deref().and_then(|r| r.trim().parse::<i32>().ok()), Some(n));
                    }
                    ScalingChange::Autoscaler { min_replicas, max_replicas, cpu_target, memory_target, scale_up, scale_down } => {
                        prop_assert!(1 <= min_replicas && min_replicas <= max_replicas && max_replicas <= limits.max_replicas);
                        prop_assert!(!critical || min_replicas >= limits.critical_min_replicas);
                        prop_assert!(cpu_target.is_some() || memory_target.is_some());
                        prop_assert!(cpu_target.into_iter().chain(memory_target).all(|t| (1..=100).contains(&t)));
                        prop_assert!(rules_hold(&scale_up) && rules_hold(&scale_down));
                    }
                }
            }
        }
    }
}
