//! The Deployment controller: pods for the replicas wanted, and the Deployment's status.

use std::collections::BTreeSet;

use domain::quantity::Quantity;
use serde_json::json;

use super::*;
use crate::{
    clock::Millis,
    resources::{DEPLOYMENTS, PODS},
    store::{Key, Store},
};

impl Model {
    pub(super) fn refresh_deployments(&mut self, store: &Store) {
        let mut seen = Vec::new();
        for ((ns, name), obj) in store.list(&DEPLOYMENTS, None, None) {
            let k = key(ns, name);
            let rv = obj["metadata"]["resourceVersion"].as_str().unwrap_or_default();
            seen.push(k.clone());
            if self.deployments.get(&k).is_some_and(|v| v.rv == rv) {
                continue;
            }
            self.dirty.insert(k.clone());
            let containers =
                obj["spec"]["template"]["spec"]["containers"].as_array().cloned().unwrap_or_default();
            let sum = |path: [&str; 2], to: fn(&Quantity) -> i64| -> Option<i64> {
                let mut total = 0;
                let mut any = false;
                for c in &containers {
                    if let Some(q) =
                        c["resources"][path[0]][path[1]].as_str().and_then(|s| Quantity::parse(s).ok())
                    {
                        total += to(&q);
                        any = true;
                    }
                }
                any.then_some(total)
            };
            self.deployments.insert(
                k,
                DeploymentView {
                    rv: rv.to_string(),
                    uid: obj["metadata"]["uid"].as_str().unwrap_or_default().to_string(),
                    generation: obj["metadata"]["generation"].as_i64().unwrap_or(1),
                    replicas: obj["spec"]["replicas"].as_i64().unwrap_or(1) as i32,
                    template: obj["spec"]["template"].clone(),
                    cpu_request_m: sum(["requests", "cpu"], Quantity::as_millis).unwrap_or(0),
                    memory_request: sum(["requests", "memory"], Quantity::as_units).unwrap_or(0),
                    cpu_limit_m: sum(["limits", "cpu"], Quantity::as_millis),
                },
            );
        }
        self.deployments.retain(|k, _| seen.contains(k));
    }

