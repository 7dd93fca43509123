//! How long a failed watch waits before it tries again: doubling from half a second, capped
//! at two, with jitter so a fleet of watchers does not retry in step. kube-rs's default
//! grows to 30 s, which would leave a dashboard blind for half a minute after a short outage;
//! a cap of four let a retry that fell just before the API server came back wait up to five
//! seconds for the next, past the goal of a consistent snapshot within five. Seven watchers
//! at one try in two seconds is still far from a hot loop.

use std::time::Duration;

use kube::runtime::utils::Backoff;

const FIRST: Duration = Duration::from_millis(500);
const CAP: Duration = Duration::from_secs(2);

/// The watchers' backoff; reset by the stream after every successful event.
#[derive(Debug)]
pub struct WatchBackoff {
    next: Duration,
    /// A small generator for the jitter (no need for a cryptographic one).
    state: u64,
}

impl WatchBackoff {
    pub fn new() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.subsec_nanos() as u64 | 1);
        WatchBackoff { next: FIRST, state: seed }
    }

    /// A factor in 0.75..1.25.
    fn jitter(&mut self) -> f64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        0.75 + (self.state % 1000) as f64 / 2000.0
    }
}

impl Default for WatchBackoff {
    fn default() -> Self {
        Self::new()
    }
}

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let delay = self.next.mul_f64(self.jitter());
        self.next = (self.next * 2).min(CAP);
        Some(delay)
    }
}

impl Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.next = FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_to_the_cap_and_start_over_on_reset() {
        let mut b = WatchBackoff::new();
        let delays: Vec<Duration> = (&mut b).take(8).collect();
        for (i, d) in delays.iter().enumerate() {
            let nominal = (FIRST * 2u32.pow(i as u32)).min(CAP);
            assert!(*d >= nominal.mul_f64(0.75) && *d <= nominal.mul_f64(1.25), "{i}: {d:?} vs {nominal:?}");
        }
        b.reset();
        assert!(b.next().unwrap() <= FIRST.mul_f64(1.25));
    }
}
