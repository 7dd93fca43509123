//! What the what-if replays, taken from snapshots as they come: every metrics reading (at the
//! time metrics-server took it, not when Paydeck happened to sample) and every scale the HPA
//! controller made (at its `lastScaleTime`). A sampler that only looked at the latest
//! snapshot each interval would miss readings that came and went between two samples, and
//! stamp the rest with its own moments; the controller decided on each of them at its own.

use std::collections::HashMap;

use app::dto::Workload;

use super::steps::{Decision, ReadingRow, Steps};

/// Rows waiting beyond this (the database refusing writes for a long while) are dropped,
/// oldest first: at 10,000 workloads, about two minutes of readings.
const MAX_WAITING: usize = 200_000;

/// Readings and decisions seen, waiting to be written.
#[derive(Debug, Default)]
pub struct Observed {
    steps: Steps,
    index: HashMap<(String, String), usize>,
}

impl Observed {
    fn workload(&mut self, w: &Workload) -> usize {
        let key = (w.namespace.clone(), w.name.clone());
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        self.steps.workloads.push(key.clone());
        self.index.insert(key, self.steps.workloads.len() - 1);
        self.steps.workloads.len() - 1
    }

    /// Takes what `after` shows that `before` did not ([`news`]).
    pub fn observe(&mut self, before: Option<&Workload>, after: &Workload) {
        let (reading, decision) = news(before, after);
        if let Some(r) = reading {
            let i = self.workload(after);
            self.steps.readings.push((i, r));
        }
        if let Some(d) = decision {
            let i = self.workload(after);
            self.steps.decisions.push((i, d));
        }
        let waiting = self.steps.readings.len() + self.steps.decisions.len();
        if waiting > MAX_WAITING {
            let drop = self.steps.readings.len() / 2;
            self.steps.readings.drain(..drop);
            tracing::warn!("history: {drop} metrics readings could not be written in time and are dropped");
        }
    }

    /// Whether anything waits.
    pub fn is_empty(&self) -> bool {
        self.steps.readings.is_empty() && self.steps.decisions.is_empty()
    }

    /// What waits, to be written; nothing waits after.
    pub fn take(&mut self) -> Steps {
        self.index.clear();
        std::mem::take(&mut self.steps)
    }

    /// Puts back what could not be written, ahead of what came since.
    pub fn put_back(&mut self, mut earlier: Steps) {
        let later = self.take();
        let offset = earlier.workloads.len();
        earlier.workloads.extend(later.workloads);
        earlier.readings.extend(later.readings.into_iter().map(|(i, r)| (i + offset, r)));
        earlier.decisions.extend(later.decisions.into_iter().map(|(i, d)| (i + offset, d)));
        self.index = earlier.workloads.iter().enumerate().map(|(i, k)| (k.clone(), i)).collect();
        self.steps = earlier;
    }
}

/// What `after` shows that `before` (the same workload in the snapshot before, if it was in
/// one) did not: a new metrics reading, a new scale by its HPA.
pub fn news(before: Option<&Workload>, after: &Workload) -> (Option<ReadingRow>, Option<Decision>) {
    let reading = after
        .metrics
        .filter(|r| r.at_ms > 0 && before.and_then(|b| b.metrics).map(|b| b.at_ms) != Some(r.at_ms))
        .map(|r| ReadingRow::of(after, &r));
    let decision = decision_of(after).filter(|d| before.and_then(decision_of) != Some(*d));
    (reading, decision)
}

/// The last scale an HPA made, as its status says (`lastScaleTime`, and the count it set).
fn decision_of(w: &Workload) -> Option<Decision> {
    let a = w.autoscaler.as_ref()?;
    let at = a.last_scale_time.as_deref()?.parse::<jiff::Timestamp>().ok()?.as_millisecond();
    Some(Decision { at_ms: at, replicas: a.desired_replicas })
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::dto::{Autoscaler, MetricsReading, Replicas};

    fn workload(reading_at: i64, scaled_at: &str, replicas: i32) -> Workload {
        Workload {
            namespace: "pay".into(),
            name: "ledger".into(),
            replicas: Replicas { desired: replicas, ready: replicas, ..Replicas::default() },
            metrics: Some(MetricsReading {
                at_ms: reading_at,
                window_ms: 15_000,
                cpu_millis: 1234,
                memory_bytes: 1e9,
                pods: replicas,
            }),
            autoscaler: Some(Autoscaler {
                last_scale_time: Some(scaled_at.into()),
                desired_replicas: replicas,
                ..Autoscaler::default()
            }),
            ..Workload::default()
        }
    }

    #[test]
    fn each_reading_and_each_scale_is_taken_once_at_its_own_time() {
        let mut o = Observed::default();
        let first = workload(7_000, "2026-11-26T09:00:00Z", 3);
        o.observe(None, &first);
        // The same reading in the next snapshot (a pod changed): nothing new.
        o.observe(Some(&first), &first.clone());
        let second = workload(22_000, "2026-11-26T09:00:15Z", 4);
        o.observe(Some(&first), &second);
        assert!(!o.is_empty());
        let steps = o.take();
        assert!(o.is_empty());
        assert_eq!(steps.workloads, vec![("pay".to_string(), "ledger".to_string())]);
        let at: Vec<i64> = steps.readings.iter().map(|(_, r)| r.at_ms).collect();
        assert_eq!(at, vec![7_000, 22_000]);
        assert_eq!(steps.readings[1].1.cpu_millis, 1234);
        let decisions: Vec<(i64, i32)> = steps.decisions.iter().map(|(_, d)| (d.at_ms, d.replicas)).collect();
        assert_eq!(decisions, vec![(1_795_683_600_000, 3), (1_795_683_615_000, 4)]);
    }

    #[test]
    fn what_could_not_be_written_goes_back_ahead_of_what_came_since() {
        let mut o = Observed::default();
        o.observe(None, &workload(7_000, "2026-11-26T09:00:00Z", 3));
        let unwritten = o.take();
        let mut other = workload(22_000, "2026-11-26T09:00:00Z", 3);
        other.name = "fx-rates".into();
        o.observe(None, &other);
        o.put_back(unwritten);
        let steps = o.take();
        let names: Vec<&str> = steps.readings.iter().map(|(i, _)| steps.workloads[*i].1.as_str()).collect();
        assert_eq!(names, vec!["ledger", "fx-rates"]);
    }
}
