//! A service's page: its figures now, three charts over a chosen range, and the spec that
//! explains them. It follows the cluster live: a change to this Deployment (or its HPA,
//! pods, metrics) refetches the figures and the history, and the charts update in place.

mod edit;
mod export;
mod governance;
mod plans;
mod range;
mod spec;
mod whatif;

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
};

use crate::{
    charts::{
        ChartOption, EChart, Palette,
        workload::{load_chart, replicas_chart, resources_chart},
    },
    dto::{History, Workload},
    format,
    live::use_changes_to,
    poll::use_tick,
    widgets::{ErrorNote, HealthBadge},
    workloads::{get_workload, workload_history},
};
use range::{ChartRange, POINTS, RANGES};

#[component]
pub fn ServicePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let target = Memo::new(move |_| {
        params.with(|p| (p.get("namespace").unwrap_or_default(), p.get("name").unwrap_or_default()))
    });
    let range = Memo::new(move |_| query.with(|q| ChartRange::parse(q.get("range").as_deref())));
    let key = Signal::derive(move || {
        let (ns, name) = target.get();
        domain::live::workload_key(&ns, &name)
    });
    let revision = use_changes_to(key);
    // Time moves on even when nothing changes: new samples arrive every sampling interval.
    let tick = use_tick(Duration::from_secs(30));

    let chosen = crate::chosen::use_chosen();
    let workload = Resource::new(
        move || (chosen.get(), target.get(), revision.get()),
        |(cluster, (ns, name), _)| get_workload(cluster, ns, name),
    );
    let history = Resource::new(
        move || (chosen.get(), target.get(), range.get(), revision.get(), tick.get()),
        |(cluster, (ns, name), range, _, _)| workload_history(cluster, ns, name, range.millis, POINTS),
    );
    // The service's plans: listed under the charts, their windows banded on the replicas chart.
    let plans_changed = RwSignal::new(0u32);
    let plans = Resource::new(
        move || (chosen.get(), target.get(), revision.get(), plans_changed.get()),
        |(cluster, (ns, name), _, _)| crate::plans::list_plans(cluster, Some(ns), Some(name)),
    );
    let windows = Signal::derive(move || {
        plans
            .get()
            .and_then(Result::ok)
            .map(|list| {
                list.into_iter()
                    .filter(|v| v.plan.record.state == crate::plans::State::Active)
                    .flat_map(|v| v.windows)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });

    view! {
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading the service…"</p> }>
            {move || workload.get().map(|result| match result {
                Ok(Some(w)) => view! { <Header w /> }.into_any(),
                Ok(None) => {
                    let (ns, name) = target.get_untracked();
                    view! { <Missing namespace=ns name /> }.into_any()
                }
                Err(e) => view! { <ErrorNote what="The service could not be loaded" error=e.to_string() /> }.into_any(),
            })}
        </Transition>
        <RangePicker range />
        <Charts history windows />
        <governance::Governance target revision />
        // Below the charts: first the picture, then the change.
        {move || {
            let (ns, name) = target.get();
            let current = Signal::derive(move || workload.get().and_then(Result::ok).flatten());
            view! { <edit::EditPanel namespace=ns name workload=current /> }
        }}
        {move || {
            let (ns, name) = target.get();
            let set_back_by = Signal::derive(move || {
                workload.get().and_then(Result::ok).flatten().and_then(|w| w.autoscaler).and_then(|a| a.reverted_by)
            });
            view! { <plans::PlansPanel namespace=ns name plans changed=plans_changed set_back_by /> }
        }}
        <Transition fallback=|| ()>
            {move || {
                let events = history.get().and_then(Result::ok).flatten().map(|h| h.events).unwrap_or_default();
                workload.get().and_then(Result::ok).flatten().map(|w| view! { <spec::SpecPanel w events /> })
            }}
        </Transition>
    }
}

/// Title, badges, findings and the figures now.
#[component]
fn Header(w: Workload) -> impl IntoView {
    let a = w.autoscaler.clone();
    let utilization = w.cpu_utilization_percent.map(|u| format!("{u:.0} %")).unwrap_or_else(|| "—".into());
    let target = a
        .as_ref()
        .and_then(|a| a.cpu_target_percent)
        .map(|t| format!("target {t} %"))
        .unwrap_or_else(|| "no HPA target".into());
    view! {
        <leptos_meta::Title text=w.name.clone() />
        <nav class="breadcrumb" aria-label="Breadcrumb">
            <a href=crate::chosen::here("/services")>"Services"</a> " / " <span>{w.namespace.clone()}</span>
        </nav>
        <div class="page-header page-header-row">
            <h1>{w.name.clone()}</h1>
            <HealthBadge health=w.health />
            {w.critical.then(|| view! { <span class="tag" title="Marked critical for payments">"critical"</span> })}
        </div>
        <Owners w=w.clone() />
        {(!w.findings.is_empty()).then(|| view! {
            <ul class="findings">
                {w.findings.iter().map(|f| view! { <li><HealthBadge health=f.health /> " " {f.message.clone()}</li> }).collect_view()}
            </ul>
        })}
        <dl class="stats" data-testid="service-stats">
            <div class="stat"><dt>"Ready / desired"</dt>
                <dd data-testid="service-replicas">{format!("{} / {}", w.replicas.ready, w.replicas.desired)}</dd>
                <dd class="stat-note">{format!("{} updated, {} available", w.replicas.updated, w.replicas.available)}</dd></div>
            <div class="stat"><dt>"Autoscaler"</dt>
                <dd>{a.as_ref().map(|a| format!("{}–{}", a.min_replicas, a.max_replicas)).unwrap_or_else(|| "none".into())}</dd>
                <dd class="stat-note">{a.as_ref().map(|a| format!("{} → {} replicas", a.current_replicas, a.desired_replicas)).unwrap_or_else(|| "fixed replica count".into())}</dd></div>
            <div class="stat"><dt>"CPU utilisation"</dt><dd>{utilization}</dd><dd class="stat-note">{target}</dd></div>
            <div class="stat"><dt>"Requests"</dt><dd>{w.request_rate.map(format::rate).unwrap_or_else(|| "—".into())}</dd>
                <dd class="stat-note">{w.load_per_replica.map(|l| format!("{} per ready pod", format::rate(l))).unwrap_or_else(|| "no request metric".into())}</dd></div>
            <div class="stat"><dt>"CPU used"</dt><dd>{w.cpu.usage.map(format::cores).unwrap_or_else(|| "—".into())}</dd>
                <dd class="stat-note">{format!("req {} · lim {}", format::cores(w.cpu.requests), w.cpu.limits.map(format::cores).unwrap_or_else(|| "none".into()))}</dd></div>
            <div class="stat"><dt>"Memory used"</dt><dd>{w.memory.usage.map(format::bytes).unwrap_or_else(|| "—".into())}</dd>
                <dd class="stat-note">{format!("req {} · lim {}", format::bytes(w.memory.requests), w.memory.limits.map(format::bytes).unwrap_or_else(|| "none".into()))}</dd></div>
        </dl>
    }
}

/// The Deployment is not (or no longer) in the cluster.
#[component]
fn Missing(namespace: String, name: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <leptos_meta::Title text="Service not found" />
        <div class="page-header"><h1>"Service not found"</h1></div>
        <div class="panel empty-state" role="status">
            <p>{format!("Paydeck sees no Deployment {name} in namespace {namespace}. It may have been deleted, or it is outside the namespaces Paydeck watches.")}</p>
            <p><A href=crate::chosen::here("/services")>"All services"</A></p>
        </div>
    }
}

