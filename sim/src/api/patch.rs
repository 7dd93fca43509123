//! The three patch formats the API server accepts.

use serde_json::Value;

use crate::status::{ApiError, Cause};

/// Applies a patch body of the given content type to `current`.
pub fn apply(current: &Value, content_type: &str, body: &[u8]) -> Result<Value, ApiError> {
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let parse = || -> Result<Value, ApiError> {
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
    };
    let mut out = current.clone();
    match media {
        "application/merge-patch+json" => json_patch::merge(&mut out, &parse()?),
        "application/strategic-merge-patch+json" => strategic_merge(&mut out, &parse()?),
        "application/json-patch+json" => {
            let ops: json_patch::Patch = serde_json::from_value(parse()?)
                .map_err(|e| ApiError::bad_request(format!("error decoding JSON patch: {e}")))?;
            json_patch::patch(&mut out, &ops).map_err(|e| {
                ApiError::invalid(
                    "",
                    "",
                    vec![Cause::new("patch", format!("the JSON patch cannot be applied: {e}"))],
                )
            })?;
        }
        other => return Err(ApiError::unsupported_media_type(other)),
    }
    Ok(out)
}

/// A strategic merge for the fields Paydeck and `kubectl` touch: like a merge patch, except
/// that lists of objects keyed by `name` (containers, ports, env) merge item by item.
fn strategic_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, pv) in p {
                if pv.is_null() {
                    t.remove(k);
                } else if let Some(tv) = t.get_mut(k) {
                    strategic_merge(tv, pv);
                } else {
                    t.insert(k.clone(), pv.clone());
                }
            }
        }
        (Value::Array(t), Value::Array(p)) if keyed_by_name(t) && keyed_by_name(p) => {
            for pv in p {
                match t.iter_mut().find(|tv| tv["name"] == pv["name"]) {
                    Some(tv) => strategic_merge(tv, pv),
                    None => t.push(pv.clone()),
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn keyed_by_name(items: &[Value]) -> bool {
    !items.is_empty() && items.iter().all(|i| i.get("name").is_some_and(Value::is_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_replaces_and_removes() {
        let current = json!({ "spec": { "replicas": 2, "paused": true } });
        let out =
            apply(&current, "application/merge-patch+json", br#"{"spec":{"replicas":5,"paused":null}}"#)
                .unwrap();
        assert_eq!(out, json!({ "spec": { "replicas": 5 } }));
    }

    #[test]
    fn json_patch_applies_operations_and_reports_failures() {
        let current = json!({ "spec": { "minReplicas": 2 } });
        let out = apply(
            &current,
            "application/json-patch+json",
            br#"[{"op":"replace","path":"/spec/minReplicas","value":3}]"#,
        )
        .unwrap();
        assert_eq!(out["spec"]["minReplicas"], 3);
        let err = apply(
            &current,
            "application/json-patch+json",
            br#"[{"op":"test","path":"/spec/minReplicas","value":9}]"#,
        )
        .unwrap_err();
        assert_eq!(err.code, 422);
    }

    #[test]
    fn strategic_merge_merges_containers_by_name() {
        let current = json!({ "containers": [{ "name": "a", "image": "x" }, { "name": "b", "image": "y" }] });
        let out = apply(
            &current,
            "application/strategic-merge-patch+json",
            br#"{"containers":[{"name":"b","image":"z"}]}"#,
        )
        .unwrap();
        assert_eq!(out["containers"][0]["image"], "x");
        assert_eq!(out["containers"][1]["image"], "z");
    }

    #[test]
    fn unknown_formats_and_bad_json_are_refused() {
        assert_eq!(apply(&json!({}), "application/apply-patch+yaml", b"a: b").unwrap_err().code, 415);
        assert_eq!(apply(&json!({}), "application/merge-patch+json", b"{nope").unwrap_err().code, 400);
    }
}
