//! The services table: one row per Deployment, sortable column headers.

use domain::query::SortKey;
use leptos::{either::Either, prelude::*};

use super::{live_rows::LiveRows, url::ServicesUrl};
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
/// location per link, which costs noticeably with thousands of rows. Rows are keyed by
/// workload: a live update moves, adds or drops rows and changes the cells of changed ones.
#[component]
pub fn WorkloadTable(state: ServicesUrl, rows: LiveRows) -> impl IntoView {
    let order = rows.order.clone();
    let fleet = crate::chosen::is_every(state.cluster().as_deref());
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
            // Rows are laid out as grids (see main.css); the roles keep the table's meaning for
            // browsers that would drop it with another display.
            <table class="services" class:fleet=fleet role="table" data-testid="services-table">
                <thead role="rowgroup">
                    <tr role="row">
                        {header("Service", SortKey::Name, false)}
                        {fleet.then(|| view! { <th scope="col">"Cluster"</th> })}
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
                <tbody role="rowgroup">
                    <For
                        each=move || order.get()
                        key=|key| key.clone()
                        children=move |key| rows.row(&key).map(|w| view! { <Row w=RwSignal::from(w).read_only() /> })
                    />
                </tbody>
            </table>
        </div>
    }
}

/// One workload's row; its cells follow the row's figures.
#[component]
fn Row(w: ReadSignal<WorkloadRow>) -> impl IntoView {
    // Cluster, namespace and name are the row's key: they never change for a row.
    let (cluster, namespace, name) =
        w.with_untracked(|w| (w.cluster.clone(), w.namespace.clone(), w.name.clone()));
    let href = match &cluster {
        Some(on) => crate::chosen::on_cluster(&detail_href(&namespace, &name), Some(on)),
        None => crate::chosen::here(&detail_href(&namespace, &name)),
    };
    let critical = move || {
        w.with(|w| w.critical)
            .then(|| view! { <span class="tag" title="Marked critical for payments">"critical"</span> })
    };
    // Who else sets its scaling: the tool's name, the whole of it on hover and to readers.
    let owner = move || {
        w.with(|w| w.owner.clone()).map(|o| {
            let short = match o.tool {
                domain::owners::OwnerTool::Manager => o.name.clone(),
                tool => tool.label().to_string(),
            };
            view! {
                <span class="tag tag-owner" title=format!("Managed by {}", o.describe()) data-testid="row-owner">
                    <span class="visually-hidden">"managed by "</span>{short}
                </span>
            }
        })
    };
    let autoscaler = move || {
        w.with(|w| match &w.autoscaler {
            Some(a) => {
                let at_max = a.at_max.then(|| view! { <span class="tag tag-warn">"at max"</span> });
                Either::Left(view! {
                    <span class="mono">{format!("{}–{}", a.min, a.max)}</span>
                    " " {at_max}
                    <span class="sub">{format!("{} → {} replicas", a.current, a.desired)}</span>
                })
            }
            None => Either::Right(view! { <span class="muted">"none"</span> }),
        })
    };
    let utilization = move || {
        w.with(|w| {
            let target = w.autoscaler.as_ref().and_then(|a| a.cpu_target_percent);
            match w.cpu_utilization_percent {
                Some(u) => {
                    let over = target.is_some_and(|t| u > f64::from(t));
                    Either::Left(view! {
                        <span class=if over { "over" } else { "" }>{format!("{u:.0} %")}</span>
                        <span class="sub">{target.map(|t| format!("target {t} %")).unwrap_or_else(|| "no target".into())}</span>
                    })
                }
                None => Either::Right(dash()),
            }
        })
    };
    let rate = move || w.with(|w| w.request_rate.map(format::rate).unwrap_or_else(|| "—".into()));
    let per_pod = move || w.with(|w| w.load_per_replica.map(format::rate).unwrap_or_else(|| "—".into()));
    view! {
        <tr role="row" data-workload=domain::live::workload_key(&namespace, &name)>
            <th scope="row" class="service">
                <a href=href>{name.clone()}</a>
                {critical}
                {owner}
                <span class="sub">{namespace.clone()}</span>
            </th>
            {cluster.map(|c| view! { <td class="mono" data-testid="row-cluster">{c}</td> })}
            <td>{move || view! { <HealthBadge health=w.with(|w| w.health) /> }}</td>
            <td class="num" class:short=move || w.with(|w| w.ready < w.desired)>
                <span data-testid="ready">{move || w.with(|w| format!("{} / {}", w.ready, w.desired))}</span>
            </td>
            <td>{autoscaler}</td>
            <td class="num">{utilization}</td>
            <td class="num">{rate}</td>
            <td class="num">{per_pod}</td>
            <td class="num">{move || view! { <Resource figures=w.with(|w| w.cpu.clone()) show=format::cores /> }}</td>
            <td class="num">{move || view! { <Resource figures=w.with(|w| w.memory.clone()) show=format::bytes /> }}</td>
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