    pub(super) fn pods_of<'a>(&'a self, deployment: &'a Key) -> impl Iterator<Item = (Key, &'a PodSim)> + 'a {
        self.by_owner.get(deployment).into_iter().flatten().filter_map(move |name| {
            let k = key(&deployment.0, name);
            let pod = self.pods.get(&k)?;
            Some((k, pod))
        })
    }

    pub(super) fn remove_pod(&mut self, store: &mut Store, k: &Key) {
        if let Some(pod) = self.pods.remove(k) {
            let owner = key(&k.0, &pod.owner);
            if let Some(names) = self.by_owner.get_mut(&owner) {
                names.remove(&k.1);
            }
            self.dirty.insert(owner);
        }
        self.usage.remove(k);
        self.metrics.forget(k);
        let _ = store.delete(&PODS, &k.0, &k.1);
    }

    pub(super) fn new_pod(&mut self, deployment: &Key, view: &DeploymentView, now: Millis) -> Key {
        self.next_pod += 1;
        let n = self.next_pod;
        let suffix: String = (0..5)
            .map(|i| {
                let alphabet = b"bcdfghjklmnpqrstvwxz2456789";
                alphabet[((n.wrapping_mul(2_654_435_761) >> (i * 5)) as usize + i * 7) % alphabet.len()]
                    as char
            })
            .collect();
        let name = format!("{}-{}-{suffix}", deployment.1, template_hash(&deployment.1));
        let k = key(&deployment.0, &name);
        self.by_owner.entry(deployment.clone()).or_default().insert(name);
        self.dirty.insert(deployment.clone());
        self.pods.insert(
            k.clone(),
            PodSim {
                owner: deployment.1.clone(),
                node: None,
                created: now,
                scheduled_at: None,
                running_since: None,
                ready_since: None,
                cpu_request_m: view.cpu_request_m,
                memory_request: view.memory_request,
                unschedulable_since: None,
                unschedulable_message: String::new(),
                restarts: 0,
                ip: format!("10.{}.{}.{}", 64 + (n >> 16) % 64, (n >> 8) % 256, n % 256),
            },
        );
        k
    }

    pub(super) fn reconcile_replicas(&mut self, store: &mut Store, now: Millis) {
        let mut deployments: Vec<(Key, usize)> =
            self.deployments.iter().map(|(k, v)| (k.clone(), v.replicas.max(0) as usize)).collect();
        deployments.sort();
        for (dk, want) in deployments {
            let have = self.by_owner.get(&dk).map_or(0, BTreeSet::len);
            if have == want {
                continue;
            }
            let current: Vec<Key> = self.pods_of(&dk).map(|(k, _)| k).collect();
            let view = self.deployments[&dk].clone();
            if current.len() < want {
                for _ in current.len()..want {
                    let pk = self.new_pod(&dk, &view, now);
                    self.write_pod(store, &pk, now);
                }
                self.event(
                    store,
                    now,
                    &dk.0,
                    ("Deployment", &dk.1),
                    "Normal",
                    "ScalingReplicaSet",
                    &format!(
                        "Scaled up replica set {}-{} from {} to {want}",
                        dk.1,
                        template_hash(&dk.1),
                        current.len()
                    ),
                    "deployment-controller",
                );
            } else if current.len() > want {
                // Like the ReplicaSet controller: unscheduled first, then not ready, then newest.
                let mut victims: Vec<(u8, Millis, Key)> = current
                    .iter()
                    .map(|k| {
                        let p = &self.pods[k];
                        let rank = if p.node.is_none() {
                            0
                        } else if p.ready_since.is_none() {
                            1
                        } else {
                            2
                        };
                        (rank, u64::MAX - p.created, k.clone())
                    })
                    .collect();
                victims.sort();
                for (_, _, k) in victims.into_iter().take(current.len() - want) {
                    self.remove_pod(store, &k);
                }
                self.event(
                    store,
                    now,
                    &dk.0,
                    ("Deployment", &dk.1),
                    "Normal",
                    "ScalingReplicaSet",
                    &format!(
                        "Scaled down replica set {}-{} from {} to {want}",
                        dk.1,
                        template_hash(&dk.1),
                        current.len()
                    ),
                    "deployment-controller",
                );
            }
        }
        // Pods whose Deployment is gone go with it.
        let orphans: Vec<Key> = self
            .pods
            .iter()
            .filter(|((ns, _), p)| !self.deployments.contains_key(&key(ns, &p.owner)))
            .map(|(k, _)| k.clone())
            .collect();
        for k in orphans {
            self.remove_pod(store, &k);
        }
        self.by_owner.retain(|owner, names| !names.is_empty() || self.deployments.contains_key(owner));
    }

    pub(super) fn sync_deployment_status(&mut self, store: &mut Store, _now: Millis) {
        let keys: Vec<Key> =
            self.dirty.iter().filter(|k| self.deployments.contains_key(*k)).cloned().collect();
        for dk in keys {
            let view = &self.deployments[&dk];
            let pods: Vec<&PodSim> = self.pods_of(&dk).map(|(_, p)| p).collect();
            let total = pods.len() as i64;
            let ready = pods.iter().filter(|p| p.ready_since.is_some()).count() as i64;
            let available = view.replicas as i64 <= ready;
            let status = json!({
                "observedGeneration": view.generation,
                "replicas": total,
                "updatedReplicas": total,
                "readyReplicas": ready,
                "availableReplicas": ready,
                "unavailableReplicas": (total - ready).max(0),
                "conditions": [
                    { "type": "Available", "status": if available { "True" } else { "False" },
                      "reason": if available { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
                      "message": if available { "Deployment has minimum availability." } else { "Deployment does not have minimum availability." } },
                    { "type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                      "message": format!("ReplicaSet \"{}-{}\" has successfully progressed.", dk.1, template_hash(&dk.1)) },
                ],
            });
            let Some(current) = store.get(&DEPLOYMENTS, &dk.0, &dk.1) else { continue };
            if strip_zero(&current["status"]) == strip_zero(&status) {
                continue;
            }
            let mut next = (*current).clone();
            next["status"] = status;
            if let Ok(updated) = store.replace(&DEPLOYMENTS, next, None) {
                let rv = updated["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string();
                if let Some(v) = self.deployments.get_mut(&dk) {
                    v.rv = rv;
                }
            }
        }
    }
}
