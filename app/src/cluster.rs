//! The cluster as the pages see it: the overview server function and the connection banner.

use leptos::{either::EitherOf4, prelude::*};

use crate::{
    dto::Overview,
    live::{LiveStatus, use_live},
};

/// Cluster totals, what needs attention, and the connection state; workload figures narrowed
/// to `namespace` when given.
#[server(prefix = "/rpc", endpoint = "cluster-overview")]
pub async fn cluster_overview(
    cluster: Option<String>,
    namespace: Option<String>,
) -> Result<Overview, ServerFnError> {
    Ok(crate::backend::backend_in(&cluster)?.cluster.overview(namespace.as_deref()))
}

/// A banner over every page when Paydeck cannot see the whole cluster: not yet synced, the
/// API server unreachable, a resource forbidden, no usage data — or Paydeck's own server
/// gone. Read from the live feed the tab already holds (no polling of its own); shown in the
/// browser only, so no page waits for it on the server.
#[component]
pub fn ConnectionBanner() -> impl IntoView {
    let live = use_live();
    move || {
        if live.status.get() == LiveStatus::Reconnecting {
            return EitherOf4::A(view! {
                <div class="banner banner-bad" role="alert">
                    <strong>"Paydeck's server is not answering. "</strong>
                    "Figures are not updating; reconnecting…"
                </div>
            });
        }
        let Some(connection) = live.last.with(|e| e.as_ref().map(|e| e.connection.clone())) else {
            return EitherOf4::B(());
        };
        if !connection.synced {
            EitherOf4::C(view! {
                <div class="banner banner-warn" role="status">
                    <strong>"Connecting to the cluster… "</strong>
                    {connection.cluster.clone()}
                    <ProblemList problems=connection.problems.clone() />
                </div>
            })
        } else if !connection.problems.is_empty() {
            EitherOf4::D(view! {
                <div class="banner banner-warn" role="status">
                    <strong>"Some of the cluster is not visible. "</strong>
                    <ProblemList problems=connection.problems.clone() />
                </div>
            })
        } else {
            EitherOf4::B(())
        }
    }
}

#[component]
fn ProblemList(problems: Vec<String>) -> impl IntoView {
    (!problems.is_empty()).then(|| {
        view! { <ul class="banner-problems">{problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul> }
    })
}
