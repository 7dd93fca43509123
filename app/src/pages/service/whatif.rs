//! The what-if beside the edit form: the service's recorded demand replayed through the HPA
//! as it is and as the form proposes, rerun in the browser as the operator types — before
//! anything is previewed or applied.

use std::time::Duration;

use domain::{
    scaling::{
        ScalingForm,
        form::check,
        validate::{Context, Limits},
    },
    whatif::{Backtest, HpaConfig, Options, Series, Trace, Window, backtest},
};
use leptos::prelude::*;

use crate::{
    charts::{ChartOption, EChart, Palette, whatif::whatif_chart},
    dto::Workload,
    whatif::workload_demand,
};

/// A replay's result, with how long it took.
#[derive(Clone, Debug, PartialEq)]
struct Replayed {
    backtest: Backtest,
    current: Trace,
    proposed: Trace,
    target: Option<i32>,
    elapsed_ms: f64,
}

/// A figure's row: its name, how to read it, and whether less is better.
struct Row {
    label: &'static str,
    unit: &'static str,
    get: fn(&domain::whatif::Figures) -> f64,
    lower_is_better: Option<bool>,
}

const ROWS: [Row; 8] = [
    Row { label: "Overloaded", unit: "min", get: |f| f.overloaded_minutes, lower_is_better: Some(true) },
    Row {
        label: "Above the CPU target",
        unit: "min",
        get: |f| f.above_target_minutes,
        lower_is_better: Some(true),
    },
    Row { label: "Replica-hours", unit: "h", get: |f| f.replica_hours, lower_is_better: Some(true) },
    Row { label: "Requested core-hours", unit: "h", get: |f| f.core_hours, lower_is_better: Some(true) },
    Row { label: "Scale events", unit: "", get: |f| f64::from(f.scale_events), lower_is_better: Some(true) },
    Row { label: "At the maximum", unit: "min", get: |f| f.minutes_at_max, lower_is_better: Some(true) },
    Row { label: "At the minimum", unit: "min", get: |f| f.minutes_at_min, lower_is_better: None },
    Row { label: "Peak replicas", unit: "", get: |f| f64::from(f.peak_replicas), lower_is_better: None },
];

fn shown(v: f64, unit: &str) -> String {
    let n = if v >= 100.0 || v == v.trunc() { format!("{v:.0}") } else { format!("{v:.1}") };
    if unit.is_empty() { n } else { format!("{n} {unit}") }
}

/// The replay of `series` (the last `window`) through the workload's HPA and the form's
/// proposal (`None` while the form does not validate).
fn replay(
    series: &Series,
    window: Window,
    w: &Workload,
    form: &ScalingForm,
    limits: &Limits,
) -> Option<Replayed> {
    let current = HpaConfig::of(w.autoscaler.as_ref()?);
    // The reason matters for applying, not for replaying.
    let mut form = form.clone();
    if form.reason.trim().is_empty() {
        form.reason = "what-if".into();
    }
    let checked = check(&form, limits, &Context::of(w, 0.0));
    let proposed = HpaConfig::from_change(checked.change.as_ref()?)?;
    let started = now_ms();
    let backtest = backtest(series, window.millis(), &current, &proposed, &Options::default());
    let trace = |replicas: &Vec<i32>, utilization: &Vec<Option<f32>>| Trace {
        replicas: replicas.clone(),
        utilization: utilization.clone(),
    };
    Some(Replayed {
        current: trace(&backtest.series.current, &backtest.series.current_utilization),
        proposed: trace(&backtest.series.proposed, &backtest.series.proposed_utilization),
        backtest,
        target: proposed.cpu_target,
        elapsed_ms: now_ms() - started,
    })
}

fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    return js_sys::Date::now();
    #[cfg(not(feature = "hydrate"))]
    0.0
}

