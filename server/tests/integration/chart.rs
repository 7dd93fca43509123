//! The Helm chart's own promises, beside the checks every rendering passes in `manifests.rs`:
//! Helm's linter passes, the schema and the templates refuse wrong values naming them and
//! render nothing, the default install is the kustomize base in substance, every Secret a
//! rendering mounts is made by it or is one the docs say to create, and the docs' values
//! reference is the schema.

use std::{
    collections::{BTreeMap, BTreeSet},
    process::Command,
};

use serde_json::Value;

use super::manifests::{RENDERINGS, chart_python, helm_template, render};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

#[test]
fn helm_lint_passes_and_the_chart_installs_this_release() {
    for values in [None, Some("auth-proxy"), Some("fleet"), Some("gateway-monitoring")] {
        let mut args = vec![format!("{ROOT}/k8s/chart/render.py"), "--lint".into()];
        if let Some(name) = values {
            args.extend(["--values".into(), format!("{ROOT}/k8s/chart/examples/{name}.yaml")]);
        }
        let out = Command::new(chart_python()).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "helm lint --strict {values:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let chart: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(format!("{ROOT}/k8s/chart/paydeck/Chart.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(chart["appVersion"], env!("CARGO_PKG_VERSION"), "the chart installs this release");
    let objects = render("chart");
    let deployment = objects.iter().find(|o| o["kind"] == "Deployment").unwrap();
    let image = deployment["spec"]["template"]["spec"]["containers"][0]["image"].as_str().unwrap();
    assert!(image.ends_with(&format!(":{}", env!("CARGO_PKG_VERSION"))), "{image}");
}

#[test]
fn wrong_values_are_refused_naming_the_value_and_nothing_renders() {
    let cases = [
        (r#"{"replicas":2}"#, "replicas: 2 needs store.type: postgres"),
        (r#"{"replicas":0}"#, "/replicas"),
        (r#"{"store":{"type":"mysql"}}"#, "/store/type"),
        (r#"{"bogus":1}"#, "'bogus' not allowed"),
        (r#"{"impersonation":{"groups":["system:masters"]}}"#, "system:masters is a Kubernetes system group"),
        (r#"{"impersonation":{"groups":["payments:ops,payments:admins"]}}"#, "/impersonation/groups/0"),
        (r#"{"impersonation":{"groups":[]}}"#, "/impersonation/groups"),
        (r#"{"authProxy":{"enabled":true}}"#, "authProxy.issuerURL is required"),
        (r#"{"authProxy":{"issuerURL":"http://login.example.com"}}"#, "/authProxy/issuerURL"),
        (r#"{"fleet":{"enabled":true}}"#, "fleet.enabled needs store.type: postgres"),
        (r#"{"image":{"tag":7}}"#, "/image/tag"),
        (r#"{"image":{"digest":"latest"}}"#, "/image/digest"),
        (r#"{"settings":{"extra":{"LOG":"debug"}}}"#, "'LOG' does not match"),
        (r#"{"settings":{"sampleInterval":"15"}}"#, "/settings/sampleInterval"),
        (r#"{"resources":{"requests":{"memory":"lots"}}}"#, "/resources/requests/memory"),
        (r#"{"ingress":{"host":"Paydeck Example"}}"#, "/ingress/host"),
        (r#"{"plans":"nobody"}"#, "/plans"),
    ];
    for (values, names) in cases {
        let refusal =
            helm_template(None, Some(values)).map(|_| ()).expect_err(&format!("{values} should be refused"));
        assert!(refusal.contains(names), "{values}: the refusal should name {names:?}: {refusal}");
    }
    // The right values for the same keys render.
    for values in
        [r#"{"replicas":2,"store":{"type":"postgres"}}"#, r#"{"impersonation":{"groups":["payments:ops"]}}"#]
    {
        helm_template(None, Some(values)).unwrap_or_else(|e| panic!("{values}: {e}"));
    }
}

/// Labels, annotations and selectors differ by design (Helm's instance label); everything that
/// decides how Paydeck runs must not.
fn substance(object: &Value) -> Value {
    let mut object = object.clone();
    let metadata = object["metadata"].as_object_mut().unwrap();
    metadata.retain(|key, _| key == "name" || key == "namespace");
    for selector in ["/spec/selector", "/spec/podSelector", "/spec/template/metadata"] {
        if let Some(value) = object.pointer_mut(selector) {
            *value = Value::Null;
        }
    }
    if let Some(containers) = object.pointer_mut("/spec/template/spec/containers") {
        for container in containers.as_array_mut().unwrap() {
            container.as_object_mut().unwrap().remove("imagePullPolicy");
        }
    }
    // Topology spread and the budget select the same pods by the same labels: compared above.
    if let Some(spread) = object.pointer_mut("/spec/template/spec/topologySpreadConstraints") {
        for constraint in spread.as_array_mut().unwrap() {
            constraint.as_object_mut().unwrap().remove("labelSelector");
        }
    }
    object
}

#[test]
fn the_charts_default_is_the_kustomize_base_in_substance() {
    use clap::CommandFactory;
    for (kustomized, charted) in [("base", "chart"), ("overlays/ha-postgres", "chart:ha-postgres")] {
        let base = render(kustomized);
        let chart = render(charted);
        let key = |o: &Value| {
            (o["kind"].as_str().unwrap().to_string(), o["metadata"]["name"].as_str().unwrap().to_string())
        };
        let pod_labels = |objects: &[Value]| {
            objects.iter().find(|o| o["kind"] == "Deployment").unwrap()["spec"]["template"]["metadata"]["labels"].clone()
        };
        for object in base.iter().filter(|o| o["kind"] != "Namespace") {
            let (kind, name) = key(object);
            let twin = chart
                .iter()
                .find(|o| key(o) == (kind.clone(), name.clone()))
                .unwrap_or_else(|| panic!("{charted}: no {kind} {name} as in {kustomized}"));
            if kind == "ConfigMap" {
                // The same settings; the chart may spell out a default the base leaves implicit.
                let command = paydeck::config::Config::command();
                let ours = object["data"].as_object().unwrap();
                let theirs = twin["data"].as_object().unwrap();
                for (setting, value) in ours {
                    assert_eq!(theirs.get(setting), Some(value), "{charted}: {setting}");
                }
                for (setting, value) in theirs.iter().filter(|(k, _)| !ours.contains_key(*k)) {
                    let arg = command
                        .get_arguments()
                        .find(|a| a.get_env().is_some_and(|e| e == setting.as_str()))
                        .unwrap();
                    let default: Vec<_> =
                        arg.get_default_values().iter().map(|d| d.to_string_lossy().into_owned()).collect();
                    assert_eq!(
                        default,
                        vec![value.as_str().unwrap().to_string()],
                        "{charted}: {setting} is only the default"
                    );
                }
                continue;
            }
            assert_eq!(
                substance(twin),
                substance(object),
                "{charted}: {kind} {name} differs from {kustomized}'s"
            );
        }
        // Everything the chart adds is a Secret the base asks the operator to create by hand.
        for object in &chart {
            let (kind, name) = key(object);
            if !base.iter().any(|o| key(o) == (kind.clone(), name.clone())) {
                assert_eq!(kind, "Secret", "{charted}: {kind} {name} is not in {kustomized}");
            }
        }
        // The selectors (left out above) select the pods in both.
        for objects in [&base, &chart] {
            let labels = pod_labels(objects);
            for object in objects.iter() {
                for selector in
                    ["/spec/selector/matchLabels", "/spec/podSelector/matchLabels", "/spec/selector"]
                {
                    let Some(wanted) = object.pointer(selector).and_then(Value::as_object) else { continue };
                    if object["kind"] == "Deployment" && selector == "/spec/selector" {
                        continue;
                    }
                    for (label, value) in wanted.iter().filter(|(_, v)| v.is_string()) {
                        assert_eq!(&labels[label], value, "{}: {selector} selects the pods", object["kind"]);
                    }
                }
            }
        }
    }
}

/// A section of a doc: from its heading to the next heading of the same level or above.
fn section(doc: &str, heading: &str) -> String {
    let level = heading.chars().take_while(|c| *c == '#').count();
    let start = doc.find(&format!("\n{heading}\n")).unwrap_or_else(|| panic!("no {heading:?}"));
    let rest = &doc[start + heading.len() + 2..];
    let end = rest
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .find(|&i| {
            let hashes = rest[i..].chars().take_while(|c| *c == '#').count();
            hashes > 0 && hashes <= level && rest[i..].chars().nth(hashes) == Some(' ')
        })
        .unwrap_or(rest.len());
    rest[..end].to_string()
}

/// Names in backticks on the lines of a text that start with `- ` or `| `.
fn listed(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| l.starts_with("- `") || l.starts_with("| `"))
        .filter_map(|l| l.split('`').nth(1).map(str::to_string))
        .collect()
}

#[test]
fn every_secret_a_rendering_mounts_is_made_by_it_or_one_the_docs_say_to_create() {
    let deploying = std::fs::read_to_string(format!("{ROOT}/docs/deploying.md")).unwrap();
    let to_create = listed(&section(&deploying, "### Secrets you create"));
    let values = std::fs::read_to_string(format!("{ROOT}/k8s/chart/paydeck/values.yaml")).unwrap();
    for rendering in RENDERINGS {
        let objects = render(rendering);
        let made: BTreeSet<&str> = objects
            .iter()
            .filter(|o| o["kind"] == "Secret")
            .filter_map(|o| o["metadata"]["name"].as_str())
            .collect();
        let mut referenced = BTreeSet::new();
        for object in &objects {
            walk(object, &mut |key, value| {
                let name = match key {
                    "secretName" => value.as_str(),
                    "secretKeyRef" | "secretRef" => value["name"].as_str(),
                    _ => None,
                };
                referenced.extend(name.map(str::to_string));
            });
        }
        assert!(referenced.contains("paydeck-audit-key"), "{rendering}: found {referenced:?}");
        for name in &referenced {
            if made.contains(name.as_str()) {
                continue;
            }
            assert!(
                to_create.contains(name),
                "{rendering}: the Secret {name} is neither rendered nor in docs/deploying.md's Secrets you create"
            );
            if rendering.starts_with("chart") {
                assert!(
                    values.contains(&format!(" {name}\n")),
                    "{rendering}: {name} should be a value the installer can change"
                );
            }
        }
    }
}

fn walk(value: &Value, visit: &mut impl FnMut(&str, &Value)) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                visit(key, inner);
                walk(inner, visit);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| walk(i, visit)),
        _ => {}
    }
}

/// Every value the schema takes, as a dotted path (maps of free keys and `$ref`s are one value).
fn schema_paths(schema: &Value, prefix: &str, out: &mut BTreeMap<String, Value>) {
    let Some(properties) = schema["properties"].as_object() else {
        out.insert(prefix.to_string(), schema.clone());
        return;
    };
    for (name, inner) in properties {
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        schema_paths(inner, &path, out);
    }
}

#[test]
fn the_docs_values_reference_is_the_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/k8s/chart/paydeck/values.schema.json")).unwrap(),
    )
    .unwrap();
    let mut paths = BTreeMap::new();
    schema_paths(&schema, "", &mut paths);
    let deploying = std::fs::read_to_string(format!("{ROOT}/docs/deploying.md")).unwrap();
    let documented = listed(&section(&deploying, "### Values"));
    let taken: BTreeSet<String> = paths.keys().cloned().collect();
    assert_eq!(
        documented.difference(&taken).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "docs/deploying.md documents values the chart does not take"
    );
    assert_eq!(
        taken.difference(&documented).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "values the chart takes that docs/deploying.md's Values table leaves out"
    );
}
