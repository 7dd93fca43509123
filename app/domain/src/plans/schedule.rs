//! When a plan's levels are in force: windows of local time in an IANA time zone, repeated
//! daily, on some weekdays or once, less their exclusions (whole dates, or windows of a date
//! shorter than a day).
//!
//! Daylight saving follows RFC 5545 (iCalendar), as calendars do: a local time that does not
//! exist that day (the clocks jump forward over it) is read with the offset before the jump,
//! so it falls as far after the jump as it was into the gap (02:30, on a day the clocks go
//! from 02:00 to 03:00, is 03:30); a local time that happens twice (the clocks go back) is its
//! first occurrence. A window ending at or before its start ends the next day.

use jiff::{
    Timestamp,
    civil::{Date, DateTime, Time, Weekday},
    tz::TimeZone,
};

/// A plan's windows at most: a week of different evenings and its holidays, not a calendar.
pub const MAX_WINDOWS: usize = 32;
/// Its exclusions at most: a few years of public holidays.
pub const MAX_EXCLUSIONS: usize = 128;

/// The longest span [`occurrences`] reads at once: a calendar of weeks, not of years.
pub const MAX_SPAN_MS: i64 = 400 * 86_400_000;

pub use crate::plan::{Exclusion, Level, Repeat, Schedule, WindowRule};

/// One window as it falls: Unix ms, and which rule it comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Occurrence {
    pub start_ms: i64,
    pub end_ms: i64,
    pub rule: usize,
    pub level: Level,
}

/// What is wrong with a schedule, named by where it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ScheduleError {
    pub field: String,
    pub message: String,
}

fn error(field: impl Into<String>, message: impl Into<String>) -> ScheduleError {
    ScheduleError { field: field.into(), message: message.into() }
}

/// A schedule checked and parsed: its time zone found, its times and dates read.
#[derive(Clone, Debug)]
pub struct Checked {
    tz: TimeZone,
    rules: Vec<Rule>,
    exclusions: Vec<(Date, Option<(Time, Time)>)>,
}

#[derive(Clone, Debug)]
struct Rule {
    days: Days,
    start: Time,
    end: Time,
    level: Level,
}

#[derive(Clone, Debug)]
enum Days {
    Every,
    Weekdays(Vec<Weekday>),
    On(Date),
}

fn time(text: &str, field: &str) -> Result<Time, ScheduleError> {
    let (h, m) = text.split_once(':').ok_or_else(|| error(field, format!("expected HH:MM, got {text:?}")))?;
    let parse = |s: &str, most: i8| s.parse::<i8>().ok().filter(|v| (0..=most).contains(v) && s.len() == 2);
    match (parse(h, 23), parse(m, 59)) {
        (Some(h), Some(m)) => Ok(Time::constant(h, m, 0, 0)),
        _ => Err(error(field, format!("expected HH:MM from 00:00 to 23:59, got {text:?}"))),
    }
}

fn date(text: &str, field: &str) -> Result<Date, ScheduleError> {
    text.parse::<Date>().map_err(|_| error(field, format!("expected a date YYYY-MM-DD, got {text:?}")))
}

fn weekday(text: &str, field: &str) -> Result<Weekday, ScheduleError> {
    Ok(match text {
        "monday" => Weekday::Monday,
        "tuesday" => Weekday::Tuesday,
        "wednesday" => Weekday::Wednesday,
        "thursday" => Weekday::Thursday,
        "friday" => Weekday::Friday,
        "saturday" => Weekday::Saturday,
        "sunday" => Weekday::Sunday,
        other => return Err(error(field, format!("expected a weekday (monday … sunday), got {other:?}"))),
    })
}

