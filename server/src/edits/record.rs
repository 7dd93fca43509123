//! What an attempt's audit row keeps: who, what, why — gathered as the stages go — and, for
//! a refused change, what was asked, cut to a bounded size.

use app::scaling::{FieldError, Proposed, ScalingForm};
use serde_json::Value;

/// What the audit row of an attempt says, gathered as the stages go.
#[derive(Clone, Debug)]
pub(super) struct Record {
    pub user: String,
    pub groups: Vec<String>,
    pub namespace: String,
    pub name: String,
    pub target: String,
    pub reason: String,
}

/// What an invalid attempt's row keeps of what was asked: the form with each value cut short,
/// or the API request (bounded by the body limit, and cut by the log if still too large).
pub(super) fn proposed_for_record(proposed: &Proposed) -> Value {
    match proposed {
        Proposed::Form(form) => form_for_record(form),
        Proposed::Typed(request) => {
            let mut value = serde_json::to_value(request).unwrap_or(Value::Null);
            if let Some(map) = value.as_object_mut() {
                map.remove("reason");
            }
            value
        }
    }
}

/// The form as it is kept in an invalid attempt's row: each value cut short, so a refused
/// form cannot put more than a few KiB in the log.
fn form_for_record(form: &ScalingForm) -> Value {
    let mut form = form.clone();
    let short = |s: &mut String| {
        if s.chars().count() > 32 {
            *s = s.chars().take(31).chain(['…']).collect();
        }
    };
    if let Some(r) = form.replicas.as_mut() {
        short(r);
    }
    if let Some(a) = form.autoscaler.as_mut() {
        for s in [&mut a.min_replicas, &mut a.max_replicas, &mut a.cpu_target, &mut a.memory_target] {
            short(s);
        }
        for rules in [&mut a.scale_up, &mut a.scale_down] {
            short(&mut rules.window);
            short(&mut rules.select);
            rules.policies.truncate(app::scaling::validate::MAX_POLICIES + 1);
            for p in &mut rules.policies {
                short(&mut p.kind);
                short(&mut p.value);
                short(&mut p.period);
            }
        }
    }
    form.reason = String::new();
    serde_json::to_value(&form).unwrap_or(Value::Null)
}

/// Field errors in one line, for the audit row's detail.
pub(super) fn errors_text(errors: &[FieldError]) -> String {
    errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
}
