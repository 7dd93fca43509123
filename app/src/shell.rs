//! The HTML document and the router: what every page shares.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    Lazy,
    components::{Route, Router, Routes},
    path,
};

use crate::layout::Layout;
use crate::pages::{
    AdvisorRoute, AuditRoute, FleetRoute, NotFoundPage, NotificationsRoute, OverviewPage, PlannerRoute,
    PlansRoute, ServiceRoute, ServicesPage,
};

/// The ECharts bundle, served by Paydeck itself (no CDN: banks run air-gapped).
pub const ECHARTS_PATH: &str = "/assets/echarts.min.js";

/// The whole HTML document, rendered on the server for every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::csp::set_header_for_page();

    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                // Deferred classic scripts and the hydration module run in document order, so
                // `echarts` exists before any chart is drawn.
                <script src=ECHARTS_PATH defer nonce=use_nonce()></script>
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: stylesheet, title, layout and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    mark_hydrated();

    view! {
        <Stylesheet id="leptos" href="/pkg/paydeck.css" />
        <Title formatter=|page: String| {
            if page.is_empty() { "Paydeck".to_string() } else { format!("{page} · Paydeck") }
        } />
        <Router>
            <Layout>
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view=OverviewPage />
                    <Route path=path!("/services") view=ServicesPage />
                    // Lazily loaded: their code is fetched on first visit.
                    <Route path=path!("/services/:namespace/:name") view={Lazy::<ServiceRoute>::new()} />
                    <Route path=path!("/advisor") view={Lazy::<AdvisorRoute>::new()} />
                    <Route path=path!("/planner") view={Lazy::<PlannerRoute>::new()} />
                    <Route path=path!("/plans/:id?") view={Lazy::<PlansRoute>::new()} />
                    <Route path=path!("/audit") view={Lazy::<AuditRoute>::new()} />
                    <Route path=path!("/fleet") view={Lazy::<FleetRoute>::new()} />
                    <Route path=path!("/settings/notifications") view={Lazy::<NotificationsRoute>::new()} />
                </Routes>
            </Layout>
        </Router>
    }
}

/// Sets `data-hydrated` on `<html>` once the browser app has taken over the page, so tests
/// (and curious users) can tell a live page from a static one.
fn mark_hydrated() {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}
