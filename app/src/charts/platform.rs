//! The Overview's platform charts: load (total request rate T, replicas desired and ready)
//! and resources (CPU and memory requested and used, with the nodes' allocatable now).

use charming::{
    Chart,
    component::Grid,
    datatype::{CompositeValue, DataPoint, NumericValue},
    element::{AxisPointerType, ItemStyle, Label, LabelPosition, LineStyle, LineStyleType, SplitLine},
    series::Line,
};
use domain::dto::{Platform, PlatformPoint};

use super::{
    Palette,
    frame::{flat_line, framed, time_axis, value_axis},
};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn points(p: &Platform, value: impl Fn(&PlatformPoint) -> Option<f64>) -> Vec<DataPoint> {
    p.points
        .iter()
        .map(|pt| {
            let v =
                value(pt).filter(|v| v.is_finite()).map(|v| NumericValue::Float((v * 100.0).round() / 100.0));
            DataPoint::Value(CompositeValue::Array(vec![
                CompositeValue::Number(NumericValue::Integer(pt.at_ms)),
                CompositeValue::OptionalNumber(v),
            ]))
        })
        .collect()
}

fn line(name: &str, color: &str, kind: LineStyleType, y_axis: f64, data: Vec<DataPoint>) -> Line {
    Line::new()
        .name(name)
        .show_symbol(false)
        .connect_nulls(false)
        .y_axis_index(y_axis)
        .item_style(ItemStyle::new().color(color))
        .line_style(LineStyle::new().color(color).width(1.5).type_(kind))
        .data(data)
}

/// The two allocatable lines sit at the same height (each axis reaches its own): their
/// labels go at opposite ends, with their names.
fn named_at(position: LabelPosition) -> Label {
    Label::new().position(position).formatter("{b}: {c}")
}

fn frame(p: &Platform, palette: Palette) -> Chart {
    framed(palette, AxisPointerType::Line, Grid::new().left(48).right(56).top(40).bottom(28))
        .x_axis(time_axis(p.from_ms, p.to_ms, palette))
}

/// Total request rate and replicas desired vs ready.
pub fn load_chart(p: &Platform, palette: Palette) -> Chart {
    frame(p, palette)
        .y_axis(value_axis("req/s", palette))
        .y_axis(value_axis("replicas", palette).split_line(SplitLine::new().show(false)))
        .series(line(
            "Requests (T, req/s)",
            palette.primary,
            LineStyleType::Solid,
            0.0,
            points(p, |x| Some(x.request_rate)),
        ))
        .series(line(
            "Replicas desired",
            palette.secondary,
            LineStyleType::Solid,
            1.0,
            points(p, |x| Some(x.replicas_desired)),
        ))
        .series(line(
            "Replicas ready",
            palette.tertiary,
            LineStyleType::Dashed,
            1.0,
            points(p, |x| Some(x.replicas_ready)),
        ))
}

/// An axis top that shows both the data and the allocatable line above it.
fn top(allocatable: f64, data: impl Iterator<Item = f64>) -> f64 {
    (data.fold(allocatable, f64::max) * 1.05).ceil()
}

/// CPU (cores) and memory (GiB) requested and used, each with the nodes' allocatable now.
pub fn resources_chart(p: &Platform, palette: Palette) -> Chart {
    let cpu_top =
        top(p.cpu_allocatable, p.points.iter().map(|x| x.cpu_requests.max(x.cpu_usage.unwrap_or(0.0))));
    let memory_top = top(
        p.memory_allocatable / GIB,
        p.points.iter().map(|x| x.memory_requests.max(x.memory_usage.unwrap_or(0.0)) / GIB),
    );
    frame(p, palette)
        .y_axis(value_axis("cores", palette).max(cpu_top))
        .y_axis(value_axis("GiB", palette).max(memory_top).split_line(SplitLine::new().show(false)))
        .series(
            line(
                "CPU requested (R)",
                palette.primary,
                LineStyleType::Solid,
                0.0,
                points(p, |x| Some(x.cpu_requests)),
            )
            .mark_line(
                flat_line("CPU allocatable", p.cpu_allocatable)
                    .label(named_at(LabelPosition::InsideStartTop)),
            ),
        )
        .series(line("CPU used", palette.primary, LineStyleType::Dotted, 0.0, points(p, |x| x.cpu_usage)))
        .series(
            line(
                "Memory requested",
                palette.secondary,
                LineStyleType::Solid,
                1.0,
                points(p, |x| Some(x.memory_requests / GIB)),
            )
            .mark_line(
                flat_line("Memory allocatable", p.memory_allocatable / GIB)
                    .label(named_at(LabelPosition::InsideEndTop)),
            ),
        )
        .series(line(
            "Memory used",
            palette.secondary,
            LineStyleType::Dotted,
            1.0,
            points(p, |x| x.memory_usage.map(|m| m / GIB)),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_charts_carry_every_point_and_the_resources_chart_the_allocatable() {
        let p = Platform {
            from_ms: 0,
            to_ms: 600_000,
            points: vec![
                PlatformPoint {
                    at_ms: 0,
                    request_rate: 100.0,
                    cpu_requests: 4.0,
                    memory_requests: 2.0 * GIB,
                    ..Default::default()
                },
                PlatformPoint {
                    at_ms: 300_000,
                    request_rate: 150.0,
                    cpu_usage: Some(1.5),
                    ..Default::default()
                },
            ],
            cpu_allocatable: 32.0,
            memory_allocatable: 128.0 * GIB,
            recorded: true,
        };
        let load = serde_json::to_value(load_chart(&p, Palette::LIGHT)).unwrap();
        assert_eq!(load["series"][0]["data"][1], serde_json::json!([300000, 150.0]));
        let res = serde_json::to_value(resources_chart(&p, Palette::LIGHT)).unwrap();
        assert_eq!(res["series"][0]["markLine"]["data"][0]["yAxis"], 32.0);
        assert_eq!(res["series"][2]["markLine"]["data"][0]["yAxis"], 128.0);
        assert_eq!(
            res["series"][1]["data"][0],
            serde_json::json!([0, null]),
            "usage unknown stays a gap, not zero"
        );
    }
}
