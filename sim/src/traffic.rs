//! Payment traffic over a day: a night trough, a morning ramp, lunchtime and evening peaks,
//! a scheduled flash sale, and a little deterministic noise.
//!
//! Pure code: time in, requests per second out. The same function drives the simulator and
//! can regenerate the traffic a test or a backtest expects.

/// Seconds in a day.
pub const DAY_SECS: u64 = 86_400;

/// A flash sale: traffic multiplied by `multiplier` from `start_secs_of_day` for
/// `duration_secs`, ramping up over two minutes and down over five.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlashSale {
    pub start_secs_of_day: u64,
    pub duration_secs: u64,
    pub multiplier: f64,
}

impl Default for FlashSale {
    /// 18:00 UTC for 30 minutes at four times the normal rate.
    fn default() -> Self {
        FlashSale { start_secs_of_day: 18 * 3600, duration_secs: 1800, multiplier: 4.0 }
    }
}

impl FlashSale {
    const RAMP_UP_SECS: f64 = 120.0;
    const RAMP_DOWN_SECS: f64 = 300.0;

    /// The factor the sale applies at `secs_of_day` (1.0 outside it).
    pub fn factor(&self, secs_of_day: f64) -> f64 {
        let start = self.start_secs_of_day as f64;
        let end = start + self.duration_secs as f64;
        let intensity = if secs_of_day < start || secs_of_day >= end + Self::RAMP_DOWN_SECS {
            0.0
        } else if secs_of_day < start + Self::RAMP_UP_SECS {
            (secs_of_day - start) / Self::RAMP_UP_SECS
        } else if secs_of_day < end {
            1.0
        } else {
            1.0 - (secs_of_day - end) / Self::RAMP_DOWN_SECS
        };
        1.0 + (self.multiplier - 1.0) * intensity
    }

    /// Whether the sale (ramps included) is under way at `secs_of_day`.
    pub fn active(&self, secs_of_day: f64) -> bool {
        self.factor(secs_of_day) > 1.0
    }
}

/// The shape of a normal day relative to its busiest normal hour: about 0.2 at night, a
/// lunchtime peak of 0.85 around 12:30 and the evening peak of 1.0 around 20:00.
pub fn daily_factor(secs_of_day: f64) -> f64 {
    let hour = secs_of_day / 3600.0;
    let bump = |centre: f64, width: f64, height: f64| {
        // Distance on the clock face, so 23:30 and 00:30 are an hour apart.
        let d = ((hour - centre).rem_euclid(24.0)).min((centre - hour).rem_euclid(24.0));
        height * (-(d * d) / (2.0 * width * width)).exp()
    };
    (0.18 + bump(10.0, 2.5, 0.45) + bump(12.5, 1.0, 0.35) + bump(20.0, 1.6, 0.8)).min(1.0)
}

/// A deterministic value in [-1, 1] for (`seed`, `stream`, `slot`).
fn hash_unit(seed: u64, stream: u64, slot: u64) -> f64 {
    // SplitMix64: cheap, well mixed, no dependencies.
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ slot.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z as f64 / u64::MAX as f64) * 2.0 - 1.0
}

/// Noise of ±`amplitude`, varying smoothly from minute to minute.
pub fn noise(seed: u64, stream: u64, unix_secs: f64, amplitude: f64) -> f64 {
    let minute = unix_secs / 60.0;
    let (slot, frac) = (minute.floor() as u64, minute.fract());
    let (a, b) = (hash_unit(seed, stream, slot), hash_unit(seed, stream, slot + 1));
    amplitude * (a + (b - a) * frac)
}

/// Requests per second for a service whose evening peak is `peak_rps`, at `unix_secs`.
pub fn rate(peak_rps: f64, unix_secs: f64, seed: u64, stream: u64, sale: &FlashSale) -> f64 {
    let secs_of_day = unix_secs.rem_euclid(DAY_SECS as f64);
    let factor =
        daily_factor(secs_of_day) * sale.factor(secs_of_day) * (1.0 + noise(seed, stream, unix_secs, 0.05));
    (peak_rps * factor).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: f64 = 3600.0;

    #[test]
    fn nights_are_quiet_and_the_evening_is_the_normal_peak() {
        let night = daily_factor(3.0 * HOUR);
        let lunch = daily_factor(12.5 * HOUR);
        let evening = daily_factor(20.0 * HOUR);
        assert!(night < 0.25, "night {night}");
        assert!(lunch > 0.6 && lunch < evening, "lunch {lunch}, evening {evening}");
        assert!(evening > 0.95 && evening <= 1.0, "evening {evening}");
    }

    #[test]
    fn the_day_wraps_smoothly_at_midnight() {
        let before = daily_factor(DAY_SECS as f64 - 1.0);
        let after = daily_factor(0.0);
        assert!((before - after).abs() < 0.001);
    }

    #[test]
    fn a_flash_sale_ramps_up_holds_and_ramps_down() {
        let sale = FlashSale::default();
        let start = sale.start_secs_of_day as f64;
        assert_eq!(sale.factor(start - 1.0), 1.0);
        assert!((sale.factor(start + 60.0) - 2.5).abs() < 1e-9, "half-way up the ramp");
        assert_eq!(sale.factor(start + 600.0), 4.0);
        let end = start + sale.duration_secs as f64;
        assert!((sale.factor(end + 150.0) - 2.5).abs() < 1e-9, "half-way down");
        assert_eq!(sale.factor(end + 300.0), 1.0);
        assert!(sale.active(start + 10.0) && !sale.active(end + 301.0));
    }

    #[test]
    fn the_same_seed_gives_the_same_traffic_and_noise_stays_small() {
        let sale = FlashSale::default();
        let t = 1_764_000_000.0;
        assert_eq!(rate(100.0, t, 7, 1, &sale), rate(100.0, t, 7, 1, &sale));
        assert_ne!(rate(100.0, t, 7, 1, &sale), rate(100.0, t, 8, 1, &sale));
        for s in 0..1000 {
            let n = noise(42, 3, t + s as f64 * 37.0, 0.05);
            assert!(n.abs() <= 0.05, "{n}");
        }
    }

    #[test]
    fn the_sale_multiplies_the_normal_rate() {
        let sale = FlashSale::default();
        let day_start = 1_764_201_600.0; // a midnight UTC
        let at = |h: f64| rate(100.0, day_start + h * HOUR, 1, 1, &sale);
        let before = at(17.5);
        let during = at(18.25);
        assert!(during > 3.0 * before, "before {before}, during {during}");
    }
}
