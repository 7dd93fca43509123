//! What the API server checks before it stores an object: the shape (a body that does not
//! decode into the kind is a `400`) and the rules (`422 Invalid` with a cause per field).

use domain::quantity::Quantity;
use k8s_openapi::api::{
    apps::v1::Deployment, autoscaling::v2::HorizontalPodAutoscaler, coordination::v1::Lease,
};
use serde_json::Value;

use crate::{
    resources::{DEPLOYMENTS, HPAS, LEASES, ResourceType},
    status::{ApiError, Cause},
};

/// Kinds an HPA may target.
const SCALABLE_KINDS: &[&str] = &["Deployment", "ReplicaSet", "StatefulSet", "ReplicationController"];

/// Checks an object about to be stored.
pub fn validate(rt: &ResourceType, object: &Value) -> Result<(), ApiError> {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let causes = if std::ptr::eq(rt, &DEPLOYMENTS) {
        decode::<Deployment>(rt, object)?;
        deployment(object)
    } else if std::ptr::eq(rt, &HPAS) {
        decode::<HorizontalPodAutoscaler>(rt, object)?;
        hpa(object)
    } else if std::ptr::eq(rt, &LEASES) {
        decode::<Lease>(rt, object)?;
        lease(object)
    } else {
        Vec::new()
    };
    if causes.is_empty() { Ok(()) } else { Err(ApiError::invalid(rt.kind, name, causes)) }
}

/// Checks a `Scale` body's replicas.
pub fn scale_replicas(name: &str, scale: &Value) -> Result<i64, ApiError> {
    match scale["spec"]["replicas"].as_i64() {
        Some(r) if r >= 0 && r <= i64::from(i32::MAX) => Ok(r),
        Some(r) => Err(ApiError::invalid(
            "Scale",
            name,
            vec![Cause::new(
                "spec.replicas",
                format!("Invalid value: {r}: must be greater than or equal to 0"),
            )],
        )),
        None => Err(ApiError::bad_request(format!(
            "Scale in version \"v1\" cannot be handled as a Scale: spec.replicas must be an integer, got {}",
            scale["spec"]["replicas"]
        ))),
    }
}

fn decode<T: serde::de::DeserializeOwned>(rt: &ResourceType, object: &Value) -> Result<T, ApiError> {
    serde_json::from_value(object.clone()).map_err(|e| {
        ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: {e}",
            rt.kind, rt.version, rt.kind
        ))
    })
}

fn deployment(d: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(r) = d["spec"]["replicas"].as_i64()
        && r < 0
    {
        causes.push(Cause::new(
            "spec.replicas",
            format!("Invalid value: {r}: must be greater than or equal to 0"),
        ));
    }
    let selector = d["spec"]["selector"]["matchLabels"].as_object();
    let labels = &d["spec"]["template"]["metadata"]["labels"];
    match selector {
        Some(sel) if !sel.is_empty() => {
            if !sel.iter().all(|(k, v)| labels[k] == *v) {
                causes.push(Cause::new(
                    "spec.template.metadata.labels",
                    "Invalid value: `selector` does not match template `labels`",
                ));
            }
        }
        _ => causes.push(Cause::new("spec.selector", "Required value")),
    }
    let containers = d["spec"]["template"]["spec"]["containers"].as_array().cloned().unwrap_or_default();
    if containers.is_empty() {
        causes.push(Cause::new("spec.template.spec.containers", "Required value"));
    }
    for (i, c) in containers.iter().enumerate() {
        let mut parsed = std::collections::HashMap::new();
        for section in ["requests", "limits"] {
            for (resource, value) in c["resources"][section].as_object().into_iter().flatten() {
                let field = format!("spec.template.spec.containers[{i}].resources.{section}.{resource}");
                match value.as_str().map(Quantity::parse) {
                    Some(Ok(q)) if q.is_negative() => causes.push(Cause::new(
                        field,
                        format!(
                            "Invalid value: \"{}\": must be greater than or equal to 0",
                            value.as_str().unwrap_or_default()
                        ),
                    )),
                    Some(Ok(q)) => {
                        parsed.insert((section, resource.clone()), q);
                    }
                    Some(Err(e)) => causes.push(Cause::new(field, format!("Invalid value: {value}: {e}"))),
                    None => causes.push(Cause::new(
                        field,
                        format!("Invalid value: {value}: must be a quantity string"),
                    )),
                }
            }
        }
        for ((section, resource), request) in &parsed {
            if *section == "requests"
                && let Some(limit) = parsed.get(&("limits", resource.clone()))
                && request > limit
            {
                causes.push(Cause::new(
                    format!("spec.template.spec.containers[{i}].resources.requests"),
                    format!(
                        "Invalid value: \"{}\": must be less than or equal to {resource} limit of {}",
                        c["resources"]["requests"][resource].as_str().unwrap_or_default(),
                        c["resources"]["limits"][resource].as_str().unwrap_or_default()
                    ),
                ));
            }
        }
    }
    causes
}

