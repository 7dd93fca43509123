//! A change as a team's repository would hold it, so it can go through their pull request
//! instead of (or as well as) being applied live: a strategic-merge patch of the object with
//! only the fields the change sets (whole lists, as Kubernetes replaces atomic lists whole),
//! the reason and the what-if in comments, and the `kustomization.yaml` entry that applies
//! it. `kubectl patch --type strategic --patch-file` takes the same file.

use app::scaling::RepositoryPatch;
use serde_json::{Map, Value, json};

/// The fields of an HPA spec a scaling change sets, at the depth the repository patch keeps
/// them: `behavior` per direction (each direction's policies are one atomic list).
const HPA_FIELDS: [&str; 3] = ["minReplicas", "maxReplicas", "metrics"];

/// The patch body of a change, from the object as it was and as the cluster (dry run or
/// apply) returned it; `None` when nothing differs.
pub fn patch_body(before: &Value, after: &Value) -> Option<Value> {
    let (kind, api_version) = (after["kind"].as_str()?, after["apiVersion"].as_str()?);
    let mut spec = Map::new();
    match kind {
        "HorizontalPodAutoscaler" => {
            for field in HPA_FIELDS {
                if before["spec"][field] != after["spec"][field] {
                    spec.insert(field.into(), after["spec"][field].clone());
                }
            }
            let mut behavior = Map::new();
            for direction in ["scaleUp", "scaleDown"] {
                let now = &after["spec"]["behavior"][direction];
                if before["spec"]["behavior"][direction] != *now {
                    behavior.insert(direction.into(), now.clone());
                }
            }
            if !behavior.is_empty() {
                spec.insert("behavior".into(), Value::Object(behavior));
            }
        }
        // A Deployment's change is made through its scale: the Deployment's replicas.
        "Scale" | "Deployment" if before["spec"]["replicas"] != after["spec"]["replicas"] => {
            spec.insert("replicas".into(), after["spec"]["replicas"].clone());
        }
        _ => {}
    }
    if spec.is_empty() {
        return None;
    }
    let (kind, api_version) = if kind == "Scale" { ("Deployment", "apps/v1") } else { (kind, api_version) };
    Some(json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": { "name": after["metadata"]["name"], "namespace": after["metadata"]["namespace"] },
        "spec": spec,
    }))
}

/// The files for the repository: the patch with `comments` above it, and its kustomization
/// entry.
pub fn repository_patch(body: &Value, comments: &[String]) -> RepositoryPatch {
    let kind = body["kind"].as_str().unwrap_or_default();
    let name = body["metadata"]["name"].as_str().unwrap_or_default();
    let namespace = body["metadata"]["namespace"].as_str().unwrap_or_default();
    let short = if kind == "HorizontalPodAutoscaler" { "hpa" } else { "deployment" };
    let file_name = format!("{name}-{short}-scaling.patch.yaml");
    let mut patch = String::new();
    for line in comments.iter().flat_map(|c| c.lines()).flat_map(|l| wrapped(l, COMMENT_WIDTH)) {
        patch.push_str(&format!("# {line}\n"));
    }
    yaml(body, 0, &mut patch);
    let entry = json!({ "patches": [{
        "path": file_name,
        "target": { "kind": kind, "name": name, "namespace": namespace },
    }] });
    let mut kustomization = String::from("# kustomization.yaml: add to its patches\n");
    yaml(&entry, 0, &mut kustomization);
    let resource = if kind == "HorizontalPodAutoscaler" { "horizontalpodautoscaler" } else { "deployment" };
    let kubectl =
        format!("kubectl patch {resource} {name} -n {namespace} --type strategic --patch-file {file_name}");
    RepositoryPatch { file_name, patch, kustomization, kubectl }
}

/// How wide a comment line runs before it is wrapped (at a space).
const COMMENT_WIDTH: usize = 98;

/// `line` cut at spaces into lines of at most `width` characters (a longer word stays whole);
/// the continuation lines indented by two spaces.
fn wrapped(line: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in line.split(' ') {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::replace(&mut current, "  ".to_string()));
        }
        if !current.is_empty() && current != "  " {
            current.push(' ');
        }
        current.push_str(word);
    }
    out.push(current);
    out
}

/// The keys of a Kubernetes object in the order its manifests are written.
fn ordered(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    const FIRST: [&str; 4] = ["apiVersion", "kind", "metadata", "spec"];
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by_key(|(k, _)| FIRST.iter().position(|f| f == k).unwrap_or(FIRST.len()));
    entries
}

/// A scalar as YAML: numbers and booleans plain, strings plain when YAML reads them back as
/// the same string, else double-quoted (JSON's quoting is YAML's).
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let plain = !s.is_empty()
                && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
                && !s.starts_with(['-', '.'])
                && s.parse::<f64>().is_err()
                && !matches!(
                    s.to_ascii_lowercase().as_str(),
                    "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "~"
                );
            if plain { s.clone() } else { Value::String(s.clone()).to_string() }
        }
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        other => other.to_string(),
    }
}

