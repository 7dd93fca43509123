//! The rules a scaling change must pass before anything is sent to the cluster, with one
//! specific message per field, and the payment guardrails (critical services keep a floor;
//! a maximum that would not fit the nodes is called out).

use serde::{Deserialize, Serialize};

use super::{AutoscalerForm, FieldError, Policy, Rules, RulesForm, ScalingChange, ScalingForm};

/// How a guardrail reacts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Guard {
    Warn,
    Block,
}

/// The server's configured bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// No replica count or HPA maximum above this.
    pub max_replicas: i32,
    /// The floor for services marked critical.
    pub critical_min_replicas: i32,
    pub critical_guard: Guard,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_replicas: 100, critical_min_replicas: 2, critical_guard: Guard::Block }
    }
}

/// What the rules need to know about the workload and the cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    pub critical: bool,
    /// CPU requested by one pod, in cores.
    pub cpu_request_per_pod: f64,
    /// The nodes' allocatable CPU, in cores.
    pub allocatable_cpu: f64,
}

impl Context {
    /// The context of a workload, on nodes offering `allocatable_cpu` cores (0: unknown).
    pub fn of(w: &crate::dto::Workload, allocatable_cpu: f64) -> Self {
        Context {
            critical: w.critical,
            cpu_request_per_pod: w.containers.iter().filter_map(|c| c.cpu_request).sum(),
            allocatable_cpu,
        }
    }
}

/// The verdict: the change if every field passed, else the errors; warnings either way.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Checked {
    pub change: Option<ScalingChange>,
    pub errors: Vec<FieldError>,
    pub warnings: Vec<String>,
}

pub const MAX_WINDOW_SECONDS: i64 = 3600;
pub const MAX_PERIOD_SECONDS: i64 = 1800;
pub const MAX_REASON_CHARS: usize = 500;
/// Policies per direction: more are never needed, and a bound keeps a form small.
pub const MAX_POLICIES: usize = 10;

struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), message: message.into() });
    }

    /// A whole number from `text` within `min..=max`, or an error on `field`.
    fn integer(&mut self, field: &str, label: &str, text: &str, min: i64, max: i64) -> Option<i32> {
        let t = text.trim();
        if t.is_empty() {
            self.add(field, format!("{label} is required"));
            return None;
        }
        if !t.bytes().all(|b| b.is_ascii_digit()) {
            self.add(field, format!("{label} must be a whole number, got {t:?}"));
            return None;
        }
        match t.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Some(n as i32),
            _ => {
                self.add(field, format!("{label} must be between {min} and {max}, got {t}"));
                None
            }
        }
    }
}

/// Checks a form against the limits and the workload's context.
pub fn check(form: &ScalingForm, limits: &Limits, context: &Context) -> Checked {
    let mut errors = Errors(Vec::new());
    let mut warnings = Vec::new();
    let cap = i64::from(limits.max_replicas);

    let reason = form.reason.trim();
    if reason.is_empty() {
        errors.add("reason", "a reason is required: the change ticket, or why this change is needed");
    } else if reason.chars().count() > MAX_REASON_CHARS {
        errors.add("reason", format!("the reason must be at most {MAX_REASON_CHARS} characters"));
    }

    let change = match (&form.replicas, &form.autoscaler) {
        (Some(replicas), None) => {
            errors.integer("replicas", "Replicas", replicas, 0, cap).map(ScalingChange::Replicas)
        }
        (None, Some(hpa)) => check_autoscaler(hpa, cap, &mut errors),
        _ => {
            errors.add("form", "change either the replica count or the autoscaler, not both");
            None
        }
    };

    // Payment guardrails, on values that passed the rules above.
    if let Some(change) = &change {
        let floor = match change {
            ScalingChange::Replicas(n) => Some(("replicas", *n)),
            ScalingChange::Autoscaler { min_replicas, .. } => {
                Some(("autoscaler.min_replicas", *min_replicas))
            }
        };
        if let Some((field, n)) = floor
            && context.critical
            && n < limits.critical_min_replicas
        {
            let message = format!(
                "this service is marked critical: keep at least {} replicas so one pod's failure is not an outage",
                limits.critical_min_replicas
            );
            match limits.critical_guard {
                Guard::Block => errors.add(field, message),
                Guard::Warn => warnings.push(message),
            }
        }
        let most = match change {
            ScalingChange::Replicas(n) => *n,
            ScalingChange::Autoscaler { max_replicas, .. } => *max_replicas,
        };
        let needed = f64::from(most) * context.cpu_request_per_pod;
        if context.allocatable_cpu > 0.0 && needed > context.allocatable_cpu {
            warnings.push(format!(
                "{most} replicas request {needed:.1} cores of CPU, more than the nodes' {:.1} allocatable: \
                 pods beyond that stay Pending unless the cluster autoscaler adds nodes",
                context.allocatable_cpu
            ));
        }
    }

    let errors = errors.0;
    Checked { change: if errors.is_empty() { change } else { None }, errors, warnings }
}