#[component]
pub fn WhatIf(
    namespace: String,
    name: String,
    workload: Signal<Option<Workload>>,
    form: RwSignal<Option<ScalingForm>>,
    limits: Signal<Option<Limits>>,
) -> impl IntoView {
    let window = RwSignal::new(Window::Day);
    let chosen = crate::chosen::use_chosen();
    let series = LocalResource::new(move || {
        workload_demand(chosen.get(), namespace.clone(), name.clone(), window.get())
    });
    let result = RwSignal::new(None::<Replayed>);
    // Rerun after typing stops for a moment; a newer run makes an older one moot.
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let inputs = (series.get(), workload.get(), form.get(), limits.get(), window.get());
        let run = generation.get_value() + 1;
        generation.set_value(run);
        set_timeout(
            move || {
                // The panel may have gone (another page) or been asked again meanwhile.
                if generation.try_get_value() != Some(run) {
                    return;
                }
                let (Some(Ok(series)), Some(w), Some(f), Some(l), window) = inputs else { return };
                let _ = result.try_set(replay(&series, window, &w, &f, &l));
            },
            Duration::from_millis(150),
        );
    });
    let palette = Palette::current();
    let chart = Memo::new(move |_| {
        let s = series.get().and_then(Result::ok)?;
        result.with(|r| {
            r.as_ref()
                .map(|r| ChartOption::from(whatif_chart(&s, &r.current, &r.proposed, r.target, palette)))
        })
    });

    view! {
        <section class="whatif" aria-labelledby="whatif-title" data-testid="whatif">
            <div class="whatif-head">
                <h3 class="subheading" id="whatif-title">"What would it have done?"</h3>
                <div class="range" role="group" aria-label="Replay window">
                    {[Window::Day, Window::Week].into_iter().map(|w| view! {
                        <button type="button" class="range-option" aria-pressed=move || (window.get() == w).to_string()
                            on:click=move |_| window.set(w)>{w.label()}</button>
                    }).collect_view()}
                </div>
            </div>
            <p class="panel-note">"The recorded demand of this service replayed through the HPA as it is and as proposed here, step by step as the HPA controller decides. It assumes the total demand does not depend on the replica count (the ready pods share it)."</p>
            // A replay of a change its owner sets back describes minutes, not weeks.
            {move || workload.with(|w| {
                w.as_ref().and_then(|w| domain::owners::reverting(w.scaling_owners()).cloned())
            }).map(|o| view! {
                <p class="panel-note warn" data-testid="whatif-owner">
                    {format!("The proposal lasts only until {} sets it back, unless it is also made there.", o.describe())}
                </p>
            })}
            <Transition fallback=|| view! { <p class="loading" role="status">"Loading the recorded demand…"</p> }>
                {move || series.get().map(|s| match s {
                    Err(e) => view! { <p class="panel-note" data-testid="whatif-unavailable">{format!("No replay: {e}")}</p> }.into_any(),
                    Ok(_) => view! {
                        {move || match result.get() {
                            None => view! { <p class="panel-note" data-testid="whatif-waiting">"Correct the fields marked to see what the proposal would have done."</p> }.into_any(),
                            Some(r) => view! { <Figures r /> }.into_any(),
                        }}
                        <EChart id="whatif-chart" label="Replicas recorded, replayed with the current HPA and with the proposed one, with CPU utilisation".to_string() option=chart />
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// The figures side by side, with the proposal's better or worse marked (in words and colour).
#[component]
fn Figures(r: Replayed) -> impl IntoView {
    let b = r.backtest.clone();
    let fidelity = &b.fidelity;
    let matches = format!(
        "The replay of the current HPA matches the count the HPA controller set within ±1 at {:.0} % of its {} recorded syncs.",
        fidelity.within_one * 100.0,
        fidelity.compared
    );
    let window = if b.window_ms == Window::Week.millis() { Window::Week } else { Window::Day };
    let covered = format!(
        "Every figure counts only what was recorded: {} of the {} ({} syncs).",
        domain::whatif::span_words(b.covered_ms),
        window.label(),
        b.recorded_steps
    );
    let delay = format!(
        "New pods serve after {} s ({}); {}.",
        b.ready_delay_ms / 1000,
        if b.ready_delay_measured {
            "measured from the recording"
        } else {
            "assumed: the recording shows no scale-up"
        },
        b.resolution
    );
    view! {
        <table class="compact whatif-figures" data-testid="whatif-figures">
            <thead><tr>
                <th scope="col">"Over what was recorded"</th>
                <th scope="col" class="num">"Recorded"</th>
                <th scope="col" class="num">"Current HPA"</th>
                <th scope="col" class="num">"Proposed"</th>
            </tr></thead>
            <tbody>
                {ROWS.iter().map(|row| {
                    let (rec, now, next) = ((row.get)(&b.recorded), (row.get)(&b.current), (row.get)(&b.proposed));
                    let verdict = match row.lower_is_better {
                        Some(lower) if (next - now).abs() > 1e-9 => {
                            if (next < now) == lower { ("better", " ▼") } else { ("worse", " ▲") }
                        }
                        _ => ("", ""),
                    };
                    let (class, arrow) = verdict;
                    let arrow = if next > now { arrow.replace('▼', "▲") } else { arrow.replace('▲', "▼") };
                    let title = match class { "better" => "better than the current HPA", "worse" => "worse than the current HPA", _ => "" };
                    view! {
                        <tr data-figure=row.label>
                            <th scope="row">{row.label}</th>
                            <td class="num">{shown(rec, row.unit)}</td>
                            <td class="num">{shown(now, row.unit)}</td>
                            <td class=format!("num {class}") title=title data-testid=format!("proposed-{}", row.label.to_lowercase().replace(' ', "-"))>{shown(next, row.unit)}{arrow}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <p class="panel-note" data-testid="whatif-covered" data-covered-ms=b.covered_ms.to_string()>{covered}</p>
        <p class=if fidelity.note.is_some() { "panel-note warn" } else { "panel-note" } data-testid="whatif-fidelity">
            {matches} " " {fidelity.note.clone().unwrap_or_default()}
        </p>
        <p class="panel-note">{delay}</p>
        <p class="panel-note muted" data-testid="whatif-timing" data-ms=format!("{:.1}", r.elapsed_ms) data-steps=b.steps.to_string()>
            {format!("Replayed {} steps, twice, in {:.0} ms in your browser.", b.steps, r.elapsed_ms)}
        </p>
    }
}
