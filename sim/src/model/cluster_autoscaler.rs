//! The cluster autoscaler: a node added when pods stay unschedulable.

use super::*;
use crate::{clock::Millis, resources::NODES, store::Store};

impl Model {
    pub(super) fn run_cluster_autoscaler(&mut self, store: &mut Store, now: Millis) {
        let stuck = self
            .pods
            .values()
            .filter(|p| p.unschedulable_since.is_some_and(|t| now >= t + SCALE_UP_DELAY_MS))
            .count();
        let nodes = store.count(&NODES) + self.nodes_joining.len();
        if stuck == 0 || nodes >= self.max_nodes || !self.nodes_joining.is_empty() {
            return;
        }
        let name = format!("node-{}", nodes + 1);
        self.nodes_joining.push((name.clone(), now + NODE_PROVISION_MS));
        self.event(
            store,
            now,
            "default",
            ("ConfigMap", "cluster-autoscaler-status"),
            "Normal",
            "TriggeredScaleUp",
            &format!(
                "pod triggered scale-up: {stuck} unschedulable pods; adding {name} ({} → {} nodes)",
                nodes,
                nodes + 1
            ),
            "cluster-autoscaler",
        );
    }
}
