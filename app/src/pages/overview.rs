use std::time::Duration;

use leptos::prelude::*;

use crate::charts::{EChart, Palette, traffic::traffic_chart};
use crate::format;
use crate::layout::PageHeader;
use crate::poll::use_tick;
use crate::traffic::{TrafficSeries, server_traffic};

/// How often the open page asks for fresh figures.
const REFRESH: Duration = Duration::from_secs(5);

/// The landing page: the state of this Paydeck server and, once connected, of the cluster.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let tick = use_tick(REFRESH);
    let traffic = Resource::new(move || tick.get(), |_| server_traffic());
    let palette = Palette::current();
    let chart =
        Memo::new(move |_| traffic.get().and_then(Result::ok).map(|series| traffic_chart(&series, palette)));

    view! {
        <PageHeader title="Overview" subtitle="The payment platform at a glance, and this Paydeck server's own traffic." />
        <super::cluster_panel::ClusterPanel />
        <section class="panel" aria-labelledby="traffic-title">
            <div class="panel-header">
                <h2 id="traffic-title">"Server traffic"</h2>
                <p class="panel-note">
                    "Requests answered by this server per second, averaged over 5-second intervals. "
                    "Refreshes every 5 s."
                </p>
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading traffic…"</p> }>
                {move || traffic.get().map(|result| match result {
                    Ok(series) => view! { <TrafficStats series /> }.into_any(),
                    Err(e) => view! {
                        <p class="error" role="alert">"Traffic figures are unavailable: " {e.to_string()}</p>
                    }.into_any(),
                })}
            </Transition>
            <EChart
                id="traffic-chart"
                label="Requests per second answered by this server over the last minutes".to_string()
                option=chart
            />
        </section>
    }
}

/// The headline numbers above the traffic chart.
#[component]
fn TrafficStats(series: TrafficSeries) -> impl IntoView {
    let latest = series.latest_rate().map(format::rate).unwrap_or_else(|| "—".into());
    view! {
        <dl class="stats">
            <div class="stat">
                <dt>"Current rate"</dt>
                <dd data-testid="traffic-latest">{latest}</dd>
            </div>
            <div class="stat">
                <dt>"Peak in window"</dt>
                <dd>{format::rate(series.peak_rate())}</dd>
            </div>
            <div class="stat">
                <dt>"Requests served"</dt>
                <dd data-testid="traffic-total">{format::thousands(series.total_requests)}</dd>
            </div>
            <div class="stat">
                <dt>"Uptime"</dt>
                <dd>{format::duration(series.uptime_secs)}</dd>
            </div>
        </dl>
    }
}
