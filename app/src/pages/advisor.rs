//! The Advisor: every governance rule with how often it is broken, and the findings — by
//! rule, then namespace — each linking to its service. Filters live in the URL (a GET form
//! that works before the WebAssembly loads).

use domain::rules::{
    CATALOGUE, Origin, RuleFinding, RuleId, Severity,
    report::{FindingRow, FindingsQuery, FindingsReport, RuleCount},
    rule,
};
use leptos::{either::Either, prelude::*};
use leptos_router::{
    NavigateOptions,
    hooks::{use_navigate, use_query_map},
};

use crate::{
    advisor::findings, format, layout::PageHeader, pages::sizing::SizingSection, widgets::ErrorNote,
};

/// The query the URL asks for (unknown values are ignored, as a link may be old).
fn query_of(get: impl Fn(&str) -> Option<String>) -> FindingsQuery {
    FindingsQuery {
        namespace: get("namespace").filter(|v| !v.is_empty()),
        name: None,
        rule: get("rule").and_then(|r| RuleId::parse(&r)),
        severity: get("severity").and_then(|s| Severity::parse(&s)),
        waived: get("waived").is_some_and(|v| v == "true" || v == "on"),
    }
}

/// The badge class of a severity.
pub fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::High => "badge badge-bad",
        Severity::Medium => "badge badge-warn",
        Severity::Low => "badge",
    }
}

/// The Advisor's URL for a rule (keeping the other filters).
fn with_rule(q: &FindingsQuery, rule: Option<RuleId>) -> String {
    url_of(&FindingsQuery { rule, ..q.clone() })
}

/// The Advisor's URL for `q`.
fn url_of(q: &FindingsQuery) -> String {
    let rule = q.rule;
    let mut parts = Vec::new();
    if let Some(ns) = &q.namespace {
        parts.push(format!("namespace={}", ns.replace(['&', '=', '#', ' '], "")));
    }
    if let Some(r) = rule {
        parts.push(format!("rule={r}"));
    }
    if let Some(s) = q.severity {
        parts.push(format!("severity={}", s.as_str()));
    }
    if q.waived {
        parts.push("waived=true".into());
    }
    if parts.is_empty() { "/advisor".into() } else { format!("/advisor?{}", parts.join("&")) }
}

