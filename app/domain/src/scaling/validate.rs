//! The rules a scaling change must pass before anything is sent to the cluster, with one
//! specific message per field, and the payment guardrails (critical services keep a floor;
//! a maximum that would not fit the nodes is called out).
//!
//! Both ways in — the browser's form (text) and the JSON API (typed, partial) — become a
//! [`Proposal`] of numbers first; the rules are checked once, on the proposal, and each way
//! in names the fields in its own terms ([`Field`]).

use serde::{Deserialize, Serialize};

use super::{AutoscalerForm, FieldError, RulesForm, ScalingChange, ScalingForm};
use crate::hpa::{Policy, PolicyKind, ScalingRules, SelectPolicy};

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
pub const MAX_POLICY_VALUE: i64 = 10_000;
pub const MAX_REASON_CHARS: usize = 500;
/// Policies per direction: more are never needed, and a bound keeps a form small.
pub const MAX_POLICIES: usize = 10;

/// A direction of `behavior`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    fn label(self) -> &'static str {
        match self {
            Direction::Up => "Scale-up",
            Direction::Down => "Scale-down",
        }
    }
}

/// A field of a change, whichever way it came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Form,
    Reason,
    ResourceVersion,
    Replicas,
    MinReplicas,
    MaxReplicas,
    CpuTarget,
    MemoryTarget,
    Window(Direction),
    Select(Direction),
    Policies(Direction),
    PolicyKind(Direction, usize),
    PolicyValue(Direction, usize),
    PolicyPeriod(Direction, usize),
}

impl Field {
    fn label(self) -> String {
        match self {
            Field::Form => "The change".into(),
            Field::Reason => "The reason".into(),
            Field::ResourceVersion => "The resourceVersion".into(),
            Field::Replicas => "Replicas".into(),
            Field::MinReplicas => "Minimum replicas".into(),
            Field::MaxReplicas => "Maximum replicas".into(),
            Field::CpuTarget => "CPU target".into(),
            Field::MemoryTarget => "Memory target".into(),
            Field::Window(d) => format!("{} stabilisation window", d.label()),
            Field::Select(d) => format!("{} policy selection", d.label()),
            Field::Policies(d) => d.label().into(),
            Field::PolicyKind(..) => "The policy's type".into(),
            Field::PolicyValue(..) => "The policy's value".into(),
            Field::PolicyPeriod(..) => "The policy's period".into(),
        }
    }

    /// The field's name in the browser's form.
    pub fn form_name(self) -> String {
        let dir = |d| match d {
            Direction::Up => "autoscaler.scale_up",
            Direction::Down => "autoscaler.scale_down",
        };
        match self {
            Field::Form => "form".into(),
            Field::Reason => "reason".into(),
            Field::ResourceVersion => "resource_version".into(),
            Field::Replicas => "replicas".into(),
            Field::MinReplicas => "autoscaler.min_replicas".into(),
            Field::MaxReplicas => "autoscaler.max_replicas".into(),
            Field::CpuTarget => "autoscaler.cpu_target".into(),
            Field::MemoryTarget => "autoscaler.memory_target".into(),
            Field::Window(d) => format!("{}.window", dir(d)),
            Field::Select(d) => format!("{}.select", dir(d)),
            Field::Policies(d) => format!("{}.policies", dir(d)),
            Field::PolicyKind(d, i) => format!("{}.policies.{i}.kind", dir(d)),
            Field::PolicyValue(d, i) => format!("{}.policies.{i}.value", dir(d)),
            Field::PolicyPeriod(d, i) => format!("{}.policies.{i}.period", dir(d)),
        }
    }

    /// The field's name in the JSON API (Kubernetes' spelling).
    pub fn api_name(self) -> String {
        let dir = |d| match d {
            Direction::Up => "spec.behavior.scaleUp",
            Direction::Down => "spec.behavior.scaleDown",
        };
        match self {
            Field::Form => "(body)".into(),
            Field::Reason => "reason".into(),
            Field::ResourceVersion => "resourceVersion".into(),
            Field::Replicas => "replicas".into(),
            Field::MinReplicas => "spec.minReplicas".into(),
            Field::MaxReplicas => "spec.maxReplicas".into(),
            Field::CpuTarget => "spec.metrics[cpu].resource.target.averageUtilization".into(),
            Field::MemoryTarget => "spec.metrics[memory].resource.target.averageUtilization".into(),
            Field::Window(d) => format!("{}.stabilizationWindowSeconds", dir(d)),
            Field::Select(d) => format!("{}.selectPolicy", dir(d)),
            Field::Policies(d) => format!("{}.policies", dir(d)),
            Field::PolicyKind(d, i) => format!("{}.policies[{i}].type", dir(d)),
            Field::PolicyValue(d, i) => format!("{}.policies[{i}].value", dir(d)),
            Field::PolicyPeriod(d, i) => format!("{}.policies[{i}].periodSeconds", dir(d)),
        }
    }
}

