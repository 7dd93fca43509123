//! How numbers read on screen: units always shown, precision that suits the magnitude.

/// A request rate, e.g. `0.4 req/s`, `12.5 req/s`, `1,250 req/s`.
pub fn rate(requests_per_sec: f64) -> String {
    if requests_per_sec >= 100.0 {
        format!("{} req/s", thousands(requests_per_sec.round() as u64))
    } else {
        format!("{requests_per_sec:.1} req/s")
    }
}

/// A count with thousands separators, e.g. `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration in its two largest units, e.g. `45 s`, `3 min 20 s`, `2 h 5 min`, `4 d 1 h`.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, _) => format!("{m} min {s} s"),
        (0, _, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

/// CPU: millicores below one core, else cores with one decimal, e.g. `850 m`, `12.4 cores`.
pub fn cores(cores: f64) -> String {
    if cores < 1.0 { format!("{} m", (cores * 1000.0).round() as i64) } else { format!("{cores:.1} cores") }
}

/// Memory in binary units, e.g. `512 MiB`, `12.5 GiB`.
pub fn bytes(bytes: f64) -> String {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes >= GIB { format!("{:.1} GiB", bytes / GIB) } else { format!("{:.0} MiB", bytes / MIB) }
}

/// `part` of `whole` as a whole percentage (`—` when the whole is zero).
pub fn share(part: f64, whole: f64) -> String {
    if whole > 0.0 { format!("{:.0} %", 100.0 * part / whole) } else { "—".into() }
}

/// A moment in UTC, e.g. `27 Nov 14:05:09 UTC` (UTC so the server and the browser render
/// the same text).
pub fn clock(unix_ms: i64) -> String {
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let ((_, month, day), rem) = utc_parts(unix_ms);
    format!(
        "{day} {} {:02}:{:02}:{:02} UTC",
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// A moment as ISO 8601 in UTC, `2026-11-26T17:55:00Z`: what ECharts reads as a time.
pub fn iso_utc(unix_ms: i64) -> String {
    let ((year, month, day), rem) = utc_parts(unix_ms);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

/// The UTC civil date (year, month, day) of a moment, and its second of the day.
fn utc_parts(unix_ms: i64) -> ((i64, i64, i64), i64) {
    let secs = unix_ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    ((year, month, day), rem)
}

/// Percent-encodes a URL query value or path segment (everything but unreserved characters).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            // `*` too: `?cluster=*` (the whole fleet) reads as written.
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'*' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_read_in_utc() {
        assert_eq!(clock(0), "1 Jan 00:00:00 UTC");
        assert_eq!(clock(1_795_791_909_000), "27 Nov 15:05:09 UTC");
        assert_eq!(clock(951_782_400_000), "29 Feb 00:00:00 UTC");
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso_utc(1_795_791_909_000), "2026-11-27T15:05:09Z");
        assert_eq!(iso_utc(1_767_225_599_000), "2025-12-31T23:59:59Z");
    }

    #[test]
    fn resources_read_in_their_units() {
        assert_eq!(cores(0.85), "850 m");
        assert_eq!(cores(12.44), "12.4 cores");
        assert_eq!(bytes(512.0 * 1024.0 * 1024.0), "512 MiB");
        assert_eq!(bytes(12.5 * 1024.0 * 1024.0 * 1024.0), "12.5 GiB");
        assert_eq!(share(1.0, 4.0), "25 %");
        assert_eq!(share(1.0, 0.0), "—");
    }

    #[test]
    fn rates_keep_one_decimal_below_a_hundred() {
        assert_eq!(rate(0.0), "0.0 req/s");
        assert_eq!(rate(12.46), "12.5 req/s");
        assert_eq!(rate(1250.4), "1,250 req/s");
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }

    #[test]
    fn durations_use_their_two_largest_units() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(200), "3 min 20 s");
        assert_eq!(duration(7_500), "2 h 5 min");
        assert_eq!(duration(349_200), "4 d 1 h");
    }
}