impl Schedule {
    /// Checks every field; every problem is named, the first per field.
    pub fn check(&self) -> Result<Checked, Vec<ScheduleError>> {
        let mut problems = Vec::new();
        let tz = TimeZone::get(&self.time_zone)
            .map_err(|_| {
                problems.push(error(
                    "timeZone",
                    format!(
                        "{:?} is not an IANA time zone (e.g. Asia/Shanghai, Europe/Berlin, UTC)",
                        self.time_zone
                    ),
                ))
            })
            .ok();
        if self.windows.is_empty() {
            problems.push(error("windows", "a plan needs at least one window"));
        } else if self.windows.len() > MAX_WINDOWS {
            problems.push(error("windows", format!("a plan has at most {MAX_WINDOWS} windows")));
        }
        if self.exclusions.len() > MAX_EXCLUSIONS {
            problems.push(error("exclusions", format!("a plan has at most {MAX_EXCLUSIONS} exclusions")));
        }
        let mut rules = Vec::new();
        for (i, w) in self.windows.iter().enumerate() {
            let at = |f: &str| format!("windows[{i}].{f}");
            let days = match &w.repeat {
                Repeat::Day => Ok(Days::Every),
                Repeat::Week { days } if days.is_empty() => {
                    Err(error(at("repeat.days"), "name at least one weekday"))
                }
                Repeat::Week { days } => days
                    .iter()
                    .map(|d| weekday(d, &at("repeat.days")))
                    .collect::<Result<_, _>>()
                    .map(Days::Weekdays),
                Repeat::Once { date: d } => date(d, &at("repeat.date")).map(Days::On),
            };
            let start = time(&w.start, &at("start"));
            let end = time(&w.end, &at("end"));
            if w.level.min_replicas.is_none() && w.level.max_replicas.is_none() {
                problems.push(error(at("level"), "set minReplicas, maxReplicas or both"));
            }
            for (name, v) in [("minReplicas", w.level.min_replicas), ("maxReplicas", w.level.max_replicas)] {
                if v.is_some_and(|v| !(1..=10_000).contains(&v)) {
                    problems.push(error(at(&format!("level.{name}")), "must be from 1 to 10000"));
                }
            }
            if let (Some(min), Some(max)) = (w.level.min_replicas, w.level.max_replicas)
                && min > max
            {
                problems.push(error(at("level"), format!("minReplicas {min} is above maxReplicas {max}")));
            }
            match (days, start, end) {
                (Ok(days), Ok(start), Ok(end)) => rules.push(Rule { days, start, end, level: w.level }),
                (days, start, end) => {
                    problems.extend([days.err(), start.err(), end.err()].into_iter().flatten())
                }
            }
        }
        let mut exclusions = Vec::new();
        for (i, x) in self.exclusions.iter().enumerate() {
            let at = |f: &str| format!("exclusions[{i}].{f}");
            let on = date(&x.date, &at("date"));
            let window = match (&x.from, &x.to) {
                (None, None) => Ok(None),
                (Some(from), Some(to)) => match (time(from, &at("from")), time(to, &at("to"))) {
                    (Ok(a), Ok(b)) if a < b => Ok(Some((a, b))),
                    (Ok(_), Ok(_)) => {
                        Err(error(at("to"), "must be after from (an exclusion stays within its date)"))
                    }
                    (Err(e), _) | (_, Err(e)) => Err(e),
                },
                _ => Err(error(at("from"), "give both from and to, or neither for the whole date")),
            };
            match (on, window) {
                (Ok(on), Ok(window)) => exclusions.push((on, window)),
                (on, window) => problems.extend([on.err(), window.err()].into_iter().flatten()),
            }
        }
        match tz {
            Some(tz) if problems.is_empty() => Ok(Checked { tz, rules, exclusions }),
            _ => Err(problems),
        }
    }
}

/// Unix ms of a local date and time in `tz`, RFC 5545's way (see the module).
fn instant(tz: &TimeZone, at: DateTime) -> i64 {
    tz.to_ambiguous_timestamp(at).compatible().map(Timestamp::as_millisecond).unwrap_or(i64::MAX)
}

