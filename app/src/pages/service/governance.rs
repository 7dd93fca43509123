//! A service's governance findings: each rule it breaks, with what was found, why it matters
//! for payments and how to fix it; waived ones marked.

use domain::{
    rules::{report::FindingsQuery, rule},
    sizing::SizingQuery,
};
use leptos::prelude::*;

use crate::{
    advisor::{findings, sizing},
    pages::{FindingText, severity_class, sizing::SizingList},
    widgets::ErrorNote,
};

#[component]
pub fn Governance(target: Memo<(String, String)>, revision: ReadSignal<u64>) -> impl IntoView {
    let chosen = crate::chosen::use_chosen();
    let report = Resource::new(
        move || (chosen.get(), target.get(), revision.get()),
        |(cluster, (namespace, name), _)| {
            findings(
                cluster,
                FindingsQuery {
                    namespace: Some(namespace),
                    name: Some(name),
                    waived: true,
                    ..FindingsQuery::default()
                },
            )
        },
    );
    let sized = Resource::new(
        move || (chosen.get(), target.get(), revision.get()),
        |(cluster, (namespace, name), _)| {
            sizing(cluster, SizingQuery { namespace: Some(namespace), name: Some(name) })
        },
    );
    view! {
        <section class="panel governance" id="governance" aria-labelledby="governance-title" data-testid="governance">
            <div class="panel-header"><h2 id="governance-title">"Governance"</h2></div>
            <Transition fallback=|| view! { <p class="loading" role="status">"Judging the rules…"</p> }>
                {move || report.get().map(|r| match r {
                    Ok(r) if r.findings.is_empty() => view! {
                        <p class="panel-note" role="status">
                            {if r.history_judged_at_ms.is_some() || r.history_window.is_empty() {
                                "No rule is broken."
                            } else {
                                "No rule on the live state is broken; recorded demand is still being judged."
                            }}
                            " "<a href=crate::chosen::here("/advisor")>"Every rule"</a>
                        </p>
                    }.into_any(),
                    Ok(r) => view! {
                        <ul class="finding-list">
                            {r.findings.into_iter().map(|row| {
                                let def = rule(row.finding.rule);
                                let waived = row.finding.waived.is_some();
                                view! {
                                    <li data-rule=def.code class:waived=waived>
                                        <div class="finding-head">
                                            <span class=severity_class(row.finding.severity)>{row.finding.severity.label()}</span>
                                            <a class="mono" href=crate::chosen::here(&format!("/advisor?rule={}", def.code))>{def.code}</a>
                                            <strong>{def.title}</strong>
                                        </div>
                                        <p><FindingText finding=row.finding namespace=row.namespace.clone() name=row.name.clone() /></p>
                                        <details>
                                            <summary>"Why it matters, and the fix"</summary>
                                            <p>{def.why}</p>
                                            <p><strong>"Fix: "</strong>{def.fix}</p>
                                            <p class="muted">{format!("Waive with the annotation paydeck.io/waive: {} and a paydeck.io/waive-reason.", def.code)}</p>
                                        </details>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <ErrorNote what="The findings could not be loaded" error=e.to_string() /> }.into_any(),
                })}
            </Transition>
            <h3 class="subheading" id="sizing">"Right-sizing"</h3>
            <Transition fallback=|| view! { <p class="loading" role="status">"Reading recorded demand…"</p> }>
                {move || sized.get().map(|r| match r {
                    Ok(r) if r.rows.is_empty() => view! {
                        <p class="panel-note" role="status">{if r.judged_at_ms.is_some() {
                            "Nothing recorded for this service yet: right-sizing needs a day of history."
                        } else {
                            "Recorded demand is still being judged."
                        }}</p>
                    }.into_any(),
                    Ok(r) => view! { <SizingList rows=r.rows show_service=false /> }.into_any(),
                    Err(e) => view! { <ErrorNote what="Right-sizing could not be loaded" error=e.to_string() /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}
