//! The advisor on the server: every few minutes (one workload at a time, off the request
//! path) it reads each workload's recorded demand once and judges the governance rules on
//! its last day, right-sizing on its last week and the planner's profile on its last day.
//! Requests join that with the live snapshot: the rules judged on it, the HPAs and requests
//! as they are now, the nodes' room.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use domain::{
    planner::{self, PlanQuery, PlanReport, Profile},
    rules::{
        RuleFinding,
        history::{self, span_label},
        report::{FindingsQuery, FindingsReport, report},
    },
    sizing::{self, Room, Sizing, SizingOptions, SizingQuery, SizingReport, SizingRow},
    whatif::Window,
};

use crate::{clock::unix_ms, cluster::ClusterView, whatif::WhatIf};

/// How far back the history rules and the planner's "today's peak" look.
pub const WINDOW: Window = Window::Day;
/// How far back right-sizing looks.
pub const SIZING_WINDOW: Window = Window::Week;
/// How often recorded history is judged again (the live rules follow every snapshot).
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(600);

/// What the last sweep found, per workload, with the spec it was judged against: a finding
/// about a configuration since changed is not shown.
#[derive(Default)]
struct Judged {
    findings: HashMap<(String, String), Verdict>,
    at_ms: Option<i64>,
}

/// One workload's history findings and right-sizing, the spec they were judged against, and
/// its profile for the planner (which does not depend on the configuration).
struct Verdict {
    generation: JudgedSpec,
    findings: Vec<RuleFinding>,
    sizing: Sizing,
    profile: Profile,
}

/// The spec the history rules judge: the HPA's where there is one (by its hash: clusters
/// keep no generation for HPAs; the Deployment's generation moves with every scaling), else
/// the Deployment's generation.
#[derive(Clone, Debug, PartialEq, Eq)]
enum JudgedSpec {
    Autoscaler(String),
    Deployment(i64),
}

fn generations(w: &app::dto::Workload) -> JudgedSpec {
    match &w.autoscaler {
        Some(a) => JudgedSpec::Autoscaler(a.spec_hash.clone()),
        None => JudgedSpec::Deployment(w.generation),
    }
}

/// The advisor: the live snapshot, the history sweep's results, and the report of both.
#[derive(Clone)]
pub struct Advisor {
    cluster: ClusterView,
    /// The recorded demand, when this server records history.
    whatif: Option<WhatIf>,
    sizing: SizingOptions,
    judged: Arc<RwLock<Judged>>,
}

/// The room on the nodes, from the snapshot's totals.
fn room_of(totals: &app::dto::ClusterTotals) -> Room {
    let nodes = f64::from(totals.nodes.max(1));
    Room {
        free_cpu: (totals.cpu.allocatable - totals.cpu.requests).max(0.0),
        free_memory: (totals.memory.allocatable - totals.memory.requests).max(0.0),
        node_cpu: totals.cpu.allocatable / nodes,
        node_memory: totals.memory.allocatable / nodes,
    }
}

/// Whether `w` is in the scope of a namespace / name filter.
fn in_scope(w: &app::dto::Workload, namespace: Option<&str>, name: Option<&str>) -> bool {
    namespace.is_none_or(|n| n == w.namespace) && name.is_none_or(|n| n == w.name)
}

impl Advisor {
    /// An advisor on the live state only.
    pub fn new(cluster: ClusterView) -> Self {
        Advisor { cluster, whatif: None, sizing: SizingOptions::default(), judged: Arc::default() }
    }

    /// Right-sizing tuned by `options`.
    pub fn with_sizing(self, options: SizingOptions) -> Self {
        Advisor { sizing: options, ..self }
    }

    /// Right-sizing's percentile and headroom.
    pub fn sizing_options(&self) -> SizingOptions {
        self.sizing.clone()
    }

    /// Judging recorded history too.
    pub fn with_history(self, whatif: WhatIf) -> Self {
        Advisor { whatif: Some(whatif), ..self }
    }

    fn cluster(&self) -> &ClusterView {
        &self.cluster
    }

    /// Judges every workload's recorded demand once; returns how many were judged.
    pub async fn sweep(&self) -> usize {
        let Some(whatif) = &self.whatif else { return 0 };
        let snapshot = self.cluster().current();
        let room = room_of(&snapshot.totals);
        let mut found = HashMap::new();
        for w in &snapshot.workloads {
            match whatif.series_of(w, SIZING_WINDOW).await {
                Ok(week) => {
                    let day = week.tail(WINDOW.millis());
                    let verdict = Verdict {
                        generation: generations(w),
                        findings: history::evaluate(w, &day),
                        sizing: sizing::recommend(w, &week, &self.sizing, &room),
                        profile: Profile::of(w, &day),
                    };
                    found.insert((w.namespace.clone(), w.name.clone()), verdict);
                }
                // Nothing recorded yet is not a finding; a database error is logged and the
                // workload judged again next time.
                Err(crate::whatif::WhatIfError::NoHistory(_)) => {}
                Err(e) => {
                    tracing::warn!(namespace = %w.namespace, name = %w.name, error = %e, "advisor: demand unreadable")
                }
            }
            // Yield between workloads: a sweep of thousands never holds a worker.
            tokio::task::yield_now().await;
        }
        let judged = found.len();
        let mut j = self.judged.write().unwrap_or_else(|e| e.into_inner());
        j.findings = found;
        j.at_ms = Some(unix_ms());
        judged
    }

