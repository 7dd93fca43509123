//! The what-if chart: replicas as recorded, as the current HPA would have set them (the
//! replay's honesty check) and as the proposed one would, with CPU utilisation over the
//! ready pods for the current and the proposed configuration on a second axis.

use charming::{
    Chart,
    component::{DataZoom, DataZoomType, Grid},
    datatype::{CompositeValue, DataPoint, NumericValue},
    element::{AxisPointerType, ItemStyle, LineStyle, LineStyleType, SplitLine, Step},
    series::Line,
};
use domain::whatif::{Series, Trace};

use super::{
    Palette,
    frame::{flat_line, framed, time_axis, value_axis},
};

/// Every `stride`-th point (a week of 15-s steps is more than a chart can show).
fn points(series: &Series, stride: usize, value: impl Fn(usize) -> Option<f64>) -> Vec<DataPoint> {
    (0..series.len())
        .step_by(stride.max(1))
        .map(|i| {
            let v =
                value(i).filter(|v| v.is_finite()).map(|v| NumericValue::Float((v * 10.0).round() / 10.0));
            DataPoint::Value(CompositeValue::Array(vec![
                CompositeValue::Number(NumericValue::Integer(series.at(i))),
                CompositeValue::OptionalNumber(v),
            ]))
        })
        .collect()
}

fn line(name: &str, color: &str, width: f64, kind: LineStyleType, y_axis: f64, data: Vec<DataPoint>) -> Line {
    Line::new()
        .name(name)
        .show_symbol(false)
        .step(Step::End)
        .y_axis_index(y_axis)
        .item_style(ItemStyle::new().color(color))
        .line_style(LineStyle::new().color(color).width(width).type_(kind))
        .data(data)
}

/// The chart of a backtest: `current` and `proposed` traces over `series`.
pub fn whatif_chart(
    series: &Series,
    current: &Trace,
    proposed: &Trace,
    target: Option<i32>,
    palette: Palette,
) -> Chart {
    // At most ~2,000 points per line.
    let stride = series.len().div_ceil(2000);
    let recorded = points(series, stride, |i| series.desired[i].map(f64::from));
    let now = points(series, stride, |i| current.replicas.get(i).map(|r| f64::from(*r)));
    let next = points(series, stride, |i| proposed.replicas.get(i).map(|r| f64::from(*r)));
    let util_now = points(series, stride, |i| current.utilization.get(i).copied().flatten().map(f64::from));
    let util_next = points(series, stride, |i| proposed.utilization.get(i).copied().flatten().map(f64::from));
    let mut util_proposed =
        line("Utilisation, proposed (%)", palette.warning, 1.0, LineStyleType::Solid, 1.0, util_next);
    if let Some(t) = target {
        util_proposed = util_proposed.mark_line(flat_line("target", f64::from(t)));
    }
    framed(palette, AxisPointerType::Line, Grid::new().left(48).right(56).top(40).bottom(56))
        .x_axis(time_axis(series.from_ms, series.at(series.len()), palette))
        .y_axis(value_axis("replicas", palette))
        .y_axis(value_axis("CPU %", palette).split_line(SplitLine::new().show(false)))
        .data_zoom(DataZoom::new().type_(DataZoomType::Inside))
        .data_zoom(DataZoom::new().type_(DataZoomType::Slider).bottom(4))
        // Drawn in this order so the current HPA's dashes stay visible over an identical proposal.
        .series(line("Recorded replicas", palette.muted_text, 2.0, LineStyleType::Solid, 0.0, recorded))
        .series(line("Proposed HPA", palette.secondary, 2.5, LineStyleType::Solid, 0.0, next))
        .series(line("Current HPA, replayed", palette.primary, 1.5, LineStyleType::Dashed, 0.0, now))
        .series(util_proposed)
        .series(line("Utilisation, current (%)", palette.tertiary, 1.0, LineStyleType::Dotted, 1.0, util_now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_week_is_thinned_to_what_a_chart_shows() {
        let n = 40_320;
        let series = Series {
            step_ms: 15_000,
            cpu: vec![Some(1.0); n],
            desired: vec![Some(2); n],
            ..Series::default()
        };
        let trace = Trace { replicas: vec![2; n], utilization: vec![Some(50.0); n] };
        let chart =
            serde_json::to_value(whatif_chart(&series, &trace, &trace, Some(70), Palette::LIGHT)).unwrap();
        let lines = chart["series"].as_array().unwrap();
        assert_eq!(lines.len(), 5);
        assert!(lines[0]["data"].as_array().unwrap().len() <= 2_000);
        assert_eq!(lines[3]["markLine"]["data"][0]["yAxis"], 70.0);
    }
}
