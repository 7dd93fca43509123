//! The scheduler and the kubelets: pods onto nodes with room, then running and ready after
//! their start-up time; nodes joining.

use std::collections::HashMap;

use domain::quantity::Quantity;

use super::*;
use crate::{
    clock::{Millis, rfc3339},
    resources::NODES,
    store::{Key, Store},
};

impl Model {
    pub(super) fn node_capacity(store: &Store) -> Vec<(String, i64, i64)> {
        store
            .list(&NODES, None, None)
            .map(|((_, name), n)| {
                let q =
                    |r: &str| n["status"]["allocatable"][r].as_str().and_then(|s| Quantity::parse(s).ok());
                (name.clone(), q("cpu").map_or(0, |c| c.as_millis()), q("memory").map_or(0, |m| m.as_units()))
            })
            .collect()
    }

    pub(super) fn schedule(&mut self, store: &mut Store, now: Millis) {
        let nodes = Self::node_capacity(store);
        let mut used: HashMap<String, (i64, i64)> = HashMap::new();
        for p in self.pods.values() {
            if let Some(n) = &p.node {
                let e = used.entry(n.clone()).or_default();
                e.0 += p.cpu_request_m;
                e.1 += p.memory_request;
            }
        }
        let pending: Vec<Key> =
            self.pods.iter().filter(|(_, p)| p.node.is_none()).map(|(k, _)| k.clone()).collect();
        if pending.is_empty() {
            return;
        }
        // Pods of each Deployment per node, for templates that ask to spread them.
        let mut siblings: HashMap<(String, String, String), i64> = HashMap::new();
        for (k, p) in &self.pods {
            if let Some(n) = &p.node {
                *siblings.entry((k.0.clone(), p.owner.clone(), n.clone())).or_default() += 1;
            }
        }
        for k in pending {
            let (cpu, mem) = (self.pods[&k].cpu_request_m, self.pods[&k].memory_request);
            let owner = self.pods[&k].owner.clone();
            let spread = self.deployments.get(&key(&k.0, &owner)).is_some_and(|d| {
                d.template["spec"]["topologySpreadConstraints"].as_array().is_some_and(|c| !c.is_empty())
            });
            // Fewest of its siblings first where the template spreads (topologySpreadConstraints on
            // the hostname, as ScheduleAnyway scores it), then the least-allocated node that
            // fits, as the default scoring prefers.
            let best = nodes
                .iter()
                .filter(|(n, c, m)| {
                    let (uc, um) = used.get(n).copied().unwrap_or_default();
                    uc + cpu <= *c && um + mem <= *m
                })
                .min_by_key(|(n, c, _)| {
                    let skew = if spread {
                        siblings.get(&(k.0.clone(), owner.clone(), n.clone())).copied().unwrap_or(0)
                    } else {
                        0
                    };
                    (skew, used.get(n).map_or(0, |u| u.0) * 1000 / (*c).max(1), n.clone())
                });
            if let Some((node, _, _)) = best {
                *siblings.entry((k.0.clone(), owner.clone(), node.clone())).or_default() += 1;
            }
            let pod = self.pods.get_mut(&k).expect("listed above");
            match best {
                Some((node, _, _)) => {
                    pod.node = Some(node.clone());
                    pod.scheduled_at = Some(now);
                    pod.unschedulable_since = None;
                    let e = used.entry(node.clone()).or_default();
                    e.0 += cpu;
                    e.1 += mem;
                    self.write_pod(store, &k, now);
                }
                None if pod.unschedulable_since.is_none() => {
                    pod.unschedulable_since = Some(now);
                    let message =
                        format!("0/{} nodes are available: {} Insufficient cpu.", nodes.len(), nodes.len());
                    self.write_pod(store, &k, now);
                    self.event(
                        store,
                        now,
                        &k.0,
                        ("Pod", &k.1),
                        "Warning",
                        "FailedScheduling",
                        &message,
                        "default-scheduler",
                    );
                }
                None => {}
            }
        }
    }

    /// Starts scheduled pods, marks them ready, and now and then restarts a container (about
    /// once per pod every six hours, at moments the seed decides).
    pub(super) fn run_kubelets(&mut self, store: &mut Store, now: Millis) {
        let mut changed = Vec::new();
        let second = now / 1000;
        // The same chance per simulated second whatever the step.
        let every = (RESTART_EVERY_SECS / (self.step_ms / 1000).max(1)).max(1);
        for (k, p) in self.pods.iter_mut() {
            let Some(scheduled_at) = p.scheduled_at else { continue };
            let dice = (hash_str(&k.1) ^ self.seed.wrapping_mul(0x9E37_79B9))
                .wrapping_add(second)
                .wrapping_mul(0x2545_F491_4F6C_DD1D);
            if p.ready_since.is_some() && dice.is_multiple_of(every) {
                p.restarts += 1;
                p.running_since = Some(now);
                p.ready_since = None;
                changed.push(k.clone());
            } else if p.running_since.is_none() && now >= scheduled_at + START_LATENCY_MS {
                p.running_since = Some(now);
                changed.push(k.clone());
            } else if let Some(run) = p.running_since
                && p.ready_since.is_none()
                && now >= run + READY_DELAY_MS
            {
                p.ready_since = Some(now);
                changed.push(k.clone());
            }
        }
        for k in changed {
            if let Some(p) = self.pods.get(&k) {
                self.dirty.insert(key(&k.0, &p.owner));
            }
            self.write_pod(store, &k, now);
        }
    }

    pub(super) fn join_nodes(&mut self, store: &mut Store, now: Millis) {
        let (ready, waiting): (Vec<_>, Vec<_>) = self.nodes_joining.drain(..).partition(|(_, at)| *at <= now);
        self.nodes_joining = waiting;
        for (name, _) in ready {
            let spec = NodeSpec { name: name.clone(), ..self.node_template.clone() };
            if store.create(&NODES, spec.object(), &rfc3339(now)).is_ok() {
                self.event(
                    store,
                    now,
                    "default",
                    ("Node", &name),
                    "Normal",
                    "RegisteredNode",
                    &format!("Node {name} event: Registered Node {name} in Controller"),
                    "node-controller",
                );
            }
        }
    }
}
