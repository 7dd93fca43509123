//! The planner's chart: per service, the replicas set at today's peak, those needed at the
//! planned peak, and the HPA's maximum beside them.

use charming::{
    Chart,
    component::{Axis, Grid},
    datatype::{CompositeValue, DataPoint},
    element::{AxisLabel, AxisPointerType, AxisType, ItemStyle},
    series::Bar,
};
use domain::planner::Plan;

use super::{
    Palette,
    frame::{framed, value_axis},
};

fn bars(name: &str, color: &str, values: Vec<Option<i32>>) -> Bar {
    Bar::new()
        .name(name)
        .item_style(ItemStyle::new().color(color))
        .data(values.into_iter().map(|v| DataPoint::from(CompositeValue::from(v))).collect::<Vec<_>>())
}

/// The chart of `plan`.
pub fn plan_chart(plan: &Plan, palette: Palette) -> Chart {
    let names: Vec<String> = plan.rows.iter().map(|r| r.name.clone()).collect();
    framed(palette, AxisPointerType::Shadow, Grid::new().left(48).right(16).top(40).bottom(64))
        .x_axis(
            Axis::new()
                .type_(AxisType::Category)
                .data(names)
                .axis_label(AxisLabel::new().color(palette.muted_text).rotate(20)),
        )
        .y_axis(value_axis("replicas", palette))
        .series(bars(
            "At today's peak",
            palette.muted_text,
            plan.rows.iter().map(|r| Some(r.peak_replicas)).collect(),
        ))
        .series(bars(
            "Needed at the planned peak",
            palette.primary,
            plan.rows.iter().map(|r| Some(r.needed)).collect(),
        ))
        .series(bars("HPA maximum", palette.warning, plan.rows.iter().map(|r| r.max_replicas).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::planner::PlanRow;

    #[test]
    fn one_group_of_bars_per_service_with_no_maximum_left_empty() {
        let row = |name: &str, max: Option<i32>| PlanRow {
            namespace: "pay".into(),
            name: name.into(),
            peak_rate: 100.0,
            planned_rate: 400.0,
            peak_replicas: 3,
            replicas_now: 2,
            fit_replicas: Some(9),
            hpa_replicas: Some(10),
            needed: 10,
            max_replicas: max,
            max_allows: max.is_none_or(|m| m >= 10),
            added_cpu: 4.0,
            added_memory: 0.0,
            fit: None,
            proposal: None,
            note: None,
        };
        let plan = Plan { rows: vec![row("risk", Some(4)), row("fx", None)], ..Plan::default() };
        let chart = serde_json::to_value(plan_chart(&plan, Palette::LIGHT)).unwrap();
        assert_eq!(chart["xAxis"]["data"], serde_json::json!(["risk", "fx"]));
        let series = chart["series"].as_array().unwrap();
        assert_eq!(series.len(), 3);
        assert_eq!(series[1]["data"], serde_json::json!([10, 10]));
        assert_eq!(series[2]["data"], serde_json::json!([4, null]));
    }
}
