//! Right-sizing recommendations as the Advisor page and a service's governance section show
//! them: the change, why, the effect per week, the confidence and the evidence, and the way
//! to apply it (the scaling form for replicas and HPA bounds, the manifest for requests).

use domain::{
    rules::Origin,
    sizing::{Effect, Evidence, Recommendation, SizingKind, SizingQuery, SizingReport, SizingRow},
};
use leptos::prelude::*;

use crate::{advisor::sizing, format, widgets::ErrorNote};

/// A figure of the evidence in the unit of `kind`.
fn figure(kind: SizingKind, value: f64) -> String {
    match kind {
        SizingKind::Minimum | SizingKind::Maximum | SizingKind::CpuRequest => format::cores(value),
        SizingKind::MemoryRequest => format::bytes(value),
        SizingKind::Replicas => format::rate(value),
    }
}

/// "−947 core-hours, −12 GiB-hours, 340 min above target avoided a week" (only what moves).
pub fn effect_text(e: &Effect) -> String {
    // A true minus sign: the figures read as amounts, not as hyphenated words.
    let signed =
        |v: f64| format!("{}{}", if v < 0.0 { "−" } else { "+" }, format::thousands(v.abs().round() as u64));
    let mut parts = Vec::new();
    if e.core_hours_per_week.abs() >= 0.5 {
        parts.push(format!("{} core-hours", signed(e.core_hours_per_week)));
    }
    if e.gib_hours_per_week.abs() >= 0.5 {
        parts.push(format!("{} GiB-hours", signed(e.gib_hours_per_week)));
    }
    if e.saturated_minutes_avoided_per_week >= 0.5 {
        parts.push(format!("{:.0} min above target avoided", e.saturated_minutes_avoided_per_week));
    }
    if parts.is_empty() { "no measurable change".into() } else { format!("{} a week", parts.join(", ")) }
}

fn evidence_text(kind: SizingKind, e: &Evidence) -> String {
    let percentiles: Vec<String> = e
        .percentiles
        .iter()
        .map(|(p, v)| {
            format!("{} {}", if *p == 100 { "max".to_string() } else { format!("p{p}") }, figure(kind, *v))
        })
        .collect();
    format!(
        "{}: {}. {:.1} days recorded, {:.0} % of them gaps.",
        e.measure,
        percentiles.join(", "),
        e.days_covered,
        e.gaps * 100.0
    )
}

/// One recommendation.
#[component]
fn RecommendationItem(
    r: Recommendation,
    namespace: String,
    name: String,
    show_service: bool,
) -> impl IntoView {
    let change = r
        .proposal
        .as_ref()
        .map(|p| format!("/services/{namespace}/{name}?{}#edit", p.query(Origin::Sizing(r.kind))));
    let manifest = r.manifest();
    let confidence_class = match r.confidence {
        domain::sizing::Confidence::High => "badge badge-ok",
        domain::sizing::Confidence::Medium => "badge",
        domain::sizing::Confidence::Low => "badge badge-warn",
    };
    view! {
        <li data-kind=r.kind.code() data-workload=format!("{namespace}/{name}")>
            <div class="finding-head">
                <span class="mono">{r.kind.code()}</span>
                <strong>{r.kind.title()}</strong>
                <span class="sizing-change" data-testid="sizing-change">{r.change()}</span>
                {show_service.then(|| view! {
                    <a href=format!("/services/{namespace}/{name}#governance")>{name.clone()}</a>
                    <span class="sub">{namespace.clone()}</span>
                })}
                <span class=confidence_class title="From how much was recorded: a week or more without many gaps is high">
                    {format!("{} confidence", r.confidence.label())}
                </span>
            </div>
            <p>{r.reason.clone()}</p>
            <p class="sizing-effect" data-testid="sizing-effect">{effect_text(&r.effect)}</p>
            {r.capacity.clone().map(|c| view! { <p class="sub">{format!("Capacity: {c}.")}</p> })}
            {r.backtest.clone().map(|b| view! { <p class="sub">{format!("Proposed change {b}.")}</p> })}
            <details>
                <summary>"Evidence"</summary>
                <p>{evidence_text(r.kind, &r.evidence)}</p>
                {manifest.map(|m| view! {
                    <p class="muted">"Requests are set in the Deployment's manifest (where your pipeline owns it), not by Paydeck's scaling form:"</p>
                    <pre class="manifest">{m}</pre>
                })}
            </details>
            {change.map(|href| view! {
                <a class="open-change" href=href data-testid="open-as-change" rel="external">"Open as change →"</a>
            })}
        </li>
    }
}

