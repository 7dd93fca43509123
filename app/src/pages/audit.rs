//! The audit log: every attempt to change scaling, newest first, filtered by the URL, with
//! CSV and JSON exports of exactly what is shown. One chain for the whole fleet: the chosen
//! cluster's attempts are listed, or with `?cluster=*` every cluster's, with a cluster column.

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::{
    NavigateOptions,
    hooks::{use_navigate, use_query_map},
};

use crate::{
    format,
    layout::PageHeader,
    poll::use_tick,
    scaling::{AuditEntry, AuditQuery, api::audit_entries},
    widgets::ErrorNote,
};

const OUTCOMES: [&str; 8] =
    ["applied", "previewed", "invalid", "denied", "conflict", "failed", "unknown", "reverted"];

fn query_string(q: &AuditQuery) -> String {
    let mut parts = Vec::new();
    for (key, value) in
        [("namespace", &q.namespace), ("name", &q.name), ("user", &q.user), ("outcome", &q.outcome)]
    {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            parts.push(format!("{key}={}", v.replace(['&', '=', '#', ' '], "")));
        }
    }
    parts.join("&")
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|p| {
            let get = |k: &str| p.get(k).filter(|v| !v.is_empty());
            AuditQuery {
                namespace: get("namespace"),
                name: get("name"),
                user: get("user"),
                outcome: get("outcome").filter(|o| OUTCOMES.contains(&o.as_str())),
                limit: Some(500),
                ..AuditQuery::default()
            }
        })
    });
    let tick = use_tick(Duration::from_secs(10));
    let chosen = crate::chosen::use_chosen();
    let entries = Resource::new(
        move || (chosen.get(), query.get(), tick.get()),
        |(cluster, q, _)| audit_entries(cluster, q),
    );
    let navigate = use_navigate();
    let filter = move |change: Box<dyn Fn(&mut AuditQuery)>| {
        let mut q = query.get_untracked();
        change(&mut q);
        let qs = query_string(&q);
        navigate(
            &crate::chosen::on_cluster(
                &if qs.is_empty() { "/audit".to_string() } else { format!("/audit?{qs}") },
                chosen.get_untracked().as_deref(),
            ),
            NavigateOptions::default(),
        );
    };
    let on_user = {
        let filter = filter.clone();
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            filter(Box::new(move |q| q.user = Some(v.trim().to_string())))
        }
    };
    let on_outcome = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        filter(Box::new(move |q| q.outcome = Some(v.clone())))
    };
    let export = move |format: &str| {
        let qs = query_string(&query.get());
        if qs.is_empty() {
            crate::chosen::api_on(&format!("/audit?format={format}"), chosen.get().as_deref())
        } else {
            crate::chosen::api_on(&format!("/audit?format={format}&{qs}"), chosen.get().as_deref())
        }
    };

    view! {
        <PageHeader title="Audit" subtitle="Every attempt to change scaling: who, when, what, before → after, why, and what came of it. Append-only and hash-chained (paydeck verify-audit)." />
        <section class="panel">
            <form class="filters" method="get" action="/audit" on:submit=|ev: leptos::ev::SubmitEvent| ev.prevent_default()>
                <crate::chosen::ClusterField />
                <div class="field">
                    <label for="audit-user">"User"</label>
                    <input id="audit-user" name="user" type="search" placeholder="Any user" prop:value=move || query.get().user.unwrap_or_default() on:change=on_user />
                </div>
                <div class="field">
                    <label for="audit-outcome">"Outcome"</label>
                    <select id="audit-outcome" name="outcome" on:change=on_outcome>
                        <option value="" selected=move || query.get().outcome.is_none()>"Any outcome"</option>
                        {OUTCOMES.into_iter().map(|o| view! { <option value=o selected=move || query.get().outcome.as_deref() == Some(o)>{o}</option> }).collect_view()}
                    </select>
                </div>
                {move || query.get().namespace.zip(query.get().name).map(|(ns, n)| view! {
                    <p class="panel-note">"Service " <span class="mono">{format!("{ns}/{n}")}</span> " · " <a href=crate::chosen::here("/audit")>"all services"</a></p>
                })}
                <div class="field export">
                    <span class="field-label">"Export"</span>
                    <span><a href=move || export("csv") download="paydeck-audit.csv">"CSV"</a> " · " <a href=move || export("json")>"JSON"</a></span>
                </div>
            </form>
            <Transition fallback=|| view! { <p class="loading" role="status">"Loading the audit log…"</p> }>
                {move || entries.get().map(|r| match r {
                    Ok(list) if list.is_empty() => view! {
                        <div class="empty-state" role="status">
                            <h2>"No attempts recorded"</h2>
                            <p>"Changes made from a service's page (and attempts that were refused) appear here."</p>
                        </div>
                    }.into_any(),
                    Ok(list) => view! { <AuditTable list /> }.into_any(),
                    // A server that shows the log to signed-in people only: say how to see it.
                    Err(e) if crate::widgets::server_reason(&e.to_string()).starts_with("sign in") => view! {
                        <div class="empty-state" role="status">
                            <h2>"Sign in to read the audit log"</h2>
                            <p>"This server shows its audit log only to requests that carry an identity: sign in through your auth proxy, or send a bearer token made for Paydeck."</p>
                        </div>
                    }.into_any(),
                    Err(e) => view! { <ErrorNote what="The audit log could not be loaded" error=e.to_string() /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// The service's page on the cluster of the row when the list spans several, else on the
/// page's chosen cluster.
fn service_href(e: &AuditEntry, several: bool) -> String {
    let href = format!("/services/{}/{}", e.namespace, e.name);
    if several && !e.cluster.is_empty() {
        crate::chosen::on_cluster(&href, Some(&e.cluster))
    } else {
        crate::chosen::here(&href)
    }
}

/// `field a → b` for every field that differs between before and after.
fn change_summary(e: &AuditEntry) -> String {
    let Some(before) = e.before.as_object() else { return String::new() };
    let changed: Vec<String> = before
        .iter()
        .filter_map(|(k, b)| {
            let a = e.after.get(k)?;
            (a != b && !a.is_object()).then(|| format!("{k} {b} → {a}"))
        })
        .collect();
    changed.join(", ")
}

#[component]
fn AuditTable(list: Vec<AuditEntry>) -> impl IntoView {
    // Several clusters' attempts: each row says whose, and links to the service there.
    let first = list.first().map(|e| e.cluster.clone()).unwrap_or_default();
    let several = list.iter().any(|e| e.cluster != first);
    view! {
        <div class="table-wrap">
            <table class="services audit" class:fleet=several data-testid="audit-table">
                <thead><tr>
                    <th scope="col">"#"</th><th scope="col">"When"</th><th scope="col">"Who"</th>
                    {several.then(|| view! { <th scope="col">"Cluster"</th> })}
                    <th scope="col">"Service"</th>
                    <th scope="col">"Change"</th><th scope="col">"Reason"</th><th scope="col">"Outcome"</th>
                </tr></thead>
                <tbody>
                    {list.into_iter().map(|e| {
                        let class = match e.outcome.as_str() {
                            "applied" => "badge badge-ok",
                            "previewed" => "badge",
                            "conflict" | "invalid" | "reverted" => "badge badge-warn",
                            _ => "badge badge-bad",
                        };
                        let summary = change_summary(&e);
                        view! {
                            <tr data-seq=e.seq.to_string()>
                                <td class="num mono">{e.seq}</td>
                                <td><time>{format::clock(e.at_ms)}</time></td>
                                <td>{e.user.clone()}<span class="sub">{e.groups.join(", ")}</span></td>
                                {several.then(|| view! { <td class="mono">{if e.cluster.is_empty() { "—".to_string() } else { e.cluster.clone() }}</td> })}
                                <td><a href=service_href(&e, several) class="mono">{format!("{}/{}", e.namespace, e.name)}</a><span class="sub">{e.target.clone()}</span></td>
                                <td class="mono">{summary}<span class="sub">{e.detail.clone()}</span></td>
                                <td>{e.reason.clone()}</td>
                                <td><span class=class>{e.outcome.clone()}</span></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