    /// Sweeps once the cluster is synced, then every `interval`, until `stopping` (nothing
    /// to do without history).
    pub fn start(&self, interval: Duration, mut stopping: tokio::sync::watch::Receiver<bool>) {
        if self.whatif.is_none() {
            return;
        }
        let advisor = self.clone();
        tokio::spawn(async move {
            let this = advisor;
            this.cluster().synced().await;
            loop {
                let started = std::time::Instant::now();
                let judged = this.sweep().await;
                tracing::info!(judged, seconds = started.elapsed().as_secs_f64(), "advisor: history judged");
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = stopping.wait_for(|stop| *stop) => return,
                }
            }
        });
    }

    /// The report for `query`: live findings from the current snapshot, history findings from
    /// the last sweep with the Deployment's current waivers — unless its spec or its HPA's
    /// changed since (judged again at the next sweep).
    pub fn report(&self, query: &FindingsQuery) -> FindingsReport {
        let snapshot = self.cluster().current();
        let j = self.judged.read().unwrap_or_else(|e| e.into_inner());
        let all = snapshot.workloads.iter().map(|w| {
            let w: &app::dto::Workload = w;
            let mut found = w.governance.clone();
            if let Some(verdict) = j.findings.get(&(w.namespace.clone(), w.name.clone()))
                && verdict.generation == generations(w)
            {
                found.extend(verdict.findings.iter().cloned().map(|f| RuleFinding { waived: None, ..f }));
                w.waivers.apply(&mut found);
            }
            (w, found)
        });
        FindingsReport {
            history_judged_at_ms: j.at_ms,
            history_window: if self.whatif.is_some() { span_label(WINDOW.millis()) } else { String::new() },
            ..report(all, query)
        }
    }

    /// Right-sizing for the workloads in `query`'s scope, as judged at the last sweep — a
    /// workload whose spec or HPA changed since waits for the next one.
    pub fn sizing(&self, query: &SizingQuery) -> SizingReport {
        let snapshot = self.cluster().current();
        let j = self.judged.read().unwrap_or_else(|e| e.into_inner());
        let rows = snapshot
            .workloads
            .iter()
            .filter(|w| in_scope(w, query.namespace.as_deref(), query.name.as_deref()))
            .filter_map(|w| {
                let verdict = j.findings.get(&(w.namespace.clone(), w.name.clone()))?;
                (verdict.generation == generations(w)).then(|| SizingRow {
                    namespace: w.namespace.clone(),
                    name: w.name.clone(),
                    critical: w.critical,
                    sizing: verdict.sizing.clone(),
                })
            })
            .collect();
        SizingReport {
            judged_at_ms: j.at_ms,
            window: span_label(SIZING_WINDOW.millis()),
            ..SizingReport::of(rows, self.sizing.clone())
        }
    }

    /// The capacity plan for `query`: the recorded profiles with each workload's
    /// configuration as it is now, against the nodes' room now.
    pub fn plan(&self, query: &PlanQuery) -> PlanReport {
        let snapshot = self.cluster().current();
        let j = self.judged.read().unwrap_or_else(|e| e.into_inner());
        let profiles: Vec<Profile> = snapshot
            .workloads
            .iter()
            .filter(|w| in_scope(w, query.namespace.as_deref(), None))
            .filter_map(|w| {
                let verdict = j.findings.get(&(w.namespace.clone(), w.name.clone()))?;
                Some(verdict.profile.clone().with_live(w))
            })
            .collect();
        PlanReport {
            peak: query.peak,
            plan: planner::plan(&profiles, query.peak, room_of(&snapshot.totals)),
            judged_at_ms: j.at_ms,
            window: span_label(WINDOW.millis()),
        }
    }
}

impl domain::ports::AdvisorSource for Advisor {
    fn findings(&self, query: &FindingsQuery) -> FindingsReport {
        self.report(query)
    }

    fn sizing(&self, query: &SizingQuery) -> SizingReport {
        Advisor::sizing(self, query)
    }

    fn plan(&self, query: &PlanQuery) -> Result<PlanReport, String> {
        query.peak.check()?;
        Ok(Advisor::plan(self, query))
    }
}