/// The recommendations of `rows`, and the workloads not judged yet.
#[component]
pub fn SizingList(rows: Vec<SizingRow>, show_service: bool) -> impl IntoView {
    let withheld: Vec<(String, String)> =
        rows.iter().filter_map(|r| r.sizing.withheld.clone().map(|why| (r.name.clone(), why))).collect();
    let notes: Vec<String> =
        if show_service { Vec::new() } else { rows.iter().flat_map(|r| r.sizing.notes.clone()).collect() };
    let items: Vec<_> = rows
        .into_iter()
        .flat_map(|row| {
            let (ns, name) = (row.namespace, row.name);
            row.sizing.recommendations.into_iter().map(move |r| (r, ns.clone(), name.clone()))
        })
        .collect();
    let empty = items.is_empty();
    view! {
        {(!items.is_empty()).then(|| view! {
            <ul class="finding-list sizing-list" data-testid="sizing-list">
                {items.into_iter().map(|(r, namespace, name)| view! {
                    <RecommendationItem r namespace name show_service />
                }).collect_view()}
            </ul>
        })}
        {(empty && withheld.is_empty()).then(|| view! {
            <p class="panel-note" role="status">"Nothing to change: requests and HPA bounds fit what was recorded."</p>
        })}
        {(!withheld.is_empty()).then(|| view! {
            <p class="panel-note" data-testid="sizing-withheld">
                {withheld.into_iter().map(|(name, why)| if show_service { format!("{why}.") } else { format!("{name}: {why}. ") }).collect::<String>()}
            </p>
        })}
        {notes.into_iter().map(|n| view! { <p class="muted">{n}</p> }).collect_view()}
    }
}

/// The summary line of a report.
fn summary(r: &SizingReport) -> String {
    let judged = match r.judged_at_ms {
        Some(at) => format!("Judged at {} on up to the last {} of recording.", format::clock(at), r.window),
        None => "Recorded demand is being judged for the first time…".into(),
    };
    format!(
        "{} recommendation{}; together {}. {judged} Requests cover the {:.0}th percentile of per-pod use (memory the 99th) plus {:.0} % headroom.",
        r.recommendations,
        if r.recommendations == 1 { "" } else { "s" },
        effect_text(&r.total),
        r.options.cpu_percentile * 100.0,
        r.options.headroom * 100.0
    )
}

/// The Advisor page's right-sizing section for `namespace` (all when `None`).
#[component]
pub fn SizingSection(namespace: Memo<Option<String>>) -> impl IntoView {
    let chosen = crate::chosen::use_chosen();
    let report = Resource::new(
        move || (chosen.get(), namespace.get()),
        |(cluster, namespace)| sizing(cluster, SizingQuery { namespace, name: None }),
    );
    view! {
        <section class="panel" id="sizing" aria-labelledby="sizing-title" data-testid="sizing">
            <div class="panel-header"><h2 id="sizing-title">"Right-sizing"</h2></div>
            <p class="panel-note">"HPA-aware: where an HPA scales on a resource, its request is the HPA's yardstick, so Paydeck recommends the HPA's minimum and maximum instead (a lower request would only make the HPA add pods). Other requests come from per-pod usage percentiles; replicas of Deployments without an HPA from load per pod."</p>
            <Transition fallback=|| view! { <p class="loading" role="status">"Reading recorded demand…"</p> }>
                {move || report.get().map(|r| match r {
                    Ok(r) => view! {
                        <p class="panel-note" data-testid="sizing-summary">{summary(&r)}</p>
                        <SizingList rows=r.rows show_service=true />
                    }.into_any(),
                    Err(e) => view! { <ErrorNote what="Right-sizing could not be loaded" error=e.to_string() /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}