/// Problems found, by field, in the order found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Problems(pub Vec<(Field, String)>);

impl Problems {
    pub fn add(&mut self, field: Field, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As field errors, named by `name`.
    pub fn named(&self, name: fn(Field) -> String) -> Vec<FieldError> {
        self.0.iter().map(|(f, m)| FieldError { field: name(*f), message: m.clone() }).collect()
    }

    /// `n` if it lies within `min..=max`, else a problem on `field`.
    fn within(&mut self, field: Field, n: i64, min: i64, max: i64) -> Option<i32> {
        if (min..=max).contains(&n) {
            Some(n as i32)
        } else {
            self.add(field, format!("{} must be between {min} and {max}, got {n}", field.label()));
            None
        }
    }

    /// A whole number typed into `field`, or a problem on it.
    fn typed(&mut self, field: Field, text: &str) -> Option<i64> {
        let t = text.trim();
        if t.is_empty() {
            self.add(field, format!("{} is required", field.label()));
            return None;
        }
        if !t.bytes().all(|b| b.is_ascii_digit()) {
            self.add(field, format!("{} must be a whole number, got {t:?}", field.label()));
            return None;
        }
        match t.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.add(field, format!("{} must be a whole number that fits, got {t}", field.label()));
                None
            }
        }
    }
}

/// One policy as proposed; `kind` as written (checked below).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProposedPolicy {
    pub kind: String,
    pub value: Option<i64>,
    pub period: Option<i64>,
}

/// One direction of `behavior` as proposed. `None` numbers were unreadable (already a problem).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProposedRules {
    /// `Ok(None)`: the direction's default.
    pub window: Result<Option<i64>, ()>,
    pub select: String,
    pub policies: Vec<ProposedPolicy>,
}

/// What a change proposes, as numbers: what the rules are checked on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Proposal {
    Replicas(Option<i64>),
    Autoscaler {
        min: Option<i64>,
        max: Option<i64>,
        /// `Ok(None)`: no target.
        cpu: Result<Option<i64>, ()>,
        memory: Result<Option<i64>, ()>,
        up: ProposedRules,
        down: ProposedRules,
    },
}

/// A reason is required, and bounded.
pub fn check_reason(reason: &str, problems: &mut Problems) {
    let reason = reason.trim();
    if reason.is_empty() {
        problems.add(Field::Reason, "a reason is required: the change ticket, or why this change is needed");
    } else if reason.chars().count() > MAX_REASON_CHARS {
        problems.add(Field::Reason, format!("the reason must be at most {MAX_REASON_CHARS} characters"));
    }
}

