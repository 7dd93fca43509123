//! The live feed's message: one `snapshot` event of `/api/v1/live`, written by the server and
//! read by the browser, and how it is derived from two consecutive pictures of the cluster.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::dto::{ClusterTotals, Connection, Workload};

/// One `snapshot` event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LiveChange {
    pub version: u64,
    pub taken_at_ms: i64,
    pub connection: Connection,
    pub totals: ClusterTotals,
    /// Workloads new or different since the previous event (all of them in the first);
    /// empty with `?workloads=names`.
    #[serde(default)]
    pub changed: Vec<Workload>,
    /// `namespace/name` of the changed workloads.
    pub changed_names: Vec<String>,
    /// `namespace/name` of workloads that disappeared.
    pub removed: Vec<String>,
}

/// `namespace/name`: how the feed names a workload in `changed_names` and `removed`.
pub fn workload_key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

impl LiveChange {
    /// The change from `previous` (none: everything) to `next`, both sorted by namespace and
    /// name as snapshots keep them. Without `bodies`, `changed` stays empty and only the names
    /// are listed (no figures are copied).
    pub fn between<W: std::borrow::Borrow<Workload>>(
        previous: Option<&[W]>,
        next: &[W],
        bodies: bool,
        version: u64,
        taken_at_ms: i64,
        connection: Connection,
        totals: ClusterTotals,
    ) -> LiveChange {
        let before: HashMap<(&str, &str), &Workload> = previous
            .into_iter()
            .flatten()
            .map(W::borrow)
            .map(|w| ((w.namespace.as_str(), w.name.as_str()), w))
            .collect();
        // Figures shared between snapshots are the same figures: no need to compare them.
        let differ: Vec<&Workload> = next
            .iter()
            .map(W::borrow)
            .filter(|w| {
                before
                    .get(&(w.namespace.as_str(), w.name.as_str()))
                    .is_none_or(|old| !std::ptr::eq(*old, *w) && *old != *w)
            })
            .collect();
        let changed_names = differ.iter().map(|w| workload_key(&w.namespace, &w.name)).collect();
        let changed = if bodies { differ.into_iter().cloned().collect() } else { Vec::new() };
        let present: std::collections::HashSet<(&str, &str)> =
            next.iter().map(W::borrow).map(|w| (w.namespace.as_str(), w.name.as_str())).collect();
        let removed = previous
            .into_iter()
            .flatten()
            .map(W::borrow)
            .filter(|w| !present.contains(&(w.namespace.as_str(), w.name.as_str())))
            .map(|w| workload_key(&w.namespace, &w.name))
            .collect();
        LiveChange { version, taken_at_ms, connection, totals, changed, changed_names, removed }
    }

    /// Whether `namespace/name` changed or went away in this event.
    pub fn touches(&self, key: &str) -> bool {
        self.changed_names.iter().chain(&self.removed).any(|k| k == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::Replicas;

    fn workload(name: &str, replicas: i32) -> Workload {
        Workload {
            namespace: "ns".into(),
            name: name.into(),
            replicas: Replicas { desired: replicas, ..Default::default() },
            ..Default::default()
        }
    }

    fn change(previous: Option<&[Workload]>, next: &[Workload]) -> LiveChange {
        LiveChange::between(previous, next, true, 2, 0, Connection::default(), ClusterTotals::default())
    }

    #[test]
    fn the_first_event_carries_everything_and_later_ones_only_changes() {
        let a = vec![workload("a", 1), workload("b", 1)];
        assert_eq!(change(None, &a).changed.len(), 2);
        let b = vec![workload("a", 3)];
        let c = change(Some(&a), &b);
        assert_eq!(c.changed, vec![workload("a", 3)]);
        assert_eq!(c.changed_names, vec!["ns/a"]);
        assert_eq!(c.removed, vec!["ns/b"]);
        assert!(c.touches("ns/a") && c.touches("ns/b") && !c.touches("ns/c"));
    }

    #[test]
    fn without_bodies_only_the_names_are_listed() {
        let a = vec![workload("a", 1), workload("b", 1)];
        let b = vec![workload("a", 2), workload("b", 1)];
        let c =
            LiveChange::between(Some(&a), &b, false, 3, 0, Connection::default(), ClusterTotals::default());
        assert!(c.changed.is_empty());
        assert_eq!(c.changed_names, vec!["ns/a"]);
    }

    #[test]
    fn a_names_only_event_reads_without_bodies() {
        let mut text = serde_json::to_value(change(None, &[workload("a", 1)])).unwrap();
        text.as_object_mut().unwrap().remove("changed");
        let event: LiveChange = serde_json::from_value(text).unwrap();
        assert!(event.changed.is_empty());
        assert!(event.touches("ns/a"));
    }
}
