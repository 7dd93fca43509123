//! metrics-server: what `metrics.k8s.io` serves, and what the HPA controller reads. Every
//! `METRICS_RESOLUTION_MS` it scrapes the kubelets: a pod's reading is its CPU averaged over
//! the window since the scrape before (the kubelet's cumulative counter read twice) and its
//! memory at the scrape, stamped with the scrape's time and that window. Between scrapes the
//! API serves the last readings, whatever the time; a pod that has not run through a whole
//! window has none. metrics-server keeps its own rhythm: its scrapes fall at a phase of
//! their own, unrelated to the HPA controller's syncs or to any client's polling.

use std::collections::HashMap;

use super::*;
use crate::{clock::Millis, store::Key};

/// metrics-server's `--metric-resolution` (its default).
pub const METRICS_RESOLUTION_MS: Millis = 15_000;
/// Where in each period its scrapes fall (ms past a multiple of the resolution, in Unix
/// time): not where the HPA controller's syncs fall.
const SCRAPE_PHASE_MS: Millis = 7_000;

/// One pod's reading, as the metrics API serves it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reading {
    /// The scrape's time: the end of the window.
    pub at_ms: Millis,
    pub window_ms: Millis,
    /// Average over the window.
    pub cpu_cores: f64,
    /// At the scrape.
    pub memory_bytes: f64,
}

/// What metrics-server holds.
#[derive(Debug, Default)]
pub struct MetricsServer {
    next_scrape: Millis,
    last_scrape: Option<Millis>,
    /// Per running pod: core-milliseconds of CPU since its window began, and when it began.
    accumulated: HashMap<Key, (f64, Millis)>,
    readings: HashMap<Key, Reading>,
}

impl MetricsServer {
    /// metrics-server on a cluster that has been running: every pod in `usage` has a reading
    /// from the last scrape at or before `now`, over a whole window.
    pub(super) fn running_since_long_ago(now: Millis, usage: &HashMap<Key, Usage>) -> Self {
        let last = scrape_at_or_before(now);
        let readings = usage
            .iter()
            .map(|(k, u)| {
                let reading = Reading {
                    at_ms: last,
                    window_ms: METRICS_RESOLUTION_MS,
                    cpu_cores: u.cpu_cores,
                    memory_bytes: u.memory_bytes,
                };
                (k.clone(), reading)
            })
            .collect();
        let accumulated =
            usage.iter().map(|(k, u)| (k.clone(), (u.cpu_cores * (now - last) as f64, last))).collect();
        MetricsServer {
            next_scrape: last + METRICS_RESOLUTION_MS,
            last_scrape: Some(last),
            accumulated,
            readings,
        }
    }

    /// One step of `step_ms` ending at `now`: the pods' use over it counted, and a scrape if
    /// one falls due (at this step's time).
    pub(super) fn step(&mut self, now: Millis, step_ms: Millis, usage: &HashMap<Key, Usage>) {
        for (k, u) in usage {
            let started = now.saturating_sub(step_ms);
            let entry = self.accumulated.entry(k.clone()).or_insert((0.0, started));
            entry.0 += u.cpu_cores * step_ms as f64;
        }
        // Pods gone (or not running) are forgotten: no counter to read.
        self.accumulated.retain(|k, _| usage.contains_key(k));
        if now >= self.next_scrape {
            self.scrape(now, usage);
            while self.next_scrape <= now {
                self.next_scrape += METRICS_RESOLUTION_MS;
            }
        }
    }

    fn scrape(&mut self, now: Millis, usage: &HashMap<Key, Usage>) {
        let previous = self.last_scrape.replace(now);
        let mut readings = HashMap::with_capacity(usage.len());
        for (k, (core_ms, since)) in &mut self.accumulated {
            // A whole window: counted since the scrape before (or longer). A pod started since
            // has only a partial one, and no reading yet.
            let whole = previous.is_some_and(|p| *since <= p);
            if whole && now > *since {
                let u = usage.get(k).copied().unwrap_or_default();
                let window_ms = now - *since;
                readings.insert(
                    k.clone(),
                    Reading {
                        at_ms: now,
                        window_ms,
                        cpu_cores: *core_ms / window_ms as f64,
                        memory_bytes: u.memory_bytes,
                    },
                );
            }
            *core_ms = 0.0;
            *since = now;
        }
        self.readings = readings;
    }

    /// The pod's current reading, if it has one.
    pub fn reading(&self, k: &Key) -> Option<Reading> {
        self.readings.get(k).copied()
    }

    pub(super) fn forget(&mut self, k: &Key) {
        self.accumulated.remove(k);
        self.readings.remove(k);
    }

    /// The clock stepped to `now`: scrapes go on from there.
    pub(super) fn clock_stepped_to(&mut self, now: Millis) {
        self.next_scrape = scrape_at_or_before(now) + METRICS_RESOLUTION_MS;
        if self.last_scrape.is_some_and(|t| t > now) {
            self.last_scrape = Some(scrape_at_or_before(now));
        }
    }
}

/// The last scrape time at or before `t`.
fn scrape_at_or_before(t: Millis) -> Millis {
    let offset = (t + METRICS_RESOLUTION_MS - SCRAPE_PHASE_MS) % METRICS_RESOLUTION_MS;
    t - offset
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(cpu: f64) -> HashMap<Key, Usage> {
        [(
            ("ns".to_string(), "p".to_string()),
            Usage { cpu_cores: cpu, memory_bytes: 1e6, requests_per_sec: 0.0 },
        )]
        .into_iter()
        .collect()
    }

    #[test]
    fn scrapes_fall_on_their_own_phase_and_average_the_window() {
        assert_eq!(scrape_at_or_before(1_000_007_000), 1_000_007_000 - 10_000);
        assert_eq!(scrape_at_or_before(22_000), 22_000);
        let k = ("ns".to_string(), "p".to_string());
        let mut m = MetricsServer::running_since_long_ago(20_000, &usage(1.0));
        assert_eq!(m.reading(&k).unwrap().at_ms, 7_000);
        // One step at 2 cores until the scrape at 22 s: the window 7–22 s averages both.
        for t in 21_000..=22_000 {
            if t % 1000 == 0 {
                m.step(t, 1000, &usage(2.0));
            }
        }
        let r = m.reading(&k).unwrap();
        assert_eq!((r.at_ms, r.window_ms), (22_000, 15_000));
        assert!((r.cpu_cores - (13.0 * 1.0 + 2.0 * 2.0) / 15.0).abs() < 1e-9, "{r:?}");
        // Between scrapes the reading stands.
        m.step(23_000, 1000, &usage(5.0));
        assert_eq!(m.reading(&k), Some(r));
    }

    #[test]
    fn a_new_pod_has_a_reading_only_after_a_whole_window() {
        let k = ("ns".to_string(), "p".to_string());
        let mut m = MetricsServer::running_since_long_ago(20_000, &HashMap::new());
        let mut t = 20_000;
        let mut first = None;
        while first.is_none() {
            t += 1000;
            m.step(t, 1000, &usage(1.0));
            first = m.reading(&k);
        }
        // Running from 20 s: a partial window to the scrape at 22 s, a whole one to 37 s.
        assert_eq!((first.unwrap().at_ms, first.unwrap().window_ms), (37_000, 15_000));
    }
}