/// Links, not buttons: a range is part of the address, and works before WebAssembly loads.
/// Plain `<a>` (the router still navigates in place): `<A>` would mark every range current,
/// as they share the page's path.
#[component]
fn RangePicker(range: Memo<ChartRange>) -> impl IntoView {
    view! {
        <nav class="range-picker" aria-label="Time range">
            <span class="range-label">"Range"</span>
            {RANGES.iter().map(|r| {
                let current = move || (range.get() == *r).then_some("true");
                view! { <a href=crate::chosen::here(&format!("?range={}", r.key)) aria-current=current data-range=r.key>{r.label}</a> }
            }).collect_view()}
            <span class="range-hint">"Drag the slider or scroll on a chart to zoom."</span>
        </nav>
    }
}

#[component]
fn Charts(
    history: Resource<Result<Option<History>, ServerFnError>>,
    windows: Signal<Vec<crate::plans::WindowSpan>>,
) -> impl IntoView {
    let palette = Palette::current();
    let recorded = move || history.get().and_then(Result::ok).flatten();
    let load = Memo::new(move |_| recorded().map(|h| ChartOption::from(load_chart(&h, palette))));
    let replicas = Memo::new(move |_| {
        recorded().map(|h| windows.with(|w| ChartOption::from(replicas_chart(&h, palette, w))))
    });
    let resources = Memo::new(move |_| recorded().map(|h| ChartOption::from(resources_chart(&h, palette))));
    let status = move || {
        match history.get() {
        None => Some(view! { <p class="loading" role="status">"Loading history…"</p> }.into_any()),
        Some(Err(e)) => Some(view! { <ErrorNote what="History is unavailable" error=e.to_string() /> }.into_any()),
        Some(Ok(None)) => Some(view! {
            <p class="panel-note" role="status">"Nothing recorded yet: Paydeck samples every workload every few seconds; the first points appear shortly."</p>
        }.into_any()),
        Some(Ok(Some(h))) => Some(view! {
            <p class="panel-note" data-testid="history-source">
                {format!("{} points of {} each, from {} data{}", h.points.len(), format::duration((h.step_ms / 1000) as u64), h.source,
                    if h.gaps.is_empty() { String::new() } else { format!("; {} gap(s) without data", h.gaps.len()) })}
                {h.simulated_until_ms.map(|until| view! {
                    <span class="sub" data-testid="history-simulated">
                        {format!("History before {} was generated by the simulator when Paydeck first started (--sim-history), not recorded from a cluster.", format::clock(until))}
                    </span>
                })}
            </p>
        }.into_any()),
    }
    };
    view! {
        <div class="charts">
            <Suspense fallback=|| ()>{status}</Suspense>
            <section class="panel" aria-labelledby="load-title">
                <h2 id="load-title">"Load"</h2>
                <p class="panel-note">"CPU utilisation (use ÷ requests) against the HPA's target; request rate T and load per ready pod L = T ÷ N."</p>
                <EChart id="load-chart" group="workload" label="CPU utilisation against the HPA target, request rate and load per pod over time".to_string() option=load />
            </section>
            <section class="panel" aria-labelledby="replicas-title">
                <h2 id="replicas-title">"Replicas"</h2>
                <p class="panel-note">"Desired and ready replicas inside the HPA's min–max; vertical lines mark scaling and spec changes; shaded spans are scheduled plans' windows (the coming ones past now)."</p>
                <EChart id="replicas-chart" group="workload" label="Desired and ready replicas with the HPA minimum and maximum over time".to_string() option=replicas />
            </section>
            <section class="panel" aria-labelledby="resources-title">
                <h2 id="resources-title">"Requests, limits and usage"</h2>
                <p class="panel-note">"Summed over the Deployment's pods: CPU above, memory below."</p>
                <EChart id="resources-chart" group="workload" label="CPU and memory requests, limits and usage over time".to_string() option=resources />
            </section>
        </div>
    }
}

/// Who else writes the Deployment or its HPA, and what becomes of a change made here.
#[component]
fn Owners(w: Workload) -> impl IntoView {
    let owners = w.all_owners();
    (!owners.is_empty()).then(|| {
        view! {
            <section class="owners" aria-label="Managed elsewhere" data-testid="owners">
                {owners.into_iter().map(|o| view! {
                    <p data-owner=o.tool.as_str()>
                        <strong>{format!("Managed by {}", o.describe())}</strong>
                        <span class="sub">{o.consequence()}</span>
                    </p>
                }).collect_view()}
            </section>
        }
    })
}
