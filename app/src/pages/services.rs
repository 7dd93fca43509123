use leptos::prelude::*;

use crate::layout::PageHeader;

/// Every Deployment with its replicas, autoscaler, load and resources.
#[component]
pub fn ServicesPage() -> impl IntoView {
    view! {
        <PageHeader
            title="Services"
            subtitle="Every Deployment with its replicas, autoscaler, load and resources."
        />
        <div class="panel empty-state" role="status">
            <h2>"No cluster connected"</h2>
            <p>
                "This server is not watching a cluster, so there are no services to list. "
                "Services appear here once Paydeck is connected to a Kubernetes API server."
            </p>
        </div>
    }
}
