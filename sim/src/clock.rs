//! Simulated time: real time (optionally sped up) for demos, or a clock that only moves when
//! a test advances it.

use std::time::Instant;

/// Milliseconds since the Unix epoch, in simulated time.
pub type Millis = u64;

#[derive(Clone, Debug)]
enum Mode {
    /// `start` plus real elapsed time times `speed`.
    Real { started: Instant, speed: f64 },
    /// Moves only through [`Clock::advance`].
    Manual { now: Millis },
}

/// The simulator's clock.
#[derive(Clone, Debug)]
pub struct Clock {
    start: Millis,
    mode: Mode,
}

impl Clock {
    /// Real time from `start`, `speed` times faster than the wall clock.
    pub fn real(start: Millis, speed: f64) -> Self {
        Clock { start, mode: Mode::Real { started: Instant::now(), speed } }
    }

    /// A clock standing at `start` until advanced.
    pub fn manual(start: Millis) -> Self {
        Clock { start, mode: Mode::Manual { now: start } }
    }

    pub fn now(&self) -> Millis {
        match &self.mode {
            Mode::Real { started, speed } => {
                self.start + (started.elapsed().as_secs_f64() * speed * 1000.0) as Millis
            }
            Mode::Manual { now } => *now,
        }
    }

    pub fn is_manual(&self) -> bool {
        matches!(self.mode, Mode::Manual { .. })
    }

    /// Moves a manual clock forward; a real clock ignores it.
    pub fn advance(&mut self, by_ms: Millis) {
        if let Mode::Manual { now } = &mut self.mode {
            *now += by_ms;
        }
    }

    /// Steps the clock by `by_ms`, forward or back, as a node's corrected clock steps: what
    /// the cluster stamps from then on is that much later or earlier.
    pub fn step(&mut self, by_ms: i64) {
        let shift = |t: Millis| t.saturating_add_signed(by_ms);
        self.start = shift(self.start);
        if let Mode::Manual { now } = &mut self.mode {
            *now = shift(*now);
        }
    }
}

/// The wall clock in Unix milliseconds.
pub fn wall_now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// The simulated time every test starts at unless it is about time itself: the simulated
/// traffic follows the time of day, so a test started at "now" would see whatever the hour
/// brings (the evening peak, the flash sale). One instant for every suite, in the file
/// `sim/test-start` (the browser suite and the API fuzzer read it too);
/// `PAYDECK_SIM_START` moves it, as `make test-faults` does to run the suites at other hours.
pub fn test_start() -> Millis {
    const PINNED: &str = include_str!("../test-start");
    let text = std::env::var(TEST_START_ENV).unwrap_or_else(|_| PINNED.to_string());
    parse_start(&text).unwrap_or_else(|e| panic!("{TEST_START_ENV}: {e}"))
}

/// The variable that moves [`test_start`].
pub const TEST_START_ENV: &str = "PAYDECK_SIM_START";

/// A start time as a flag or `PAYDECK_SIM_START` gives it: RFC 3339 in UTC.
pub fn parse_start(text: &str) -> Result<Millis, String> {
    parse_rfc3339(text.trim()).ok_or_else(|| {
        format!("the start must be a UTC time like 2026-11-26T09:00:00Z, got {:?}", text.trim())
    })
}

/// RFC 3339 in UTC with second precision, as Kubernetes writes timestamps.
pub fn rfc3339(ms: Millis) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

/// RFC 3339 with microseconds (`MicroTime`, used by events).
pub fn rfc3339_micros(ms: Millis) -> String {
    let base = rfc3339(ms);
    format!("{}.{:06}Z", &base[..base.len() - 1], (ms % 1000) * 1000)
}

/// Parses what [`rfc3339`] writes (and fractional seconds), back to milliseconds.
pub fn parse_rfc3339(text: &str) -> Option<Millis> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<u64>());
    let (h, min, s) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    let millis: u64 = format!("{frac:0<3}")[..3].parse().ok()?;
    let days = days_from_civil(y, m, day);
    Some((days as u64 * 86_400 + h * 3600 + min * 60 + s) * 1000 + millis)
}

// Howard Hinnant's civil-calendar algorithms.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_764_201_600_000), "2025-11-27T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(parse_rfc3339("2025-11-27T00:00:00Z"), Some(1_764_201_600_000));
        assert_eq!(parse_rfc3339(&rfc3339_micros(1_764_201_600_123)), Some(1_764_201_600_123));
    }

    #[test]
    fn the_pinned_test_start_is_a_time_and_nonsense_is_refused() {
        assert_eq!(parse_start(" 2026-11-26T09:00:00Z\n"), Ok(1_795_683_600_000));
        assert!(parse_start(include_str!("../test-start")).is_ok());
        for bad in ["", "09:00", "2026-11-26 09:00:00", "2026-11-26T09:00:00+01:00"] {
            let e = parse_start(bad).unwrap_err();
            assert!(e.contains("UTC time like") && e.contains(&format!("{:?}", bad.trim())), "{e}");
        }
    }

    #[test]
    fn a_clock_steps_back_and_forth() {
        let mut real = Clock::real(1_000_000, 1.0);
        real.step(-600_000);
        assert!(real.now() < 500_000, "{}", real.now());
        let mut manual = Clock::manual(1_000_000);
        manual.step(3_600_000);
        assert_eq!(manual.now(), 4_600_000);
        manual.step(-5_000_000);
        assert_eq!(manual.now(), 0, "stops at the epoch");
    }

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let mut c = Clock::manual(1_000);
        assert_eq!(c.now(), 1_000);
        c.advance(500);
        assert_eq!(c.now(), 1_500);
    }
}
