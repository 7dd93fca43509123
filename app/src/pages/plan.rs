//! A plan's page: its schedule and windows, what it holds now, its backtest over the recorded
//! weeks, each closed window's report against the week before, the moves open to the person
//! looking (approve, reject, pause, resume, cancel — each with a reason), and its history in
//! the audit log.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::{
    format,
    plans::{
        Backtest, PlanAction, PlanFigures, PlanRefusal, PlanView, act_on_plan, get_plan, plan_history,
        rule_words, state_words,
    },
    widgets::ErrorNote,
};

#[component]
pub fn PlanPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|id| id.parse::<i64>().ok())));
    let chosen = crate::chosen::use_chosen();
    let changed = RwSignal::new(0u32);
    let plan = Resource::new(
        move || (chosen.get(), id.get(), changed.get()),
        |(cluster, id, _)| async move {
            match id {
                Some(id) => get_plan(cluster, id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let history = Resource::new(
        move || (chosen.get(), id.get(), changed.get()),
        |(cluster, id, _)| async move {
            match id {
                Some(id) => plan_history(cluster, id).await,
                None => Ok(vec![]),
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading the plan…"</p> }>
            {move || plan.get().map(|r| match r {
                Ok(Some(v)) => view! { <Plan v changed /> }.into_any(),
                Ok(None) => view! {
                    <leptos_meta::Title text="Plan not found" />
                    <div class="page-header"><h1>"Plan not found"</h1></div>
                    <p class="panel empty-state">"A plan's address is /plans/ and its number."</p>
                }.into_any(),
                Err(e) => view! {
                    <leptos_meta::Title text="Plan not found" />
                    <div class="page-header"><h1>"Plan"</h1></div>
                    <ErrorNote what="The plan could not be loaded" error=e.to_string() />
                }.into_any(),
            })}
        </Transition>
        <section class="panel" aria-labelledby="plan-history-title">
            <h2 id="plan-history-title">"History"</h2>
            <p class="panel-note">"Every change to the plan and every step it made, from the audit log."</p>
            <Transition fallback=|| view! { <p class="loading" role="status">"Loading the history…"</p> }>
                {move || history.get().map(|r| match r {
                    Ok(rows) if rows.is_empty() => view! { <p class="panel-note">"Nothing recorded yet."</p> }.into_any(),
                    Ok(rows) => view! {
                        <table class="compact" data-testid="plan-history">
                            <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"Outcome"</th><th scope="col">"What"</th></tr></thead>
                            <tbody>{rows.into_iter().map(|r| view! {
                                <tr data-outcome=r.outcome.clone()>
                                    <td title=format::clock(r.at_ms)>{format::clock(r.at_ms)}</td>
                                    <td>{r.user.clone()}</td>
                                    <td>{r.outcome.clone()}</td>
                                    <td>{if r.reason.is_empty() || r.target.starts_with("Plan") { r.detail.clone() } else { format!("{} — {}", r.reason, r.detail) }}</td>
                                </tr>
                            }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <ErrorNote what="The history could not be read" error=e.to_string() /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// The plan itself.
#[component]
fn Plan(v: PlanView, changed: RwSignal<u32>) -> impl IntoView {
    let next = v.next_window().cloned();
    let p = v.plan;
    let (word, class) = state_words(p.record.state);
    let service = crate::chosen::here(&format!("/services/{}/{}", p.namespace, p.name));
    let held = p.holding.map(|h| format!("holds {} (it was {} before the window)", h.applied, h.before));
    view! {
        <leptos_meta::Title text=format!("Plan #{}", p.id) />
        <nav class="breadcrumb" aria-label="Breadcrumb">
            <a href=crate::chosen::here("/plans")>"Plans"</a> " / "
            <a href=service>{format!("{}/{}", p.namespace, p.name)}</a>
        </nav>
        <div class="page-header page-header-row">
            <h1>{format!("Plan #{}", p.id)}</h1>
            <span class=class data-testid="plan-state">{word}</span>
        </div>
        <p class="page-subtitle">{p.reason.clone()}</p>
        <section class="panel" aria-labelledby="plan-schedule-title">
            <h2 id="plan-schedule-title">"Schedule"</h2>
            <dl class="facts">
                <dt>"HPA"</dt><dd class="mono">{format!("HorizontalPodAutoscaler {} in {}", p.autoscaler, p.namespace)}</dd>
                <dt>"Windows"</dt><dd><ul>{p.schedule.windows.iter().map(|w| view! { <li>{rule_words(w)}</li> }).collect_view()}</ul></dd>
                <dt>"Time zone"</dt><dd>{p.schedule.time_zone.clone()}</dd>
                {(!p.schedule.exclusions.is_empty()).then(|| view! {
                    <dt>"Skipped"</dt>
                    <dd>{p.schedule.exclusions.iter().map(|x| match (&x.from, &x.to) {
                        (Some(from), Some(to)) => format!("{} {from}–{to}", x.date),
                        _ => x.date.clone(),
                    }).collect::<Vec<_>>().join(", ")}</dd>
                })}
                <dt>"Written by"</dt><dd>{p.record.author.clone()}</dd>
                <dt>"Approved by"</dt><dd data-testid="plan-approver">{p.record.approver.clone().unwrap_or_else(|| "not yet: another person approves it".into())}</dd>
                <dt>"Next window"</dt><dd data-testid="plan-next">{next.map(|w| w.local).unwrap_or_else(|| "none in the coming week".into())}</dd>
                <dt>"Now"</dt><dd data-testid="plan-holding">{held.unwrap_or_else(|| "holds nothing: the HPA's own spec stands".into())}</dd>
                {p.paused_why.clone().map(|why| view! { <dt>"Paused because"</dt><dd class="warn">{why}</dd> })}
                {p.last_step.clone().map(|s| view! {
                    <dt>"Last step"</dt>
                    <dd data-testid="plan-last-step">{format!("{} — {}", format::clock(s.at_ms), s.text)}
                        {s.audit_seq.map(|seq| format!(" (audit entry #{seq})"))}</dd>
                })}
            </dl>
        </section>
        <Moves id=p.id version=p.version state=p.record.state changed />
        <BacktestPanel backtest=p.backtest.clone() />
        {(!p.reports.is_empty()).then(|| view! {
            <section class="panel" aria-labelledby="plan-reports-title">
                <h2 id="plan-reports-title">"After each window"</h2>
                <p class="panel-note">"Measured on what was recorded: the window with the plan against the same window a week before."</p>
                <table class="compact" data-testid="plan-reports">
                    <thead><tr><th scope="col">"Window"</th><th scope="col" class="num">"Overloaded (min)"</th><th scope="col" class="num">"A week before"</th>
                        <th scope="col" class="num">"Replica-hours"</th><th scope="col" class="num">"A week before"</th></tr></thead>
                    <tbody>{p.reports.iter().rev().map(|r| view! {
                        <tr>
                            <td>{format!("{} → {}", format::clock(r.start_ms), format::clock(r.end_ms))}</td>
                            <td class="num">{format!("{:.1}", r.with_plan.overloaded_minutes)}</td>
                            <td class="num">{r.week_before.map(|b| format!("{:.1}", b.overloaded_minutes)).unwrap_or_else(|| "not recorded".into())}</td>
                            <td class="num">{format!("{:.1}", r.with_plan.replica_hours)}</td>
                            <td class="num">{r.week_before.map(|b| format!("{:.1}", b.replica_hours)).unwrap_or_else(|| "not recorded".into())}</td>
                        </tr>
                    }).collect_view()}</tbody>
                </table>
            </section>
        })}
    }
}

/// The moves open in the plan's state, each with a reason.
#[component]
fn Moves(id: i64, version: i64, state: crate::plans::State, changed: RwSignal<u32>) -> impl IntoView {
    let chosen = crate::chosen::use_chosen();
    let reason = RwSignal::new(String::new());
    let result = RwSignal::new(None::<Result<String, PlanRefusal>>);
    let busy = RwSignal::new(false);
    let open: Vec<PlanAction> = PlanAction::ALL.into_iter().filter(|a| a.fits(state)).collect();
    if open.is_empty() {
        return view! { <p class="panel-note">"The plan is closed: nothing more can be done with it."</p> }
            .into_any();
    }
    // Decisions are made as someone: without an identity the form is not offered.
    let viewer = LocalResource::new(crate::viewer::current_viewer);
    let anonymous = move || viewer.get().and_then(Result::ok).is_some_and(|v| v.user.is_none());
    let act = move |action: PlanAction| {
        busy.set(true);
        let why = reason.get_untracked();
        leptos::task::spawn_local(async move {
            let answer = match act_on_plan(chosen.get_untracked(), id, action, why, version).await {
                Ok(Ok(plan)) => {
                    Ok(format!("Plan #{} {} (version {}).", plan.id, action.past(), plan.version))
                }
                Ok(Err(refusal)) => Err(refusal),
                Err(e) => Err(PlanRefusal {
                    message: format!("Paydeck's server did not answer: {e}"),
                    errors: vec![],
                }),
            };
            let done = answer.is_ok();
            result.set(Some(answer));
            busy.set(false);
            if done {
                reason.set(String::new());
                changed.update(|c| *c += 1);
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="plan-moves-title">
            <h2 id="plan-moves-title">"Decide"</h2>
            <p class="panel-note">"The person who wrote a plan cannot approve it; the approver needs the right to change the HPA, which the cluster checks as them now and at every step."</p>
            <Show when=anonymous>
                <p class="panel-note" role="status" data-testid="plan-sign-in">"Sign in to decide on this plan: no trusted identity arrived with your request."</p>
            </Show>
            <form class="plan-moves" hidden=anonymous on:submit=|ev: leptos::ev::SubmitEvent| ev.prevent_default()>
                <div class="field field-grow">
                    <label for="plan-move-reason">"Reason (change ticket)"</label>
                    <input id="plan-move-reason" type="text" data-field="reason" prop:value=move || reason.get()
                        aria-invalid=move || result.with(|r| matches!(r, Some(Err(e)) if e.errors.iter().any(|e| e.field == "reason"))).then_some("true")
                        on:input=move |ev| reason.set(event_target_value(&ev)) />
                </div>
                <div class="edit-actions">
                    {open.into_iter().map(|action| {
                        let label = match action {
                            PlanAction::Approve => "Approve",
                            PlanAction::Reject => "Reject",
                            PlanAction::Pause => "Pause",
                            PlanAction::Resume => "Resume",
                            PlanAction::Cancel => "Cancel plan",
                        };
                        let class = if matches!(action, PlanAction::Approve | PlanAction::Resume) { "button" } else { "button button-quiet" };
                        view! { <button type="button" class=class data-action=action.as_str() disabled=move || busy.get() on:click=move |_| act(action)>{label}</button> }
                    }).collect_view()}
                </div>
            </form>
            {move || result.get().map(|r| match r {
                Ok(text) => view! { <p class="result result-ok" role="status" data-testid="plan-move-result">{text}</p> }.into_any(),
                Err(refusal) => view! {
                    <div class="result result-bad" role="alert" data-testid="plan-move-result">
                        <strong>"Not done: "</strong>{refusal.message.clone()}
                        {(!refusal.errors.is_empty()).then(|| view! { <ul>{refusal.errors.iter().map(|e| view! { <li>{format!("{}: {}", e.field, e.message)}</li> }).collect_view()}</ul> })}
                    </div>
                }.into_any(),
            })}
        </section>
    }
    .into_any()
}

/// The schedule replayed over the recorded weeks when it was written.
#[component]
fn BacktestPanel(backtest: Option<Backtest>) -> impl IntoView {
    let row = |label: String, f: &PlanFigures, windows: Option<usize>| {
        view! {
            <tr>
                <td>{label}</td>
                <td class="num">{windows.map(|w| w.to_string()).unwrap_or_default()}</td>
                <td class="num">{format!("{:.1} → {:.1}", f.overloaded_minutes_without, f.overloaded_minutes_with)}</td>
                <td class="num">{format!("{:.1} → {:.1}", f.above_target_minutes_without, f.above_target_minutes_with)}</td>
                <td class="num">{format!("{:+.1}", f.extra_replica_hours)}</td>
                <td class="num">{format!("{:+.2}", f.extra_core_hours)}</td>
            </tr>
        }
    };
    view! {
        <section class="panel" aria-labelledby="plan-backtest-title">
            <h2 id="plan-backtest-title">"Backtest"</h2>
            {match backtest {
                None => view! { <p class="panel-note" data-testid="plan-backtest">"Nothing was recorded for this HPA when the plan was written: no backtest."</p> }.into_any(),
                Some(b) => view! {
                    <p class="panel-note">{format!("The recorded demand replayed through the HPA as it is and with the plan's levels, week by week (made {}).", format::clock(b.at_ms))}</p>
                    <table class="compact" data-testid="plan-backtest">
                        <thead><tr><th scope="col">"Week, and each window in it"</th><th scope="col" class="num">"Windows"</th>
                            <th scope="col" class="num">"Overloaded (min)"</th><th scope="col" class="num">"Above target (min)"</th>
                            <th scope="col" class="num">"Replica-hours"</th><th scope="col" class="num">"Core-hours"</th></tr></thead>
                        <tbody>
                            {b.weeks.iter().map(|w| view! {
                                {row(format!("Week from {}", format::clock(w.from_ms)), &w.figures, Some(w.windows))}
                                {w.occurrences.iter().map(|o| row(format!("   window {}", format::clock(o.start_ms)), &o.figures, None)).collect_view()}
                            }).collect_view()}
                            {row("Total".into(), &b.total, None)}
                        </tbody>
                    </table>
                }.into_any(),
            }}
        </section>
    }
}
