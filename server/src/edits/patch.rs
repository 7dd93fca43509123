//! From a validated change to the merge patch Kubernetes takes, and from objects to the
//! summaries a before → after diff shows. Pure functions.

use app::scaling::{
    ScalingChange,
    touched::{BehaviorTouched, RulesTouched, Touched},
};
use domain::hpa::{Behavior, spec::BehaviorSpec};
use serde_json::{Value, json};

/// The behavior that applies to an HPA object (its `spec.behavior`, defaults where unset).
fn behavior_of(hpa: &Value) -> Behavior {
    BehaviorSpec::resolve_optional(BehaviorSpec::from_json(&hpa["spec"]["behavior"]).as_ref())
}

/// A behavior in the HPA spec's JSON (every field written out).
fn behavior_json(b: &Behavior) -> Value {
    serde_json::to_value(b).unwrap_or(Value::Null)
}

/// The patch for the scale subresource, conditional on the Deployment's resourceVersion.
pub fn scale_patch(replicas: i32, resource_version: &str) -> Value {
    json!({ "metadata": { "resourceVersion": resource_version }, "spec": { "replicas": replicas } })
}

/// `metrics` with the CPU and memory utilisation targets set (added when missing, removed
/// when cleared); every other metric kept as it is.
fn metrics_with(current: &[Value], cpu: Option<i32>, memory: Option<i32>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut seen = (false, false);
    for m in current {
        let name = m["resource"]["name"].as_str();
        let utilization = m["type"] == "Resource" && m["resource"]["target"]["type"] == "Utilization";
        let wanted = match name {
            Some("cpu") if utilization => {
                seen.0 = true;
                Some(cpu)
            }
            Some("memory") if utilization => {
                seen.1 = true;
                Some(memory)
            }
            _ => None,
        };
        match wanted {
            None => out.push(m.clone()),
            Some(None) => {}
            Some(Some(target)) => {
                let mut m = m.clone();
                m["resource"]["target"]["averageUtilization"] = json!(target);
                out.push(m);
            }
        }
    }
    let resource = |name: &str, target: i32| json!({ "type": "Resource", "resource": { "name": name, "target": { "type": "Utilization", "averageUtilization": target } } });
    if let (false, Some(t)) = (seen.0, cpu) {
        out.push(resource("cpu", t));
    }
    if let (false, Some(t)) = (seen.1, memory) {
        out.push(resource("memory", t));
    }
    out
}

/// The merge patch for an HPA: the fields `touched` names, with their values from `change`,
/// onto `current` (the HPA as the API returned it just before), conditional on its
/// `resource_version`. Nothing else is written, so what someone changed on the cluster in a
/// field this change leaves alone stays as they set it. `metrics` is a list, which a merge
/// patch replaces whole: it is `current`'s with the CPU and memory targets set.
pub fn autoscaler_patch(
    change: &ScalingChange,
    touched: &Touched,
    current: &Value,
    resource_version: &str,
) -> Option<Value> {
    let ScalingChange::Autoscaler {
        min_replicas,
        max_replicas,
        cpu_target,
        memory_target,
        scale_up,
        scale_down,
    } = change
    else {
        return None;
    };
    let mut spec = serde_json::Map::new();
    if touched.min_replicas {
        spec.insert("minReplicas".into(), json!(min_replicas));
    }
    if touched.max_replicas {
        spec.insert("maxReplicas".into(), json!(max_replicas));
    }
    if touched.targets {
        let metrics = metrics_with(
            current["spec"]["metrics"].as_array().map(Vec::as_slice).unwrap_or_default(),
            *cpu_target,
            *memory_target,
        );
        spec.insert("metrics".into(), json!(metrics));
    }
    let wanted = behavior_json(&Behavior { scale_up: scale_up.clone(), scale_down: scale_down.clone() });
    match &touched.behavior {
        BehaviorTouched::Kept => {}
        BehaviorTouched::Removed => {
            spec.insert("behavior".into(), Value::Null);
        }
        BehaviorTouched::Directions { up, down } => {
            let mut behavior = serde_json::Map::new();
            for (direction, how) in [("scaleUp", up), ("scaleDown", down)] {
                let rules = &wanted[direction];
                match how {
                    RulesTouched::Kept => {}
                    RulesTouched::Removed => {
                        behavior.insert(direction.into(), Value::Null);
                    }
                    RulesTouched::Fields { window, select, policies } => {
                        let mut fields = serde_json::Map::new();
                        for (given, field) in [
                            (window, "stabilizationWindowSeconds"),
                            (select, "selectPolicy"),
                            (policies, "policies"),
                        ] {
                            if *given {
                                fields.insert(field.into(), rules[field].clone());
                            }
                        }
                        behavior.insert(direction.into(), Value::Object(fields));
                    }
                }
            }
            spec.insert("behavior".into(), Value::Object(behavior));
        }
    }
    Some(json!({ "metadata": { "resourceVersion": resource_version }, "spec": spec }))
}