fn is_block(v: &Value) -> bool {
    matches!(v, Value::Object(m) if !m.is_empty()) || matches!(v, Value::Array(a) if !a.is_empty())
}

/// Block-style YAML of `v` at `indent` spaces.
fn yaml(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, item) in ordered(map) {
                if is_block(item) {
                    out.push_str(&format!("{pad}{k}:\n"));
                    let deeper = if item.is_array() { indent } else { indent + 2 };
                    yaml(item, deeper, out);
                } else {
                    out.push_str(&format!("{pad}{k}: {}\n", scalar(item)));
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                if is_block(item) {
                    // The first line after the dash, the rest under it.
                    let mut inner = String::new();
                    yaml(item, indent + 2, &mut inner);
                    let inner = inner.strip_prefix(&" ".repeat(indent + 2)).unwrap_or(&inner);
                    out.push_str(&format!("{pad}- {inner}"));
                } else {
                    out.push_str(&format!("{pad}- {}\n", scalar(item)));
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hpa(max: i32, cpu: i32, down_window: i32) -> Value {
        json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": { "name": "payment-api", "namespace": "payments-core", "resourceVersion": "7" },
            "spec": {
                "minReplicas": 3, "maxReplicas": max,
                "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": "payment-api" },
                "metrics": [{ "type": "Resource", "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": cpu } } }],
                "behavior": {
                    "scaleUp": { "stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [{ "type": "Pods", "value": 4, "periodSeconds": 15 }] },
                    "scaleDown": { "stabilizationWindowSeconds": down_window, "selectPolicy": "Max", "policies": [{ "type": "Percent", "value": 100, "periodSeconds": 15 }] }
                }
            }
        })
    }

    #[test]
    fn the_patch_holds_only_what_changed_with_atomic_lists_whole() {
        let body = patch_body(&hpa(24, 65, 300), &hpa(30, 60, 600)).unwrap();
        assert_eq!(
            body,
            json!({
                "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": { "name": "payment-api", "namespace": "payments-core" },
                "spec": {
                    "maxReplicas": 30,
                    "metrics": [{ "type": "Resource", "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": 60 } } }],
                    "behavior": { "scaleDown": { "stabilizationWindowSeconds": 600, "selectPolicy": "Max", "policies": [{ "type": "Percent", "value": 100, "periodSeconds": 15 }] } }
                }
            })
        );
        assert_eq!(patch_body(&hpa(24, 65, 300), &hpa(24, 65, 300)), None, "nothing to commit");
        let scale = |n: i32| json!({ "apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": { "name": "fx", "namespace": "core" }, "spec": { "replicas": n } });
        assert_eq!(
            patch_body(&scale(1), &scale(2)).unwrap(),
            json!({ "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "fx", "namespace": "core" }, "spec": { "replicas": 2 } })
        );
    }

    #[test]
    fn the_files_are_yaml_with_the_reason_in_comments() {
        let body = patch_body(&hpa(24, 65, 300), &hpa(30, 65, 300)).unwrap();
        let files =
            repository_patch(&body, &["Reason: CHG-1 \"peak\"".into(), "What-if: fine\nsecond line".into()]);
        assert_eq!(files.file_name, "payment-api-hpa-scaling.patch.yaml");
        assert_eq!(
            files.patch,
            "# Reason: CHG-1 \"peak\"\n# What-if: fine\n# second line\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: payment-api\n  namespace: payments-core\nspec:\n  maxReplicas: 30\n"
        );
        assert_eq!(
            files.kustomization,
            "# kustomization.yaml: add to its patches\npatches:\n- path: payment-api-hpa-scaling.patch.yaml\n  target:\n    kind: HorizontalPodAutoscaler\n    name: payment-api\n    namespace: payments-core\n"
        );
        assert!(files.kubectl.starts_with(
            "kubectl patch horizontalpodautoscaler payment-api -n payments-core --type strategic"
        ));
        let lists = patch_body(&hpa(24, 65, 300), &hpa(24, 70, 600)).unwrap();
        let text = repository_patch(&lists, &[]).patch;
        assert!(
            text.contains("  metrics:\n  - resource:\n      name: cpu\n      target:\n        averageUtilization: 70\n        type: Utilization\n    type: Resource\n")
                || text.contains("  metrics:\n  - type: Resource\n    resource:\n      name: cpu\n      target:\n        type: Utilization\n        averageUtilization: 70\n"),
            "{text}"
        );
        let long = "What-if: ".to_string() + &"word ".repeat(40);
        let lines = wrapped(long.trim_end(), 30);
        assert!(lines.iter().all(|l| l.chars().count() <= 30), "{lines:?}");
        assert_eq!(
            lines.join(" ").split_whitespace().collect::<Vec<_>>(),
            long.split_whitespace().collect::<Vec<_>>()
        );
        assert!(lines[1].starts_with("  word"), "{lines:?}");
        assert_eq!(wrapped("short", 30), ["short"]);
        assert_eq!(scalar(&json!("true")), "\"true\"");
        assert_eq!(scalar(&json!("10")), "\"10\"");
        assert_eq!(scalar(&json!("a: b")), "\"a: b\"");
    }
}
