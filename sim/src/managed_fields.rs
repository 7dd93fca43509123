//! `metadata.managedFields` as the API server keeps them for writes that are not applies:
//! each create, update or patch is an `Update` entry of its manager — the `fieldManager`
//! parameter, else the User-Agent up to its first `/` — and subresource, owning the fields
//! the write set or changed, which leave every other entry. Fields are followed into objects'
//! keys; a list is one field (as an atomic list is; the keyed lists of pod templates are not
//! gone into). The simulated tools (`model::owners`) write under their own managers.

use serde_json::{Map, Value, json};

use crate::status::ApiError;

/// The longest manager name the API server takes (`FieldManagerMaxLength`).
pub const MAX_MANAGER: usize = 128;

/// The manager of a write: `fieldManager` as given (refused when too long or unprintable),
/// else the User-Agent's prefix, printable characters only, cut to the maximum.
pub fn manager(field_manager: Option<&str>, user_agent: Option<&str>) -> Result<String, ApiError> {
    if let Some(m) = field_manager {
        if m.len() > MAX_MANAGER {
            return Err(ApiError::bad_request(format!(
                "fieldManager: Too long: may not be more than {MAX_MANAGER} bytes"
            )));
        }
        if m.chars().any(|c| c.is_control()) {
            return Err(ApiError::bad_request(
                "fieldManager: Invalid value: must only contain printable characters",
            ));
        }
        return Ok(m.to_string());
    }
    let mut out = String::new();
    for c in user_agent.unwrap_or_default().split('/').next().unwrap_or_default().chars() {
        if c.is_control() {
            continue;
        }
        if out.len() + c.len_utf8() > MAX_MANAGER {
            break;
        }
        out.push(c);
    }
    Ok(out)
}

