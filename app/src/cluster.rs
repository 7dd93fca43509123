//! The cluster as the pages see it: the overview server function and the connection banner.

use std::time::Duration;

use leptos::prelude::*;

use crate::{dto::Overview, poll::use_tick};

/// Cluster totals, what needs attention, and the connection state; workload figures narrowed
/// to `namespace` when given.
#[server(prefix = "/rpc", endpoint = "cluster-overview")]
pub async fn cluster_overview(namespace: Option<String>) -> Result<Overview, ServerFnError> {
    Ok(crate::backend::backend()?.cluster.overview(namespace.as_deref()))
}

/// A banner over every page when Paydeck cannot see the whole cluster: not yet synced, the
/// API server unreachable, a resource forbidden, no usage data. Loaded in the browser only:
/// no page waits for it on the server (the not-found page's in-order rendering would).
#[component]
pub fn ConnectionBanner() -> impl IntoView {
    let tick = use_tick(Duration::from_secs(10));
    let overview = LocalResource::new(move || {
        tick.track();
        cluster_overview(None)
    });
    view! {
        <Transition fallback=|| ()>
            {move || overview.get().map(|result| match result {
                Err(e) => view! {
                    <div class="banner banner-bad" role="alert">
                        <strong>"Paydeck's server is not answering. "</strong>
                        {e.to_string()}
                    </div>
                }.into_any(),
                Ok(o) if !o.connection.synced => view! {
                    <div class="banner banner-warn" role="status">
                        <strong>"Connecting to the cluster… "</strong>
                        {o.connection.cluster.clone()}
                        <ProblemList problems=o.connection.problems.clone() />
                    </div>
                }.into_any(),
                Ok(o) if !o.connection.problems.is_empty() => view! {
                    <div class="banner banner-warn" role="status">
                        <strong>"Some of the cluster is not visible. "</strong>
                        <ProblemList problems=o.connection.problems.clone() />
                    </div>
                }.into_any(),
                Ok(_) => ().into_any(),
            })}
        </Transition>
    }
}

#[component]
fn ProblemList(problems: Vec<String>) -> impl IntoView {
    (!problems.is_empty()).then(|| {
        view! { <ul class="banner-problems">{problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul> }
    })
}
