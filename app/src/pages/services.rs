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
            <h2>"The services table is not available in this version"</h2>
            <p>
                "The Overview lists the services that need attention. Every Deployment, with its "
                "replicas, autoscaler, load and resources, is in the JSON API at "
                <a href="/api/v1/workloads">"/api/v1/workloads"</a> "."
            </p>
        </div>
    }
}
