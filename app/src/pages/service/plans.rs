//! A service's scheduled plans on its page: each plan's state, schedule and next window (its
//! page holds the rest), and the form that drafts one — written by hand, or proposed from the
//! recorded peaks. A draft runs only once another person approves it on the plan's page.

use leptos::prelude::*;

use crate::{
    plans::{
        Exclusion, Level, PlanProposal, PlanRefusal, PlanRequest, PlanView, Repeat, Schedule, WindowRule,
        draft_plan, propose_plan, rule_words, state_words,
    },
    scaling::FieldError,
};

/// Time zones offered as you type (any IANA name is taken).
const ZONES: [&str; 10] = [
    "UTC",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Asia/Hong_Kong",
    "Asia/Tokyo",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
    "Australia/Sydney",
];

const WEEKDAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/// The form's fields as typed.
#[derive(Clone, Debug, PartialEq)]
struct PlanForm {
    time_zone: String,
    repeat: String,
    days: Vec<String>,
    date: String,
    start: String,
    end: String,
    min: String,
    max: String,
    skip: String,
    reason: String,
}

impl Default for PlanForm {
    fn default() -> Self {
        PlanForm {
            time_zone: "UTC".into(),
            repeat: "day".into(),
            days: vec![],
            date: String::new(),
            start: "17:45".into(),
            end: "21:15".into(),
            min: String::new(),
            max: String::new(),
            skip: String::new(),
            reason: String::new(),
        }
    }
}

impl PlanForm {
    /// The request, or the fields that are not numbers (the server checks everything else
    /// and names it).
    fn request(&self) -> Result<PlanRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut number = |text: &str, field: &str| -> Option<i32> {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            text.parse()
                .map_err(|_| {
                    errors.push(FieldError { field: field.into(), message: "a whole number".into() })
                })
                .ok()
        };
        let level = Level {
            min_replicas: number(&self.min, "schedule.windows[0].level.minReplicas"),
            max_replicas: number(&self.max, "schedule.windows[0].level.maxReplicas"),
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let repeat = match self.repeat.as_str() {
            "week" => Repeat::Week { days: self.days.clone() },
            "once" => Repeat::Once { date: self.date.trim().into() },
            _ => Repeat::Day,
        };
        let exclusions = self
            .skip
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| Exclusion { date: d.into(), from: None, to: None })
            .collect();
        Ok(PlanRequest {
            schedule: Schedule {
                time_zone: self.time_zone.trim().into(),
                windows: vec![WindowRule {
                    repeat,
                    start: self.start.trim().into(),
                    end: self.end.trim().into(),
                    level,
                }],
                exclusions,
            },
            reason: self.reason.clone(),
            version: None,
        })
    }
}

