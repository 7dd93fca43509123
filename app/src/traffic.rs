//! The server's own HTTP traffic: the data behind the first chart Paydeck draws.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Requests the server answered, as an average rate per fixed-width time bucket.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrafficSeries {
    /// Width of one bucket in seconds.
    pub bucket_secs: u32,
    /// The span the chart covers, in Unix milliseconds: the window ends where the bucket
    /// still filling begins. Points cover part of it while the server is young.
    pub window_start_unix_ms: i64,
    pub window_end_unix_ms: i64,
    /// Completed buckets, oldest first.
    pub points: Vec<TrafficPoint>,
    /// Requests answered since the server started.
    pub total_requests: u64,
    /// Seconds since the server started.
    pub uptime_secs: u64,
}

/// One bucket: when it started and how many requests per second it saw on average.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrafficPoint {
    pub start_unix_ms: i64,
    pub requests_per_sec: f64,
}

impl TrafficSeries {
    /// The rate of the most recent complete bucket, if there is one.
    pub fn latest_rate(&self) -> Option<f64> {
        self.points.last().map(|p| p.requests_per_sec)
    }

    /// The highest bucket rate in the window (0 when empty).
    pub fn peak_rate(&self) -> f64 {
        self.points.iter().map(|p| p.requests_per_sec).fold(0.0, f64::max)
    }
}

/// The server's recent traffic, for the overview chart.
#[server(prefix = "/rpc", endpoint = "server-traffic")]
pub async fn server_traffic() -> Result<TrafficSeries, ServerFnError> {
    Ok(crate::backend::backend()?.traffic.recent_traffic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(rates: &[f64]) -> TrafficSeries {
        TrafficSeries {
            bucket_secs: 5,
            window_start_unix_ms: 0,
            window_end_unix_ms: rates.len() as i64 * 5_000,
            points: rates
                .iter()
                .enumerate()
                .map(|(i, &r)| TrafficPoint { start_unix_ms: i as i64 * 5_000, requests_per_sec: r })
                .collect(),
            total_requests: 0,
            uptime_secs: 0,
        }
    }

    #[test]
    fn latest_and_peak_rates_come_from_the_points() {
        let s = series(&[1.0, 4.5, 2.0]);
        assert_eq!(s.latest_rate(), Some(2.0));
        assert_eq!(s.peak_rate(), 4.5);
    }

    #[test]
    fn an_empty_series_has_no_latest_rate_and_zero_peak() {
        let s = series(&[]);
        assert_eq!(s.latest_rate(), None);
        assert_eq!(s.peak_rate(), 0.0);
    }
}
