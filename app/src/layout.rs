//! The frame around every page: header with navigation, main content, footer.

use leptos::prelude::*;
use leptos_router::components::A;

/// Header, navigation and footer around the routed page.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    // Inside the router: the chosen cluster is read from the URL.
    let chosen = crate::chosen::provide_chosen();
    crate::live::provide_live(chosen);
    // The whole fleet (`*`) carries over to the pages that list it; the others show the primary.
    let nav = move |path: &'static str| {
        move || {
            let chosen = chosen.get();
            let kept = chosen
                .as_deref()
                .filter(|c| !crate::chosen::is_every(Some(c)) || crate::chosen::lists_fleet(path));
            crate::chosen::on_cluster(path, kept)
        }
    };
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/" aria-label="Paydeck home">
                <img class="brand-mark" src="/favicon.svg" alt="" width="24" height="24" />
                <span class="brand-name">"Paydeck"</span>
            </a>
            <nav class="nav" aria-label="Main">
                <A href="/fleet">"Fleet"</A>
                <A href=nav("/") exact=true>"Overview"</A>
                <A href=nav("/services")>"Services"</A>
                <A href=nav("/advisor")>"Advisor"</A>
                <A href=nav("/planner")>"Planner"</A>
                <A href=nav("/plans")>"Plans"</A>
                <A href=nav("/audit")>"Audit"</A>
            </nav>
            <div class="topbar-end">
                <crate::pages::ClusterPicker />
                <crate::viewer::ViewerBadge />
                <crate::live::LiveIndicator />
            </div>
        </header>
        <crate::cluster::ConnectionBanner />
        <main id="main" class="content">{children()}</main>
        <footer class="footer">
            <span>"Paydeck " {crate::VERSION}</span>
            <a href="/settings/notifications">"Notifications"</a>
        </footer>
    }
}

/// The title block at the top of a page.
#[component]
pub fn PageHeader(title: &'static str, #[prop(optional)] subtitle: &'static str) -> impl IntoView {
    view! {
        <leptos_meta::Title text=title />
        <div class="page-header">
            <h1>{title}</h1>
            {(!subtitle.is_empty()).then(|| view! { <p class="page-subtitle">{subtitle}</p> })}
        </div>
    }
}
