//! `/settings/notifications`: where Paydeck tells teams about findings and changes — each sink
//! by name, type and host (never its URL or secret), what it is sent, and how its deliveries
//! stand — with a test message per sink, to see one arrive.

use std::time::Duration;

use leptos::prelude::*;

use crate::{
    format,
    layout::PageHeader,
    notifications::{NotificationsStatus, SinkStatus, load_notifications, send_test_message},
    poll::use_tick,
    widgets::ErrorNote,
};

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let tick = use_tick(Duration::from_secs(10));
    let sent = RwSignal::new(0_u32);
    // Kept here: the table is drawn again when the status is read again after a test.
    let result = RwSignal::new(None::<Result<String, String>>);
    let status = Resource::new(move || (tick.get(), sent.get()), |_| load_notifications());
    view! {
        <PageHeader title="Notifications" subtitle="Where Paydeck tells your teams about findings, HPAs at their maximum, unreachable clusters, changes and plans — and how each delivery stands." />
        <section class="panel">
            <Transition fallback=|| view! { <p class="loading" role="status">"Loading the notifications…"</p> }>
                {move || status.get().map(|r| match r {
                    Ok(s) if !s.configured => view! {
                        <div class="empty-state" role="status">
                            <h2>"No notifications are set up"</h2>
                            <p>"Start Paydeck with " <code>"--notifications FILE"</code> " naming the sinks — a CloudEvents webhook, Alertmanager, Slack, DingTalk, WeCom or Feishu — and what each is sent. docs/notifications.md shows the file."</p>
                        </div>
                    }.into_any(),
                    Ok(s) => view! { <Sinks status=s sent result /> }.into_any(),
                    Err(e) if crate::widgets::server_reason(&e.to_string()).starts_with("sign in") => view! {
                        <div class="empty-state" role="status">
                            <h2>"Sign in to see the notifications"</h2>
                            <p>"This server shows them, like its audit log, only to requests that carry an identity."</p>
                        </div>
                    }.into_any(),
                    Err(e) => view! { <ErrorNote what="The notifications could not be loaded" error=e.to_string() /> }.into_any(),
                })}
            </Transition>
            <p role="status" aria-live="polite" data-testid="test-result" class="test-result">
                {move || result.get().map(|r| match r {
                    Ok(message) => view! { <span class="ok">{message}</span> }.into_any(),
                    Err(why) => view! { <span class="error">{why}</span> }.into_any(),
                })}
            </p>
        </section>
    }
}

#[component]
fn Sinks(
    status: NotificationsStatus,
    sent: RwSignal<u32>,
    result: RwSignal<Option<Result<String, String>>>,
) -> impl IntoView {
    let busy = RwSignal::new(false);
    let test = move |sink: String| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let answer = send_test_message(sink)
                .await
                .map_err(|e| crate::widgets::server_reason(&e.to_string()).to_string());
            result.set(Some(answer));
            busy.set(false);
            sent.update(|n| *n += 1);
        });
    };
    let sending = if status.sending_here {
        "This replica sends them."
    } else {
        "The leader replica sends them; this one shows the shared outbox."
    };
    let rows = status
        .sinks
        .into_iter()
        .map(|s| {
            let name = s.name.clone();
            view! { <SinkRow sink=s busy on_test=move || test(name.clone()) /> }
        })
        .collect_view();
    view! {
        <p class="panel-note">
            {sending} " An HPA is told after " {status.at_max_minutes} " min at its maximum with CPU above its target; messages due within "
            {status.group_wait_seconds} " s of each other go together."
        </p>
        <div class="table-wrap">
            <table class="services notifications" data-testid="sinks">
                <caption class="visually-hidden">"Notification sinks and their deliveries"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Sink"</th>
                        <th scope="col">"Sends"</th>
                        <th scope="col" class="num">"Pending"</th>
                        <th scope="col" class="num">"Delivered"</th>
                        <th scope="col" class="num">"Given up"</th>
                        <th scope="col">"Last delivered"</th>
                        <th scope="col">"Last error"</th>
                        <th scope="col"><span class="visually-hidden">"Test"</span></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

#[component]
fn SinkRow(sink: SinkStatus, busy: RwSignal<bool>, on_test: impl Fn() + 'static) -> impl IntoView {
    let kind = match sink.kind.as_str() {
        "webhook" => "CloudEvents webhook",
        "alertmanager" => "Alertmanager",
        "slack" => "Slack",
        "dingtalk" => "DingTalk",
        "wecom" => "WeCom",
        "feishu" => "Feishu / Lark",
        other => other,
    }
    .to_string();
    let signed = if sink.signed { " · signed" } else { "" };
    let label = format!("Send test to {}", sink.name);
    let failed_class = if sink.failed > 0 { "num bad" } else { "num" };
    let pending_class =
        if sink.oldest_pending_ms.is_some() && !sink.last_error.is_empty() { "num warn" } else { "num" };
    view! {
        <tr data-sink=sink.name.clone()>
            <th scope="row">
                <span class="sink-name">{sink.name.clone()}</span>
                <span class="sink-kind">{kind} {signed} " · " <span class="mono">{sink.host.clone()}</span></span>
            </th>
            <td>{sink.route.clone()} <span class="sink-rate">{format!(" · at most {} a minute", sink.per_minute)}</span></td>
            <td class=pending_class>{sink.pending}</td>
            <td class="num">{sink.delivered}</td>
            <td class=failed_class>{sink.failed}</td>
            <td>{sink.last_delivered_ms.map_or_else(|| "—".to_string(), format::clock)}</td>
            <td class="last-error">{if sink.last_error.is_empty() { "—".to_string() } else { sink.last_error.clone() }}</td>
            <td>
                <button type="button" class="button" aria-label=label disabled=move || busy.get() on:click=move |_| on_test()>
                    "Send test"
                </button>
            </td>
        </tr>
    }
}