/// `ValidateLeaseSpec` (`pkg/apis/coordination/validation`): a positive duration, transitions
/// not negative. (Its strategy checks never apply: defaulting dropped both fields.)
fn lease(l: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let spec = &l["spec"];
    if let Some(d) = spec["leaseDurationSeconds"].as_i64()
        && d <= 0
    {
        causes.push(Cause::new(
            "spec.leaseDurationSeconds",
            format!("Invalid value: {d}: must be greater than 0"),
        ));
    }
    if let Some(t) = spec["leaseTransitions"].as_i64()
        && t < 0
    {
        causes.push(Cause::new(
            "spec.leaseTransitions",
            format!("Invalid value: {t}: must be greater than or equal to 0"),
        ));
    }
    causes
}

fn hpa(h: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let spec = &h["spec"];
    let min = spec["minReplicas"].as_i64();
    let max = spec["maxReplicas"].as_i64().unwrap_or(0);
    if let Some(m) = min
        && m < 1
    {
        causes.push(Cause::new(
            "spec.minReplicas",
            format!("Invalid value: {m}: must be greater than or equal to 1"),
        ));
    }
    if max < 1 {
        causes.push(Cause::new(
            "spec.maxReplicas",
            format!("Invalid value: {max}: must be greater than or equal to 1"),
        ));
    }
    if let Some(m) = min
        && m > max
    {
        causes.push(Cause::new(
            "spec.maxReplicas",
            format!("Invalid value: {max}: must be greater than or equal to `minReplicas`"),
        ));
    }
    let kind = spec["scaleTargetRef"]["kind"].as_str().unwrap_or_default();
    if !SCALABLE_KINDS.contains(&kind) {
        causes.push(Cause::new(
            "spec.scaleTargetRef.kind",
            format!("Unsupported value: \"{kind}\": supported values: \"{}\"", SCALABLE_KINDS.join("\", \"")),
        ));
    }
    if spec["scaleTargetRef"]["name"].as_str().unwrap_or_default().is_empty() {
        causes.push(Cause::new("spec.scaleTargetRef.name", "Required value"));
    }
    for (i, m) in spec["metrics"].as_array().into_iter().flatten().enumerate() {
        let target = &m["resource"]["target"];
        if let Some(u) = target["averageUtilization"].as_i64()
            && u <= 0
        {
            causes.push(Cause::new(
                format!("spec.metrics[{i}].resource.target.averageUtilization"),
                format!("Invalid value: {u}: must be greater than 0"),
            ));
        }
    }
    for direction in ["scaleUp", "scaleDown"] {
        let rules = &spec["behavior"][direction];
        if rules.is_null() {
            continue;
        }
        let field = |f: &str| format!("spec.behavior.{direction}.{f}");
        if let Some(w) = rules["stabilizationWindowSeconds"].as_i64()
            && !(0..=3600).contains(&w)
        {
            causes.push(Cause::new(
                field("stabilizationWindowSeconds"),
                format!(
                    "Invalid value: {w}: must be less than or equal to 3600 and greater than or equal to 0"
                ),
            ));
        }
        if let Some(p) = rules["selectPolicy"].as_str()
            && !["Max", "Min", "Disabled"].contains(&p)
        {
            causes.push(Cause::new(
                field("selectPolicy"),
                format!("Unsupported value: \"{p}\": supported values: \"Disabled\", \"Max\", \"Min\""),
            ));
        }
        let policies = rules["policies"].as_array().cloned().unwrap_or_default();
        if rules.get("policies").is_some() && policies.is_empty() && rules["selectPolicy"] != "Disabled" {
            causes.push(Cause::new(field("policies"), "Required value: must specify at least one Policy"));
        }
        for (i, p) in policies.iter().enumerate() {
            let pf = |f: &str| field(&format!("policies[{i}].{f}"));
            let kind = p["type"].as_str().unwrap_or_default();
            if !["Pods", "Percent"].contains(&kind) {
                causes.push(Cause::new(
                    pf("type"),
                    format!("Unsupported value: \"{kind}\": supported values: \"Percent\", \"Pods\""),
                ));
            }
            let period = p["periodSeconds"].as_i64().unwrap_or(0);
            if !(1..=1800).contains(&period) {
                causes.push(Cause::new(
                    pf("periodSeconds"),
                    format!(
                        "Invalid value: {period}: must be greater than zero and less than or equal to 1800"
                    ),
                ));
            }
            let value = p["value"].as_i64().unwrap_or(0);
            if value <= 0 {
                causes.push(Cause::new(
                    pf("value"),
                    format!("Invalid value: {value}: must be greater than zero"),
                ));
            }
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hpa_with(spec: Value) -> Value {
        let mut base = json!({
            "metadata": { "name": "ledger", "namespace": "payments-core" },
            "spec": { "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": "ledger" }, "minReplicas": 2, "maxReplicas": 10 }
        });
        json_patch::merge(&mut base, &json!({ "spec": spec }));
        base
    }

    fn fields(err: ApiError) -> Vec<String> {
        err.details.unwrap()["causes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["field"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn a_sound_hpa_passes() {
        assert!(validate(&HPAS, &hpa_with(json!({}))).is_ok());
    }

    #[test]
    fn hpa_bounds_are_checked() {
        let err = validate(&HPAS, &hpa_with(json!({ "minReplicas": 0 }))).unwrap_err();
        assert_eq!((err.code, err.reason), (422, "Invalid"));
        assert_eq!(fields(err), vec!["spec.minReplicas"]);
        let err = validate(&HPAS, &hpa_with(json!({ "minReplicas": 5, "maxReplicas": 3 }))).unwrap_err();
        assert_eq!(fields(err), vec!["spec.maxReplicas"]);
        assert!(
            err_message(&hpa_with(json!({ "minReplicas": 5, "maxReplicas": 3 })))
                .contains("must be greater than or equal to `minReplicas`")
        );
    }

    fn err_message(h: &Value) -> String {
        validate(&HPAS, h).unwrap_err().message
    }

    #[test]
    fn unknown_target_kinds_and_bad_behavior_are_invalid() {
        let err = validate(&HPAS, &hpa_with(json!({ "scaleTargetRef": { "kind": "CronJob" } }))).unwrap_err();
        assert_eq!(fields(err), vec!["spec.scaleTargetRef.kind"]);
        let err = validate(
            &HPAS,
            &hpa_with(json!({ "behavior": { "scaleDown": { "stabilizationWindowSeconds": 4000,
                "policies": [{ "type": "Pods", "value": 0, "periodSeconds": 0 }] } } })),
        )
        .unwrap_err();
        assert_eq!(
            fields(err),
            vec![
                "spec.behavior.scaleDown.stabilizationWindowSeconds",
                "spec.behavior.scaleDown.policies[0].periodSeconds",
                "spec.behavior.scaleDown.policies[0].value"
            ]
        );
    }

    #[test]
    fn a_body_of_the_wrong_shape_is_a_bad_request() {
        let err = validate(&HPAS, &hpa_with(json!({ "maxReplicas": "ten" }))).unwrap_err();
        assert_eq!(err.code, 400);
    }

    fn deployment_with(replicas: i64, cpu_request: &str, cpu_limit: &str) -> Value {
        json!({
            "metadata": { "name": "ledger" },
            "spec": {
                "replicas": replicas,
                "selector": { "matchLabels": { "app": "ledger" } },
                "template": { "metadata": { "labels": { "app": "ledger" } }, "spec": { "containers": [
                    { "name": "ledger", "image": "x", "resources": { "requests": { "cpu": cpu_request }, "limits": { "cpu": cpu_limit } } }
                ] } }
            }
        })
    }

    #[test]
    fn deployment_replicas_and_quantities_are_checked() {
        assert!(validate(&DEPLOYMENTS, &deployment_with(2, "250m", "1")).is_ok());
        assert_eq!(
            fields(validate(&DEPLOYMENTS, &deployment_with(-1, "250m", "1")).unwrap_err()),
            vec!["spec.replicas"]
        );
        assert_eq!(
            fields(validate(&DEPLOYMENTS, &deployment_with(1, "lots", "1")).unwrap_err()),
            vec!["spec.template.spec.containers[0].resources.requests.cpu"]
        );
        assert_eq!(
            fields(validate(&DEPLOYMENTS, &deployment_with(1, "2", "1")).unwrap_err()),
            vec!["spec.template.spec.containers[0].resources.requests"]
        );
    }

    #[test]
    fn scale_replicas_must_be_a_non_negative_integer() {
        assert_eq!(scale_replicas("x", &json!({ "spec": { "replicas": 3 } })), Ok(3));
        assert_eq!(scale_replicas("x", &json!({ "spec": { "replicas": -1 } })).unwrap_err().code, 422);
        assert_eq!(scale_replicas("x", &json!({ "spec": { "replicas": "3" } })).unwrap_err().code, 400);
    }
}
