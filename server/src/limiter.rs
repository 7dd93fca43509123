//! Sliding-window limits per key: edit attempts per user (a slip of the keyboard or a runaway
//! script must not hammer the cluster or the audit log), token reviews per client address.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

/// Keys kept before idle ones are forgotten: a flood from many addresses must not grow the
/// table without end.
const PRUNE_ABOVE: usize = 10_000;

/// At most `max` attempts per key in any `window`.
pub struct Limiter {
    max: usize,
    window: Duration,
    seen: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Limiter {
    pub fn new(max: usize, window: Duration) -> Self {
        Self { max, window, seen: Mutex::new(HashMap::new()) }
    }

    /// Counts an attempt by `key` at `now`; `Err(wait)` when over the limit.
    pub fn allow(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > PRUNE_ABOVE {
            let window = self.window;
            seen.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let times = seen.entry(key.to_string()).or_default();
        while times.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            times.pop_front();
        }
        if times.len() >= self.max {
            let oldest = *times.front().expect("full");
            return Err(self.window.saturating_sub(now.duration_since(oldest)));
        }
        times.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_gets_their_own_window() {
        let limiter = Limiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(limiter.allow("ana", t0).is_ok());
        assert!(limiter.allow("ana", t0 + Duration::from_secs(1)).is_ok());
        let wait = limiter.allow("ana", t0 + Duration::from_secs(2)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(58));
        assert!(limiter.allow("ben", t0 + Duration::from_secs(2)).is_ok(), "others are not affected");
        assert!(limiter.allow("ana", t0 + Duration::from_secs(61)).is_ok(), "the window moves on");
    }

    #[test]
    fn idle_keys_are_forgotten_under_a_flood() {
        let limiter = Limiter::new(1, Duration::from_secs(1));
        let t0 = Instant::now();
        for i in 0..=PRUNE_ABOVE {
            limiter.allow(&i.to_string(), t0).unwrap();
        }
        limiter.allow("late", t0 + Duration::from_secs(2)).unwrap();
        assert_eq!(limiter.seen.lock().unwrap().len(), 1);
    }
}