fn check_autoscaler(form: &AutoscalerForm, cap: i64, errors: &mut Errors) -> Option<ScalingChange> {
    let min = errors.integer("autoscaler.min_replicas", "Minimum replicas", &form.min_replicas, 1, cap);
    let max = errors.integer("autoscaler.max_replicas", "Maximum replicas", &form.max_replicas, 1, cap);
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        errors.add(
            "autoscaler.max_replicas",
            format!("Maximum replicas ({max}) must not be below the minimum ({min})"),
        );
    }
    let target = |errors: &mut Errors, field: &str, label: &str, text: &str| -> Result<Option<i32>, ()> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        errors.integer(field, label, text, 1, 100).map(Some).ok_or(())
    };
    let cpu = target(errors, "autoscaler.cpu_target", "CPU target", &form.cpu_target);
    let memory = target(errors, "autoscaler.memory_target", "Memory target", &form.memory_target);
    if matches!((&cpu, &memory), (Ok(None), Ok(None))) {
        errors.add(
            "autoscaler.cpu_target",
            "set a CPU (or memory) utilisation target: the HPA needs something to scale on",
        );
    }
    let up = check_rules(&form.scale_up, "autoscaler.scale_up", "Scale-up", errors);
    let down = check_rules(&form.scale_down, "autoscaler.scale_down", "Scale-down", errors);
    Some(ScalingChange::Autoscaler {
        min_replicas: min?,
        max_replicas: max?,
        cpu_target: cpu.ok()?,
        memory_target: memory.ok()?,
        scale_up: up?,
        scale_down: down?,
    })
}

fn check_rules(form: &RulesForm, prefix: &str, label: &str, errors: &mut Errors) -> Option<Rules> {
    let window = if form.window.trim().is_empty() {
        Ok(None)
    } else {
        errors
            .integer(
                &format!("{prefix}.window"),
                &format!("{label} stabilisation window"),
                &form.window,
                0,
                MAX_WINDOW_SECONDS,
            )
            .map(Some)
            .ok_or(())
    };
    let select = form.select.trim();
    let select_ok = matches!(select, "Max" | "Min" | "Disabled");
    if !select_ok {
        errors.add(
            &format!("{prefix}.select"),
            format!("{label} policy selection must be Max, Min or Disabled"),
        );
    }
    let mut policies = Vec::new();
    let mut policies_ok = true;
    if form.policies.len() > MAX_POLICIES {
        errors.add(
            &format!("{prefix}.policies"),
            format!("{label} may have at most {MAX_POLICIES} policies, not {}", form.policies.len()),
        );
        return None;
    }
    for (i, p) in form.policies.iter().enumerate() {
        let field = |name: &str| format!("{prefix}.policies.{i}.{name}");
        let kind = p.kind.trim();
        if !matches!(kind, "Pods" | "Percent") {
            errors.add(&field("kind"), "a policy is either Pods or Percent");
            policies_ok = false;
        }
        let value = errors.integer(&field("value"), "The policy's value", &p.value, 1, 10_000);
        let period =
            errors.integer(&field("period"), "The policy's period", &p.period, 1, MAX_PERIOD_SECONDS);
        match (value, period) {
            (Some(value), Some(period_seconds)) => {
                policies.push(Policy { kind: kind.to_string(), value, period_seconds })
            }
            _ => policies_ok = false,
        }
    }
    if form.policies.is_empty() && select != "Disabled" {
        errors.add(
            &format!("{prefix}.policies"),
            format!("{label} needs at least one policy (or selection Disabled)"),
        );
        policies_ok = false;
    }
    (select_ok && policies_ok).then_some(())?;
    Some(Rules { stabilization_window_seconds: window.ok()?, select_policy: select.to_string(), policies })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaling::PolicyForm;

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
        assert_eq!(scale_down.stabilization_window_seconds, Some(300));
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
        assert!(
            with(&|a| a.scale_up.window = String::new()).errors.is_empty(),
            "an empty window keeps the default"
        );
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

    fn rules_hold(r: &Rules) -> bool {
        r.stabilization_window_seconds.is_none_or(|w| (0..=3600).contains(&w))
            && matches!(r.select_policy.as_str(), "Max" | "Min" | "Disabled")
            && (r.select_policy == "Disabled" || !r.policies.is_empty())
            && r.policies.iter().all(|p| {
                matches!(p.kind.as_str(), "Pods" | "Percent")
                    && p.value > 0
                    && (1..=1800).contains(&p.period_seconds)
            })
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
