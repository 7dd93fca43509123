//! Writing a pod's object back when what the cluster knows of it changed.

use serde_json::{Value, json};

use super::*;
use crate::{
    clock::{Millis, rfc3339},
    resources::PODS,
    store::{Key, Store},
};

impl Model {
    pub(super) fn write_pod(&mut self, store: &mut Store, k: &Key, now: Millis) {
        let Some(pod) = self.pods.get(k) else { return };
        let Some(view) = self.deployments.get(&key(&k.0, &pod.owner)) else { return };
        let mut labels = view.template["metadata"]["labels"].clone();
        labels["pod-template-hash"] = json!(template_hash(&pod.owner));
        let mut spec = view.template["spec"].clone();
        if let Some(node) = &pod.node {
            spec["nodeName"] = json!(node);
        }
        let cond = |t: &str, ok: bool, since: Millis| json!({ "type": t, "status": if ok { "True" } else { "False" }, "lastTransitionTime": rfc3339(since) });
        let scheduled = cond("PodScheduled", pod.node.is_some(), pod.created);
        let scheduled = match pod.unschedulable_since {
            Some(t) if pod.node.is_none() => {
                json!({ "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": pod.unschedulable_message, "lastTransitionTime": rfc3339(t) })
            }
            _ => scheduled,
        };
        let ready = pod.ready_since.is_some();
        let phase = if pod.running_since.is_some() { "Running" } else { "Pending" };
        let containers = view.template["spec"]["containers"].as_array().cloned().unwrap_or_default();
        let statuses: Vec<Value> = containers
            .iter()
            .map(|c| {
                let state = match pod.running_since {
                    Some(t) => json!({ "running": { "startedAt": rfc3339(t) } }),
                    None => json!({ "waiting": { "reason": "ContainerCreating" } }),
                };
                json!({ "name": c["name"], "image": c["image"], "imageID": "", "ready": ready, "started": pod.running_since.is_some(),
                    "restartCount": pod.restarts, "state": state })
            })
            .collect();
        let mut status = json!({
            "phase": phase,
            "conditions": [
                scheduled,
                cond("Initialized", pod.node.is_some(), pod.created),
                cond("ContainersReady", ready, pod.ready_since.unwrap_or(pod.created)),
                cond("Ready", ready, pod.ready_since.unwrap_or(pod.created)),
            ],
            "qosClass": "Burstable",
        });
        if pod.node.is_some() {
            status["podIP"] = json!(pod.ip);
            status["podIPs"] = json!([{ "ip": pod.ip }]);
            status["startTime"] = json!(rfc3339(pod.created));
            status["containerStatuses"] = json!(statuses);
        }
        let object = json!({
            "metadata": {
                "name": k.1, "namespace": k.0, "labels": labels,
                "ownerReferences": [{ "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{}-{}", pod.owner, template_hash(&pod.owner)),
                    "uid": view.uid, "controller": true, "blockOwnerDeletion": true }],
            },
            "spec": spec,
            "status": status,
        });
        let result = match store.get(&PODS, &k.0, &k.1) {
            Some(current) => {
                let mut next = object;
                next["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
                store.replace(&PODS, next, None)
            }
            None => store.create(&PODS, object, &rfc3339(now)),
        };
        if let Err(e) = result {
            tracing::warn!("could not store pod {}/{}: {}", k.0, k.1, e.message);
        }
    }
}
