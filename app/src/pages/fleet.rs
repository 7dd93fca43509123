//! `/fleet`: every cluster Paydeck watches side by side — reachable or not and since when,
//! nodes, pods, CPU and memory requested against allocatable and used, HPAs at their maximum,
//! findings by severity — and the services needing attention across the fleet.

use domain::fleet::ClusterState;
use leptos::{either::Either, prelude::*};
use leptos_router::components::A;

use crate::{
    fleet::{ClusterSummary, FleetOverview, capacity, fleet_summary},
    format,
    layout::PageHeader,
    live::use_live,
    pages::services::table::detail_href,
    poll::use_tick,
    widgets::{ErrorNote, HealthBadge},
};

/// How often the page asks again besides the live feed, which follows the first cluster only:
/// another cluster going down or coming back shows within this.
const REFRESH: std::time::Duration = std::time::Duration::from_secs(5);

/// The fleet overview, refreshed with the live feed and every few seconds.
#[component]
pub fn FleetPage() -> impl IntoView {
    let live = use_live();
    let tick = use_tick(REFRESH);
    let fleet = Resource::new(move || (live.version(), tick.get()), |_| fleet_summary());
    view! {
        <PageHeader title="Fleet" subtitle="Every cluster Paydeck watches, side by side: whether it answers, its capacity, and what needs attention." />
        <section class="panel" aria-labelledby="fleet-title">
            <div class="panel-header">
                <h2 id="fleet-title">"Clusters"</h2>
                <p class="panel-note">"Figures are each cluster's latest: while a cluster does not answer they stay as they were when it last did, and the state says since when."</p>
            </div>
            <Transition fallback=|| view! { <p class="loading" role="status">"Loading the fleet…"</p> }>
                {move || fleet.get().map(|r| match r {
                    Ok(f) => Either::Left(view! { <Fleet fleet=f /> }),
                    Err(e) => Either::Right(view! { <ErrorNote what="The fleet's figures are unavailable" error=e.to_string() /> }),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Fleet(fleet: FleetOverview) -> impl IntoView {
    let FleetOverview { clusters, attention, attention_total } = fleet;
    let primary = clusters.iter().find(|c| c.primary).map(|c| c.name.clone()).unwrap_or_default();
    view! {
        <div class="table-wrap">
            <table class="compact fleet" data-testid="fleet" aria-label="Clusters">
                <thead><tr>
                    <th scope="col">"Cluster"</th>
                    <th scope="col">"State"</th>
                    <th scope="col" class="num">"Nodes ready"</th>
                    <th scope="col" class="num">"Pods ready"</th>
                    <th scope="col" class="num">"CPU"</th>
                    <th scope="col" class="num">"Memory"</th>
                    <th scope="col" class="num">"HPAs at max"</th>
                    <th scope="col" class="num">"Findings"</th>
                </tr></thead>
                <tbody>
                    {clusters.into_iter().map(|c| view! { <ClusterRow cluster=c /> }).collect_view()}
                </tbody>
            </table>
        </div>
        <h3 class="subheading">"Needs attention across the fleet"</h3>
        {if attention.is_empty() {
            Either::Left(view! { <p class="panel-note" role="status">"Nothing needs attention on any cluster."</p> })
        } else {
            let cut = attention_total.saturating_sub(attention.len());
            Either::Right(view! {
                <ul class="attention fleet-attention" data-testid="fleet-attention">
                    {attention.into_iter().map(|a| {
                        let reasons = a.findings.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("; ");
                        let place = format!("{}/{}", a.namespace, a.name);
                        let on = (a.cluster != primary).then_some(a.cluster.as_str());
                        let href = crate::chosen::on_cluster(&detail_href(&a.namespace, &a.name), on);
                        let name = view! { <A href=href attr:class="attention-name">{place}</A> };
                        view! {
                            <li data-cluster=a.cluster.clone()>
                                <HealthBadge health=a.health />
                                <span class="tag">{a.cluster.clone()}</span>
                                {name}
                                <span class="attention-why">{reasons}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                {(cut > 0).then(|| view! { <p class="panel-note">{format!("{cut} more not listed.")}</p> })}
            })
        }}
    }
}

#[component]
fn ClusterRow(cluster: ClusterSummary) -> impl IntoView {
    let c = cluster;
    let class = match c.state {
        ClusterState::Answering => "badge badge-ok",
        ClusterState::Degraded | ClusterState::Syncing => "badge badge-warn",
        ClusterState::Unreachable => "badge badge-bad",
    };
    let state = c.state.label();
    // The first problem says why; the rest (often one per watched kind) are counted.
    let why = match c.connection.problems.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
    };
    let t = &c.totals;
    // A cluster never synced has no figures: say so rather than show zeros.
    let figures = c.connection.synced;
    let none = || ("—".to_string(), "no figures yet".to_string());
    let (cpu, cpu_note) = if figures { capacity(&t.cpu, format::cores) } else { none() };
    let (memory, memory_note) = if figures { capacity(&t.memory, format::bytes) } else { none() };
    let ratio = move |a: i32, b: i32| if figures { format!("{a} / {b}") } else { "—".into() };
    let href = crate::chosen::on_cluster("/", (!c.primary).then_some(c.name.as_str()));
    let name = view! { <A href=href>{c.display_name.clone()}</A> };
    view! {
        <tr data-cluster=c.name.clone() data-state=state.to_lowercase()>
            <th scope="row">{name}<span class="sub">{c.name.clone()}</span></th>
            <td>
                <span class=class>{state}</span>
                <span class="sub">"since " <time>{format::clock(c.since_ms)}</time></span>
                {(!why.is_empty()).then(|| view! { <span class="sub">{why.clone()}</span> })}
            </td>
            <td class="num">{ratio(t.nodes_ready, t.nodes)}</td>
            <td class="num">{ratio(t.pods_ready, t.pods)}</td>
            <td class="num">{cpu}<span class="sub">{cpu_note}</span></td>
            <td class="num">{memory}<span class="sub">{memory_note}</span></td>
            <td class="num">{ratio(t.autoscalers_at_max, t.autoscalers)}</td>
            <td class="num">
                <span class={if c.findings.critical > 0 { "over" } else { "" }}>{format!("{} critical", c.findings.critical)}</span>
                <span class="sub">{format!("{} {}", c.findings.warning, if c.findings.warning == 1 { "warning" } else { "warnings" })}</span>
            </td>
        </tr>
    }
}