/// Checks the proposal and the guardrails: the change, or the problems.
pub fn check_proposal(
    proposal: &Proposal,
    limits: &Limits,
    context: &Context,
    problems: &mut Problems,
    warnings: &mut Vec<String>,
) -> Option<ScalingChange> {
    let cap = i64::from(limits.max_replicas);

    let change = match proposal {
        Proposal::Replicas(n) => {
            n.and_then(|n| problems.within(Field::Replicas, n, 0, cap)).map(ScalingChange::Replicas)
        }
        Proposal::Autoscaler { min, max, cpu, memory, up, down } => {
            check_autoscaler(*min, *max, *cpu, *memory, up, down, cap, problems)
        }
    };

    // Payment guardrails, on values that passed the rules above.
    if let Some(change) = &change {
        let (field, floor) = match change {
            ScalingChange::Replicas(n) => (Field::Replicas, *n),
            ScalingChange::Autoscaler { min_replicas, .. } => (Field::MinReplicas, *min_replicas),
        };
        if context.critical && floor < limits.critical_min_replicas {
            let message = format!(
                "this service is marked critical: keep at least {} replicas so one pod's failure is not an outage",
                limits.critical_min_replicas
            );
            match limits.critical_guard {
                Guard::Block => problems.add(field, message),
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
    change.filter(|_| problems.is_empty())
}

#[allow(clippy::too_many_arguments)]
fn check_autoscaler(
    min: Option<i64>,
    max: Option<i64>,
    cpu: Result<Option<i64>, ()>,
    memory: Result<Option<i64>, ()>,
    up: &ProposedRules,
    down: &ProposedRules,
    cap: i64,
    problems: &mut Problems,
) -> Option<ScalingChange> {
    let min = min.and_then(|n| problems.within(Field::MinReplicas, n, 1, cap));
    let max = max.and_then(|n| problems.within(Field::MaxReplicas, n, 1, cap));
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        problems.add(
            Field::MaxReplicas,
            format!("Maximum replicas ({max}) must not be below the minimum ({min})"),
        );
    }
    let target = |problems: &mut Problems, field, t: Result<Option<i64>, ()>| -> Result<Option<i32>, ()> {
        match t? {
            None => Ok(None),
            Some(n) => problems.within(field, n, 1, 100).map(Some).ok_or(()),
        }
    };
    let cpu = target(problems, Field::CpuTarget, cpu);
    let memory = target(problems, Field::MemoryTarget, memory);
    if matches!((&cpu, &memory), (Ok(None), Ok(None))) {
        problems.add(
            Field::CpuTarget,
            "set a CPU (or memory) utilisation target: the HPA needs something to scale on",
        );
    }
    let scale_up = check_rules(up, Direction::Up, problems);
    let scale_down = check_rules(down, Direction::Down, problems);
    Some(ScalingChange::Autoscaler {
        min_replicas: min?,
        max_replicas: max?,
        cpu_target: cpu.ok()?,
        memory_target: memory.ok()?,
        scale_up: scale_up?,
        scale_down: scale_down?,
    })
}

fn check_rules(rules: &ProposedRules, d: Direction, problems: &mut Problems) -> Option<ScalingRules> {
    let window = match rules.window {
        Ok(None) => Ok(None),
        Ok(Some(w)) => problems.within(Field::Window(d), w, 0, MAX_WINDOW_SECONDS).map(Some).ok_or(()),
        Err(()) => Err(()),
    };
    let select = match rules.select.trim() {
        "Max" => Some(SelectPolicy::Max),
        "Min" => Some(SelectPolicy::Min),
        "Disabled" => Some(SelectPolicy::Disabled),
        _ => {
            problems.add(
                Field::Select(d),
                format!("{} policy selection must be Max, Min or Disabled", d.label()),
            );
            None
        }
    };
    if rules.policies.len() > MAX_POLICIES {
        problems.add(
            Field::Policies(d),
            format!("{} may have at most {MAX_POLICIES} policies, not {}", d.label(), rules.policies.len()),
        );
        return None;
    }
    let mut policies = Vec::new();
    let mut policies_ok = true;
    for (i, p) in rules.policies.iter().enumerate() {
        let kind = match p.kind.trim() {
            "Pods" => Some(PolicyKind::Pods),
            "Percent" => Some(PolicyKind::Percent),
            _ => {
                problems.add(Field::PolicyKind(d, i), "a policy is either Pods or Percent");
                None
            }
        };
        let value = p.value.and_then(|v| problems.within(Field::PolicyValue(d, i), v, 1, MAX_POLICY_VALUE));
        let period =
            p.period.and_then(|v| problems.within(Field::PolicyPeriod(d, i), v, 1, MAX_PERIOD_SECONDS));
        match (kind, value, period) {
            (Some(kind), Some(value), Some(period)) => {
                policies.push(Policy { kind, value, period_secs: period as u32 })
            }
            _ => policies_ok = false,
        }
    }
    if rules.policies.is_empty() && select != Some(SelectPolicy::Disabled) {
        problems.add(
            Field::Policies(d),
            format!("{} needs at least one policy (or selection Disabled)", d.label()),
        );
        policies_ok = false;
    }
    let select = select?;
    policies_ok.then_some(())?;
    let default = match d {
        Direction::Up => ScalingRules::default_scale_up(),
        Direction::Down => ScalingRules::default_scale_down(),
    };
    Some(ScalingRules {
        stabilization_window_secs: window.ok()?.map_or(default.stabilization_window_secs, |w| w as u32),
        select_policy: select,
        policies,
    })
}

/// The form's text as a proposal (unreadable numbers are problems already).
fn form_proposal(form: &ScalingForm, problems: &mut Problems) -> Option<Proposal> {
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
    let change = form_proposal(form, &mut problems)
        .and_then(|p| check_proposal(&p, limits, context, &mut problems, &mut warnings));
    Checked {
        change: change.filter(|_| problems.is_empty()),
        errors: problems.named(Field::form_name),
        warnings,
    }
}

/// Checks an edit of `w` either way it came in: the form's or the API's rules, the shape of
/// the change against the workload (replicas only where no HPA decides), and that it is
/// conditional on a resourceVersion. Fields are named as the way in names them.
pub fn check_edit(
    edit: &super::Edit,
    w: &crate::dto::Workload,
    limits: &Limits,
    allocatable_cpu: f64,
) -> Checked {
    let context = Context::of(w, allocatable_cpu);
    let (mut checked, name): (Checked, fn(Field) -> String) = match &edit.proposed {
        super::Proposed::Form(form) => {
            let mut checked = check(form, limits, &context);
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
        super::Proposed::Typed(request) => {
            let mut problems = Problems::default();
            let mut warnings = Vec::new();
            check_reason(&request.reason, &mut problems);
            let change = super::request::proposal(request, w, &mut problems)
                .and_then(|p| check_proposal(&p, limits, &context, &mut problems, &mut warnings));
            (Checked { change, errors: problems.named(Field::api_name), warnings }, Field::api_name)
        }
    };
    if edit.resource_version.trim().is_empty() {
        checked.errors.push(FieldError {
            field: name(Field::ResourceVersion),
            message:
                "the resourceVersion you loaded is required: a change is always made against the version seen"
                    .into(),
        });
    }
    if !checked.errors.is_empty() {
        checked.change = None;
    }
    checked
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