/// What a diff shows of an HPA.
pub fn autoscaler_summary(hpa: &Value) -> Value {
    let spec = &hpa["spec"];
    let target = |name: &str| {
        spec["metrics"].as_array().into_iter().flatten().find_map(|m| {
            (m["type"] == "Resource" && m["resource"]["name"] == name)
                .then(|| m["resource"]["target"]["averageUtilization"].clone())
        })
    };
    let behavior = behavior_json(&behavior_of(hpa));
    json!({
        "minReplicas": spec["minReplicas"],
        "maxReplicas": spec["maxReplicas"],
        "cpuTarget": target("cpu").unwrap_or(Value::Null),
        "memoryTarget": target("memory").unwrap_or(Value::Null),
        "scaleUp": behavior["scaleUp"],
        "scaleDown": behavior["scaleDown"],
    })
}

/// The same summary from Paydeck's own picture of the workload (for attempts that never
/// reached the cluster).
pub fn workload_summary(w: &app::dto::Workload) -> Value {
    match &w.autoscaler {
        Some(a) => {
            let behavior = behavior_json(&BehaviorSpec::resolve_optional(a.behavior.as_ref()));
            json!({
                "minReplicas": a.min_replicas,
                "maxReplicas": a.max_replicas,
                "cpuTarget": a.cpu_target_percent,
                "memoryTarget": a.memory_target_percent,
                "scaleUp": behavior["scaleUp"],
                "scaleDown": behavior["scaleDown"],
            })
        }
        None => json!({ "replicas": w.replicas.desired }),
    }
}

/// What a change will make of the object, in the summary's shape (the `after` of an applied
/// row): an intent in the audit log reads like its outcome.
pub fn change_summary(change: &ScalingChange) -> Value {
    match change {
        ScalingChange::Replicas(replicas) => json!({ "replicas": replicas }),
        ScalingChange::Autoscaler { min_replicas, max_replicas, cpu_target, memory_target, .. } => {
            let behavior = change.behavior().map_or(Value::Null, |b| behavior_json(&b));
            json!({
                "minReplicas": min_replicas,
                "maxReplicas": max_replicas,
                "cpuTarget": cpu_target,
                "memoryTarget": memory_target,
                "scaleUp": behavior["scaleUp"],
                "scaleDown": behavior["scaleDown"],
            })
        }
    }
}

/// What a diff shows of a Deployment's scale.
pub fn scale_summary(scale: &Value) -> Value {
    json!({ "replicas": scale["spec"]["replicas"] })
}

/// A diff ([`diff`]) in words, a field each: `maxReplicas 10 → 12`.
pub fn diff_in_words(diff: &Value) -> Vec<String> {
    diff.as_object()
        .into_iter()
        .flatten()
        .map(|(field, pair)| format!("{field} {} → {}", pair[0], pair[1]))
        .collect()
}

