//! One ECharts instance bound to one element, created once and updated in place.

use charming::Chart;
use leptos::prelude::*;

/// A chart option as ECharts reads it: a charming [`Chart`] written out as JSON once.
///
/// Pages keep options in this form: comparing two of them (to skip redrawing an unchanged
/// chart) is comparing strings, and the browser reads them with its own JSON parser.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartOption(String);

impl From<Chart> for ChartOption {
    fn from(chart: Chart) -> Self {
        // Chart options are plain data (no raw JavaScript), so this cannot fail.
        Self(serde_json::to_string(&chart).unwrap_or_default())
    }
}

impl ChartOption {
    /// The option as JSON.
    pub fn json(&self) -> &str {
        &self.0
    }
}

/// A chart container. The chart is drawn in the browser once `option` first holds a chart;
/// later values update the same ECharts instance (no flicker, no re-creation), and the
/// instance is disposed when the component goes away.
#[component]
pub fn EChart(
    /// The element id ECharts attaches to; unique on the page.
    id: &'static str,
    /// What the chart shows, for screen readers.
    label: String,
    /// The chart option; `None` while there is nothing to draw.
    #[prop(into)]
    option: Signal<Option<ChartOption>>,
    /// Charts in the same group share their tooltip and zoom.
    #[prop(optional)]
    group: Option<&'static str>,
) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    browser::bind(id, option, group);
    #[cfg(not(feature = "hydrate"))]
    let _ = (option, group);

    view! { <div id=id class="chart" role="img" aria-label=label></div> }
}

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use wasm_bindgen::{JsValue, prelude::wasm_bindgen};

    use super::ChartOption;

    // The `echarts` global of the self-hosted bundle (loaded before the WebAssembly).
    #[wasm_bindgen]
    extern "C" {
        type Instance;

        #[wasm_bindgen(catch, js_namespace = echarts, js_name = init)]
        fn init(element: &web_sys::Element) -> Result<Instance, JsValue>;

        #[wasm_bindgen(js_namespace = echarts)]
        fn connect(group: &str);

        #[wasm_bindgen(catch, method, js_name = setOption)]
        fn set_option(this: &Instance, option: &JsValue) -> Result<(), JsValue>;

        #[wasm_bindgen(method, setter)]
        fn set_group(this: &Instance, group: &str);

        #[wasm_bindgen(method)]
        fn resize(this: &Instance);

        #[wasm_bindgen(method)]
        fn dispose(this: &Instance);
    }

    pub fn bind(id: &'static str, option: Signal<Option<ChartOption>>, group: Option<&'static str>) {
        // The instance is a JS handle (not `Send`), so it lives in local-only storage.
        let instance: StoredValue<Option<Instance>, LocalStorage> = StoredValue::new_local(None);

        Effect::new(move |_| {
            let Some(option) = option.get() else { return };
            let parsed = match js_sys::JSON::parse(option.json()) {
                Ok(parsed) => parsed,
                Err(e) => return leptos::logging::error!("chart {id}: its option is not JSON: {e:?}"),
            };
            instance.update_value(|slot| {
                if slot.is_none() {
                    *slot = create(id, group);
                }
                if let Some(chart) = slot
                    && let Err(e) = chart.set_option(&parsed)
                {
                    leptos::logging::error!("chart {id} could not be drawn: {e:?}");
                }
            });
        });

        let resize = window_event_listener(leptos::ev::resize, move |_| {
            instance.with_value(|slot| {
                if let Some(chart) = slot {
                    chart.resize();
                }
            });
        });

        on_cleanup(move || {
            resize.remove();
            // Frees the instance's canvas and listeners.
            if let Some(Some(chart)) = instance.try_update_value(Option::take) {
                chart.dispose();
            }
        });
    }

    /// `echarts.init(element)`, in `group` (linked tooltips and zoom) when given.
    fn create(id: &str, group: Option<&'static str>) -> Option<Instance> {
        let Some(element) = document().get_element_by_id(id) else {
            leptos::logging::error!("chart {id}: no element with that id");
            return None;
        };
        match init(&element) {
            Ok(chart) => {
                if let Some(group) = group {
                    chart.set_group(group);
                    connect(group);
                }
                Some(chart)
            }
            Err(e) => {
                leptos::logging::error!("chart {id} could not be drawn: {e:?}");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use charming::{component::Axis, element::AxisType, series::Line};

    #[test]
    fn the_option_handed_to_echarts_is_the_charts_compact_json() {
        let chart = Chart::new()
            .x_axis(Axis::new().type_(AxisType::Time))
            .series(Line::new().name("Requests").data(vec![1.5, 2.0]));
        let option = ChartOption::from(chart.clone());
        assert!(!option.json().contains('\n'), "compact, not pretty-printed: {}", option.json());
        let read: serde_json::Value = serde_json::from_str(option.json()).unwrap();
        assert_eq!(read, serde_json::to_value(&chart).unwrap());
        assert_eq!(read["series"][0]["type"], "line");
        assert_eq!(option, ChartOption::from(chart), "the same chart compares equal: no redraw");
    }
}
