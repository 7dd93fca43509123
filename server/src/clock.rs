//! Wall-clock time as the API and the database store it.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

/// How far this process's clock is from the system's: 0 but on a simulated cluster started
/// at a given time (`--sim-start`) or running faster (`--sim-speed`), where Paydeck lives in
/// the simulated time too.
static OFFSET_MS: AtomicI64 = AtomicI64::new(0);
/// On a faster simulated cluster: the system's time when it started, and its speed (as f64
/// bits); 0 and 1.0 otherwise.
static SPED_FROM_MS: AtomicI64 = AtomicI64::new(0);
static SPEED_BITS: AtomicU64 = AtomicU64::new(0x3FF0_0000_0000_0000);

fn system_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Milliseconds since the Unix epoch, as this process counts them.
pub fn unix_ms() -> i64 {
    let system = system_ms();
    let speed = f64::from_bits(SPEED_BITS.load(Ordering::Relaxed));
    let sped = if speed == 1.0 {
        system
    } else {
        let from = SPED_FROM_MS.load(Ordering::Relaxed);
        from + ((system - from) as f64 * speed) as i64
    };
    sped.saturating_add(OFFSET_MS.load(Ordering::Relaxed))
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

/// Makes this process's clock read `start_ms` now and run `speed` times faster than the
/// system's, as the simulated cluster's does at `--sim-speed`: the samples, the charts' now
/// and plans' windows then agree with the cluster's timestamps. Once, before anything reads
/// the clock.
pub fn run_at(start_ms: i64, speed: f64) {
    let now = system_ms();
    SPED_FROM_MS.store(now, Ordering::Relaxed);
    SPEED_BITS.store(speed.to_bits(), Ordering::Relaxed);
    OFFSET_MS.store(start_ms - now, Ordering::Relaxed);
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