/// The fields that differ: `{field: [before, after]}`.
pub fn diff(before: &Value, after: &Value) -> Value {
    let mut out = serde_json::Map::new();
    if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
        for (key, old) in b {
            let new = a.get(key).unwrap_or(&Value::Null);
            if old != new {
                out.insert(key.clone(), json!([old, new]));
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::hpa::ScalingRules;

    fn hpa() -> Value {
        json!({ "metadata": { "resourceVersion": "41" }, "spec": {
            "minReplicas": 2, "maxReplicas": 4,
            "metrics": [
                { "type": "Resource", "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": 60 } } },
                { "type": "Pods", "pods": { "metric": { "name": "http_requests_per_second" }, "target": { "type": "AverageValue", "averageValue": "100" } } }
            ] } })
    }

    fn change(max: i32, memory: Option<i32>, scale_down: ScalingRules) -> ScalingChange {
        ScalingChange::Autoscaler {
            min_replicas: 2,
            max_replicas: max,
            cpu_target: Some(70),
            memory_target: memory,
            scale_up: ScalingRules::default_scale_up(),
            scale_down,
        }
    }

    fn all_but_behavior() -> Touched {
        Touched { min_replicas: true, max_replicas: true, targets: true, behavior: BehaviorTouched::Kept }
    }

    #[test]
    fn a_patch_writes_only_the_fields_the_change_sets() {
        let wanted = change(8, None, ScalingRules::default_scale_down());
        let only_max = Touched { max_replicas: true, ..Touched::default() };
        let patch = autoscaler_patch(&wanted, &only_max, &hpa(), "41").unwrap();
        assert_eq!(
            patch,
            json!({ "metadata": { "resourceVersion": "41" }, "spec": { "maxReplicas": 8 } }),
            "the minimum, targets and behavior as the cluster has them stay untouched"
        );
    }

    #[test]
    fn targets_keep_other_metrics_and_untouched_behavior_is_not_written() {
        let patch = autoscaler_patch(
            &change(8, None, ScalingRules::default_scale_down()),
            &all_but_behavior(),
            &hpa(),
            "41",
        )
        .unwrap();
        assert_eq!(patch["metadata"]["resourceVersion"], "41", "a stale view becomes a conflict");
        let metrics = patch["spec"]["metrics"].as_array().unwrap();
        assert_eq!(metrics[0]["resource"]["target"]["averageUtilization"], 70);
        assert_eq!(metrics[1]["type"], "Pods", "the custom metric stays");
        assert!(patch["spec"].get("behavior").is_none(), "unchanged defaults are not written");
    }

    #[test]
    fn behavior_is_written_field_by_field_and_removed_with_null() {
        let slower = ScalingRules { stabilization_window_secs: 600, ..ScalingRules::default_scale_down() };
        let touched = Touched {
            targets: true,
            behavior: BehaviorTouched::Directions {
                up: RulesTouched::Removed,
                down: RulesTouched::Fields { window: true, select: false, policies: false },
            },
            ..Touched::default()
        };
        let patch = autoscaler_patch(&change(8, Some(80), slower), &touched, &hpa(), "41").unwrap();
        assert_eq!(patch["spec"]["metrics"][2]["resource"]["name"], "memory");
        assert_eq!(
            patch["spec"]["behavior"],
            json!({ "scaleUp": null, "scaleDown": { "stabilizationWindowSeconds": 600 } })
        );
        let removed = Touched { behavior: BehaviorTouched::Removed, ..Touched::default() };
        let patch =
            autoscaler_patch(&change(4, None, ScalingRules::default_scale_down()), &removed, &hpa(), "41")
                .unwrap();
        assert_eq!(patch["spec"], json!({ "behavior": null }));
    }

    #[test]
    fn an_intent_reads_like_the_outcome_it_intends() {
        let slower = ScalingRules { stabilization_window_secs: 600, ..ScalingRules::default_scale_down() };
        let wanted = change(8, Some(80), slower);
        let touched = Touched {
            behavior: BehaviorTouched::Directions {
                up: RulesTouched::Kept,
                down: RulesTouched::Fields { window: true, select: true, policies: true },
            },
            ..all_but_behavior()
        };
        let patch = autoscaler_patch(&wanted, &touched, &hpa(), "41").unwrap();
        let mut applied = hpa();
        for field in ["minReplicas", "maxReplicas", "metrics", "behavior"] {
            applied["spec"][field] = patch["spec"][field].clone();
        }
        assert_eq!(change_summary(&wanted), autoscaler_summary(&applied));
        let scale = json!({ "spec": { "replicas": 3 } });
        assert_eq!(change_summary(&ScalingChange::Replicas(3)), scale_summary(&scale));
    }

    #[test]
    fn the_diff_lists_what_changed() {
        let before = autoscaler_summary(&hpa());
        let mut after_hpa = hpa();
        after_hpa["spec"]["maxReplicas"] = json!(8);
        let d = diff(&before, &autoscaler_summary(&after_hpa));
        assert_eq!(d, json!({ "maxReplicas": [4, 8] }));
        assert_eq!(before["cpuTarget"], 60);
        assert_eq!(
            scale_patch(3, "9"),
            json!({ "metadata": { "resourceVersion": "9" }, "spec": { "replicas": 3 } })
        );
    }
}
