//! The server-traffic chart: requests per second over the last minutes.

use charming::{
    Chart,
    component::{Axis, Grid},
    element::{
        AreaStyle, AxisLabel, AxisType, LineStyle, NameLocation, SplitLine, TextStyle, Tooltip, Trigger,
    },
    series::Line,
};

use super::Palette;
use crate::traffic::TrafficSeries;

/// The option for the traffic chart. Points are `[unix ms, req/s]` on a time axis.
pub fn traffic_chart(series: &TrafficSeries, palette: Palette) -> Chart {
    let data: Vec<Vec<f64>> =
        series.points.iter().map(|p| vec![p.start_unix_ms as f64, round2(p.requests_per_sec)]).collect();

    Chart::new()
        .animation_duration(300)
        .grid(Grid::new().left(48).right(16).top(28).bottom(28))
        .tooltip(Tooltip::new().trigger(Trigger::Axis))
        .x_axis(
            Axis::new()
                .type_(AxisType::Time)
                .min(series.window_start_unix_ms as f64)
                .max(series.window_end_unix_ms as f64)
                .axis_label(AxisLabel::new().color(palette.muted_text))
                .split_line(SplitLine::new().show(false)),
        )
        .y_axis(
            Axis::new()
                .type_(AxisType::Value)
                .name("req/s")
                .name_location(NameLocation::End)
                .name_text_style(TextStyle::new().color(palette.muted_text))
                .min(0)
                .axis_label(AxisLabel::new().color(palette.muted_text))
                .split_line(SplitLine::new().line_style(LineStyle::new().color(palette.grid_line))),
        )
        .series(
            Line::new()
                .name("Requests per second")
                .show_symbol(false)
                .line_style(LineStyle::new().color(palette.primary).width(2))
                .area_style(AreaStyle::new().color(palette.primary_fill))
                .data(data),
        )
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::TrafficPoint;

    #[test]
    fn points_become_time_value_pairs_on_a_time_axis() {
        let series = TrafficSeries {
            bucket_secs: 5,
            window_start_unix_ms: 0,
            window_end_unix_ms: 300_000,
            points: vec![
                TrafficPoint { start_unix_ms: 1_000, requests_per_sec: 0.333_333 },
                TrafficPoint { start_unix_ms: 6_000, requests_per_sec: 2.0 },
            ],
            total_requests: 12,
            uptime_secs: 10,
        };
        let json = serde_json::to_value(traffic_chart(&series, Palette::LIGHT)).unwrap();
        assert_eq!(json["xAxis"]["type"], "time");
        assert_eq!(json["xAxis"]["min"], 0.0, "the axis spans the whole window");
        assert_eq!(json["xAxis"]["max"], 300_000.0);
        assert_eq!(json["series"][0]["type"], "line");
        assert_eq!(json["series"][0]["data"], serde_json::json!([[1000.0, 0.33], [6000.0, 2.0]]));
    }
}
