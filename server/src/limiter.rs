//! A per-user limit on edit attempts: a slip of the keyboard or a runaway script must not
//! hammer the cluster (or the audit log).

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

/// At most `max` attempts per user in any `window`.
pub struct Limiter {
    max: usize,
    window: Duration,
    seen: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Limiter {
    pub fn new(max: usize, window: Duration) -> Self {
        Self { max, window, seen: Mutex::new(HashMap::new()) }
    }

    /// Counts an attempt by `user` at `now`; `Err(wait)` when over the limit.
    pub fn allow(&self, user: &str, now: Instant) -> Result<(), Duration> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let times = seen.entry(user.to_string()).or_default();
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
}