#[component]
pub fn AdvisorPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| params.with(|p| query_of(|k| p.get(k))));
    let chosen = crate::chosen::use_chosen();
    let report = Resource::new(move || (chosen.get(), query.get()), |(cluster, q)| findings(cluster, q));
    // Every namespace with a workload, kept from the last report.
    let namespaces =
        Memo::new(move |_| report.get().and_then(Result::ok).map(|r| r.namespaces).unwrap_or_default());
    let navigate = use_navigate();
    let set = move |change: Box<dyn Fn(&mut FindingsQuery)>| {
        let mut q = query.get_untracked();
        change(&mut q);
        navigate(
            &crate::chosen::on_cluster(&url_of(&q), chosen.get_untracked().as_deref()),
            NavigateOptions::default(),
        );
    };
    let (on_namespace, on_rule, on_severity) = (set.clone(), set.clone(), set.clone());

    view! {
        <PageHeader title="Advisor" subtitle="Governance rules for payment services, judged on the live cluster and on recorded demand, and right-sizing from the recorded week. Each finding says what was found, why it matters and how to fix it; a Deployment may waive a rule by annotation (paydeck.io/waive), and waived findings stay visible." />
        <section class="panel">
            <form class="filters" method="get" action="/advisor" data-testid="advisor-filters">
                <crate::chosen::ClusterField />
                <div class="field">
                    <label for="advisor-namespace">"Namespace"</label>
                    <select id="advisor-namespace" name="namespace" on:change=move |ev| {
                        let v = event_target_value(&ev);
                        on_namespace(Box::new(move |q| q.namespace = Some(v.clone()).filter(|v| !v.is_empty())))
                    }>
                        <option value="" selected=move || query.get().namespace.is_none()>"All namespaces"</option>
                        {move || {
                            // The one asked for is listed even before the first report arrives.
                            let mut all = namespaces.get();
                            if let Some(ns) = query.get().namespace && !all.contains(&ns) {
                                all.push(ns);
                            }
                            all.into_iter().map(|ns| {
                                let selected = query.get().namespace.as_deref() == Some(ns.as_str());
                                view! { <option value=ns.clone() selected=selected>{ns.clone()}</option> }
                            }).collect_view()
                        }}
                    </select>
                </div>
                <div class="field">
                    <label for="advisor-rule">"Rule"</label>
                    <select id="advisor-rule" name="rule" on:change=move |ev| {
                        let v = event_target_value(&ev);
                        on_rule(Box::new(move |q| q.rule = RuleId::parse(&v)))
                    }>
                        <option value="" selected=move || query.get().rule.is_none()>"Every rule"</option>
                        {CATALOGUE.iter().map(|r| view! {
                            <option value=r.code selected=move || query.get().rule == Some(r.id)>{format!("{} · {}", r.code, r.title)}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="advisor-severity">"Severity"</label>
                    <select id="advisor-severity" name="severity" on:change=move |ev| {
                        let v = event_target_value(&ev);
                        on_severity(Box::new(move |q| q.severity = Severity::parse(&v)))
                    }>
                        <option value="" selected=move || query.get().severity.is_none()>"Any severity"</option>
                        {Severity::ALL.into_iter().map(|s| view! {
                            <option value=s.as_str() selected=move || query.get().severity == Some(s)>{format!("{} or worse", s.label())}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field field-check">
                    <label><input type="checkbox" name="waived" value="true" prop:checked=move || query.get().waived on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        set(Box::new(move |q| q.waived = on))
                    } />" Show waived"</label>
                </div>
                <noscript><button type="submit" class="button-quiet">"Apply"</button></noscript>
                // The JSON API reports one cluster at a time.
                {move || (!crate::chosen::is_every(chosen.get().as_deref())).then(|| view! {
                    <div class="field export">
                        <span class="field-label">"Export"</span>
                        <a href=move || crate::chosen::api_on(&format!("/findings{}", url_of(&query.get()).trim_start_matches("/advisor")), chosen.get().as_deref())>"JSON"</a>
                    </div>
                })}
            </form>
            <Transition fallback=|| view! { <p class="loading" role="status">"Judging the rules…"</p> }>
                {move || report.get().map(|r| match r {
                    Ok(r) => view! { <Report report=r query=query.get() /> }.into_any(),
                    Err(e) => view! { <ErrorNote what="The findings could not be loaded" error=e.to_string() /> }.into_any(),
                })}
            </Transition>
        </section>
        {move || if crate::chosen::is_every(chosen.get().as_deref()) {
            Either::Left(view! {
                <section class="panel" id="sizing" data-testid="sizing">
                    <div class="panel-header"><h2>"Right-sizing"</h2></div>
                    <p class="panel-note">"Right-sizing is per cluster: choose one in the cluster picker to see its recommendations."</p>
                </section>
            })
        } else {
            Either::Right(view! { <SizingSection namespace=Memo::new(move |_| query.get().namespace) /> })
        }}
    }
}

#[component]
fn Report(report: FindingsReport, query: FindingsQuery) -> impl IntoView {
    let judged = match (report.history_judged_at_ms, report.history_window.is_empty()) {
        (_, true) => "Rules on recorded demand need history; this server records none.".to_string(),
        (None, false) => "Rules on recorded demand are being judged for the first time…".to_string(),
        (Some(at), false) => {
            format!(
                "Rules on recorded demand judged at {} on up to the last {} of recording (6 h at least).",
                format::clock(at),
                report.history_window
            )
        }
    };
    let open: usize = report.rules.iter().map(|c| c.open).sum();
    let waived: usize = report.rules.iter().map(|c| c.waived).sum();
    view! {
        <p class="panel-note" data-testid="advisor-summary">
            {format!("{open} open finding{}, {waived} waived. ", if open == 1 { "" } else { "s" })}{judged}
        </p>
        <div class="advisor">
            <RuleCounts counts=report.rules.clone() query=query.clone() />
            <Findings rows=report.findings />
        </div>
    }
}

#[component]
fn RuleCounts(counts: Vec<RuleCount>, query: FindingsQuery) -> impl IntoView {
    view! {
        <nav class="rule-counts" aria-label="Rules">
            <h2 class="subheading">"Rules"</h2>
            <ul>
                <li><a href=crate::chosen::here(&with_rule(&query, None)) aria-current=query.rule.is_none().then_some("true")>"Every rule"</a></li>
                {counts.into_iter().map(|c| {
                    let current = query.rule == Some(c.rule);
                    let count_class = if c.open > 0 { "count count-open" } else { "count" };
                    view! {
                        <li data-rule=c.rule.as_str()>
                            <a href=crate::chosen::here(&with_rule(&query, Some(c.rule))) aria-current=current.then_some("true") title=rule(c.rule).why>
                                <span class="mono">{c.rule.as_str()}</span>" "{c.title.clone()}
                                {c.from_history.then(|| view! { <span class="tag">"history"</span> })}
                            </a>
                            <span class=count_class aria-label=format!("{} open, {} waived", c.open, c.waived)>
                                {c.open}{(c.waived > 0).then(|| format!(" +{} waived", c.waived))}
                            </span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </nav>
    }
}

#[component]
fn Findings(rows: Vec<FindingRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <div class="empty-state" role="status">
                <h2>"Nothing found"</h2>
                <p>"No workload in scope breaks a rule with these filters. Rules on recorded demand need six hours of history."</p>
            </div>
        }
        .into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="services findings" data-testid="findings-table">
                <thead><tr>
                    <th scope="col">"Rule"</th><th scope="col">"Service"</th><th scope="col">"Severity"</th><th scope="col">"Finding"</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|row| {
                        let r = rule(row.finding.rule);
                        let waived = row.finding.waived.is_some();
                        view! {
                            <tr data-rule=r.code data-workload=format!("{}/{}", row.namespace, row.name) class:waived=waived>
                                <td><span class="mono">{r.code}</span><span class="sub">{r.title}</span></td>
                                <th scope="row" class="service">
                                    <a href=on_cluster_of(&format!("/services/{}/{}#governance", row.namespace, row.name), row.cluster.as_deref())>{row.name.clone()}</a>
                                    <span class="sub">{row.namespace.clone()}{row.critical.then_some(" · critical")}</span>
                                    {row.cluster.clone().map(|c| view! { <span class="sub mono" data-testid="finding-cluster">{c}</span> })}
                                </th>
                                <td><span class=severity_class(row.finding.severity)>{row.finding.severity.label()}</span></td>
                                <td><FindingText finding=row.finding namespace=row.namespace.clone() name=row.name.clone() cluster=row.cluster.clone() /></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// `href` on `cluster` when the row names one (a report of the whole fleet), else on the
/// page's cluster.
fn on_cluster_of(href: &str, cluster: Option<&str>) -> String {
    match cluster {
        Some(on) => crate::chosen::on_cluster(href, Some(on)),
        None => crate::chosen::here(href),
    }
}

/// A finding's message, its waiver when it has one, and the way to the change it proposes.
#[component]
pub fn FindingText(
    finding: RuleFinding,
    namespace: String,
    name: String,
    /// The cluster the finding is on, in a report of the whole fleet.
    #[prop(default = None)]
    cluster: Option<String>,
) -> impl IntoView {
    let change = finding.proposal.as_ref().map(|p| {
        on_cluster_of(
            &format!("/services/{namespace}/{name}?{}#edit", p.query(Origin::Rule(finding.rule))),
            cluster.as_deref(),
        )
    });
    view! {
        {finding.message.clone()}
        {finding.backtest.map(|b| view! { <span class="sub" data-testid="finding-backtest">{format!("Proposed change {b}")}</span> })}
        {finding.waived.map(|reason| view! {
            <span class="sub waiver">{if reason.is_empty() { "Waived (no reason given)".to_string() } else { format!("Waived: {reason}") }}</span>
        })}
        {change.map(|href| view! {
            " "<a class="open-change" href=href data-testid="open-as-change" rel="external">"Open as change →"</a>
        })}
    }
}
