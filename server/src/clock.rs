//! Wall-clock time as the API and the database store it.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

/// How far this process's clock is from the system's: 0 but on a simulated cluster started
/// at a given time (`--sim-start`), where Paydeck lives in the simulated time too.
static OFFSET_MS: AtomicI64 = AtomicI64::new(0);

fn system_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Milliseconds since the Unix epoch, as this process counts them.
pub fn unix_ms() -> i64 {
    system_ms().saturating_add(OFFSET_MS.load(Ordering::Relaxed))
}

/// Whole seconds since the Unix epoch, as this process counts them.
pub fn unix_secs() -> u64 {
    (unix_ms().max(0) / 1000) as u64
}

/// Makes this process's clock read `start_ms` now and run on from there. Only the simulated
/// cluster's `--sim-start` does this, once, before anything reads the clock.
pub fn start_at(start_ms: i64) {
    OFFSET_MS.store(start_ms - system_ms(), Ordering::Relaxed);
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
