//! Counts the requests this server answers, per second, for the overview's traffic chart.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use app::traffic::{TrafficPoint, TrafficSeries};
use axum::{extract::Request, middleware::Next, response::Response};

/// Width of one chart bucket.
pub const BUCKET_SECS: u64 = 5;
/// How far back the chart looks.
pub const WINDOW_SECS: u64 = 300;

/// Per-second request counts over the last [`WINDOW_SECS`], plus a running total.
#[derive(Debug)]
pub struct TrafficMeter {
    started_unix_secs: u64,
    inner: Mutex<Counts>,
    /// Requests answered (`/metrics`).
    pub requests: prometheus_client::metrics::counter::Counter,
}

#[derive(Debug, Default)]
struct Counts {
    /// `(unix second, requests)` in ascending order, only seconds that saw requests.
    per_second: VecDeque<(u64, u64)>,
    total: u64,
}

impl TrafficMeter {
    pub fn new(started_unix_secs: u64) -> Self {
        Self { started_unix_secs, inner: Mutex::new(Counts::default()), requests: Default::default() }
    }

    /// Counts one request answered at `unix_secs`.
    pub fn record(&self, unix_secs: u64) {
        self.requests.inc();
        let mut c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        c.total += 1;
        match c.per_second.back_mut() {
            Some((sec, n)) if *sec == unix_secs => *n += 1,
            _ => c.per_second.push_back((unix_secs, 1)),
        }
        let oldest_kept = unix_secs.saturating_sub(WINDOW_SECS + BUCKET_SECS);
        while c.per_second.front().is_some_and(|(sec, _)| *sec < oldest_kept) {
            c.per_second.pop_front();
        }
    }

    /// The complete buckets of the window ending at `now_unix_secs`: the bucket still filling
    /// and any bucket that began before the server started are left out, as their average
    /// would understate the rate.
    pub fn series(&self, now_unix_secs: u64) -> TrafficSeries {
        let c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let current_bucket = now_unix_secs / BUCKET_SECS * BUCKET_SECS;
        let first_full = self.started_unix_secs.div_ceil(BUCKET_SECS) * BUCKET_SECS;
        let window_start = current_bucket.saturating_sub(WINDOW_SECS);
        let first = window_start.max(first_full);

        let points = (first..current_bucket)
            .step_by(BUCKET_SECS as usize)
            .map(|start| {
                let requests: u64 = c
                    .per_second
                    .iter()
                    .filter(|(sec, _)| (start..start + BUCKET_SECS).contains(sec))
                    .map(|(_, n)| n)
                    .sum();
                TrafficPoint {
                    start_unix_ms: (start * 1000) as i64,
                    requests_per_sec: requests as f64 / BUCKET_SECS as f64,
                }
            })
            .collect();

        TrafficSeries {
            bucket_secs: BUCKET_SECS as u32,
            window_start_unix_ms: (window_start * 1000) as i64,
            window_end_unix_ms: (current_bucket * 1000) as i64,
            points,
            total_requests: c.total,
            uptime_secs: now_unix_secs.saturating_sub(self.started_unix_secs),
        }
    }
}

/// The server functions read the meter through the app's backend trait.
#[derive(Clone)]
pub struct LiveTraffic(pub Arc<TrafficMeter>);

impl app::backend::TrafficSource for LiveTraffic {
    fn recent_traffic(&self) -> TrafficSeries {
        self.0.series(crate::clock::unix_secs())
    }
}

/// Middleware: counts every request once its response is ready.
pub async fn count_requests(
    axum::extract::State(meter): axum::extract::State<Arc<TrafficMeter>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    meter.record(crate::clock::unix_secs());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000; // a multiple of 5

    #[test]
    fn a_bucket_averages_its_requests_over_its_width() {
        let meter = TrafficMeter::new(T0);
        for sec in [T0, T0, T0 + 1, T0 + 4, T0 + 5] {
            meter.record(sec);
        }
        let s = meter.series(T0 + 7);
        assert_eq!(s.points.len(), 1, "only the bucket [T0, T0+5) is complete");
        assert_eq!(s.points[0].start_unix_ms, (T0 * 1000) as i64);
        assert_eq!(s.points[0].requests_per_sec, 4.0 / 5.0);
        assert_eq!(s.total_requests, 5);
        assert_eq!(s.uptime_secs, 7);
        assert_eq!(s.window_end_unix_ms, ((T0 + 5) * 1000) as i64);
        assert_eq!(s.window_start_unix_ms, ((T0 + 5 - WINDOW_SECS) * 1000) as i64);
    }

    #[test]
    fn quiet_buckets_are_zero_not_missing() {
        let meter = TrafficMeter::new(T0);
        meter.record(T0 + 1);
        let s = meter.series(T0 + 20);
        let rates: Vec<f64> = s.points.iter().map(|p| p.requests_per_sec).collect();
        assert_eq!(rates, vec![0.2, 0.0, 0.0, 0.0], "four complete buckets before T0+20");
    }

    #[test]
    fn the_bucket_the_server_started_in_is_left_out() {
        let meter = TrafficMeter::new(T0 + 2);
        meter.record(T0 + 3);
        meter.record(T0 + 6);
        let s = meter.series(T0 + 11);
        assert_eq!(s.points.len(), 1);
        assert_eq!(s.points[0].start_unix_ms, ((T0 + 5) * 1000) as i64);
    }

    #[test]
    fn the_window_is_bounded_and_old_seconds_are_forgotten() {
        let meter = TrafficMeter::new(T0);
        for sec in (T0..T0 + 2 * WINDOW_SECS).step_by(3) {
            meter.record(sec);
        }
        let s = meter.series(T0 + 2 * WINDOW_SECS);
        assert_eq!(s.points.len(), (WINDOW_SECS / BUCKET_SECS) as usize);
        let kept = meter.inner.lock().unwrap().per_second.len() as u64;
        assert!(kept <= (WINDOW_SECS + BUCKET_SECS) / 3 + 2, "kept {kept} seconds");
        assert!(s.points.iter().all(|p| p.requests_per_sec > 0.0));
    }
}
