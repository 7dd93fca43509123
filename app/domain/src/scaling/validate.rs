//! The rules a scaling change must pass before anything is sent to the cluster, with one
//! specific message per field, and the payment guardrails (critical services keep a floor;
//! a maximum that would not fit the nodes is called out).
//!
//! Both ways in — the browser's form (text, [`super::form`]) and the JSON API (typed,
//! partial, [`super::request`]) — become a [`Proposal`] of numbers first; the rules are
//! checked once, on the proposal, and each way in names the fields in its own terms
//! ([`Field`]).

use serde::{Deserialize, Serialize};

pub use super::field::{Direction, Field, Problems};
use super::{FieldError, ScalingChange};
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
#[serde(rename_all = "camelCase")]
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
#[serde(rename_all = "camelCase")]
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
