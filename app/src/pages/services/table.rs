//! The services table: one row per Deployment, sortable column headers.

use domain::query::SortKey;
use leptos::prelude::*;

use super::url::ServicesUrl;
use crate::{
    dto::{ResourceFigures, WorkloadRow},
    format,
    widgets::HealthBadge,
};

/// The address of a workload's detail page.
pub fn detail_href(namespace: &str, name: &str) -> String {
    format!("/services/{namespace}/{name}")
}

/// Links are plain `<a>` (the router still navigates in place): `<A>` tracks the current
/// location per link, which costs noticeably with thousands of rows.
#[component]
pub fn WorkloadTable(state: ServicesUrl, items: Vec<WorkloadRow>) -> impl IntoView {
    let header = |label: &'static str, key: SortKey, numeric: bool| {
        let sorted = state.sort == key;
        let aria = match (sorted, state.descending) {
            (false, _) => "none",
            (true, false) => "ascending",
            (true, true) => "descending",
        };
        let arrow = match (sorted, state.descending) {
            (false, _) => "",
            (true, false) => " ▲",
            (true, true) => " ▼",
        };
        let class = if numeric { "num" } else { "" };
        view! {
            <th scope="col" class=class aria-sort=aria>
                // Plain `<a>` (the router still navigates in place): `<A>` would mark every
                // header as the current page.
                <a href=state.sorted_by(key).href() class="sort" data-sort=key.as_str()>{label}{arrow}</a>
            </th>
        }
    };
    view! {
        <div class="table-wrap">
            <table class="services" data-testid="services-table">
                <thead>
                    <tr>
                        {header("Service", SortKey::Name, false)}
                        {header("Status", SortKey::Health, false)}
                        {header("Ready", SortKey::Replicas, true)}
                        <th scope="col">"Autoscaler"</th>
                        {header("CPU util.", SortKey::Utilization, true)}
                        {header("Requests", SortKey::Rate, true)}
                        {header("Per pod", SortKey::Load, true)}
                        {header("CPU used", SortKey::Cpu, true)}
                        {header("Memory used", SortKey::Memory, true)}
                    </tr>
                </thead>
                <tbody>{items.into_iter().map(|w| view! { <Row w /> }).collect_view()}</tbody>
            </table>
        </div>
    }
}

#[component]
fn Row(w: WorkloadRow) -> impl IntoView {
    let short = w.ready < w.desired;
    let autoscaler = w.autoscaler.as_ref().map(|a| {
        let at_max = a.at_max.then(|| view! { <span class="tag tag-warn">"at max"</span> });
        view! {
            <span class="mono">{format!("{}–{}", a.min, a.max)}</span>
            " " {at_max}
            <span class="sub">{format!("{} → {} replicas", a.current, a.desired)}</span>
        }
    });
    let target = w.autoscaler.as_ref().and_then(|a| a.cpu_target_percent);
    let utilization = w.cpu_utilization_percent.map(|u| {
        let over = target.is_some_and(|t| u > f64::from(t));
        view! {
            <span class=if over { "over" } else { "" }>{format!("{u:.0} %")}</span>
            <span class="sub">{target.map(|t| format!("target {t} %")).unwrap_or_else(|| "no target".into())}</span>
        }
    });
    let key = format!("{}/{}", w.namespace, w.name);
    view! {
        <tr data-workload=key>
            <th scope="row" class="service">
                <a href=detail_href(&w.namespace, &w.name)>{w.name.clone()}</a>
                {w.critical.then(|| view! { <span class="tag" title="Marked critical for payments">"critical"</span> })}
                <span class="sub">{w.namespace.clone()}</span>
            </th>
            <td><HealthBadge health=w.health /></td>
            <td class="num" class:short=short>
                <span data-testid="ready">{format!("{} / {}", w.ready, w.desired)}</span>
            </td>
            <td>{autoscaler.map(IntoAny::into_any).unwrap_or_else(|| view! { <span class="muted">"none"</span> }.into_any())}</td>
            <td class="num">{utilization.map(IntoAny::into_any).unwrap_or_else(|| dash().into_any())}</td>
            <td class="num">{w.request_rate.map(format::rate).unwrap_or_else(|| "—".into())}</td>
            <td class="num">{w.load_per_replica.map(format::rate).unwrap_or_else(|| "—".into())}</td>
            <td class="num"><Resource figures=w.cpu.clone() show=format::cores /></td>
            <td class="num"><Resource figures=w.memory.clone() show=format::bytes /></td>
        </tr>
    }
}

fn dash() -> impl IntoView {
    view! { <span class="muted">"—"</span> }
}

fn nbsp(text: String) -> String {
    text.replace(' ', "\u{a0}")
}

/// Usage, with requests and limits below it.
#[component]
fn Resource(figures: ResourceFigures, show: fn(f64) -> String) -> impl IntoView {
    let used = figures.usage.map(show).unwrap_or_else(|| "—".into());
    let limit = figures.limits.map(show).unwrap_or_else(|| "none".into());
    let over = figures.usage.is_some_and(|u| figures.requests > 0.0 && u > figures.requests);
    view! {
        <span class=if over { "over" } else { "" }>{used}</span>
        // Breaks only between the two figures, never inside one ("1.5 cores").
        <span class="sub">{format!("req\u{a0}{} · lim\u{a0}{}", nbsp(show(figures.requests)), nbsp(limit))}</span>
    }
}
