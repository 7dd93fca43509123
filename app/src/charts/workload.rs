//! A workload's three history charts: load, replicas, and requests vs limits vs usage.
//!
//! Every series is `[unix ms, value]` on a time axis spanning the requested range; buckets
//! without data are `null`, so lines break where Paydeck or the cluster was down. Series
//! names carry their unit, so tooltips read "Used (cores): 0.85".

use charming::{
    Chart,
    component::{Axis, DataZoom, Grid, Legend},
    datatype::{CompositeValue, DataPoint, NumericValue},
    element::{
        AreaStyle, AxisLabel, AxisPointer, AxisPointerType, AxisType, ItemStyle, LineStyle, LineStyleType,
        MarkArea, MarkAreaData, MarkLine, MarkLineData, MarkLineVariant, SplitLine, Step, Symbol, TextStyle,
        Tooltip, Trigger,
    },
    series::Line,
};

use super::{Palette, frame::value_axis};
use crate::{
    dto::{History, HistoryPoint},
    plans::{WindowSpan, level_words},
};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const MIB: f64 = 1024.0 * 1024.0;

/// `[t, v]` pairs, `v` null where there is no figure.
fn points(history: &History, value: impl Fn(&HistoryPoint) -> Option<f64>) -> Vec<DataPoint> {
    history
        .points
        .iter()
        .map(|p| {
            let v = value(p).filter(|v| v.is_finite()).map(|v| NumericValue::Float(round(v)));
            DataPoint::Value(CompositeValue::Array(vec![
                CompositeValue::Number(NumericValue::Integer(p.at_ms)),
                CompositeValue::OptionalNumber(v),
            ]))
        })
        .collect()
}

