//! What the charts share: the frame (no animation, an axis tooltip, the legend on top),
//! their axes, and a flat marker line.

use charming::{
    Chart,
    component::{Axis, Grid, Legend},
    element::{
        AxisLabel, AxisPointer, AxisPointerType, AxisType, LineStyle, MarkLine, MarkLineData,
        MarkLineVariant, NameLocation, SplitLine, Symbol, TextStyle, Tooltip, Trigger,
    },
};

use super::Palette;

/// A chart with an axis tooltip (`pointer`: a line for time, a shadow for categories) and
/// the legend on top, laid out in `grid`.
pub fn framed(palette: Palette, pointer: AxisPointerType, grid: Grid) -> Chart {
    Chart::new()
        .animation(false)
        .tooltip(Tooltip::new().trigger(Trigger::Axis).axis_pointer(AxisPointer::new().type_(pointer)))
        .legend(Legend::new().top(0).text_style(TextStyle::new().color(palette.text)))
        .grid(grid)
}

/// A time axis over `[from_ms, to_ms]`.
pub fn time_axis(from_ms: i64, to_ms: i64, palette: Palette) -> Axis {
    Axis::new()
        .type_(AxisType::Time)
        .min(from_ms as f64)
        .max(to_ms as f64)
        .axis_label(AxisLabel::new().color(palette.muted_text))
        .split_line(SplitLine::new().show(false))
}

/// A value axis from 0, named at its end, in the palette's muted colours.
pub fn value_axis(name: &str, palette: Palette) -> Axis {
    Axis::new()
        .type_(AxisType::Value)
        .name(name)
        .name_location(NameLocation::End)
        .name_text_style(TextStyle::new().color(palette.muted_text))
        .min(0)
        .axis_label(AxisLabel::new().color(palette.muted_text))
        .split_line(SplitLine::new().line_style(LineStyle::new().color(palette.grid_line)))
}

/// A line across the chart at `y` (a target, a maximum, what the nodes hold), named.
pub fn flat_line(name: &str, y: f64) -> MarkLine {
    MarkLine::new()
        .symbol(vec![Symbol::None, Symbol::None])
        .silent(true)
        .data(vec![MarkLineVariant::Simple(MarkLineData::new().name(name).y_axis((y * 10.0).round() / 10.0))])
}
