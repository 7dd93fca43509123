//! Kubernetes Events the controllers write, and their expiry.

use serde_json::json;

use super::*;
use crate::{
    clock::{Millis, rfc3339, rfc3339_micros},
    resources::EVENTS,
    store::{Key, Store},
};

impl Model {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn event(
        &mut self,
        store: &mut Store,
        now: Millis,
        ns: &str,
        (kind, name): (&str, &str),
        type_: &str,
        reason: &str,
        message: &str,
        component: &str,
    ) {
        self.next_event += 1;
        let api_version = match kind {
            "Deployment" => "apps/v1",
            "HorizontalPodAutoscaler" => "autoscaling/v2",
            _ => "v1",
        };
        let object = json!({
            "metadata": { "name": format!("{name}.{:016x}", now * 1000 + self.next_event), "namespace": ns },
            "involvedObject": { "kind": kind, "namespace": ns, "name": name, "apiVersion": api_version },
            "reason": reason,
            "message": message,
            "type": type_,
            "source": { "component": component },
            "reportingComponent": component,
            "firstTimestamp": rfc3339(now),
            "lastTimestamp": rfc3339(now),
            "eventTime": rfc3339_micros(now),
            "count": 1,
        });
        let _ = store.create(&EVENTS, object, &rfc3339(now));
    }

    pub(super) fn expire_events(&mut self, store: &mut Store, now: Millis) {
        let cutoff = rfc3339(now.saturating_sub(EVENT_TTL_MS));
        let old: Vec<Key> = store
            .list(&EVENTS, None, None)
            .filter(|(_, e)| e["lastTimestamp"].as_str().is_some_and(|t| t < cutoff.as_str()))
            .map(|(k, _)| k.clone())
            .collect();
        for (ns, name) in old {
            let _ = store.delete(&EVENTS, &ns, &name);
        }
    }
}
