//! A workload's recorded demand at the HPA controller's syncs: at each, the metrics reading
//! the controller had then (the pods' CPU in whole millicores as it sums them, memory,
//! request rate, the pods the reading covers) and the replica count it had set. In columns: a
//! week of 15-s syncs is 40,320 of each.

use serde::{Deserialize, Serialize};

/// The start-up delay assumed when the history shows none.
pub const DEFAULT_READY_DELAY_MS: i64 = 30_000;

/// Recorded demand at the controller's syncs; `None` where nothing was recorded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Series {
    /// Time of the first step (Unix ms): a sync of the controller's.
    pub from_ms: i64,
    /// The controller's sync period.
    pub step_ms: i64,
    /// Where the steps come from, e.g. "metrics readings at the HPA's 15 s syncs".
    pub resolution: String,
    /// CPU each pod requests, cores.
    pub cpu_request_per_pod: f64,
    /// Memory each pod requests, bytes.
    pub memory_request_per_pod: f64,
    /// The CPU of the ready pods the reading covers, cores: whole millicores, each container
    /// rounded up, as the controller sums them.
    pub cpu: Vec<Option<f32>>,
    /// Their memory, bytes.
    pub memory: Vec<Option<f32>>,
    /// Requests per second.
    pub rate: Vec<Option<f32>>,
    /// The ready pods the reading covers.
    pub ready: Vec<Option<u16>>,
    /// The replica count that was set at the sync (the HPA's decision, or whoever scaled).
    pub desired: Vec<Option<u16>>,
}

impl Series {
    /// Whether step `i` was recorded: a reading and the count that was set.
    pub fn recorded(&self, i: usize) -> bool {
        self.cpu.get(i).is_some_and(Option::is_some) && self.desired.get(i).is_some_and(Option::is_some)
    }

    /// Step `i`'s CPU in the controller's whole millicores (the column holds them exactly).
    pub fn cpu_millis(&self, i: usize) -> Option<i64> {
        self.cpu.get(i).copied().flatten().map(|c| (f64::from(c) * 1000.0).round() as i64)
    }

    /// Each pod's CPU request in millicores.
    pub fn cpu_request_millis(&self) -> i64 {
        (self.cpu_request_per_pod * 1000.0).round() as i64
    }

    /// The time the steps cover.
    pub fn span_ms(&self) -> i64 {
        self.len() as i64 * self.step_ms
    }

    /// Steps recorded ([`Series::recorded`]).
    pub fn recorded_steps(&self) -> usize {
        (0..self.len()).filter(|&i| self.recorded(i)).count()
    }

    pub fn len(&self) -> usize {
        self.cpu.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cpu.is_empty()
    }

    /// Time of step `i`.
    pub fn at(&self, i: usize) -> i64 {
        self.from_ms + i as i64 * self.step_ms
    }

    /// The last `span_ms` of the series (all of it when it is shorter).
    pub fn tail(&self, span_ms: i64) -> Series {
        let keep = ((span_ms / self.step_ms.max(1)) as usize).min(self.len());
        self.steps(self.len() - keep, self.len())
    }

    /// The steps from `from_ms` (inclusive) to `to_ms` (exclusive).
    pub fn slice(&self, from_ms: i64, to_ms: i64) -> Series {
        let step = self.step_ms.max(1);
        let index = |ms: i64| (((ms - self.from_ms).max(0) + step - 1) / step) as usize;
        let index = |ms: i64| index(ms).min(self.len());
        let (first, end) = (index(from_ms), index(to_ms));
        self.steps(first, end.max(first))
    }

    /// Steps `first..end`.
    fn steps(&self, first: usize, end: usize) -> Series {
        Series {
            from_ms: self.at(first),
            step_ms: self.step_ms,
            resolution: self.resolution.clone(),
            cpu_request_per_pod: self.cpu_request_per_pod,
            memory_request_per_pod: self.memory_request_per_pod,
            cpu: self.cpu[first..end].to_vec(),
            memory: self.memory[first..end].to_vec(),
            rate: self.rate[first..end].to_vec(),
            ready: self.ready[first..end].to_vec(),
            desired: self.desired[first..end].to_vec(),
        }
    }
}

/// How long new replicas took to become ready, from the recording: for each rise of the
/// desired count, the time until the ready count reached it; the median. `None` when the
/// window has no such rise.
pub fn estimate_ready_delay(series: &Series) -> Option<i64> {
    let mut delays = Vec::new();
    for i in 1..series.len() {
        let (Some(before), Some(now)) = (series.desired[i - 1], series.desired[i]) else { continue };
        if now <= before {
            continue;
        }
        let reached = (i..series.len()).take(240).find(|&j| series.ready[j].is_some_and(|r| r >= now));
        if let Some(j) = reached {
            delays.push((j - i) as i64 * series.step_ms);
        }
    }
    if delays.is_empty() {
        return None;
    }
    delays.sort_unstable();
    Some(delays[delays.len() / 2].max(0))
}
