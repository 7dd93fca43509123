//! What history keeps: each workload's figures at a sampling moment (what the charts and
//! rollups read), its metrics readings at the time each was taken and its HPA's scales (the
//! last two what the what-if replays), gathered into [`Steps`] that a store writes together.

use app::dto::Workload;

/// What history keeps of one workload at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Figures {
    pub replicas_desired: i32,
    pub replicas_ready: i32,
    pub hpa_min: Option<i32>,
    pub hpa_max: Option<i32>,
    pub hpa_cpu_target: Option<i32>,
    pub cpu_requests: f64,
    pub cpu_limits: Option<f64>,
    pub cpu_usage: Option<f64>,
    pub memory_requests: f64,
    pub memory_limits: Option<f64>,
    pub memory_usage: Option<f64>,
    pub request_rate: Option<f64>,
}

impl Figures {
    pub fn of(w: &Workload) -> Self {
        let hpa = w.autoscaler.as_ref();
        Figures {
            replicas_desired: w.replicas.desired,
            replicas_ready: w.replicas.ready,
            hpa_min: hpa.map(|h| h.min_replicas),
            hpa_max: hpa.map(|h| h.max_replicas),
            hpa_cpu_target: hpa.and_then(|h| h.cpu_target_percent),
            cpu_requests: w.cpu.requests,
            cpu_limits: w.cpu.limits,
            cpu_usage: w.cpu.usage,
            memory_requests: w.memory.requests,
            memory_limits: w.memory.limits,
            memory_usage: w.memory.usage,
            request_rate: w.request_rate,
        }
    }
}

/// A workload's metrics reading, as the what-if replays it (one `demand` row).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ReadingRow {
    /// When metrics-server took it.
    pub at_ms: i64,
    pub window_ms: i64,
    /// The ready pods' CPU in whole millicores, as the HPA controller sums it.
    pub cpu_millis: i64,
    pub memory_bytes: f64,
    pub request_rate: Option<f64>,
    /// The ready pods the reading covers.
    pub ready: i32,
    /// The Deployment's replica count when it was seen.
    pub desired: i32,
}

impl ReadingRow {
    pub fn of(w: &Workload, r: &app::dto::MetricsReading) -> Self {
        ReadingRow {
            at_ms: r.at_ms,
            window_ms: r.window_ms,
            cpu_millis: r.cpu_millis,
            memory_bytes: r.memory_bytes,
            request_rate: w.request_rate,
            ready: r.pods,
            desired: w.replicas.desired,
        }
    }
}

/// A scale the HPA controller made: at its `lastScaleTime`, to `replicas`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub at_ms: i64,
    pub replicas: i32,
}

/// History to write together: the workloads' names once, then each sampling step's figures,
/// the metrics readings and the HPA decisions, each naming its workload by its index in
/// `workloads`.
#[derive(Debug, Default)]
pub struct Steps {
    pub workloads: Vec<(String, String)>,
    pub steps: Vec<(i64, Vec<(usize, Figures)>)>,
    pub readings: Vec<(usize, ReadingRow)>,
    pub decisions: Vec<(usize, Decision)>,
}

impl Steps {
    /// One step: every workload of a snapshot at `at_ms`.
    pub fn one<W: std::borrow::Borrow<Workload>>(at_ms: i64, workloads: &[W]) -> Self {
        let workloads = workloads.iter().map(W::borrow);
        Steps {
            workloads: workloads.clone().map(|w| (w.namespace.clone(), w.name.clone())).collect(),
            steps: vec![(at_ms, workloads.enumerate().map(|(i, w)| (i, Figures::of(w))).collect())],
            ..Steps::default()
        }
    }

    /// Workload samples in all the steps.
    pub fn samples(&self) -> usize {
        self.steps.iter().map(|(_, s)| s.len()).sum()
    }
}

/// An event of a generated past, written with its steps.
#[derive(Clone, Debug)]
pub struct PastEvent {
    pub namespace: String,
    pub name: String,
    pub at_ms: i64,
    pub kind: &'static str,
    pub message: String,
}
