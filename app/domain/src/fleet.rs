//! The fleet overview: every cluster's health side by side, and the services needing attention
//! across all of them, worst first.

use serde::{Deserialize, Serialize};

use crate::dto::{ClusterTotals, Connection, Finding, Health};

/// Whether a cluster answers, as its connection says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ClusterState {
    /// Not every watch has listed its kind yet.
    #[default]
    Syncing,
    /// Synced, and nothing worth a banner.
    Answering,
    /// Answering, with problems: a kind forbidden, errors or hangs, no usage data.
    Degraded,
    /// The API server does not answer: figures are as it last did.
    Unreachable,
}

impl ClusterState {
    pub fn of(connection: &Connection) -> ClusterState {
        if !connection.reachable {
            ClusterState::Unreachable
        } else if !connection.synced {
            ClusterState::Syncing
        } else if !connection.problems.is_empty() {
            ClusterState::Degraded
        } else {
            ClusterState::Answering
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ClusterState::Syncing => "Syncing",
            ClusterState::Answering => "Answering",
            ClusterState::Degraded => "Degraded",
            ClusterState::Unreachable => "Unreachable",
        }
    }
}

/// A cluster the picker offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterChoice {
    pub name: String,
    pub display_name: String,
    pub state: ClusterState,
}

/// Every cluster Paydeck watches, and what needs a look across them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FleetOverview {
    /// In the order they are configured; the first is the one the single-cluster pages and
    /// paths show.
    pub clusters: Vec<ClusterSummary>,
    /// Workloads with findings on any cluster, worst first, at most [`ATTENTION_LIMIT`].
    pub attention: Vec<FleetAttention>,
    /// How many workloads with findings there are in all (the list may be cut).
    pub attention_total: usize,
}

/// The most workloads the fleet overview lists as needing attention.
pub const ATTENTION_LIMIT: usize = 50;

/// One cluster at a glance.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClusterSummary {
    /// Its name in paths and in history (a DNS label).
    pub name: String,
    pub display_name: String,
    /// The cluster the single-cluster pages and paths show.
    pub primary: bool,
    /// Whether it answers, and since when (Unix ms; since Paydeck started if it never changed).
    pub state: ClusterState,
    pub since_ms: i64,
    /// Reachable and synced, and the problems worth a banner (why it is not answering).
    pub connection: Connection,
    /// Its snapshot's version and time: figures are as of then (stale while unreachable).
    pub version: u64,
    pub taken_at_ms: i64,
    pub totals: ClusterTotals,
    pub findings: FindingCounts,
}

/// Findings by severity, over a cluster's workloads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FindingCounts {
    pub critical: u32,
    pub warning: u32,
}

impl FindingCounts {
    /// Counts `findings` by their health.
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> FindingCounts {
        let mut counts = FindingCounts::default();
        for f in findings {
            match f.health {
                Health::Critical => counts.critical += 1,
                Health::Warning => counts.warning += 1,
                Health::Healthy => {}
            }
        }
        counts
    }
}

/// A workload needing a look, and on which cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FleetAttention {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub health: Health,
    pub findings: Vec<Finding>,
}

/// Joins the clusters' attention lists: worst first, then by cluster, namespace and name; cut
/// at [`ATTENTION_LIMIT`].
pub fn worst_first(mut items: Vec<FleetAttention>) -> (Vec<FleetAttention>, usize) {
    items.sort_by(|a, b| {
        (a.health, &a.cluster, &a.namespace, &a.name).cmp(&(b.health, &b.cluster, &b.namespace, &b.name))
    });
    let total = items.len();
    items.truncate(ATTENTION_LIMIT);
    (items, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(health: Health) -> Finding {
        Finding { health, code: "x".into(), message: String::new() }
    }

    #[test]
    fn findings_are_counted_by_severity_and_the_worst_come_first_across_clusters() {
        let counts = FindingCounts::of(&[
            finding(Health::Critical),
            finding(Health::Warning),
            finding(Health::Warning),
        ]);
        assert_eq!(counts, FindingCounts { critical: 1, warning: 2 });
        let item = |cluster: &str, name: &str, health| FleetAttention {
            cluster: cluster.into(),
            namespace: "ns".into(),
            name: name.into(),
            health,
            findings: vec![finding(health)],
        };
        let many: Vec<FleetAttention> =
            (0..60).map(|i| item("b", &format!("w{i:02}"), Health::Warning)).collect();
        let (top, total) = worst_first([many, vec![item("c", "down", Health::Critical)]].concat());
        assert_eq!((top.len(), total), (ATTENTION_LIMIT, 61));
        assert_eq!((top[0].cluster.as_str(), top[0].name.as_str()), ("c", "down"));
        assert_eq!(top[1].name, "w00");
    }
}
