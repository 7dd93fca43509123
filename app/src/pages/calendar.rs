//! `/plans`: every cluster's plan windows over the coming week, by day — what will raise
//! which HPA when, and what still waits for a second person's approval.

use leptos::prelude::*;

use crate::{
    layout::PageHeader,
    plans::{CalendarWindow, level_words, plan_calendar, state_words},
    widgets::ErrorNote,
};

/// `/plans/:id?`: one plan when the address names it, else the calendar.
#[component]
pub fn PlansPage() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let one = Memo::new(move |_| params.with(|p| p.get("id").is_some()));
    move || {
        if one.get() {
            view! { <super::PlanPage /> }.into_any()
        } else {
            view! { <CalendarPage /> }.into_any()
        }
    }
}

#[component]
pub fn CalendarPage() -> impl IntoView {
    let calendar = Resource::new(|| (), |_| plan_calendar(7));
    view! {
        <PageHeader title="Plans" subtitle="Every cluster's scheduled windows over the next 7 days, in each plan's time zone." />
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading the calendar…"</p> }>
            {move || calendar.get().map(|r| match r {
                Ok(list) if list.is_empty() => view! {
                    <div class="panel empty-state" role="status" data-testid="calendar-empty">
                        <p>"No plan has a window in the next 7 days. A plan is drafted on a service's page, under “Scheduled plans”."</p>
                    </div>
                }.into_any(),
                Ok(list) => view! { <Days list /> }.into_any(),
                Err(e) => view! { <ErrorNote what="The calendar is unavailable" error=e.to_string() /> }.into_any(),
            })}
        </Transition>
    }
}

/// The windows by the day they open on (the date in their own time zone's words).
#[component]
fn Days(list: Vec<CalendarWindow>) -> impl IntoView {
    let mut days: Vec<(String, Vec<CalendarWindow>)> = Vec::new();
    for w in list {
        let day = w.window.local.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
        match days.last_mut() {
            Some((d, ws)) if *d == day => ws.push(w),
            _ => days.push((day, vec![w])),
        }
    }
    view! {
        <section class="panel">
            <table class="compact calendar" data-testid="calendar">
                <thead><tr>
                    <th scope="col">"Window"</th><th scope="col">"Cluster"</th><th scope="col">"Service"</th>
                    <th scope="col">"Level"</th><th scope="col">"Plan"</th>
                </tr></thead>
                {days.into_iter().map(|(day, windows)| view! {
                    <tbody>
                        <tr class="calendar-day"><th scope="rowgroup" colspan="5">{day}</th></tr>
                        {windows.into_iter().map(|w| {
                            let (word, class) = state_words(w.state);
                            let on = |path: String| crate::chosen::on_cluster(&path, Some(&w.cluster));
                            view! {
                                <tr data-plan=w.plan_id>
                                    <td>{w.window.local.clone()}</td>
                                    <td>{w.cluster.clone()}</td>
                                    <td><a href=on(format!("/services/{}/{}", w.namespace, w.name))>{format!("{}/{}", w.namespace, w.name)}</a></td>
                                    <td>{level_words(&w.window.level)}</td>
                                    <td><a href=on(format!("/plans/{}", w.plan_id))>{format!("#{}", w.plan_id)}</a> " " <span class=class>{word}</span></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                }).collect_view()}
            </table>
        </section>
    }
}