/// Metadata the server sets: never a client's field.
const SERVER_METADATA: [&str; 7] =
    ["managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "name", "namespace"];

/// The leaf paths set or changed from `before` to `after` (`None` before: all of `after`),
/// and those removed.
fn changes(
    before: Option<&Value>,
    after: &Value,
    path: &mut Vec<String>,
    set: &mut Vec<Vec<String>>,
    removed: &mut Vec<Vec<String>>,
) {
    if before == Some(after) {
        return;
    }
    let earlier = before.and_then(Value::as_object);
    if let Value::Object(a) = after
        && !a.is_empty()
        && (before.is_none() || earlier.is_some())
    {
        for (key, value) in a {
            let server_set = match path.as_slice() {
                [] => matches!(key.as_str(), "apiVersion" | "kind"),
                [top] => top == "metadata" && SERVER_METADATA.contains(&key.as_str()),
                _ => false,
            };
            if server_set {
                continue;
            }
            path.push(key.clone());
            changes(earlier.and_then(|b| b.get(key)), value, path, set, removed);
            path.pop();
        }
        for key in earlier.into_iter().flat_map(|b| b.keys()).filter(|k| !a.contains_key(*k)) {
            let mut gone = path.clone();
            gone.push(key.clone());
            removed.push(gone);
        }
        return;
    }
    if !path.is_empty() {
        set.push(path.clone());
    }
}

fn insert(fields: &mut Map<String, Value>, path: &[String]) {
    let Some((first, rest)) = path.split_first() else { return };
    let entry = fields.entry(format!("f:{first}")).or_insert_with(|| json!({}));
    if let Value::Object(inner) = entry {
        insert(inner, rest);
    }
}

/// Removes the field at `path` (and what is under it); `true` when `fields` is left empty.
fn remove(fields: &mut Map<String, Value>, path: &[String]) -> bool {
    let Some((first, rest)) = path.split_first() else { return fields.is_empty() };
    let key = format!("f:{first}");
    if rest.is_empty() {
        fields.remove(&key);
    } else if let Some(Value::Object(inner)) = fields.get_mut(&key)
        && !inner.is_empty()
        && remove(inner, rest)
    {
        fields.remove(&key);
    }
    fields.is_empty()
}

/// Records a write of `after` over `before` (`None`: a create) by `manager` through
/// `subresource` at `now` in `after`'s `metadata.managedFields`.
pub fn record(
    before: Option<&Value>,
    after: &mut Value,
    manager: &str,
    subresource: Option<&str>,
    now: &str,
) {
    let mut entries: Vec<Value> =
        before.and_then(|b| b["metadata"]["managedFields"].as_array().cloned()).unwrap_or_default();
    let (mut set, mut removed) = (Vec::new(), Vec::new());
    changes(before, after, &mut Vec::new(), &mut set, &mut removed);
    // Through a subresource only its part of the object is written.
    let part = match subresource {
        Some("status") => "status",
        Some("scale") => "spec",
        _ => "",
    };
    set.retain(|p| if part.is_empty() { p[0] != "status" } else { p[0] == part });
    if set.is_empty() && removed.is_empty() {
        after["metadata"]["managedFields"] = Value::Array(entries);
        return;
    }
    let mine = |e: &Value| {
        e["manager"] == manager && e["operation"] == "Update" && e["subresource"].as_str() == subresource
    };
    for entry in entries.iter_mut().filter(|e| !mine(e)) {
        if let Some(fields) = entry["fieldsV1"].as_object_mut() {
            for path in set.iter().chain(&removed) {
                remove(fields, path);
            }
        }
    }
    entries.retain(|e| mine(e) || e["fieldsV1"].as_object().is_some_and(|f| !f.is_empty()));
    let api_version = after["apiVersion"].clone();
    let position = entries.iter().position(mine);
    let entry = match position {
        Some(i) => &mut entries[i],
        None => {
            let mut fresh = json!({ "manager": manager, "operation": "Update", "apiVersion": api_version,
                "fieldsType": "FieldsV1", "fieldsV1": {} });
            if let Some(sub) = subresource {
                fresh["subresource"] = json!(sub);
            }
            entries.push(fresh);
            entries.last_mut().expect("just pushed")
        }
    };
    entry["time"] = json!(now);
    if let Some(fields) = entry["fieldsV1"].as_object_mut() {
        for path in &removed {
            remove(fields, path);
        }
        for path in &set {
            insert(fields, path);
        }
    }
    after["metadata"]["managedFields"] = Value::Array(entries);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manager_is_the_field_manager_or_the_user_agents_prefix() {
        assert_eq!(manager(Some("paydeck"), Some("kube-rs/1.0")).unwrap(), "paydeck");
        assert_eq!(manager(None, Some("kubectl/v1.33.4 (linux/amd64) kubernetes/abc")).unwrap(), "kubectl");
        assert_eq!(manager(None, None).unwrap(), "");
        assert_eq!(manager(Some(&"m".repeat(129)), None).unwrap_err().code, 400);
        assert_eq!(manager(None, Some(&"u".repeat(200))).unwrap().len(), MAX_MANAGER);
    }

    #[test]
    fn a_write_takes_the_fields_it_changes_from_the_other_managers() {
        let hpa = |max: i32, min: i32| {
            json!({ "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": { "name": "api", "namespace": "core", "resourceVersion": "3", "labels": { "app": "api" } },
            "spec": { "minReplicas": min, "maxReplicas": max, "metrics": [{ "type": "Resource" }] } })
        };
        let mut created = hpa(10, 2);
        record(None, &mut created, "kubectl-client-side-apply", None, "2026-12-01T00:00:00Z");
        assert_eq!(
            created["metadata"]["managedFields"],
            json!([{ "manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "autoscaling/v2",
                "fieldsType": "FieldsV1", "time": "2026-12-01T00:00:00Z",
                "fieldsV1": { "f:metadata": { "f:labels": { "f:app": {} } }, "f:spec": { "f:maxReplicas": {}, "f:metrics": {}, "f:minReplicas": {} } } }])
        );
        let mut edited = hpa(14, 2);
        edited["metadata"]["managedFields"] = created["metadata"]["managedFields"].clone();
        record(Some(&created), &mut edited, "paydeck", None, "2026-12-01T01:00:00Z");
        let entries = edited["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(
            entries[0]["fieldsV1"]["f:spec"],
            json!({ "f:metrics": {}, "f:minReplicas": {} }),
            "maxReplicas left it"
        );
        assert_eq!(entries[1]["manager"], "paydeck");
        assert_eq!(entries[1]["fieldsV1"], json!({ "f:spec": { "f:maxReplicas": {} } }));
        // Writing nothing new records nothing.
        let mut same = edited.clone();
        record(Some(&edited), &mut same, "kubectl-edit", None, "2026-12-01T02:00:00Z");
        assert_eq!(same["metadata"]["managedFields"], edited["metadata"]["managedFields"]);
        // A scale write owns spec.replicas under its subresource.
        let deployment = json!({ "apiVersion": "apps/v1", "metadata": {}, "spec": { "replicas": 2 } });
        let mut scaled = json!({ "apiVersion": "apps/v1", "metadata": {}, "spec": { "replicas": 5 } });
        record(Some(&deployment), &mut scaled, "kube-controller-manager", Some("scale"), "t");
        assert_eq!(scaled["metadata"]["managedFields"][0]["subresource"], "scale");
        assert_eq!(
            scaled["metadata"]["managedFields"][0]["fieldsV1"],
            json!({ "f:spec": { "f:replicas": {} } })
        );
    }
}
