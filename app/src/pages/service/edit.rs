//! The edit panel on a service's page: offered only when the cluster says the person may
//! change this workload; checked as they type with the same rules as the server; previewed
//! with the cluster's dry run (the exact before → after); applied against the version they
//! saw; every attempt audited.

use domain::rules::{Origin, Proposal};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    dto::Workload,
    scaling::{
        EditRequest, EditResponse, FieldError, Outcome, PolicyForm, RulesForm, ScalingForm, Seen,
        api::{scaling_limits, scaling_rights, submit_scaling},
        form::check,
        validate::Context,
    },
};

/// What the panel is doing.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Editing,
    Sending,
    /// A preview from the cluster, waiting for the user to apply it.
    Previewed(EditResponse),
    Done(EditResponse),
}

#[component]
pub fn EditPanel(namespace: String, name: String, workload: Signal<Option<Workload>>) -> impl IntoView {
    let (ns, n) = (namespace.clone(), name.clone());
    let whatif_target = StoredValue::new((namespace.clone(), name.clone()));
    // Only whether there is an HPA re-renders the what-if; live updates of the figures do not.
    let has_hpa = Memo::new(move |_| workload.with(|w| w.as_ref().is_some_and(|w| w.autoscaler.is_some())));
    let chosen = crate::chosen::use_chosen();
    let rights = LocalResource::new(move || scaling_rights(chosen.get(), ns.clone(), n.clone()));
    let limits = LocalResource::new(scaling_limits);

    // The form is filled once from the workload as first seen (live updates must not wipe
    // what the user typed); "Reload current values" fills it again.
    let form = RwSignal::new(None::<ScalingForm>);
    // What the form was filled from: the change is made against that spec (Seen::of).
    let seen = RwSignal::new(None::<Seen>);
    let load = move || {
        if let Some(w) = workload.get_untracked() {
            form.set(Some(ScalingForm::current(&w)));
            seen.set(Some(Seen::of(&w)));
        }
    };
    // A change the advisor proposes (`?propose=PD301&max=14`), filled in on first load; the
    // form checks it like anything typed.
    let query = use_query_map();
    let proposal: StoredValue<Option<(Origin, Proposal)>> =
        StoredValue::new(query.with_untracked(|q| Proposal::from_query(|k| q.get(k))));
    // Opened for a proposal: the panel is what the operator came for.
    let panel = NodeRef::<leptos::html::Section>::new();
    Effect::new(move |_| {
        if let Some(el) = panel.get()
            && proposal.with_value(Option::is_some)
        {
            el.scroll_into_view();
        }
    });
    Effect::new(move |_| {
        if workload.with(Option::is_some) && form.with_untracked(Option::is_none) {
            load();
            if let Some((origin, p)) = proposal.get_value() {
                form.update(|f| {
                    if let Some(f) = f {
                        p.apply(origin, f);
                    }
                });
            }
        }
    });
    let step = RwSignal::new(Step::Editing);
    let errors = RwSignal::new(Vec::<FieldError>::new());
    // Once a field is marked, every keystroke checks again with the server's own rules, so a
    // mark goes away as soon as the value is right.
    Effect::new(move |_| {
        let Some(f) = form.get() else { return };
        if errors.with_untracked(Vec::is_empty) {
            return;
        }
        if let (Some(w), Some(Ok(l))) = (workload.get_untracked(), limits.get_untracked()) {
            // Capacity is the server's warning to give; the fields' rules need no cluster.
            errors.set(check(&f, &l, &Context::of(&w, 0.0)).errors);
        }
    });

    // A GitOps tool syncing what this change writes: applying needs the person to say they
    // know it will be set back ([`domain::owners::before_edit`]).
    let syncing = Memo::new(move |_| {
        workload.with(|w| {
            w.as_ref().and_then(|w| {
                w.scaling_owners().iter().find(|o| o.effect == domain::owners::OwnerEffect::Syncs).cloned()
            })
        })
    });
    let confirmed = RwSignal::new(false);
    let send = move |dry_run: bool| {
        let (Some(f), Some(seen)) = (form.get_untracked(), seen.get_untracked()) else { return };
        errors.set(vec![]);
        step.set(Step::Sending);
        let confirm_owner = !dry_run && confirmed.get_untracked();
        let request = EditRequest { form: f, seen, dry_run, confirm_owner };
        let (ns, n) = (namespace.clone(), name.clone());
        leptos::task::spawn_local(async move {
            match submit_scaling(chosen.get_untracked(), ns, n, request).await {
                Ok(r) if r.outcome == Outcome::Previewed => step.set(Step::Previewed(r)),
                Ok(r) => {
                    errors.set(r.errors.clone());
                    step.set(if r.outcome == Outcome::Invalid && !r.errors.is_empty() {
                        Step::Editing
                    } else {
                        Step::Done(r)
                    });
                }
                Err(e) => step.set(Step::Done(EditResponse {
                    outcome: Outcome::Failed,
                    message: format!("Paydeck's server did not answer: {e}"),
                    errors: vec![],
                    warnings: vec![],
                    before: serde_json::Value::Null,
                    after: serde_json::Value::Null,
                    diff: serde_json::Value::Null,
                    audit_seq: None,
                    repository: None,
                })),
            }
        });
    };
    let send_preview = send.clone();

    view! {
        <Transition fallback=|| ()>
            {move || rights.get().map(|r| match r {
                Err(e) => view! { <section class="panel"><p class="error">"Cannot tell whether you may change this service: " {e.to_string()}</p></section> }.into_any(),
                Ok(r) if !r.may_edit => view! {
                    <section class="panel edit-locked" data-testid="edit-locked">
                        <h2>"Change scaling"</h2>
                        <p class="panel-note">{r.reason.unwrap_or_else(|| "You may not change this service.".into())}</p>
                    </section>
                }.into_any(),
                Ok(_) => {
                    let send_preview = send_preview.clone();
                    let send_apply = send.clone();
                    view! {
                        <section class="panel edit" id="edit" node_ref=panel aria-labelledby="edit-title" data-testid="edit-panel">
                            <h2 id="edit-title">"Change scaling"</h2>
                            {proposal.get_value().map(|(origin, _)| view! {
                                <p class="panel-note proposal" data-testid="proposal-note">
                                    {format!("Opened from the advisor ({}: {}). The proposed values are filled in below; check them against the what-if, add your change ticket to the reason, then preview and apply as usual.", origin.code(), origin.title())}
                                </p>
                            })}
                            <p class="panel-note">"Validated by Paydeck, previewed by the cluster's dry run, applied as you against the version loaded here. Every attempt is recorded in the audit log."</p>
                            {move || workload.with(|w| w.as_ref().and_then(|w| w.autoscaler.as_ref()).map(|a| view! {
                                <p class="panel-note">"The HPA " <span class="mono">{a.name.clone()}</span> " sets this Deployment's replica count, so its bounds, targets and behavior are what to change."</p>
                            }))}
                            <form novalidate on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); send_preview(true); }>
                                {move || form.get().map(|f| view! { <Fields form f errors /> })}
                                <div class="edit-actions">
                                    <button type="submit" class="button" disabled=move || step.get() == Step::Sending>"Preview change"</button>
                                    <button type="button" class="button-quiet" on:click=move |_| { load(); errors.set(vec![]); step.set(Step::Editing); }>"Reload current values"</button>
                                </div>
                            </form>
                            {move || has_hpa.get().then(|| view! {
                                <super::whatif::WhatIf namespace=whatif_target.get_value().0 name=whatif_target.get_value().1 workload form
                                    limits=Signal::derive(move || limits.get().and_then(Result::ok)) />
                            })}
                            {move || match step.get() {
                                Step::Editing => ().into_any(),
                                Step::Sending => view! { <p class="loading" role="status">"Asking the cluster…"</p> }.into_any(),
                                Step::Previewed(r) => {
                                    let apply = send_apply.clone();
                                    confirmed.set(false);
                                    let blocked = move || syncing.with(Option::is_some) && !confirmed.get();
                                    view! {
                                        <div class="preview" role="region" aria-label="Preview" data-testid="preview">
                                            <h3 class="subheading">"Preview (dry run: nothing changed yet)"</h3>
                                            <Diff r=r.clone() />
                                            {r.repository.clone().map(|patch| view! { <super::export::RepositoryExport patch /> })}
                                            {move || syncing.get().map(|o| view! {
                                                <label class="confirm-owner" data-testid="confirm-owner">
                                                    <input type="checkbox" prop:checked=move || confirmed.get()
                                                        on:change=move |ev| confirmed.set(event_target_checked(&ev)) />
                                                    {format!("I know {} will set this change back unless it is also made in the repository (or the field is ignored there).", o.describe())}
                                                </label>
                                            })}
                                            <div class="edit-actions">
                                                <button type="button" class="button" disabled=blocked on:click=move |_| apply(false)>"Apply change"</button>
                                                <button type="button" class="button-quiet" on:click=move |_| step.set(Step::Editing)>"Back to the form"</button>
                                            </div>
                                        </div>
                                    }.into_any()
                                }
                                Step::Done(r) => view! { <Result r /> }.into_any(),
                            }}
                        </section>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// Before → after of what the change touches.
#[component]
fn Diff(r: EditResponse) -> impl IntoView {
    let rows: Vec<(String, String, String)> = r
        .diff
        .as_object()
        .into_iter()
        .flatten()
        .map(|(field, pair)| (field.clone(), pair[0].to_string(), pair[1].to_string()))
        .collect();
    view! {
        {if rows.is_empty() {
            view! { <p class="panel-note">"Nothing would change: these are the current values."</p> }.into_any()
        } else {
            view! {
                <table class="compact diff" data-testid="diff">
                    <thead><tr><th scope="col">"Field"</th><th scope="col">"Now"</th><th scope="col">"After"</th></tr></thead>
                    <tbody>{rows.into_iter().map(|(f, b, a)| view! { <tr><th scope="row" class="mono">{f}</th><td class="mono">{b}</td><td class="mono">{a}</td></tr> }).collect_view()}</tbody>
                </table>
            }.into_any()
        }}
        {(!r.warnings.is_empty()).then(|| view! {
            <ul class="warnings" role="alert">{r.warnings.iter().map(|w| view! { <li>{w.clone()}</li> }).collect_view()}</ul>
        })}
    }
}

/// The outcome, said plainly.
#[component]
fn Result(r: EditResponse) -> impl IntoView {
    let (class, title) = match r.outcome {
        Outcome::Applied => ("result result-ok", "Applied"),
        Outcome::Conflict => ("result result-warn", "Changed by someone else"),
        Outcome::Denied => ("result result-bad", "Not allowed"),
        Outcome::Invalid => ("result result-bad", "Not valid"),
        Outcome::Failed => ("result result-bad", "Failed"),
        Outcome::Throttled => ("result result-warn", "Too many changes"),
        Outcome::Unrecorded => ("result result-bad", "Not sent: the audit log cannot be written"),
        Outcome::Previewed => ("result", "Preview"),
    };
    let audit = r.audit_seq.map(|s| format!(" Audit entry #{s}."));
    view! {
        <div class=class role="status" data-testid="edit-result">
            <strong>{title}</strong>": " {r.message.clone()} {audit}
            {(r.outcome == Outcome::Applied).then(|| view! { <Diff r=r.clone() /> })}
            {r.repository.clone().filter(|_| r.outcome == Outcome::Applied).map(|patch| view! { <super::export::RepositoryExport patch /> })}
            {(r.outcome == Outcome::Conflict).then(|| view! { <p>"Use “Reload current values” to start again from what the cluster has now."</p> })}
        </div>
    }
}

/// The inputs: replicas, or the HPA's bounds, targets and behavior; and the reason.
#[component]
fn Fields(
    form: RwSignal<Option<ScalingForm>>,
    f: ScalingForm,
    errors: RwSignal<Vec<FieldError>>,
) -> impl IntoView {
    let edit = move |change: Box<dyn Fn(&mut ScalingForm)>| {
        form.update(|f| {
            if let Some(f) = f {
                change(f)
            }
        })
    };
    let hpa = f.autoscaler.clone();
    view! {
        <div class="edit-grid">
            {f.replicas.clone().map(|value| view! {
                <Field id="replicas" label="Replicas" value errors
                    on_input=Callback::new(move |v: String| edit(Box::new(move |f| f.replicas = Some(v.clone())))) />
            })}
            {hpa.clone().map(|a| view! {
                <Field id="autoscaler.min_replicas" label="Minimum replicas" value=a.min_replicas errors
                    on_input=Callback::new(move |v: String| edit(Box::new(move |f| if let Some(a) = &mut f.autoscaler { a.min_replicas = v.clone() }))) />
                <Field id="autoscaler.max_replicas" label="Maximum replicas" value=a.max_replicas errors
                    on_input=Callback::new(move |v: String| edit(Box::new(move |f| if let Some(a) = &mut f.autoscaler { a.max_replicas = v.clone() }))) />
                <Field id="autoscaler.cpu_target" label="CPU target (%)" value=a.cpu_target errors
                    on_input=Callback::new(move |v: String| edit(Box::new(move |f| if let Some(a) = &mut f.autoscaler { a.cpu_target = v.clone() }))) />
                <Field id="autoscaler.memory_target" label="Memory target (%)" value=a.memory_target errors
                    on_input=Callback::new(move |v: String| edit(Box::new(move |f| if let Some(a) = &mut f.autoscaler { a.memory_target = v.clone() }))) />
            })}
        </div>
        {hpa.map(|a| view! {
            <div class="behavior">
                <Rules legend="Scale up" prefix="autoscaler.scale_up" rules=a.scale_up form errors up=true />
                <Rules legend="Scale down" prefix="autoscaler.scale_down" rules=a.scale_down form errors up=false />
            </div>
        })}
        <Field id="reason" label="Reason (change ticket)" value=f.reason.clone() errors text=true
            on_input=Callback::new(move |v: String| edit(Box::new(move |f| f.reason = v.clone()))) />
        {move || errors.with(|e| e.iter().find(|e| e.field == "form").map(|e| view! { <p class="field-error" role="alert">{e.message.clone()}</p> }))}
    }
}

/// One labelled input with its error below it.
#[component]
fn Field(
    id: &'static str,
    label: &'static str,
    value: String,
    errors: RwSignal<Vec<FieldError>>,
    on_input: Callback<String>,
    #[prop(optional)] text: bool,
) -> impl IntoView {
    field_view(id.to_string(), label.to_string(), value, errors, on_input, text)
}

fn field_view(
    id: String,
    label: String,
    value: String,
    errors: RwSignal<Vec<FieldError>>,
    on_input: Callback<String>,
    text: bool,
) -> impl IntoView {
    let key = id.clone();
    let error =
        Memo::new(move |_| errors.with(|e| e.iter().find(|e| e.field == key).map(|e| e.message.clone())));
    let input_id = format!("edit-{}", id.replace('.', "-"));
    let error_id = format!("{input_id}-error");
    let described = error_id.clone();
    view! {
        <div class=if text { "field field-grow" } else { "field" }>
            <label for=input_id.clone()>{label}</label>
            <input id=input_id type="text" inputmode=if text { "text" } else { "numeric" } value=value
                data-field=id
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=move || error.get().is_some().then(|| described.clone())
                on:input=move |ev| on_input.run(event_target_value(&ev)) />
            {move || error.get().map(|m| view! { <p class="field-error" id=error_id.clone() role="alert">{m}</p> })}
        </div>
    }
}

/// One direction of `behavior`: window, selection, policies.
#[component]
fn Rules(
    legend: &'static str,
    prefix: &'static str,
    rules: RulesForm,
    form: RwSignal<Option<ScalingForm>>,
    errors: RwSignal<Vec<FieldError>>,
    up: bool,
) -> impl IntoView {
    let with_rules = move |change: Box<dyn Fn(&mut RulesForm)>| {
        form.update(|f| {
            if let Some(a) = f.as_mut().and_then(|f| f.autoscaler.as_mut()) {
                change(if up { &mut a.scale_up } else { &mut a.scale_down });
            }
        })
    };
    let policies = Memo::new(move |_| {
        form.with(|f| {
            f.as_ref()
                .and_then(|f| f.autoscaler.as_ref())
                .map(|a| if up { a.scale_up.policies.len() } else { a.scale_down.policies.len() })
                .unwrap_or(0)
        })
    });
    let select_id = format!("edit-{}-select", prefix.replace('.', "-"));
    view! {
        <fieldset class="rules">
            <legend>{legend}</legend>
            <div class="edit-grid">
                {field_view(format!("{prefix}.window"), "Stabilisation window (s)".into(), rules.window.clone(), errors,
                    Callback::new(move |v: String| with_rules(Box::new(move |r| r.window = v.clone()))), false)}
                <div class="field">
                    <label for=select_id.clone()>"Policy selection"</label>
                    <select id=select_id on:change=move |ev| { let v = event_target_value(&ev); with_rules(Box::new(move |r| r.select = v.clone())) }>
                        {["Max", "Min", "Disabled"].into_iter().map(|o| view! { <option value=o selected=rules.select == o>{o}</option> }).collect_view()}
                    </select>
                </div>
            </div>
            {move || {
                let count = policies.get();
                let current: Vec<PolicyForm> = form.with_untracked(|f| f.as_ref().and_then(|f| f.autoscaler.as_ref()).map(|a| if up { a.scale_up.policies.clone() } else { a.scale_down.policies.clone() }).unwrap_or_default());
                (0..count).map(|i| {
                    let p = current.get(i).cloned().unwrap_or_default();
                    let kind_id = format!("edit-{}-{i}-kind", prefix.replace('.', "-"));
                    view! {
                        <div class="policy edit-grid">
                            <div class="field">
                                <label for=kind_id.clone()>{format!("Policy {} type", i + 1)}</label>
                                <select id=kind_id on:change=move |ev| { let v = event_target_value(&ev); with_rules(Box::new(move |r| if let Some(p) = r.policies.get_mut(i) { p.kind = v.clone() })) }>
                                    {["Percent", "Pods"].into_iter().map(|o| view! { <option value=o selected=p.kind == o>{o}</option> }).collect_view()}
                                </select>
                            </div>
                            {field_view(format!("{prefix}.policies.{i}.value"), "Value".into(), p.value.clone(), errors,
                                Callback::new(move |v: String| with_rules(Box::new(move |r| if let Some(p) = r.policies.get_mut(i) { p.value = v.clone() }))), false)}
                            {field_view(format!("{prefix}.policies.{i}.period"), "Period (s)".into(), p.period.clone(), errors,
                                Callback::new(move |v: String| with_rules(Box::new(move |r| if let Some(p) = r.policies.get_mut(i) { p.period = v.clone() }))), false)}
                            <button type="button" class="button-quiet" aria-label=format!("Remove policy {}", i + 1)
                                on:click=move |_| with_rules(Box::new(move |r| { if i < r.policies.len() { r.policies.remove(i); } }))>"Remove"</button>
                        </div>
                    }
                }).collect_view()
            }}
            <button type="button" class="button-quiet" on:click=move |_| with_rules(Box::new(|r| r.policies.push(PolicyForm { kind: "Pods".into(), value: "1".into(), period: "60".into() })))>"Add policy"</button>
            {move || errors.with(|e| e.iter().find(|e| e.field == format!("{prefix}.policies") || e.field == format!("{prefix}.select")).map(|e| view! { <p class="field-error" role="alert">{e.message.clone()}</p> }))}
        </fieldset>
    }
}
