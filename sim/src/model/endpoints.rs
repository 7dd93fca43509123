//! EndpointSlices: the ready pods behind each Service.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;
use crate::{
    clock::{Millis, rfc3339},
    resources::{ENDPOINT_SLICES, SERVICES},
    store::{Key, Store},
};

impl Model {
    /// Rewrites the EndpointSlices of Services selecting a Deployment whose pods changed.
    pub(super) fn sync_endpoints(&mut self, store: &mut Store, now: Millis) {
        let dirty: Vec<Key> = self.dirty.drain().collect();
        let mut services: BTreeSet<Key> = BTreeSet::new();
        for dk in &dirty {
            let Some(view) = self.deployments.get(dk) else { continue };
            for ((ns, name), svc) in store.list(&SERVICES, Some(&dk.0), None) {
                if selects(&svc["spec"]["selector"], &view.template["metadata"]["labels"]) {
                    services.insert(key(ns, name));
                }
            }
        }
        for (ns, name) in services {
            let Some(svc) = store.get(&SERVICES, &ns, &name) else { continue };
            let owners: Vec<Key> = self
                .deployments
                .iter()
                .filter(|((dns, _), v)| {
                    *dns == ns && selects(&svc["spec"]["selector"], &v.template["metadata"]["labels"])
                })
                .map(|(k, _)| k.clone())
                .collect();
            let endpoints: Vec<Value> = owners
                .iter()
                .flat_map(|owner| self.pods_of(owner).collect::<Vec<_>>())
                .filter(|(_, p)| p.running_since.is_some())
                .map(|((_, pname), p)| {
                    let ready = p.ready_since.is_some();
                    json!({ "addresses": [p.ip], "conditions": { "ready": ready, "serving": ready, "terminating": false },
                        "nodeName": p.node, "targetRef": { "kind": "Pod", "namespace": ns, "name": pname } })
                })
                .collect();
            let slice_name = format!("{name}-sim01");
            let object = json!({
                "metadata": { "name": slice_name, "namespace": ns,
                    "labels": { "kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io" } },
                "addressType": "IPv4",
                "endpoints": endpoints,
                "ports": [{ "name": "http", "port": 8080, "protocol": "TCP" }],
            });
            match store.get(&ENDPOINT_SLICES, &ns, &slice_name) {
                Some(current) if current["endpoints"] == object["endpoints"] => {}
                Some(current) => {
                    let mut next = (*current).clone();
                    next["endpoints"] = object["endpoints"].clone();
                    let _ = store.replace(&ENDPOINT_SLICES, next, None);
                }
                None => {
                    let _ = store.create(&ENDPOINT_SLICES, object, &rfc3339(now));
                }
            }
        }
    }
}
