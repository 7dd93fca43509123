//! An HPA's spec as a hash. A change made "against the spec the user saw" compares it on the
//! server with the spec it reads just before sending: real API servers keep no
//! `metadata.generation` for HPAs (none up to Kubernetes 1.36; 1.37 only behind a feature
//! gate), so the spec itself is what can tell that someone changed it since.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerSpec;
use serde_json::Value;

/// `sha256:` and the hex SHA-256 of the spec as canonical JSON (keys sorted, no spaces),
/// read through Kubernetes' types so that the watch and the editor hash the same bytes.
pub fn spec_hash(spec: &HorizontalPodAutoscalerSpec) -> String {
    let mut canonical = String::new();
    write_canonical(&serde_json::to_value(spec).unwrap_or(Value::Null), &mut canonical);
    let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest.as_ref() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The spec apart from `minReplicas` and `maxReplicas`, hashed as [`spec_hash`]: what a
/// plan's approval is pinned to.
pub fn policy_hash(spec: &HorizontalPodAutoscalerSpec) -> String {
    spec_hash(&HorizontalPodAutoscalerSpec { min_replicas: None, max_replicas: 0, ..spec.clone() })
}

/// JSON with every object's keys in order, whatever order the map keeps them in.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: Value) -> HorizontalPodAutoscalerSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_hash_follows_the_spec_and_nothing_else() {
        let a = spec(serde_json::json!({ "minReplicas": 2, "maxReplicas": 4,
            "scaleTargetRef": { "kind": "Deployment", "name": "ledger", "apiVersion": "apps/v1" } }));
        let same_in_other_order = spec(serde_json::json!({
            "scaleTargetRef": { "name": "ledger", "apiVersion": "apps/v1", "kind": "Deployment" },
            "maxReplicas": 4, "minReplicas": 2 }));
        assert_eq!(spec_hash(&a), spec_hash(&same_in_other_order));
        let hash = spec_hash(&a);
        assert!(domain::scaling::is_spec_hash(&hash), "{hash}");
        let mut b = a.clone();
        b.max_replicas = 5;
        assert_ne!(spec_hash(&a), spec_hash(&b));
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let mut out = String::new();
        write_canonical(&serde_json::json!({ "b": [{ "y": 1, "x": "a\"b" }], "a": null }), &mut out);
        assert_eq!(out, r#"{"a":null,"b":[{"x":"a\"b","y":1}]}"#);
    }
}
