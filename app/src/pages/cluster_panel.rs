//! The overview's cluster panel: totals and what needs attention.

use std::time::Duration;

use leptos::prelude::*;

use crate::{
    cluster::cluster_overview,
    dto::{Capacity, Health, Overview},
    format,
    poll::use_tick,
};

#[component]
pub fn ClusterPanel() -> impl IntoView {
    let tick = use_tick(Duration::from_secs(5));
    let overview = Resource::new(move || tick.get(), |_| cluster_overview());
    view! {
        <section class="panel" aria-labelledby="cluster-title">
            <div class="panel-header">
                <h2 id="cluster-title">"Cluster"</h2>
                <p class="panel-note">"Requested is what pods reserve (R = Σ rᵢ); allocatable is what nodes offer; used is what the metrics API reports."</p>
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading the cluster…"</p> }>
                {move || overview.get().map(|result| match result {
                    Ok(o) => view! { <Totals overview=o /> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">"The cluster figures are unavailable: " {e.to_string()}</p> }.into_any(),
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
                <p class="stat-note">{format!("{} unavailable", t.workloads_unavailable)}</p></div>
            <div class="stat"><dt>"Pods ready"</dt><dd data-testid="total-pods">{format!("{} / {}", t.pods_ready, t.pods)}</dd>
                <p class="stat-note">{format!("{} pending", t.pods_pending)}</p></div>
            <div class="stat"><dt>"Nodes ready"</dt><dd>{format!("{} / {}", t.nodes_ready, t.nodes)}</dd></div>
            <div class="stat"><dt>"HPAs at maximum"</dt><dd>{format!("{} / {}", t.autoscalers_at_max, t.autoscalers)}</dd></div>
            <div class="stat"><dt>"CPU"</dt><dd>{cpu}</dd><p class="stat-note">{cpu_note}</p></div>
            <div class="stat"><dt>"Memory"</dt><dd>{memory}</dd><p class="stat-note">{memory_note}</p></div>
        </dl>
        <h3 class="subheading">"Needs attention"</h3>
        {if attention.is_empty() {
            view! { <p class="panel-note">"Nothing needs attention."</p> }.into_any()
        } else {
            view! {
                <ul class="attention">
                    {attention.into_iter().map(|a| {
                        let class = match a.health { Health::Critical => "badge badge-bad", Health::Warning => "badge badge-warn", Health::Healthy => "badge badge-ok" };
                        let reasons = a.findings.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("; ");
                        view! {
                            <li>
                                <span class=class>{a.health.label()}</span>
                                <span class="attention-name">{format!("{}/{}", a.namespace, a.name)}</span>
                                <span class="attention-why">{reasons}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
    }
}
