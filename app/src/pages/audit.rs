use leptos::prelude::*;

use crate::layout::PageHeader;

/// The record of every scaling change attempted through Paydeck.
#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <PageHeader
            title="Audit"
            subtitle="Every scaling change attempted through Paydeck: who, when, what and why."
        />
        <div class="panel empty-state" role="status">
            <h2>"No changes recorded"</h2>
            <p>"No scaling change has been attempted through this Paydeck server."</p>
        </div>
    }
}