/// Four significant figures are more than a chart can show, and keep the payload small.
fn round(v: f64) -> f64 {
    if v == 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(3 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

fn time_axis(history: &History, palette: Palette, grid: usize) -> Axis {
    Axis::new()
        .type_(AxisType::Time)
        .grid_index(grid as f64)
        .min(history.from_ms as f64)
        .max(history.to_ms as f64)
        .axis_label(AxisLabel::new().color(palette.muted_text))
        .split_line(SplitLine::new().show(false))
}

fn line(name: &str, color: &str, data: Vec<DataPoint>) -> Line {
    Line::new()
        .name(name)
        .show_symbol(false)
        .item_style(ItemStyle::new().color(color))
        .line_style(LineStyle::new().color(color).width(2))
        .data(data)
}

/// Requests: dashed.
fn dashed(line: Line, color: &str) -> Line {
    line.line_style(LineStyle::new().color(color).width(1.5).type_(LineStyleType::Dashed))
}

/// Limits: dotted.
fn dotted(line: Line, color: &str) -> Line {
    line.line_style(LineStyle::new().color(color).width(2).type_(LineStyleType::Dotted))
}

/// Targets and bounds: a thin dashed line in the series' own colour.
fn thin_dashed(line: Line) -> Line {
    let color = line_color(&line);
    line.line_style(LineStyle::new().color(color).width(1).type_(LineStyleType::Dashed))
}

fn line_color(line: &Line) -> String {
    serde_json::to_value(line)
        .ok()
        .and_then(|v| v["itemStyle"]["color"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A legend listing only `names` (helper series stay out of it).
fn legend(palette: Palette, names: &[&str]) -> Legend {
    Legend::new()
        .top(0)
        .text_style(TextStyle::new().color(palette.text))
        .data(names.iter().map(|n| (*n).into()).collect::<Vec<charming::component::LegendItem>>())
}

/// What every chart shares: tooltip, legend, zoom.
fn base_chart(palette: Palette, grids: usize) -> Chart {
    let axes: Vec<f64> = (0..grids).map(|i| i as f64).collect();
    Chart::new()
        .animation_duration(300)
        .tooltip(
            Tooltip::new()
                .trigger(Trigger::Axis)
                .axis_pointer(AxisPointer::new().type_(AxisPointerType::Line)),
        )
        .legend(Legend::new().top(0).text_style(TextStyle::new().color(palette.text)))
        .data_zoom(
            DataZoom::new().type_(charming::component::DataZoomType::Inside).x_axis_index(axes.clone()),
        )
        .data_zoom(
            DataZoom::new().type_(charming::component::DataZoomType::Slider).x_axis_index(axes).bottom(4),
        )
}

/// Load: CPU utilisation against the HPA's target, and request rate with load per pod on a
/// second axis.
pub fn load_chart(history: &History, palette: Palette) -> Chart {
    let utilization = points(history, |p| {
        let used = p.cpu_usage?.avg;
        let requested = p.cpu_requests.filter(|r| *r > 0.0)?;
        Some(100.0 * used / requested)
    });
    let per_pod = points(history, |p| {
        let ready = p.replicas_ready?.avg;
        (ready > 0.0).then(|| p.request_rate.map(|r| r.avg / ready)).flatten()
    });
    base_chart(palette, 1)
        .grid(Grid::new().left(56).right(64).top(40).bottom(56))
        .x_axis(time_axis(history, palette, 0))
        .y_axis(value_axis("CPU %", palette))
        .y_axis(value_axis("req/s", palette).split_line(SplitLine::new().show(false)))
        .series(line("CPU utilisation (%)", palette.primary, utilization))
        .series(dashed(
            line("HPA CPU target (%)", palette.warning, points(history, |p| p.hpa_cpu_target)),
            palette.warning,
        ))
        .series(
            line("Requests (req/s)", palette.secondary, points(history, |p| p.request_rate.map(|r| r.avg)))
                .y_axis_index(1),
        )
        .series(line("Per pod (req/s)", palette.tertiary, per_pod).y_axis_index(1))
}

/// Replicas: desired (line) and ready (area) inside the HPA's min–max band, scale events
/// marked, and the windows of scheduled plans as bands — past ones in the range, and those
/// ahead of now, for which the time axis reaches past now (by at most the range again).
pub fn replicas_chart(history: &History, palette: Palette, windows: &[WindowSpan]) -> Chart {
    let span = history.to_ms - history.from_ms;
    let shown: Vec<&WindowSpan> =
        windows.iter().filter(|w| w.end_ms > history.from_ms && w.start_ms < history.to_ms + span).collect();
    let axis_end = shown.iter().map(|w| w.end_ms.min(history.to_ms + span)).fold(history.to_ms, i64::max);
    let area_of = |w: &&WindowSpan| {
        let ahead = w.start_ms >= history.to_ms;
        let name =
            format!("{} plan window: {}", if ahead { "Upcoming" } else { "Past" }, level_words(&w.level));
        (
            MarkAreaData::new().name(name).x_axis(crate::format::iso_utc(w.start_ms.max(history.from_ms))),
            MarkAreaData::new().x_axis(crate::format::iso_utc(w.end_ms.min(axis_end))),
        )
    };
    let (ahead, past): (Vec<&WindowSpan>, Vec<&WindowSpan>) =
        shown.iter().partition(|w| w.start_ms >= history.to_ms);
    let areas = |windows: &[&WindowSpan], color: &str, opacity: f64| {
        MarkArea::new()
            .silent(true)
            .label(charming::element::Label::new().show(false))
            .item_style(ItemStyle::new().color(color).opacity(opacity))
            .data(windows.iter().map(area_of).collect())
    };
    let events: Vec<MarkLineVariant> = history
        .events
        .iter()
        .map(|e| MarkLineVariant::Simple(MarkLineData::new().x_axis(e.at_ms as f64).name(e.message.clone())))
        .collect();
    let desired =
        line("Desired replicas", palette.primary, points(history, |p| p.replicas_desired.map(|s| s.max)))
            .step(Step::End)
            .mark_line(
                MarkLine::new()
                    .symbol(vec![Symbol::None, Symbol::None])
                    .line_style(LineStyle::new().color(palette.event).type_(LineStyleType::Solid).width(1))
                    .label(charming::element::Label::new().show(false))
                    .data(events),
            );
    let ready =
        line("Ready replicas", palette.secondary, points(history, |p| p.replicas_ready.map(|s| s.min)))
            .step(Step::End)
            .area_style(AreaStyle::new().color(palette.secondary_fill))
            .mark_area(areas(&past, palette.event, 0.12));
    let [base, band] = band(history, palette);
    base_chart(palette, 1)
        .legend(legend(palette, &["Desired replicas", "Ready replicas", "HPA max", "HPA min"]))
        .grid(Grid::new().left(56).right(24).top(40).bottom(56))
        .x_axis(time_axis(history, palette, 0).max(axis_end as f64))
        .y_axis(value_axis("replicas", palette).min_interval(1))
        .series(base.mark_area(areas(&ahead, palette.primary, 0.16)))
        .series(band)
        .series(ready)
        .series(desired)
        .series(thin_dashed(line("HPA max", palette.warning, points(history, |p| p.hpa_max))).step(Step::End))
        .series(
            thin_dashed(line("HPA min", palette.muted_text, points(history, |p| p.hpa_min))).step(Step::End),
        )
}

/// The HPA's min–max as a light band: an invisible line at min with the difference stacked
/// on it and filled. Both stay out of tooltips and legend (the min and max lines say it).
fn band(history: &History, palette: Palette) -> [Line; 2] {
    let hidden = |name: &str, data| {
        Line::new()
            .name(name)
            .stack("hpa-band")
            .show_symbol(false)
            .silent(true)
            .tooltip(Tooltip::new().trigger(Trigger::None))
            .line_style(LineStyle::new().opacity(0))
            .step(Step::End)
            .data(data)
    };
    [
        hidden("HPA band base", points(history, |p| p.hpa_min)),
        hidden("HPA band", points(history, |p| Some(p.hpa_max? - p.hpa_min?)))
            .area_style(AreaStyle::new().color(palette.band_fill)),
    ]
}

/// Requests vs limits vs usage: CPU in cores above, memory below (GiB, or MiB when small).
pub fn resources_chart(history: &History, palette: Palette) -> Chart {
    let largest_memory = history
        .points
        .iter()
        .flat_map(|p| [p.memory_limits, p.memory_requests, p.memory_usage.map(|s| s.max)])
        .flatten()
        .fold(0.0, f64::max);
    let (divisor, unit) = if largest_memory >= GIB { (GIB, "GiB") } else { (MIB, "MiB") };
    let memory = |f: fn(&HistoryPoint) -> Option<f64>| points(history, move |p| f(p).map(|v| v / divisor));

    base_chart(palette, 2)
        .grid(Grid::new().left(56).right(24).top(40).height("30%"))
        .grid(Grid::new().left(56).right(24).top("58%").height("30%"))
        .x_axis(time_axis(history, palette, 0).axis_label(AxisLabel::new().show(false)))
        .x_axis(time_axis(history, palette, 1))
        .y_axis(value_axis("cores", palette))
        .y_axis(value_axis(unit, palette).grid_index(1))
        .series(line("CPU used (cores)", palette.primary, points(history, |p| p.cpu_usage.map(|s| s.avg))))
        .series(dashed(
            line("CPU requested (cores)", palette.secondary, points(history, |p| p.cpu_requests)),
            palette.secondary,
        ))
        .series(dotted(
            line("CPU limit (cores)", palette.warning, points(history, |p| p.cpu_limits)),
            palette.warning,
        ))
        .series(
            line(
                &format!("Memory used ({unit})"),
                palette.primary,
                memory(|p| p.memory_usage.map(|s| s.avg)),
            )
            .x_axis_index(1)
            .y_axis_index(1),
        )
        .series(
            dashed(
                line(&format!("Memory requested ({unit})"), palette.secondary, memory(|p| p.memory_requests)),
                palette.secondary,
            )
            .x_axis_index(1)
            .y_axis_index(1),
        )
        .series(
            dotted(
                line(&format!("Memory limit ({unit})"), palette.warning, memory(|p| p.memory_limits)),
                palette.warning,
            )
            .x_axis_index(1)
            .y_axis_index(1),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::{HistoryEvent, Stat};

    fn stat(v: f64) -> Option<Stat> {
        Some(Stat { min: v, avg: v, max: v })
    }

    fn history() -> History {
        let filled = |at_ms, usage: f64| HistoryPoint {
            at_ms,
            replicas_desired: stat(4.0),
            replicas_ready: stat(2.0),
            cpu_usage: stat(usage),
            memory_usage: stat(3.0 * GIB),
            request_rate: stat(100.0),
            cpu_requests: Some(2.0),
            cpu_limits: Some(4.0),
            memory_requests: Some(2.0 * GIB),
            memory_limits: Some(4.0 * GIB),
            hpa_min: Some(2.0),
            hpa_max: Some(6.0),
            hpa_cpu_target: Some(70.0),
        };
        History {
            from_ms: 0,
            to_ms: 3_000,
            step_ms: 1_000,
            source: "raw".into(),
            points: vec![
                filled(0, 1.0),
                HistoryPoint { at_ms: 1_000, ..Default::default() },
                filled(2_000, 1.5),
            ],
            gaps: vec![[1_000, 2_000]],
            events: vec![HistoryEvent {
                at_ms: 2_500, kind: "scale".into(), message: "scaled 2 → 4".into()
            }],
            simulated_until_ms: None,
        }
    }

    fn series<'a>(json: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
        json["series"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no series {name}"))
    }

    #[test]
    fn load_is_utilisation_against_target_with_rate_and_per_pod_on_a_second_axis() {
        let json = serde_json::to_value(load_chart(&history(), Palette::LIGHT)).unwrap();
        assert_eq!(json["xAxis"]["min"], 0.0);
        assert_eq!(json["xAxis"]["max"], 3000.0);
        let utilization = &series(&json, "CPU utilisation (%)")["data"];
        assert_eq!(utilization[0], serde_json::json!([0, 50.0]), "1 core used of 2 requested");
        assert!(utilization[1][1].is_null(), "no data is a break in the line, not a zero");
        assert_eq!(utilization[2][1], 75.0);
        assert_eq!(series(&json, "HPA CPU target (%)")["data"][0][1], 70.0);
        let per_pod = series(&json, "Per pod (req/s)");
        assert_eq!(per_pod["data"][0][1], 50.0, "L = T / N over ready replicas");
        assert_eq!(per_pod["yAxisIndex"], 1.0);
    }

    #[test]
    fn replicas_sit_in_the_band_with_scale_events_marked() {
        let json = serde_json::to_value(replicas_chart(&history(), Palette::LIGHT, &[])).unwrap();
        assert_eq!(series(&json, "HPA max")["data"][0][1], 6.0);
        assert_eq!(series(&json, "HPA min")["data"][0][1], 2.0);
        assert_eq!(series(&json, "HPA band")["data"][0][1], 4.0, "the band spans min to max");
        assert_eq!(series(&json, "HPA band")["tooltip"]["trigger"], "none", "kept out of tooltips");
        assert!(json["legend"]["data"].as_array().unwrap().iter().all(|n| n != "HPA band"));
        let marks = &series(&json, "Desired replicas")["markLine"]["data"];
        assert_eq!(marks[0]["xAxis"], 2500.0);
        assert_eq!(marks[0]["name"], "scaled 2 → 4");
    }

    #[test]
    fn plan_windows_are_bands_past_and_ahead_with_the_axis_reaching_the_next() {
        let window = |start_ms, end_ms| WindowSpan {
            start_ms,
            end_ms,
            level: crate::plans::Level { min_replicas: Some(8), max_replicas: None },
            local: String::new(),
        };
        // The range is 0–3 s: one window in it, one ahead, one too far ahead to show.
        let windows = [window(1_000, 2_000), window(4_000, 5_000), window(9_000, 10_000)];
        let json = serde_json::to_value(replicas_chart(&history(), Palette::LIGHT, &windows)).unwrap();
        let past = &series(&json, "Ready replicas")["markArea"]["data"];
        assert_eq!(past.as_array().unwrap().len(), 1);
        assert_eq!(past[0][0]["xAxis"], "1970-01-01T00:00:01Z");
        assert_eq!(past[0][0]["name"], "Past plan window: min ≥ 8");
        let ahead = &series(&json, "HPA band base")["markArea"]["data"];
        assert_eq!(ahead.as_array().unwrap().len(), 1, "{ahead}");
        assert_eq!(ahead[0][1]["xAxis"], "1970-01-01T00:00:05Z");
        assert_eq!(json["xAxis"]["max"], 5_000.0, "the axis reaches the upcoming window's end");
    }

    #[test]
    fn resources_chart_cpu_and_memory_in_readable_units() {
        let json = serde_json::to_value(resources_chart(&history(), Palette::LIGHT)).unwrap();
        assert_eq!(json["grid"].as_array().unwrap().len(), 2);
        assert_eq!(series(&json, "CPU limit (cores)")["data"][0][1], 4.0);
        assert_eq!(series(&json, "CPU limit (cores)")["lineStyle"]["type"], "dotted", "limits dotted");
        assert_eq!(series(&json, "CPU requested (cores)")["lineStyle"]["type"], "dashed", "requests dashed");
        let memory = series(&json, "Memory used (GiB)");
        assert_eq!(memory["data"][0][1], 3.0);
        assert_eq!(memory["xAxisIndex"], 1.0);
        assert!(series(&json, "Memory requested (GiB)")["data"][1][1].is_null());
    }

    #[test]
    fn rounding_keeps_four_significant_figures() {
        assert_eq!(round(0.123_456), 0.1235);
        assert_eq!(round(123_456.7), 123_500.0);
        assert_eq!(round(0.0), 0.0);
    }
}