fn local_date(tz: &TimeZone, ms: i64) -> Date {
    Timestamp::from_millisecond(ms).map(|t| t.to_zoned(tz.clone()).date()).unwrap_or_default()
}

impl Checked {
    /// The windows that fall between `from_ms` and `to_ms` (any part of them), in start
    /// order, cut where exclusions say.
    pub fn occurrences(&self, from_ms: i64, to_ms: i64) -> Vec<Occurrence> {
        let to_ms = to_ms.min(from_ms.saturating_add(MAX_SPAN_MS));
        let mut out = Vec::new();
        // A day before: a window of the evening before may reach into the span.
        let (first, last) =
            (local_date(&self.tz, from_ms) - jiff::Span::new().days(1), local_date(&self.tz, to_ms));
        let mut day = first;
        while day <= last {
            for (i, rule) in self.rules.iter().enumerate() {
                let opens = match &rule.days {
                    Days::Every => true,
                    Days::Weekdays(days) => days.contains(&day.weekday()),
                    Days::On(date) => *date == day,
                };
                if !opens {
                    continue;
                }
                let ends_on = if rule.end <= rule.start { day.tomorrow().unwrap_or(day) } else { day };
                let start_ms = instant(&self.tz, day.to_datetime(rule.start));
                let end_ms = instant(&self.tz, ends_on.to_datetime(rule.end));
                for (start_ms, end_ms) in self.less_exclusions(day, start_ms, end_ms) {
                    if end_ms > start_ms && end_ms > from_ms && start_ms < to_ms {
                        out.push(Occurrence { start_ms, end_ms, rule: i, level: rule.level });
                    }
                }
            }
            let Ok(next) = day.tomorrow() else { break };
            day = next;
        }
        out.sort_by_key(|o| (o.start_ms, o.rule));
        out
    }

    /// A window opening on `day` without the excluded parts: an excluded date drops it, an
    /// excluded window of a date cuts it (into two, when it falls inside).
    fn less_exclusions(&self, day: Date, start_ms: i64, end_ms: i64) -> Vec<(i64, i64)> {
        let mut parts = vec![(start_ms, end_ms)];
        for (on, window) in &self.exclusions {
            let (cut_from, cut_to) = match window {
                None if *on == day => return Vec::new(),
                None => continue,
                Some((a, b)) => {
                    (instant(&self.tz, on.to_datetime(*a)), instant(&self.tz, on.to_datetime(*b)))
                }
            };
            parts = parts
                .into_iter()
                .flat_map(|(s, e)| {
                    if cut_to <= s || cut_from >= e {
                        vec![(s, e)]
                    } else {
                        [(s, cut_from), (cut_to, e)].into_iter().filter(|(a, b)| b > a).collect()
                    }
                })
                .collect();
        }
        parts
    }

    /// The level in force at `at_ms` (the strongest of the windows open then), and since when
    /// the window that opened last has been open.
    pub fn in_force(&self, at_ms: i64) -> Option<(Level, i64)> {
        let open: Vec<Occurrence> = self
            .occurrences(at_ms, at_ms + 1)
            .into_iter()
            .filter(|o| o.start_ms <= at_ms && at_ms < o.end_ms)
            .collect();
        let since = open.iter().map(|o| o.start_ms).max()?;
        Some((open.iter().fold(Level::default(), |l, o| l.with(o.level)), since))
    }

    /// A window in the schedule's local time, in words: `Thu 26 Nov 17:55 – 21:45 CST`, the
    /// end's date said when it is another day.
    pub fn span_words(&self, start_ms: i64, end_ms: i64) -> String {
        let (Ok(start), Ok(end)) =
            (Timestamp::from_millisecond(start_ms), Timestamp::from_millisecond(end_ms))
        else {
            return format!("{start_ms}–{end_ms}");
        };
        let (start, end) = (start.to_zoned(self.tz.clone()), end.to_zoned(self.tz.clone()));
        let end_text = if end.date() == start.date()
            || (end.hour() == 0
                && end.minute() == 0
                && end.date() == start.date().tomorrow().unwrap_or(end.date()))
        {
            end.strftime("%H:%M %Z").to_string()
        } else {
            end.strftime("%a %-d %b %H:%M %Z").to_string()
        };
        format!("{} – {end_text}", start.strftime("%a %-d %b %H:%M"))
    }