/// What the panel is doing.
#[derive(Clone, Debug, PartialEq)]
enum Status {
    Idle,
    Busy(&'static str),
    Drafted(i64),
    Refused(String),
}

#[component]
pub fn PlansPanel(
    namespace: String,
    name: String,
    plans: Resource<Result<Vec<PlanView>, ServerFnError>>,
    /// Bumped after a draft: the list is fetched again.
    changed: RwSignal<u32>,
    /// What sets the HPA back (KEDA, a CronHPA, Argo CD, Flux), in words: no plan is drafted.
    #[prop(into)]
    set_back_by: Signal<Option<String>>,
) -> impl IntoView {
    let chosen = crate::chosen::use_chosen();
    let target = StoredValue::new((namespace.clone(), name.clone()));
    let refresh = changed;
    let form = RwSignal::new(PlanForm::default());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let status = RwSignal::new(Status::Idle);
    let proposal = RwSignal::new(None::<PlanProposal>);

    let draft = move |request: PlanRequest| {
        let (ns, n) = target.get_value();
        status.set(Status::Busy("Drafting…"));
        errors.set(vec![]);
        leptos::task::spawn_local(async move {
            match draft_plan(chosen.get_untracked(), ns, n, request).await {
                Ok(Ok(plan)) => {
                    status.set(Status::Drafted(plan.id));
                    refresh.update(|r| *r += 1);
                }
                Ok(Err(PlanRefusal { message, errors: fields })) => {
                    errors.set(fields);
                    status.set(Status::Refused(message));
                }
                Err(e) => status.set(Status::Refused(format!("Paydeck's server did not answer: {e}"))),
            }
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match form.get_untracked().request() {
            Ok(request) => draft(request),
            Err(fields) => {
                errors.set(fields);
                status.set(Status::Refused("nothing was sent: correct the fields marked".into()));
            }
        }
    };
    let propose = move |_| {
        let (ns, n) = target.get_value();
        let zone = form.get_untracked().time_zone;
        status.set(Status::Busy("Reading the recorded peaks…"));
        leptos::task::spawn_local(async move {
            match propose_plan(chosen.get_untracked(), ns, n, zone).await {
                Ok(Ok(p)) => {
                    if let Some(first) = p.request.as_ref().and_then(|r| r.schedule.windows.first()) {
                        form.update(|f| {
                            f.repeat = match &first.repeat {
                                Repeat::Day => "day".into(),
                                Repeat::Week { .. } => "week".into(),
                                Repeat::Once { .. } => "once".into(),
                            };
                            if let Repeat::Week { days } = &first.repeat {
                                f.days = days.clone();
                            }
                            f.start = first.start.clone();
                            f.end = first.end.clone();
                            f.min = first.level.min_replicas.map(|v| v.to_string()).unwrap_or_default();
                            f.max = first.level.max_replicas.map(|v| v.to_string()).unwrap_or_default();
                            if f.reason.trim().is_empty() {
                                f.reason = p.request.as_ref().map(|r| r.reason.clone()).unwrap_or_default();
                            }
                        });
                    }
                    proposal.set(Some(p));
                    status.set(Status::Idle);
                }
                Ok(Err(r)) => {
                    errors.set(r.errors);
                    status.set(Status::Refused(r.message));
                }
                Err(e) => status.set(Status::Refused(format!("Paydeck's server did not answer: {e}"))),
            }
        });
    };

    view! {
        <section class="panel" aria-labelledby="plans-title" data-testid="plans-panel">
            <div class="panel-header">
                <h2 id="plans-title">"Scheduled plans"</h2>
                <p class="panel-note">"Levels the HPA's minimum (and maximum) are raised to over windows of local time, approved by a second person, carried out by Paydeck as the approver and undone at each window's end."</p>
            </div>
            <Transition fallback=|| view! { <p class="loading" role="status">"Loading plans…"</p> }>
                {move || plans.get().map(|r| match r {
                    Ok(list) if list.is_empty() => view! { <p class="panel-note" data-testid="no-plans">"No plans for this service yet."</p> }.into_any(),
                    Ok(list) => view! { <PlanList list /> }.into_any(),
                    Err(e) => view! { <crate::widgets::ErrorNote what="Plans are unavailable" error=e.to_string() /> }.into_any(),
                })}
            </Transition>
            {move || set_back_by.get().map(|owner| view! {
                <p class="panel-note" data-testid="plans-owner">
                    {format!("{owner} sets this HPA back, so a plan's steps would not last: plan the change there.")}
                </p>
            })}
            <form class="plan-form" on:submit=submit aria-labelledby="plan-form-title" novalidate
                hidden=move || set_back_by.with(Option::is_some)>
                <h3 id="plan-form-title">"Draft a plan"</h3>
                <div class="edit-grid">
                    <TextField field="schedule.timeZone" label="Time zone (IANA)" form errors list="plan-zones"
                        get=|f| f.time_zone.clone() set=|f, v| f.time_zone = v />
                    <datalist id="plan-zones">{ZONES.iter().map(|z| view! { <option value=*z /> }).collect_view()}</datalist>
                    <div class="field">
                        <label for="plan-repeat">"Repeats"</label>
                        <select id="plan-repeat" data-field="schedule.windows[0].repeat"
                            prop:value=move || form.with(|f| f.repeat.clone())
                            on:change=move |ev| { let v = event_target_value(&ev); form.update(|f| f.repeat = v) }>
                            <option value="day">"Every day"</option>
                            <option value="week">"On weekdays"</option>
                            <option value="once">"Once"</option>
                        </select>
                    </div>
                    <Show when=move || form.with(|f| f.repeat == "once")>
                        <TextField field="schedule.windows[0].repeat.date" label="Date (YYYY-MM-DD)" form errors
                            get=|f| f.date.clone() set=|f, v| f.date = v />
                    </Show>
                    <TextField field="schedule.windows[0].start" label="From (HH:MM)" form errors get=|f| f.start.clone() set=|f, v| f.start = v />
                    <TextField field="schedule.windows[0].end" label="To (HH:MM)" form errors get=|f| f.end.clone() set=|f, v| f.end = v />
                    <TextField field="schedule.windows[0].level.minReplicas" label="Minimum at least" form errors numeric=true
                        get=|f| f.min.clone() set=|f, v| f.min = v />
                    <TextField field="schedule.windows[0].level.maxReplicas" label="Maximum at least (optional)" form errors numeric=true
                        get=|f| f.max.clone() set=|f, v| f.max = v />
                </div>
                <Show when=move || form.with(|f| f.repeat == "week")>
                    <fieldset class="weekdays" data-field="schedule.windows[0].repeat.days">
                        <legend>"Weekdays"</legend>
                        {WEEKDAYS.iter().map(|day| {
                            let day = *day;
                            let id = format!("plan-day-{day}");
                            let label_for = id.clone();
                            view! {
                                <label for=label_for>
                                    <input id=id type="checkbox" value=day
                                        prop:checked=move || form.with(|f| f.days.iter().any(|d| d == day))
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            form.update(|f| { f.days.retain(|d| d != day); if on { f.days.push(day.into()) } })
                                        } />
                                    {day[..3].to_string()}
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                </Show>
                <TextField field="schedule.exclusions" label="Skip dates (YYYY-MM-DD, comma-separated)" form errors grow=true
                    get=|f| f.skip.clone() set=|f, v| f.skip = v />
                <TextField field="reason" label="Reason (change ticket)" form errors grow=true get=|f| f.reason.clone() set=|f, v| f.reason = v />
                {move || errors.with(|e| {
                    let known = ["schedule.timeZone", "schedule.windows[0].start", "schedule.windows[0].end",
                        "schedule.windows[0].level.minReplicas", "schedule.windows[0].level.maxReplicas", "reason"];
                    let other: Vec<String> = e.iter().filter(|e| !known.contains(&e.field.as_str())).map(|e| format!("{}: {}", e.field, e.message)).collect();
                    (!other.is_empty()).then(|| view! { <ul class="warnings" role="alert">{other.into_iter().map(|t| view! { <li>{t}</li> }).collect_view()}</ul> })
                })}
                <div class="edit-actions">
                    <button type="button" class="button button-quiet" on:click=propose
                        disabled=move || matches!(status.get(), Status::Busy(_))>"Propose from history"</button>
                    <button type="submit" class="button" disabled=move || matches!(status.get(), Status::Busy(_))>"Draft plan"</button>
                </div>
                {move || match status.get() {
                    Status::Idle => None,
                    Status::Busy(what) => Some(view! { <p class="loading" role="status">{what}</p> }.into_any()),
                    Status::Drafted(id) => Some(view! {
                        <p class="result result-ok" role="status" data-testid="plan-drafted">
                            "Drafted plan #" {id} ". It runs once another person approves it: "
                            <a href=crate::chosen::here(&format!("/plans/{id}"))>"open plan #" {id}</a> "."
                        </p>
                    }.into_any()),
                    Status::Refused(why) => Some(view! { <p class="result result-bad" role="alert" data-testid="plan-refused">{why}</p> }.into_any()),
                }}
            </form>
            {move || proposal.get().map(|p| view! { <Proposal p /> })}
        </section>
    }
}

/// The plans listed: state, schedule, next window.
#[component]
fn PlanList(list: Vec<PlanView>) -> impl IntoView {
    view! {
        <table class="compact plans" data-testid="plans">
            <thead><tr>
                <th scope="col">"Plan"</th><th scope="col">"State"</th><th scope="col">"Schedule"</th>
                <th scope="col">"Next window"</th><th scope="col">"Written / approved by"</th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|v| {
                    let next = v.next_window().map(|w| w.local.clone()).unwrap_or_else(|| "none this week".into());
                    let p = v.plan;
                    let (word, class) = state_words(p.record.state);
                    let rules: Vec<String> = p.schedule.windows.iter().map(rule_words).collect();
                    let href = crate::chosen::here(&format!("/plans/{}", p.id));
                    view! {
                        <tr data-plan=p.id>
                            <td><a href=href>{format!("#{}", p.id)}</a></td>
                            <td><span class=class>{word}</span></td>
                            <td>{format!("{} ({})", rules.join("; "), p.schedule.time_zone)}</td>
                            <td>{next}</td>
                            <td>{format!("{} / {}", p.record.author, p.record.approver.clone().unwrap_or_else(|| "—".into()))}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// What the proposal found in the recorded demand.
#[component]
fn Proposal(p: PlanProposal) -> impl IntoView {
    view! {
        <div class="proposal" data-testid="plan-proposal" role="status">
            <h3>"Recorded peaks"</h3>
            <p class="panel-note">{format!("Read from {:.1} days of demand; new pods took {} s to serve.", p.days_read, p.ready_delay_ms / 1000)}</p>
            {if p.peaks.is_empty() {
                view! { <p>"No recurring peak: the load does not rise at the same time day after day, or week after week."</p> }.into_any()
            } else {
                view! {
                    <table class="compact">
                        <thead><tr><th scope="col">"Every"</th><th scope="col">"From"</th><th scope="col">"To"</th>
                            <th scope="col" class="num">"Seen on"</th><th scope="col" class="num">"Height"</th>
                            <th scope="col" class="num">"Overloaded (min)"</th><th scope="col">"Proposed"</th></tr></thead>
                        <tbody>{p.peaks.into_iter().map(|k| view! {
                            <tr>
                                <td>{k.every.clone()}</td><td>{k.start.clone()}</td><td>{k.end.clone()}</td>
                                <td class="num">{format!("{:.0} %", k.regularity * 100.0)}</td>
                                <td class="num">{format!("{:.1}×", k.height)}</td>
                                <td class="num">{format!("{:.1} → {:.1}", k.overloaded_minutes_without, k.overloaded_minutes_with)}</td>
                                <td>{match (k.min_replicas, k.note.clone()) {
                                    (Some(min), _) => format!("min ≥ {min}, opening {} min early", k.lead_minutes),
                                    (None, Some(note)) => note,
                                    (None, None) => "—".into(),
                                }}</td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
        </div>
    }
}

/// One labelled text input bound to a field of the form, with the server's error below it.
#[component]
fn TextField(
    field: &'static str,
    label: &'static str,
    form: RwSignal<PlanForm>,
    errors: RwSignal<Vec<FieldError>>,
    get: fn(&PlanForm) -> String,
    set: fn(&mut PlanForm, String),
    #[prop(optional)] numeric: bool,
    #[prop(optional)] grow: bool,
    #[prop(optional)] list: &'static str,
) -> impl IntoView {
    let error =
        Memo::new(move |_| errors.with(|e| e.iter().find(|e| e.field == field).map(|e| e.message.clone())));
    let id = format!("plan-{}", field.replace(['.', '[', ']'], "-"));
    let error_id = format!("{id}-error");
    let described = error_id.clone();
    view! {
        <div class=if grow { "field field-grow" } else { "field" }>
            <label for=id.clone()>{label}</label>
            <input id=id type="text" inputmode=if numeric { "numeric" } else { "text" } data-field=field
                list=(!list.is_empty()).then_some(list)
                prop:value=move || form.with(get)
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=move || error.get().is_some().then(|| described.clone())
                on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| set(f, v)) } />
            {move || error.get().map(|m| view! { <p class="field-error" id=error_id.clone() role="alert">{m}</p> })}
        </div>
    }
}
