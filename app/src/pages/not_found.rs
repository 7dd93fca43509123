use leptos::prelude::*;

use crate::layout::PageHeader;

/// Shown for any path no page claims; the server answers it with 404.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <PageHeader title="Page not found" />
        <div class="panel empty-state">
            <p>"There is no page at this address."</p>
            <p><a href="/">"Go to the overview"</a></p>
        </div>
    }
}
