//! The overview's cluster panel: totals and what needs attention.

use leptos::{either::Either, prelude::*};
use leptos_router::{
    NavigateOptions,
    components::A,
    hooks::{use_navigate, use_query_map},
};

use crate::{
    cluster::cluster_overview,
    dto::{Capacity, Overview},
    format,
    live::use_live,
    pages::services::table::detail_href,
    widgets::HealthBadge,
};

/// Totals and the needs-attention list, narrowed by `?namespace=`, refreshed by the live feed.
#[component]
pub fn ClusterPanel() -> impl IntoView {
    let query = use_query_map();
    let namespace = Memo::new(move |_| query.with(|q| q.get("namespace").filter(|n| !n.is_empty())));
    let live = use_live();
    let chosen = crate::chosen::use_chosen();
    let overview = Resource::new(
        move || (chosen.get(), namespace.get(), live.version()),
        |(cluster, ns, _)| cluster_overview(cluster, ns),
    );
    let navigate = use_navigate();
    let on_namespace = move |ev| {
        let ns = event_target_value(&ev);
        let href = if ns.is_empty() { "/".to_string() } else { format!("/?namespace={ns}") };
        navigate(
            &crate::chosen::on_cluster(&href, chosen.get_untracked().as_deref()),
            NavigateOptions::default(),
        );
    };
    let namespaces = move || {
        overview
            .get()
            .and_then(Result::ok)
            .map(|o| o.namespaces)
            .unwrap_or_else(|| namespace.get().into_iter().collect())
    };
    view! {
        <section class="panel" aria-labelledby="cluster-title">
            <div class="panel-header panel-header-row">
                <div>
                    <h2 id="cluster-title">"Cluster"</h2>
                    <p class="panel-note">"Requested is what pods reserve (R = Σ rᵢ); allocatable is what nodes offer (always cluster-wide); used is what the metrics API reports."</p>
                </div>
                <form class="field" method="get" action="/">
                    <label for="overview-namespace">"Namespace"</label>
                    <select id="overview-namespace" name="namespace" on:change=on_namespace>
                        <option value="" selected=move || namespace.get().is_none()>"All namespaces"</option>
                        {move || namespaces().into_iter().map(|ns| {
                            let selected = namespace.get().as_deref() == Some(ns.as_str());
                            view! { <option value=ns.clone() selected=selected>{ns.clone()}</option> }
                        }).collect_view()}
                    </select>
                    <noscript><button type="submit" class="button">"Show"</button></noscript>
                </form>
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading the cluster…"</p> }>
                {move || overview.get().map(|result| match result {
                    Ok(o) => Either::Left(view! { <Totals overview=o /> }),
                    Err(e) => Either::Right(view! { <p class="error" role="alert">"The cluster figures are unavailable: " {e.to_string()}</p> }),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Totals(overview: Overview) -> impl IntoView {
    let t = overview.totals.clone();
    let capacity = |c: &Capacity, show: fn(f64) -> String| {
        let used = c.usage.map(show).unwrap_or_else(|| "no usage data".into());
        (
            show(c.requests),
            format!(
                "requested of {} ({}) · {used} used",
                show(c.allocatable),
                format::share(c.requests, c.allocatable)
            ),
        )
    };
    let (cpu, cpu_note) = capacity(&t.cpu, format::cores);
    let (memory, memory_note) = capacity(&t.memory, format::bytes);
    let attention = overview.attention.clone();
    view! {
        <dl class="stats">
            <div class="stat"><dt>"Workloads"</dt><dd data-testid="total-workloads">{t.workloads}</dd>
                <dd class="stat-note">{format!("{} unavailable", t.workloads_unavailable)}</dd></div>
            <div class="stat"><dt>"Pods ready"</dt><dd data-testid="total-pods">{format!("{} / {}", t.pods_ready, t.pods)}</dd>
                <dd class="stat-note">{format!("{} pending", t.pods_pending)}</dd></div>
            <div class="stat"><dt>"Nodes ready"</dt><dd>{format!("{} / {}", t.nodes_ready, t.nodes)}</dd></div>
            <div class="stat"><dt>"HPAs at maximum"</dt><dd>{format!("{} / {}", t.autoscalers_at_max, t.autoscalers)}</dd></div>
            <div class="stat"><dt>"CPU"</dt><dd>{cpu}</dd><dd class="stat-note">{cpu_note}</dd></div>
            <div class="stat"><dt>"Memory"</dt><dd>{memory}</dd><dd class="stat-note">{memory_note}</dd></div>
        </dl>
        <h3 class="subheading">"Needs attention"</h3>
        {if attention.is_empty() {
            Either::Left(view! { <p class="panel-note">"Nothing needs attention."</p> })
        } else {
            Either::Right(view! {
                <ul class="attention">
                    {attention.into_iter().map(|a| {
                        let reasons = a.findings.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("; ");
                        view! {
                            <li>
                                <HealthBadge health=a.health />
                                <A href=crate::chosen::here(&detail_href(&a.namespace, &a.name)) attr:class="attention-name">{format!("{}/{}", a.namespace, a.name)}</A>
                                <span class="attention-why">{reasons}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })
        }}
    }
}
