//! A fleet of clusters watched by one Paydeck. Each member has its own watches, snapshots and
//! history; the fleet's figures are read from each member's latest snapshot, in memory, so one
//! unreachable, hung or forbidden cluster never blocks or slows the others: nothing awaits
//! across members. A member's state (answering, degraded, unreachable) is tracked as it
//! changes, to say since when.

pub mod clusters;

use std::sync::{Arc, Mutex};

use domain::fleet::{
    ATTENTION_LIMIT, ClusterState, ClusterSummary, FindingCounts, FleetAttention, FleetOverview, worst_first,
};

use crate::{clock::WallClock, cluster::ClusterView};

/// A workload and the cluster it runs on, for listings of the whole fleet.
struct Placed<'a> {
    cluster: &'a str,
    workload: &'a app::dto::Workload,
}

impl std::borrow::Borrow<app::dto::Workload> for Placed<'_> {
    fn borrow(&self) -> &app::dto::Workload {
        self.workload
    }
}

/// One cluster of the fleet.
#[derive(Clone)]
pub struct Member {
    pub name: String,
    pub display_name: String,
    pub view: ClusterView,
    /// Its state as last seen, and since when (Unix ms).
    state: Arc<Mutex<(ClusterState, i64)>>,
}

impl Member {
    /// A member showing `view`; follows its reachability from now on.
    pub fn watching(name: &str, display_name: &str, view: ClusterView, clock: WallClock) -> Member {
        let state = Arc::new(Mutex::new((ClusterState::of(&view.current().connection), clock.now_ms())));
        let (tracked, mut snapshots) = (state.clone(), view.subscribe());
        tokio::spawn(async move {
            loop {
                let now = ClusterState::of(&snapshots.borrow_and_update().connection);
                {
                    let mut last = tracked.lock().unwrap_or_else(|e| e.into_inner());
                    if last.0 != now {
                        *last = (now, clock.now_ms());
                    }
                }
                if snapshots.changed().await.is_err() {
                    return;
                }
            }
        });
        Member { name: name.to_string(), display_name: display_name.to_string(), view, state }
    }

    /// This member at a glance.
    pub fn summary(&self, primary: bool) -> ClusterSummary {
        let snapshot = self.view.current();
        let (state, since_ms) = *self.state.lock().unwrap_or_else(|e| e.into_inner());
        ClusterSummary {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            primary,
            state,
            since_ms,
            connection: snapshot.connection.clone(),
            version: snapshot.version,
            taken_at_ms: snapshot.taken_at_ms,
            totals: snapshot.totals.clone(),
            findings: FindingCounts::of(snapshot.workloads.iter().flat_map(|w| w.findings.iter())),
        }
    }

    /// Its worst workloads (at most as many as the fleet lists: the fleet's worst are among
    /// every member's worst) and how many have findings. Sorted before anything is copied, so
    /// a cluster of thousands of findings copies only what can be shown.
    fn attention(&self) -> (Vec<FleetAttention>, usize) {
        let snapshot = self.view.current();
        let mut worst: Vec<_> = snapshot.workloads.iter().filter(|w| !w.findings.is_empty()).collect();
        let total = worst.len();
        worst.sort_by(|a, b| (a.health, &a.namespace, &a.name).cmp(&(b.health, &b.namespace, &b.name)));
        let shown = worst
            .into_iter()
            .take(ATTENTION_LIMIT)
            .map(|w| FleetAttention {
                cluster: self.name.clone(),
                namespace: w.namespace.clone(),
                name: w.name.clone(),
                health: w.health,
                findings: w.findings.clone(),
            })
            .collect();
        (shown, total)
    }
}

impl domain::ports::FleetSource for Fleet {
    fn overview(&self) -> FleetOverview {
        Fleet::overview(self)
    }

    fn workloads(
        &self,
        query: &app::dto::WorkloadQuery,
    ) -> Result<app::dto::RowPage, domain::query::QueryError> {
        Fleet::workloads(self, query)
    }

    fn choices(&self) -> Vec<domain::fleet::ClusterChoice> {
        self.members
            .iter()
            .map(|m| domain::fleet::ClusterChoice {
                name: m.name.clone(),
                display_name: m.display_name.clone(),
                state: m.state.lock().unwrap_or_else(|e| e.into_inner()).0,
            })
            .collect()
    }
}

/// The clusters Paydeck watches; the first is the primary, which the single-cluster pages and
/// paths show.
#[derive(Clone, Default)]
pub struct Fleet {
    members: Vec<Member>,
}

impl Fleet {
    pub fn new(members: Vec<Member>) -> Fleet {
        Fleet { members }
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    /// Every cluster side by side, and what needs attention across them.
    pub fn overview(&self) -> FleetOverview {
        let clusters = self.members.iter().enumerate().map(|(i, m)| m.summary(i == 0)).collect();
        let (mut candidates, mut attention_total) = (Vec::new(), 0);
        for member in &self.members {
            let (worst, total) = member.attention();
            candidates.extend(worst);
            attention_total += total;
        }
        let (attention, _) = worst_first(candidates);
        FleetOverview { clusters, attention, attention_total }
    }

    /// A page of every cluster's workloads, sorted and filtered as one list, each row naming
    /// its cluster. Read from each member's latest snapshot; nothing is copied but the page.
    pub fn workloads(
        &self,
        query: &app::dto::WorkloadQuery,
    ) -> Result<app::dto::RowPage, domain::query::QueryError> {
        let snapshots: Vec<_> = self.members.iter().map(|m| (m.name.as_str(), m.view.current())).collect();
        let placed: Vec<Placed> = snapshots
            .iter()
            .flat_map(|(cluster, s)| s.workloads.iter().map(move |workload| Placed { cluster, workload }))
            .collect();
        let (total, page) = domain::query::select(&placed, query)?;
        let items = page
            .into_iter()
            .map(|p| app::dto::WorkloadRow {
                cluster: Some(p.cluster.to_string()),
                ..app::dto::WorkloadRow::from(p.workload)
            })
            .collect();
        let mut namespaces: Vec<String> = snapshots.iter().flat_map(|(_, s)| s.namespaces()).collect();
        namespaces.sort();
        namespaces.dedup();
        // No one version stands for several clusters: a fleet listing is not followed live.
        Ok(app::dto::RowPage { version: 0, total, items, namespaces })
    }

    /// One cluster at a glance, by name.
    pub fn cluster(&self, name: &str) -> Option<ClusterSummary> {
        let i = self.members.iter().position(|m| m.name == name)?;
        Some(self.members[i].summary(i == 0))
    }
}
