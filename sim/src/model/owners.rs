//! The tools that write objects besides Kubernetes' controllers: Argo CD and Flux, applying
//! them from a repository, and KEDA, making an HPA from its ScaledObject. Each recognises
//! what it owns by the mark it leaves on it (Argo CD's tracking annotation or instance label,
//! Flux's Kustomization labels, KEDA's ScaledObject label or owner reference), takes the
//! object as it is when first marked as its source of truth (the repository; the
//! ScaledObject), and sets a change to the fields it manages back after its delay — as a
//! self-healing Argo CD application, a Flux Kustomization at its interval, and KEDA's operator
//! (which watches the HPAs it owns) do. A change someone makes there is what this undoes.

use std::collections::HashMap;

use serde_json::Value;

use crate::{
    clock::Millis,
    resources::{DEPLOYMENTS, HPAS, ResourceType},
    store::{Key, Store},
};

/// Argo CD's self-heal timeout (`--self-heal-timeout-seconds`, 5 s by default): how long
/// after it sees drift a self-healing application syncs again.
const ARGO_CD_SELF_HEAL_MS: Millis = 5_000;
/// The simulated Kustomizations' `spec.interval`: Flux applies its manifests again each.
const FLUX_INTERVAL_MS: Millis = 60_000;
/// KEDA's operator reconciles an HPA it owns on the HPA's own change.
const KEDA_MS: Millis = 1_000;
/// How often the tools look at what they own.
const LOOK_EVERY_MS: Millis = 1_000;
/// How often every HPA and Deployment is scanned for marks added or removed (Argo CD's and
/// Flux's discovery is not instant either): a cluster of thousands is not read whole each
/// second.
const SCAN_EVERY_MS: Millis = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    ArgoCd,
    Flux,
    Keda,
}

impl Tool {
    /// The field manager its writes are recorded under.
    fn manager(self) -> &'static str {
        match self {
            Tool::ArgoCd => "argocd-controller",
            Tool::Flux => "kustomize-controller",
            Tool::Keda => "keda-operator",
        }
    }

    fn delay_ms(self) -> Millis {
        match self {
            Tool::ArgoCd => ARGO_CD_SELF_HEAL_MS,
            Tool::Flux => FLUX_INTERVAL_MS,
            Tool::Keda => KEDA_MS,
        }
    }
}

/// Which tool owns an object with this metadata, if one does. KEDA makes HPAs only.
fn tool_of(meta: &Value, hpa: bool) -> Option<Tool> {
    let label = |key: &str| meta["labels"][key].as_str().is_some_and(|v| !v.is_empty());
    let annotation = |key: &str| meta["annotations"][key].as_str().is_some_and(|v| !v.is_empty());
    let owned_by_scaled_object = meta["ownerReferences"]
        .as_array()
        .is_some_and(|refs| refs.iter().any(|r| r["kind"] == "ScaledObject"));
    if hpa && (label("scaledobject.keda.sh/name") || owned_by_scaled_object) {
        Some(Tool::Keda)
    } else if annotation("argocd.argoproj.io/tracking-id") || label("argocd.argoproj.io/instance") {
        Some(Tool::ArgoCd)
    } else if label("kustomize.toolkit.fluxcd.io/name") || label("helm.toolkit.fluxcd.io/name") {
        Some(Tool::Flux)
    } else {
        None
    }
}

/// The fields the tool sets: an HPA's whole spec; a Deployment's replica count (what a
/// manifest with `replicas` sets back; the rest of its spec is not what scaling changes).
fn managed(object: &Value, hpa: bool) -> Value {
    if hpa { object["spec"].clone() } else { object["spec"]["replicas"].clone() }
}

/// An object a tool owns: the fields as its source has them, and since when they differ.
struct Adopted {
    tool: Tool,
    source: Value,
    drift_since: Option<Millis>,
}

/// What the tools own, keyed by (is an HPA, namespace and name).
#[derive(Default)]
pub struct Owners {
    adopted: HashMap<(bool, Key), Adopted>,
    last_look: Option<Millis>,
    last_scan: Option<Millis>,
}

impl Owners {
    /// Each owned object's drift, set back once its tool's delay has passed.
    pub fn run(&mut self, store: &mut Store, now: Millis) {
        if self.last_look.is_some_and(|last| now < last + LOOK_EVERY_MS) {
            return;
        }
        self.last_look = Some(now);
        if self.last_scan.is_none_or(|last| now >= last + SCAN_EVERY_MS) {
            self.last_scan = Some(now);
            self.adopt(store);
        }
        let owned: Vec<(bool, Key)> = self.adopted.keys().cloned().collect();
        for (hpa, key) in owned {
            let rt = if hpa { &HPAS } else { &DEPLOYMENTS };
            let now_marked = store
                .get(rt, &key.0, &key.1)
                .and_then(|o| Some((tool_of(&o["metadata"], hpa)?, managed(&o, hpa))));
            let Some((tool, fields)) = now_marked else {
                // Deleted, or its mark taken off: no longer the tool's.
                self.adopted.remove(&(hpa, key));
                continue;
            };
            let adopted = self.adopted.get_mut(&(hpa, key.clone())).expect("listed from the map");
            if adopted.tool != tool {
                *adopted = Adopted { tool, source: fields, drift_since: None };
                continue;
            }
            if fields == adopted.source {
                adopted.drift_since = None;
                continue;
            }
            let since = *adopted.drift_since.get_or_insert(now);
            if now >= since + tool.delay_ms() {
                set_back(store, rt, &key, hpa, &adopted.source, tool.manager(), now);
                adopted.drift_since = None;
            }
        }
    }

