//! Defaulting: what the API server fills in when it decodes an object, before validation and
//! storage (Kubernetes' `pkg/apis/<group>/<version>/defaults.go`). Clients see the defaulted
//! object in the answer to a create, update, patch or dry run, as from a real API server.

use serde_json::{Value, json};

use crate::resources::{HPAS, LEASES, ResourceType};

/// Fills in `object`'s defaults for its kind.
pub fn apply(rt: &ResourceType, object: &mut Value) {
    if std::ptr::eq(rt, &HPAS) {
        horizontal_pod_autoscaler(object);
    } else if std::ptr::eq(rt, &LEASES) {
        lease(object);
    }
}

/// A Lease's `strategy` and `preferredHolder` belong to coordinated leader election, a
/// feature gate off by default: the strategy's PrepareForCreate and PrepareForUpdate drop
/// both, so they are never stored.
fn lease(lease: &mut Value) {
    if let Some(spec) = lease.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("strategy");
        spec.remove("preferredHolder");
    }
}

/// `autoscaling/v2`: `minReplicas` 1, a CPU target of 80 % when no metric is given, and — only
/// when `behavior` is given at all — every unset field of both directions. The scale-down
/// window stays unset: the controller takes it from its own flag (300 s by default).
fn horizontal_pod_autoscaler(hpa: &mut Value) {
    let Some(spec) = hpa.get_mut("spec").and_then(Value::as_object_mut) else { return };
    if spec.get("minReplicas").is_none_or(Value::is_null) {
        spec.insert("minReplicas".into(), json!(1));
    }
    if spec.get("metrics").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        spec.insert(
            "metrics".into(),
            json!([{ "type": "Resource", "resource": { "name": "cpu",
                "target": { "type": "Utilization", "averageUtilization": 80 } } }]),
        );
    }
    let Some(behavior) = spec.get_mut("behavior").filter(|b| !b.is_null()) else { return };
    let scale_up = json!({ "stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
        { "type": "Pods", "value": 4, "periodSeconds": 15 },
        { "type": "Percent", "value": 100, "periodSeconds": 15 } ] });
    let scale_down = json!({ "selectPolicy": "Max", "policies": [
        { "type": "Percent", "value": 100, "periodSeconds": 15 } ] });
    for (direction, defaults) in [("scaleUp", scale_up), ("scaleDown", scale_down)] {
        let rules = &mut behavior[direction];
        if !rules.is_object() {
            *rules = json!({});
        }
        for (field, value) in defaults.as_object().into_iter().flatten() {
            if rules.get(field).is_none_or(Value::is_null) {
                rules[field] = value.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaulted(spec: Value) -> Value {
        let mut hpa = json!({ "metadata": { "name": "h" }, "spec": spec });
        apply(&HPAS, &mut hpa);
        hpa["spec"].clone()
    }

    #[test]
    fn an_hpa_without_behavior_keeps_none_and_gets_its_minimum_and_cpu_target() {
        let spec = defaulted(json!({ "maxReplicas": 4 }));
        assert_eq!(spec["minReplicas"], 1);
        assert_eq!(spec["metrics"][0]["resource"]["target"]["averageUtilization"], 80);
        assert!(spec.get("behavior").is_none(), "no behavior is made up");
    }

    #[test]
    fn a_partial_behavior_is_filled_in_both_directions_but_the_scale_down_window() {
        let spec = defaulted(json!({ "minReplicas": 2, "maxReplicas": 4,
            "behavior": { "scaleDown": { "stabilizationWindowSeconds": 600 } } }));
        let b = &spec["behavior"];
        assert_eq!(b["scaleDown"]["stabilizationWindowSeconds"], 600);
        assert_eq!(b["scaleDown"]["selectPolicy"], "Max");
        assert_eq!(
            b["scaleDown"]["policies"],
            json!([{ "type": "Percent", "value": 100, "periodSeconds": 15 }])
        );
        assert_eq!(b["scaleUp"]["stabilizationWindowSeconds"], 0);
        assert_eq!(b["scaleUp"]["policies"][0], json!({ "type": "Pods", "value": 4, "periodSeconds": 15 }));
        let spec = defaulted(json!({ "maxReplicas": 4, "behavior": {} }));
        assert!(spec["behavior"]["scaleDown"].get("stabilizationWindowSeconds").is_none());
        // Given policies, even none, are the client's: validation judges them.
        let spec = defaulted(json!({ "maxReplicas": 4, "behavior": { "scaleUp": { "policies": [] } } }));
        assert_eq!(spec["behavior"]["scaleUp"]["policies"], json!([]));
    }
}
