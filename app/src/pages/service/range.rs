//! The time ranges a service's charts can show, kept in the URL as `?range=`.

/// A chart range: its URL value, its label, and its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChartRange {
    pub key: &'static str,
    pub label: &'static str,
    pub millis: i64,
}

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

pub const RANGES: [ChartRange; 6] = [
    ChartRange { key: "15m", label: "15 min", millis: 15 * MINUTE },
    ChartRange { key: "1h", label: "1 h", millis: HOUR },
    ChartRange { key: "6h", label: "6 h", millis: 6 * HOUR },
    ChartRange { key: "24h", label: "24 h", millis: DAY },
    ChartRange { key: "7d", label: "7 d", millis: 7 * DAY },
    ChartRange { key: "30d", label: "30 d", millis: 30 * DAY },
];

/// Points per chart: enough for a smooth line at any width, few enough to send quickly.
pub const POINTS: i64 = 360;

impl ChartRange {
    /// The range for a URL value; the last hour when missing or unknown.
    pub fn parse(key: Option<&str>) -> ChartRange {
        RANGES.iter().copied().find(|r| Some(r.key) == key).unwrap_or(RANGES[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_ranges_fall_back_to_the_last_hour() {
        assert_eq!(ChartRange::parse(Some("7d")).millis, 7 * DAY);
        assert_eq!(ChartRange::parse(Some("1y")).key, "1h");
        assert_eq!(ChartRange::parse(None).key, "1h");
    }
}
