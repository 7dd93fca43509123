//! The advisor on the server: the governance rules judged on recorded history every few
//! minutes (one workload at a time, off the request path), joined at each request with the
//! rules judged on the live snapshot, into the domain's report.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use domain::{
    rules::{
        RuleFinding,
        history::{self, span_label},
        report::{FindingsQuery, FindingsReport, report},
    },
    whatif::Window,
};

use crate::{clock::unix_ms, cluster::ClusterView, whatif::WhatIf};

/// How far back the history rules look.
pub const WINDOW: Window = Window::Day;
/// How often recorded history is judged again (the live rules follow every snapshot).
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(600);

/// What the last sweep found, per workload, with the spec generation it was judged against:
/// a finding about a configuration since changed is not shown.
#[derive(Default)]
struct Judged {
    findings: HashMap<(String, String), Verdict>,
    at_ms: Option<i64>,
}

/// One workload's history findings and the generation they were judged against.
struct Verdict {
    generation: (bool, i64),
    findings: Vec<RuleFinding>,
}

/// The generation of what the history rules judge: the HPA's spec where there is one (the
/// Deployment's moves with every scaling), else the Deployment's.
fn generations(w: &app::dto::Workload) -> (bool, i64) {
    match &w.autoscaler {
        Some(a) => (true, a.generation),
        None => (false, w.generation),
    }
}

/// The advisor: the live snapshot, the history sweep's results, and the report of both.
#[derive(Clone)]
pub struct Advisor {
    cluster: ClusterView,
    /// The recorded demand, when this server records history.
    whatif: Option<WhatIf>,
    judged: Arc<RwLock<Judged>>,
}

impl Advisor {
    /// An advisor on the live state only.
    pub fn new(cluster: ClusterView) -> Self {
        Advisor { cluster, whatif: None, judged: Arc::default() }
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
        let mut found = HashMap::new();
        for w in &snapshot.workloads {
            match whatif.series_of(w, WINDOW).await {
                Ok(series) => {
                    let verdict =
                        Verdict { generation: generations(w), findings: history::evaluate(w, &series) };
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
}

impl app::backend::AdvisorSource for Advisor {
    fn findings(&self, query: &FindingsQuery) -> FindingsReport {
        self.report(query)
    }
}