    /// `at_ms` as the schedule's local time, `YYYY-MM-DD HH:MM` and the zone's abbreviation.
    pub fn local(&self, at_ms: i64) -> String {
        match Timestamp::from_millisecond(at_ms) {
            Ok(t) => t.to_zoned(self.tz.clone()).strftime("%Y-%m-%d %H:%M %Z").to_string(),
            Err(_) => at_ms.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn utc(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn window(repeat: Repeat, start: &str, end: &str, min: i32) -> WindowRule {
        WindowRule {
            repeat,
            start: start.into(),
            end: end.into(),
            level: Level { min_replicas: Some(min), max_replicas: None },
        }
    }

    fn schedule(tz: &str, windows: Vec<WindowRule>, exclusions: Vec<Exclusion>) -> Checked {
        Schedule { time_zone: tz.into(), windows, exclusions }.check().unwrap()
    }

    fn spans(c: &Checked, from: &str, to: &str) -> Vec<(i64, i64)> {
        c.occurrences(utc(from), utc(to)).iter().map(|o| (o.start_ms, o.end_ms)).collect()
    }

    #[test]
    fn a_daily_window_falls_at_its_local_time_in_its_zone() {
        let c = schedule("Asia/Shanghai", vec![window(Repeat::Day, "17:45", "21:15", 8)], vec![]);
        assert_eq!(
            spans(&c, "2026-11-10T00:00:00Z", "2026-11-12T00:00:00Z"),
            [
                (utc("2026-11-10T09:45:00Z"), utc("2026-11-10T13:15:00Z")),
                (utc("2026-11-11T09:45:00Z"), utc("2026-11-11T13:15:00Z")),
            ]
        );
        // A window ending at or before its start ends the next day; one reaching into the span
        // from the day before is found.
        let night = schedule("Europe/Berlin", vec![window(Repeat::Day, "22:00", "02:00", 4)], vec![]);
        assert_eq!(
            spans(&night, "2026-01-10T00:00:00Z", "2026-01-10T12:00:00Z"),
            [(utc("2026-01-09T21:00:00Z"), utc("2026-01-10T01:00:00Z"))]
        );
    }

    #[test]
    fn daylight_saving_days_follow_rfc_5545() {
        let c = schedule("America/New_York", vec![window(Repeat::Day, "02:30", "04:00", 8)], vec![]);
        // 8 March 2026: 02:00 EST jumps to 03:00 EDT, so 02:30 does not exist: read with the
        // offset before the jump it is 03:30 EDT, and the window half an hour long.
        assert_eq!(
            spans(&c, "2026-03-07T00:00:00Z", "2026-03-09T00:00:00Z"),
            [
                (utc("2026-03-07T07:30:00Z"), utc("2026-03-07T09:00:00Z")),
                (utc("2026-03-08T07:30:00Z"), utc("2026-03-08T08:00:00Z")),
            ]
        );
        // 1 November 2026: 02:00 EDT goes back to 01:00 EST, so 01:30 happens twice: the window
        // opens at the first and runs to 03:00 EST, two and a half hours.
        let fold = schedule("America/New_York", vec![window(Repeat::Day, "01:30", "03:00", 8)], vec![]);
        let on_the_day = spans(&fold, "2026-11-01T04:00:00Z", "2026-11-01T12:00:00Z");
        assert_eq!(on_the_day, [(utc("2026-11-01T05:30:00Z"), utc("2026-11-01T08:00:00Z"))]);
        assert_eq!(on_the_day[0].1 - on_the_day[0].0, 5 * HOUR / 2);
    }

    #[test]
    fn weekly_and_once_windows_open_on_their_days_only() {
        let c = schedule(
            "UTC",
            vec![
                window(Repeat::Week { days: vec!["friday".into()] }, "12:00", "13:00", 5),
                window(Repeat::Once { date: "2026-11-11".into() }, "00:00", "02:00", 30),
            ],
            vec![],
        );
        // 2026-11-11 is a Wednesday, 2026-11-13 a Friday.
        assert_eq!(
            spans(&c, "2026-11-09T00:00:00Z", "2026-11-16T00:00:00Z"),
            [
                (utc("2026-11-11T00:00:00Z"), utc("2026-11-11T02:00:00Z")),
                (utc("2026-11-13T12:00:00Z"), utc("2026-11-13T13:00:00Z")),
            ]
        );
    }

    #[test]
    fn exclusions_drop_a_date_or_cut_a_window_out_of_it() {
        let exclusions = vec![
            Exclusion { date: "2026-12-25".into(), from: None, to: None },
            Exclusion { date: "2026-12-24".into(), from: Some("18:00".into()), to: Some("19:00".into()) },
        ];
        let c = schedule("UTC", vec![window(Repeat::Day, "17:45", "21:15", 8)], exclusions);
        assert_eq!(
            spans(&c, "2026-12-24T00:00:00Z", "2026-12-26T00:00:00Z"),
            [
                (utc("2026-12-24T17:45:00Z"), utc("2026-12-24T18:00:00Z")),
                (utc("2026-12-24T19:00:00Z"), utc("2026-12-24T21:15:00Z")),
            ]
        );
    }

    #[test]
    fn overlapping_windows_put_the_strongest_level_in_force() {
        let c = schedule(
            "UTC",
            vec![
                window(Repeat::Day, "17:00", "21:00", 8),
                WindowRule {
                    level: Level { min_replicas: Some(12), max_replicas: Some(40) },
                    ..window(Repeat::Day, "18:00", "19:00", 0)
                },
            ],
            vec![],
        );
        let at = |t: &str| c.in_force(utc(t));
        assert_eq!(at("2026-12-01T16:59:00Z"), None);
        assert_eq!(
            at("2026-12-01T17:30:00Z"),
            Some((Level { min_replicas: Some(8), max_replicas: None }, utc("2026-12-01T17:00:00Z")))
        );
        assert_eq!(
            at("2026-12-01T18:30:00Z"),
            Some((Level { min_replicas: Some(12), max_replicas: Some(40) }, utc("2026-12-01T18:00:00Z")))
        );
        assert_eq!(at("2026-12-01T21:00:00Z"), None, "a window's end is not in it");
    }

    #[test]
    fn a_bad_schedule_names_every_field_at_fault() {
        let bad = Schedule {
            time_zone: "Mars/Olympus".into(),
            windows: vec![
                WindowRule {
                    repeat: Repeat::Week { days: vec!["funday".into()] },
                    start: "25:00".into(),
                    end: "7pm".into(),
                    level: Level { min_replicas: Some(9), max_replicas: Some(3) },
                },
                window(Repeat::Once { date: "2026-02-30".into() }, "10:00", "11:00", 0),
            ],
            exclusions: vec![Exclusion { date: "2026-12-24".into(), from: Some("19:00".into()), to: None }],
        };
        let fields: Vec<String> = bad.check().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "timeZone",
                "windows[0].level",
                "windows[0].repeat.days",
                "windows[0].start",
                "windows[0].end",
                "windows[1].level.minReplicas",
                "windows[1].repeat.date",
                "exclusions[0].from",
            ]
        );
        let empty = Schedule { time_zone: "UTC".into(), windows: vec![], exclusions: vec![] };
        assert_eq!(empty.check().unwrap_err()[0].field, "windows");
    }
}
