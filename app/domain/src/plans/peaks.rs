//! Recurring peaks in recorded demand: the quarter-hours of the local day (or of a weekday)
//! when the load stands well above that day's base, again and again. A peak seen on most days
//! is a daily one; one seen on the same weekday of most weeks, and not on the other days, is
//! weekly. Noise and a single spike make none.

use jiff::{Timestamp, civil::Weekday, tz::TimeZone};

/// Quarter-hours a local day has (a DST day is read in local time, so it has its 92 or 100
/// quarter-hours mapped onto these).
const QUARTERS: usize = 96;
/// How far above the day's base a quarter-hour's load must be to count as a peak.
pub const HEIGHT: f64 = 1.5;
/// The share of days (or weeks) a daily (weekly) peak must be seen on.
pub const REGULAR: f64 = 0.6;
/// Days of recording a daily peak needs; weeks a weekly one needs.
pub const MIN_DAYS: usize = 3;
pub const MIN_WEEKS: usize = 2;

/// How often a peak comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Every {
    Day,
    Week(Weekday),
}

/// A recurring peak, in local time.
#[derive(Clone, Debug, PartialEq)]
pub struct Peak {
    pub every: Every,
    /// The first quarter-hour of the peak, in minutes after local midnight.
    pub start_minute: u32,
    /// The minute after its last quarter-hour (may be 1440).
    pub end_minute: u32,
    /// The share of days (weeks) it was seen on.
    pub regularity: f64,
    /// Its load over the days' bases (the median over the days it was seen).
    pub height: f64,
}

/// One local day's mean load per quarter-hour (`None` where nothing was recorded).
struct Day {
    weekday: Weekday,
    quarters: Vec<Option<f64>>,
}

impl Day {
    /// The day's base: the median of its recorded quarter-hours.
    fn base(&self) -> Option<f64> {
        let mut loads: Vec<f64> = self.quarters.iter().flatten().copied().collect();
        if loads.len() < QUARTERS / 2 {
            return None;
        }
        loads.sort_by(f64::total_cmp);
        Some(loads[loads.len() / 2])
    }

    /// Each quarter-hour's load over the base, for quarters well recorded.
    fn heights(&self) -> Option<Vec<Option<f64>>> {
        let base = self.base().filter(|b| *b > 0.0)?;
        Some(self.quarters.iter().map(|q| q.map(|l| l / base)).collect())
    }
}

/// The recorded `(Unix ms, load)` points as local days in `tz`, whole days only.
fn days(points: &[(i64, f64)], tz: &TimeZone) -> Vec<Day> {
    let mut days: Vec<(jiff::civil::Date, Vec<(f64, u32)>)> = Vec::new();
    for &(at_ms, load) in points {
        let Ok(ts) = Timestamp::from_millisecond(at_ms) else { continue };
        let local = ts.to_zoned(tz.clone());
        let quarter = (local.hour() as usize * 60 + local.minute() as usize) / 15;
        if days.last().is_none_or(|(d, _)| *d != local.date()) {
            days.push((local.date(), vec![(0.0, 0); QUARTERS]));
        }
        let (_, sums) = days.last_mut().expect("pushed");
        sums[quarter].0 += load;
        sums[quarter].1 += 1;
    }
    days.into_iter()
        .map(|(date, sums)| Day {
            weekday: date.weekday(),
            quarters: sums.into_iter().map(|(sum, n)| (n > 0).then(|| sum / f64::from(n))).collect(),
        })
        .filter(|d| d.base().is_some())
        .collect()
}

/// The recurring peaks of `points` (load over time, in order) read in `tz`: daily ones first,
/// then weekly ones on the days that are not already daily peaks.
pub fn find(points: &[(i64, f64)], tz: &TimeZone) -> Vec<Peak> {
    let days = days(points, tz);
    let heights: Vec<(Weekday, Vec<Option<f64>>)> =
        days.iter().filter_map(|d| Some((d.weekday, d.heights()?))).collect();
    let mut peaks = Vec::new();
    if heights.len() >= MIN_DAYS {
        let all: Vec<&Vec<Option<f64>>> = heights.iter().map(|(_, h)| h).collect();
        peaks.extend(runs(&all, Every::Day));
    }
    for weekday in [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ] {
        let same: Vec<&Vec<Option<f64>>> =
            heights.iter().filter(|(w, _)| *w == weekday).map(|(_, h)| h).collect();
        if same.len() < MIN_WEEKS {
            continue;
        }
        for peak in runs(&same, Every::Week(weekday)) {
            let daily = peaks.iter().any(|p: &Peak| {
                p.every == Every::Day && p.start_minute < peak.end_minute && peak.start_minute < p.end_minute
            });
            if !daily {
                peaks.push(peak);
            }
        }
    }
    peaks
}