    /// Takes on what carries a tool's mark and is not owned yet, with its fields as they are
    /// as the source.
    fn adopt(&mut self, store: &Store) {
        for (rt, hpa) in [(&HPAS, true), (&DEPLOYMENTS, false)] {
            for (key, object) in store.list(rt, None, None) {
                if self.adopted.contains_key(&(hpa, key.clone())) {
                    continue;
                }
                if let Some(tool) = tool_of(&object["metadata"], hpa) {
                    let adopted = Adopted { tool, source: managed(object, hpa), drift_since: None };
                    self.adopted.insert((hpa, key.clone()), adopted);
                }
            }
        }
    }
}

/// Writes the source's fields over the object's, as the tool's apply does, under its manager.
fn set_back(
    store: &mut Store,
    rt: &ResourceType,
    key: &Key,
    hpa: bool,
    source: &Value,
    manager: &str,
    now: Millis,
) {
    let Some(current) = store.get(rt, &key.0, &key.1) else { return };
    let mut next = (*current).clone();
    if hpa {
        next["spec"] = source.clone();
    } else {
        next["spec"]["replicas"] = source.clone();
    }
    crate::managed_fields::record(Some(&current), &mut next, manager, None, &crate::clock::rfc3339(now));
    let _ = store.replace(rt, next, None);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::Store;

    fn hpa(meta: Value, max: i32) -> Value {
        json!({ "metadata": meta, "spec": { "maxReplicas": max, "minReplicas": 2,
            "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": "api" } } })
    }

    fn max_of(store: &Store) -> i64 {
        store.get(&HPAS, "core", "api").unwrap()["spec"]["maxReplicas"].as_i64().unwrap()
    }

    #[test]
    fn a_mark_added_later_is_taken_on_at_the_next_scan_with_the_spec_it_then_has() {
        let mut store = Store::new(100);
        let plain = json!({ "name": "api", "namespace": "core" });
        store.create(&HPAS, hpa(plain, 10), "2026-12-01T00:00:00Z").unwrap();
        let mut owners = Owners::default();
        owners.run(&mut store, 0);
        let marked =
            json!({ "name": "api", "namespace": "core", "labels": { "scaledobject.keda.sh/name": "api" } });
        store.replace(&HPAS, hpa(marked.clone(), 12), None).unwrap();
        owners.run(&mut store, 1_000);
        assert!(owners.adopted.is_empty(), "not before the next scan");
        owners.run(&mut store, SCAN_EVERY_MS);
        store.replace(&HPAS, hpa(marked, 16), None).unwrap();
        owners.run(&mut store, SCAN_EVERY_MS + 1_000);
        owners.run(&mut store, SCAN_EVERY_MS + 2_000);
        assert_eq!(max_of(&store), 12, "set back to the spec it had when marked");
    }

    #[test]
    fn each_tool_sets_a_change_back_after_its_delay_and_leaves_unmarked_objects_alone() {
        for (meta, delay) in [
            (
                json!({ "name": "api", "namespace": "core", "annotations": { "argocd.argoproj.io/tracking-id": "core:autoscaling/HorizontalPodAutoscaler:core/api" } }),
                ARGO_CD_SELF_HEAL_MS,
            ),
            (
                json!({ "name": "api", "namespace": "core", "labels": { "scaledobject.keda.sh/name": "api" } }),
                KEDA_MS,
            ),
            (
                json!({ "name": "api", "namespace": "core", "labels": { "kustomize.toolkit.fluxcd.io/name": "apps" } }),
                FLUX_INTERVAL_MS,
            ),
            (json!({ "name": "api", "namespace": "core" }), Millis::MAX),
        ] {
            let mut store = Store::new(100);
            store.create(&HPAS, hpa(meta.clone(), 10), "2026-12-01T00:00:00Z").unwrap();
            let mut owners = Owners::default();
            owners.run(&mut store, 0);
            store.replace(&HPAS, hpa(meta.clone(), 14), None).unwrap();
            owners.run(&mut store, 1_000);
            assert_eq!(max_of(&store), 14, "drift is seen first: {meta}");
            if delay == Millis::MAX {
                owners.run(&mut store, 3_600_000);
                assert_eq!(max_of(&store), 14, "nothing owns it: the change stays");
                continue;
            }
            owners.run(&mut store, 1_000 + delay - 1_000);
            assert!(delay == KEDA_MS || max_of(&store) == 14, "not before its delay: {meta}");
            owners.run(&mut store, 1_000 + delay);
            assert_eq!(max_of(&store), 10, "set back to its source: {meta}");
        }
    }
}
