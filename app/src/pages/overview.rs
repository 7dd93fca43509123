use std::time::Duration;

use domain::rules::{report::FindingsQuery, rule};
use leptos::{
    either::{Either, EitherOf3},
    prelude::*,
};
use leptos_router::hooks::use_query_map;

use crate::{
    advisor::findings,
    charts::{
        ChartOption, EChart, Palette,
        platform::{load_chart, resources_chart},
    },
    dto::Platform,
    format,
    layout::PageHeader,
    pages::severity_class,
    platform::platform_totals,
    poll::use_tick,
    widgets::ErrorNote,
};

/// How often the open page asks for the platform's figures again (the last point is live).
const REFRESH: Duration = Duration::from_secs(5);
/// Findings listed beside the platform's charts.
const TOP_FINDINGS: usize = 5;

/// The landing page: the cluster now, and the payment platform over the last day.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let query = use_query_map();
    let namespace = Memo::new(move |_| query.with(|q| q.get("namespace").filter(|n| !n.is_empty())));
    let tick = use_tick(REFRESH);
    let chosen = crate::chosen::use_chosen();
    let series = Resource::new(
        move || (chosen.get(), namespace.get(), tick.get()),
        |(cluster, ns, _)| platform_totals(cluster, ns),
    );
    let top = Resource::new(
        move || (chosen.get(), namespace.get()),
        |(cluster, namespace)| findings(cluster, FindingsQuery { namespace, ..FindingsQuery::default() }),
    );
    let palette = Palette::current();
    let load = Memo::new(move |_| {
        series.get().and_then(Result::ok).map(|p| ChartOption::from(load_chart(&p, palette)))
    });
    let resources = Memo::new(move |_| {
        series.get().and_then(Result::ok).map(|p| ChartOption::from(resources_chart(&p, palette)))
    });

    view! {
        <PageHeader title="Overview" subtitle="The payment platform at a glance: the cluster now, and the services' load and resources over the last 24 hours." />
        <super::cluster_panel::ClusterPanel />
        <section class="panel" aria-labelledby="platform-title" data-testid="platform">
            <div class="panel-header">
                <h2 id="platform-title">"Platform, last 24 h"</h2>
                <p class="panel-note">"Summed over the payment services in scope: 5-minute averages from recorded history, then now. Allocatable is the nodes' as it is now."</p>
            </div>
            <Transition fallback=|| view! { <p class="loading" role="status">"Loading the platform's figures…"</p> }>
                {move || series.get().map(|r| match r {
                    Ok(p) => Either::Left(view! { <PlatformStats platform=p /> }),
                    Err(e) => Either::Right(view! { <ErrorNote what="The platform's figures are unavailable" error=e.to_string() /> }),
                })}
            </Transition>
            <div class="platform">
                <div class="platform-charts">
                    <EChart id="platform-load" label="Total request rate and replicas desired and ready over the last 24 hours".to_string() option=load />
                    <EChart id="platform-resources" label="CPU and memory requested and used over the last 24 hours, with the nodes' allocatable".to_string() option=resources />
                </div>
                <aside class="platform-findings" aria-labelledby="top-findings-title">
                    <h3 class="subheading" id="top-findings-title">"Top findings"</h3>
                    <Transition fallback=|| view! { <p class="loading" role="status">"Judging the rules…"</p> }>
                        {move || top.get().map(|r| match r {
                            Ok(r) if r.findings.is_empty() => EitherOf3::A(view! { <p class="panel-note" role="status">"No rule is broken."</p> }),
                            Ok(r) => {
                                let more = r.findings.len().saturating_sub(TOP_FINDINGS);
                                EitherOf3::B(view! {
                                    <ul class="top-findings" data-testid="top-findings">
                                        {r.findings.into_iter().take(TOP_FINDINGS).map(|row| {
                                            let def = rule(row.finding.rule);
                                            view! {
                                                <li data-rule=def.code>
                                                    <span class=severity_class(row.finding.severity)>{row.finding.severity.label()}</span>
                                                    <a href=crate::chosen::here(&format!("/services/{}/{}#governance", row.namespace, row.name))>{row.name.clone()}</a>
                                                    <span class="sub">{format!("{} {}", def.code, def.title)}</span>
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                    <a href=crate::chosen::here("/advisor")>{if more > 0 { format!("{more} more in the Advisor →") } else { "The Advisor →".to_string() }}</a>
                                })
                            }
                            Err(e) => EitherOf3::C(view! { <ErrorNote what="The findings could not be loaded" error=e.to_string() /> }),
                        })}
                    </Transition>
                </aside>
            </div>
        </section>
    }
}

/// The headline numbers above the platform's charts: now, and the day's peak.
#[component]
fn PlatformStats(platform: Platform) -> impl IntoView {
    let now = platform.points.last().cloned().unwrap_or_default();
    let peak = platform.points.iter().map(|p| p.request_rate).fold(0.0, f64::max);
    let used = |v: Option<f64>, fmt: fn(f64) -> String| v.map_or_else(|| "unknown".to_string(), fmt);
    view! {
        <dl class="stats">
            <div class="stat">
                <dt>"Requests (T)"</dt>
                <dd data-testid="platform-rate">{format::rate(now.request_rate)}</dd>
                <dd class="sub">{format!("peak {} in 24 h", format::rate(peak))}</dd>
            </div>
            <div class="stat">
                <dt>"Replicas ready / desired"</dt>
                <dd data-testid="platform-replicas">{format!("{:.0} / {:.0}", now.replicas_ready, now.replicas_desired)}</dd>
            </div>
            <div class="stat">
                <dt>"CPU requested (R)"</dt>
                <dd>{format::cores(now.cpu_requests)}</dd>
                <dd class="sub">{format!("used {} · allocatable {}", used(now.cpu_usage, format::cores), format::cores(platform.cpu_allocatable))}</dd>
            </div>
            <div class="stat">
                <dt>"Memory requested"</dt>
                <dd>{format::bytes(now.memory_requests)}</dd>
                <dd class="sub">{format!("used {} · allocatable {}", used(now.memory_usage, format::bytes), format::bytes(platform.memory_allocatable))}</dd>
            </div>
        </dl>
        {(!platform.recorded).then(|| view! {
            <p class="panel-note" role="status">"This server records no history: only the live moment is shown."</p>
        })}
    }
}
