//! One ECharts instance bound to one element, created once and updated in place.

use charming::Chart;
use leptos::prelude::*;

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
    option: Signal<Option<Chart>>,
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
    use charming::{Chart, Echarts, WasmRenderer};
    use leptos::prelude::*;
    use wasm_bindgen::{JsCast, JsValue};

    pub fn bind(id: &'static str, option: Signal<Option<Chart>>, group: Option<&'static str>) {
        // `Echarts` is a JS handle (not `Send`), so it lives in local-only storage.
        let instance: StoredValue<Option<Echarts>, LocalStorage> = StoredValue::new_local(None);

        Effect::new(move |_| {
            let Some(chart) = option.get() else { return };
            instance.update_value(|slot| match slot {
                Some(echarts) => WasmRenderer::update(echarts, &chart),
                None => match WasmRenderer::new_opt(None, None).render(id, &chart) {
                    Ok(echarts) => {
                        if let Some(group) = group {
                            join_group(&echarts, group);
                        }
                        *slot = Some(echarts)
                    }
                    Err(e) => leptos::logging::error!("chart {id} could not be drawn: {e:?}"),
                },
            });
        });

        let resize = window_event_listener(leptos::ev::resize, move |_| {
            instance.with_value(|slot| {
                if let Some(echarts) = slot {
                    echarts.resize(JsValue::UNDEFINED);
                }
            });
        });

        on_cleanup(move || {
            resize.remove();
            if let Some(Some(echarts)) = instance.try_update_value(Option::take) {
                dispose(&echarts);
            }
        });
    }

    /// `chart.group = group; echarts.connect(group)`: linked tooltips and zoom.
    fn join_group(echarts: &Echarts, group: &str) {
        let this: &JsValue = echarts.as_ref();
        let _ = js_sys::Reflect::set(this, &JsValue::from_str("group"), &JsValue::from_str(group));
        let global = js_sys::global();
        if let Ok(lib) = js_sys::Reflect::get(&global, &JsValue::from_str("echarts"))
            && let Ok(connect) = js_sys::Reflect::get(&lib, &JsValue::from_str("connect"))
            && let Ok(connect) = connect.dyn_into::<js_sys::Function>()
        {
            let _ = connect.call1(&lib, &JsValue::from_str(group));
        }
    }

    /// `echarts.dispose()` frees the instance's canvas and listeners; charming does not bind it.
    fn dispose(echarts: &Echarts) {
        let this: &JsValue = echarts.as_ref();
        if let Ok(f) = js_sys::Reflect::get(this, &JsValue::from_str("dispose"))
            && let Ok(f) = f.dyn_into::<js_sys::Function>()
        {
            let _ = f.call0(this);
        }
    }
}
