//! The fields of a scaling change, whichever way it came in, and the problems found with
//! them: the browser's form names them `autoscaler.max_replicas`, the JSON API
//! `spec.maxReplicas`; the messages are the same.

use super::FieldError;

/// A direction of `behavior`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    pub(super) fn label(self) -> &'static str {
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
    Generation,
    SpecHash,
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
    pub(super) fn label(self) -> String {
        match self {
            Field::Form => "The change".into(),
            Field::Reason => "The reason".into(),
            Field::ResourceVersion => "The resourceVersion".into(),
            Field::Generation => "The generation".into(),
            Field::SpecHash => "The spec hash".into(),
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
            Field::Generation => "generation".into(),
            Field::SpecHash => "spec_hash".into(),
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
            Field::Generation => "generation".into(),
            Field::SpecHash => "specHash".into(),
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
    pub(super) fn within(&mut self, field: Field, n: i64, min: i64, max: i64) -> Option<i32> {
        if (min..=max).contains(&n) {
            Some(n as i32)
        } else {
            self.add(field, format!("{} must be between {min} and {max}, got {n}", field.label()));
            None
        }
    }

    /// A whole number typed into `field`, or a problem on it.
    pub(super) fn typed(&mut self, field: Field, text: &str) -> Option<i64> {
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
