//! A workload's recorded demand, step by step: total CPU and memory use, request rate, ready
//! and desired replicas, in columns (a week of 15-s steps is 40,320 of each).

use serde::{Deserialize, Serialize};

/// The start-up delay assumed when the history shows none.
pub const DEFAULT_READY_DELAY_MS: i64 = 30_000;

/// Recorded demand at a fixed step; `None` where nothing was recorded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Series {
    /// Time of the first step (Unix ms).
    pub from_ms: i64,
    pub step_ms: i64,
    /// Where the steps come from, e.g. "15 s samples" or "5 min rollups".
    pub resolution: String,
    /// CPU each pod requests, cores.
    pub cpu_request_per_pod: f64,
    /// Memory each pod requests, bytes.
    pub memory_request_per_pod: f64,
    /// Total CPU used by the workload, cores.
    pub cpu: Vec<Option<f32>>,
    /// Total memory used, bytes.
    pub memory: Vec<Option<f32>>,
    /// Requests per second.
    pub rate: Vec<Option<f32>>,
    pub ready: Vec<Option<u16>>,
    /// The replica count that was set (the HPA's decision, or whoever scaled).
    pub desired: Vec<Option<u16>>,
}

impl Series {
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
        let skip = self.len() - keep;
        Series {
            from_ms: self.at(skip),
            step_ms: self.step_ms,
            resolution: self.resolution.clone(),
            cpu_request_per_pod: self.cpu_request_per_pod,
            memory_request_per_pod: self.memory_request_per_pod,
            cpu: self.cpu[skip..].to_vec(),
            memory: self.memory[skip..].to_vec(),
            rate: self.rate[skip..].to_vec(),
            ready: self.ready[skip..].to_vec(),
            desired: self.desired[skip..].to_vec(),
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