/// The runs of quarter-hours that stand `HEIGHT` over the base on at least `REGULAR` of `days`.
fn runs(days: &[&Vec<Option<f64>>], every: Every) -> Vec<Peak> {
    let seen = |q: usize| -> (f64, f64) {
        let high: Vec<f64> = days.iter().filter_map(|d| d[q]).filter(|h| *h >= HEIGHT).collect();
        let share = high.len() as f64 / days.len() as f64;
        let mut sorted = high;
        sorted.sort_by(f64::total_cmp);
        (share, sorted.get(sorted.len() / 2).copied().unwrap_or(0.0))
    };
    let mut peaks = Vec::new();
    let mut q = 0;
    while q < QUARTERS {
        if seen(q).0 < REGULAR {
            q += 1;
            continue;
        }
        let start = q;
        let (mut shares, mut heights) = (Vec::new(), Vec::new());
        while q < QUARTERS && seen(q).0 >= REGULAR {
            let (share, height) = seen(q);
            shares.push(share);
            heights.push(height);
            q += 1;
        }
        heights.sort_by(f64::total_cmp);
        peaks.push(Peak {
            every,
            start_minute: start as u32 * 15,
            end_minute: q as u32 * 15,
            regularity: shares.iter().copied().fold(f64::INFINITY, f64::min),
            height: heights[heights.len() / 2],
        });
    }
    peaks
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;
    /// Monday 2 November 2026, 00:00 UTC.
    const MONDAY: i64 = 1_793_577_600_000;

    /// A point a minute over `days` days, the load `at(day, minute of the day)`.
    fn series(days: i64, at: impl Fn(i64, i64) -> f64) -> Vec<(i64, f64)> {
        (0..days * 1440).map(|m| (MONDAY + m * MINUTE, at(m / 1440, m % 1440))).collect()
    }

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    /// A little noise, the same every run.
    fn wobble(day: i64, minute: i64) -> f64 {
        (((day * 1440 + minute) * 7919) % 41) as f64 - 20.0
    }

    #[test]
    fn a_daily_wave_is_one_daily_peak_at_its_hours() {
        let points = series(7, |d, m| {
            100.0 + wobble(d, m) + if (18 * 60..20 * 60).contains(&m) { 200.0 } else { 0.0 }
        });
        let peaks = find(&points, &utc());
        assert_eq!(peaks.len(), 1, "{peaks:?}");
        let p = &peaks[0];
        assert_eq!((p.every, p.start_minute, p.end_minute), (Every::Day, 18 * 60, 20 * 60));
        assert!(p.regularity >= 0.99 && (2.5..3.5).contains(&p.height), "{p:?}");
    }

    #[test]
    fn a_weekly_pattern_is_a_weekly_peak_on_its_day() {
        // Three weeks; Friday lunch (day 4 of each week) triples.
        let points = series(21, |d, m| {
            100.0 + wobble(d, m) + if d % 7 == 4 && (12 * 60..13 * 60).contains(&m) { 200.0 } else { 0.0 }
        });
        let peaks = find(&points, &utc());
        assert_eq!(peaks.len(), 1, "{peaks:?}");
        assert_eq!(
            (peaks[0].every, peaks[0].start_minute, peaks[0].end_minute),
            (Every::Week(Weekday::Friday), 12 * 60, 13 * 60)
        );
    }

    #[test]
    fn noise_and_a_single_spike_make_no_peak() {
        assert_eq!(find(&series(7, |d, m| 100.0 + wobble(d, m)), &utc()), []);
        let spike = series(7, |d, m| {
            100.0 + wobble(d, m) + if d == 3 && (18 * 60..19 * 60).contains(&m) { 400.0 } else { 0.0 }
        });
        assert_eq!(find(&spike, &utc()), [], "one day's spike does not recur");
        // Too little recorded to call anything recurring.
        let two_days = series(2, |_, m| if (18 * 60..20 * 60).contains(&m) { 300.0 } else { 100.0 });
        assert_eq!(find(&two_days, &utc()), []);
    }

    #[test]
    fn peaks_are_read_in_local_time() {
        // 18:00–20:00 in Shanghai is 10:00–12:00 UTC.
        let points = series(7, |d, m| {
            100.0 + wobble(d, m) + if (10 * 60..12 * 60).contains(&m) { 200.0 } else { 0.0 }
        });
        let peaks = find(&points, &TimeZone::get("Asia/Shanghai").unwrap());
        assert_eq!((peaks[0].start_minute, peaks[0].end_minute), (18 * 60, 20 * 60), "{peaks:?}");
    }
}
