//! Wall-clock time as the API and the database store it.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Whole seconds since the Unix epoch.
pub fn unix_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The wall clock history is stamped with. It is the system clock, which can step (an NTP
/// correction, a VM resumed); tests step it with [`WallClock::step`] to play that.
#[derive(Clone, Debug, Default)]
pub struct WallClock {
    offset_ms: Arc<AtomicI64>,
}

impl WallClock {
    /// Milliseconds since the Unix epoch, as this clock reads.
    pub fn now_ms(&self) -> i64 {
        unix_ms().saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Steps the clock by `by_ms` (negative: back), as a corrected system clock does.
    pub fn step(&self, by_ms: i64) {
        self.offset_ms.fetch_add(by_ms, Ordering::Relaxed);
    }
}
