//! The services page: every Deployment in one table that sorts, filters and pages, with its
//! state in the URL, and rows that follow the cluster live.

pub mod live_rows;
pub mod table;
pub mod url;

use leptos::{
    either::{Either, EitherOf3},
    prelude::*,
};
use leptos_router::{
    NavigateOptions,
    components::A,
    hooks::{use_navigate, use_query_map},
};

use crate::{dto::RowPage, format, layout::PageHeader, widgets::ErrorNote, workloads::list_workloads};
use live_rows::LiveRows;
use url::{PAGE_SIZES, ServicesUrl};

#[component]
pub fn ServicesPage() -> impl IntoView {
    let query = use_query_map();
    let state = Memo::new(move |_| query.with(|q| ServicesUrl::parse(|k| q.get(k))));
    // Fetched on navigation; the live feed then updates the rows in place (`LiveRows`).
    let page = Resource::new(move || state.get(), |s| list_workloads(s.cluster(), s.query()));

    view! {
        <PageHeader title="Services" subtitle="Every Deployment with its replicas, autoscaler, load and resources." />
        <section class="panel">
            <Filters state page />
            <Transition fallback=|| view! { <p class="loading" role="status">"Loading services…"</p> }>
                {move || page.get().map(|result| match result {
                    Ok(p) => Either::Left(view! { <Results state=state.get_untracked() page=p /> }),
                    Err(e) => Either::Right(view! { <ErrorNote what="The services could not be loaded" error=e.to_string() /> }),
                })}
            </Transition>
        </section>
    }
}

/// Search, namespace, health and page size. Works as a plain GET form without WebAssembly;
/// in the browser every change navigates at once.
#[component]
fn Filters(state: Memo<ServicesUrl>, page: Resource<Result<RowPage, ServerFnError>>) -> impl IntoView {
    let navigate = use_navigate();
    let go = move |next: ServicesUrl| navigate(&next.href(), NavigateOptions::default());
    let search = NodeRef::<leptos::html::Input>::new();
    let namespaces = move || {
        page.get().and_then(Result::ok).map(|p| p.namespaces).unwrap_or_else(|| {
            let ns = state.get().namespace;
            if ns.is_empty() { vec![] } else { vec![ns] }
        })
    };

    let on_submit = {
        let go = go.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let q = search.get().map(|i| i.value()).unwrap_or_default();
            go(state.get_untracked().filtered(|s| s.q = q.trim().to_string()));
        }
    };
    let on_namespace = {
        let go = go.clone();
        move |ev| {
            let v = event_target_value(&ev);
            go(state.get_untracked().filtered(|s| s.namespace = v));
        }
    };
    let on_health = {
        let go = go.clone();
        move |ev| {
            let v = event_target_value(&ev);
            go(state.get_untracked().filtered(|s| s.health = v));
        }
    };
    let on_per = move |ev| {
        let v = event_target_value(&ev).parse().unwrap_or(PAGE_SIZES[0]);
        go(state.get_untracked().filtered(|s| s.per = v));
    };

    view! {
        <form class="filters" method="get" action="/services" role="search" on:submit=on_submit>
            <crate::chosen::ClusterField />
            <div class="field field-grow">
                <label for="services-q">"Search"</label>
                <input id="services-q" name="q" type="search" placeholder="Name or namespace"
                    prop:value=move || state.get().q node_ref=search autocomplete="off" />
            </div>
            <div class="field">
                <label for="services-namespace">"Namespace"</label>
                <select id="services-namespace" name="namespace" on:change=on_namespace>
                    <option value="" selected=move || state.get().namespace.is_empty()>"All namespaces"</option>
                    {move || namespaces().into_iter().map(|ns| {
                        let selected = state.get().namespace == ns;
                        view! { <option value=ns.clone() selected=selected>{ns.clone()}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="services-health">"Status"</label>
                <select id="services-health" name="health" on:change=on_health>
                    {[("", "Any status"), ("critical", "Critical"), ("warning", "Warning"), ("healthy", "Healthy")]
                        .into_iter()
                        .map(|(value, label)| view! {
                            <option value=value selected=move || state.get().health == value>{label}</option>
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="services-per">"Rows"</label>
                <select id="services-per" name="per" on:change=on_per>
                    {PAGE_SIZES.iter().copied().map(|n| view! {
                        <option value=n.to_string() selected=move || state.get().per == n>{n.to_string()}</option>
                    }).collect_view()}
                </select>
            </div>
            <input type="hidden" name="sort" value=move || state.get().sort.as_str() />
            <input type="hidden" name="order" value=move || if state.get().descending { "desc" } else { "asc" } />
            <button type="submit" class="button">"Apply"</button>
        </form>
    }
}

/// The count, the table and the pager, following the cluster live.
#[component]
fn Results(state: ServicesUrl, page: RowPage) -> impl IntoView {
    let rows = LiveRows::new(page);
    // A listing of the whole fleet is fetched on navigation; one cluster's follows it live.
    if !crate::chosen::is_every(state.cluster().as_deref()) {
        rows.follow(state.clone());
    }
    let empty = Memo::new({
        let order = rows.order.clone();
        move |_| order.with(Vec::is_empty)
    });
    move || {
        if empty.get() {
            Either::Left(view! { <EmptyState state=state.clone() total=rows.total.get() /> })
        } else {
            Either::Right(view! { <Rows state=state.clone() rows=rows.clone() /> })
        }
    }
}

/// What an empty page says, and the way back to rows.
#[component]
fn EmptyState(state: ServicesUrl, total: usize) -> impl IntoView {
    view! {
        <div class="empty-state" role="status">
            {if state.is_filtered() {
                EitherOf3::A(view! {
                    <h2>"No services match these filters"</h2>
                    <p><A href=crate::chosen::here("/services")>"Clear the filters"</A> " to see every Deployment."</p>
                })
            } else if total > 0 {
                EitherOf3::B(view! {
                    <h2>"This page is past the end of the list"</h2>
                    <p><A href=state.at_page(1).href()>"Back to the first page"</A></p>
                })
            } else {
                EitherOf3::C(view! {
                    <h2>"No Deployments in the watched namespaces"</h2>
                    <p>"Paydeck shows Deployments as soon as the cluster has them."</p>
                })
            }}
        </div>
    }
}

#[component]
fn Rows(state: ServicesUrl, rows: LiveRows) -> impl IntoView {
    let (order, total) = (rows.order.clone(), rows.total.clone());
    let count = {
        let (state, total) = (state.clone(), total.clone());
        move || {
            let first = (state.page - 1) * state.per + 1;
            let last = first + order.with(Vec::len) - 1;
            format!(
                "{}–{} of {} services",
                format::thousands(first as u64),
                format::thousands(last as u64),
                format::thousands(total.get() as u64)
            )
        }
    };
    let pager = {
        let state = state.clone();
        move || {
            let pages = total.get().div_ceil(state.per);
            (pages > 1).then(|| view! {
                <nav class="pager" aria-label="Pages">
                    {(state.page > 1).then(|| view! { <A href=state.at_page(state.page - 1).href() attr:rel="prev">"← Previous"</A> })}
                    <span>{format!("Page {} of {}", state.page, pages)}</span>
                    {(state.page < pages).then(|| view! { <A href=state.at_page(state.page + 1).href() attr:rel="next">"Next →"</A> })}
                </nav>
            })
        }
    };
    view! {
        <p class="result-count" data-testid="result-count">{count}</p>
        <table::WorkloadTable state rows />
        {pager}
    }
}
