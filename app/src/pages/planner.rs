//! The peak capacity planner: the operator names a peak ("4x" today's evening peak, or a
//! request rate at the entry service) and sees, per service, the replicas two models need,
//! whether the HPA's maximum allows them, what their requests add against the nodes, and
//! how many nodes are missing. The peak lives in the URL (a GET form that works before the
//! WebAssembly loads).

use domain::{
    planner::{Peak, PlanQuery, PlanReport, PlanRow},
    rules::Origin,
};
use leptos::prelude::*;
use leptos_router::{
    NavigateOptions,
    hooks::{use_navigate, use_query_map},
};

use crate::{
    advisor::plan,
    charts::{ChartOption, EChart, Palette, plan::plan_chart},
    format,
    layout::PageHeader,
    widgets::ErrorNote,
};

/// Ready-made peaks: multiples of today's.
const PRESETS: [&str; 3] = ["2x", "4x", "10x"];

#[component]
pub fn PlannerPage() -> impl IntoView {
    let params = use_query_map();
    let asked = Memo::new(move |_| params.with(|p| p.get("peak")).filter(|p| !p.trim().is_empty()));
    let query = Memo::new(move |_| {
        let peak = match asked.get() {
            Some(text) => Peak::parse(&text)?,
            None => Peak::default(),
        };
        Ok::<_, String>(PlanQuery {
            peak,
            namespace: params.with(|p| p.get("namespace")).filter(|n| !n.is_empty()),
        })
    });
    let chosen = crate::chosen::use_chosen();
    let report = Resource::new(
        move || (chosen.get(), query.get()),
        |(cluster, q)| async move {
            match q {
                Ok(q) => plan(cluster, q).await.map_err(|e| e.to_string()),
                Err(e) => Err(e),
            }
        },
    );
    let typed = RwSignal::new(String::new());
    Effect::new(move |_| typed.set(asked.get().unwrap_or_else(|| "4x".into())));
    let error = RwSignal::new(None::<String>);
    let navigate = use_navigate();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match Peak::parse(&typed.get_untracked()) {
            Ok(peak) => {
                error.set(None);
                let href = format!("/planner?peak={}", peak.text());
                navigate(
                    &crate::chosen::on_cluster(&href, chosen.get_untracked().as_deref()),
                    NavigateOptions::default(),
                );
            }
            Err(e) => error.set(Some(e)),
        }
    };

    view! {
        <PageHeader title="Capacity planner" subtitle="How many instances each service needs at a planned peak, whether its HPA allows them, and whether the nodes hold their requests — from the last day of recorded demand." />
        <section class="panel">
            <form class="filters" method="get" action="/planner" on:submit=submit data-testid="planner-form">
                <crate::chosen::ClusterField />
                <div class="field">
                    <label for="planner-peak">"Peak"</label>
                    <input id="planner-peak" name="peak" class="mono" inputmode="decimal" autocomplete="off"
                        prop:value=move || typed.get()
                        on:input=move |ev| typed.set(event_target_value(&ev))
                        aria-describedby="planner-peak-help"
                        aria-invalid=move || error.get().is_some().then_some("true") />
                    <span class="field-help" id="planner-peak-help">"4x: each service at four times today's peak · 2000: req/s at the entry service, spread by share"</span>
                    {move || error.get().map(|e| view! { <span class="field-error" role="alert" data-testid="planner-error">{e}</span> })}
                </div>
                <button type="submit" class="button">"Plan"</button>
                <div class="field presets">
                    <span class="field-label">"Presets"</span>
                    {PRESETS.into_iter().map(|p| view! { <a href=crate::chosen::here(&format!("/planner?peak={p}"))>{p.replace('x', " ×")}</a> }).collect_view()}
                </div>
            </form>
            <Transition fallback=|| view! { <p class="loading" role="status">"Planning…"</p> }>
                {move || report.get().map(|r| match r {
                    Ok(r) => view! { <Report report=r /> }.into_any(),
                    Err(e) => view! { <ErrorNote what="No plan could be made" error=e /> }.into_any(),
                })}
            </Transition>
        </section>
        <section class="panel">
            <h2 class="subheading">"How it is computed"</h2>
            <p class="panel-note">"Two models per service, the larger one wins. The scaling model N = N₀ + α·(T − T₀)/T₀ is fitted by least squares on the recorded pairs of request rate T and replicas N, with T₀ the mean recorded rate (α ± its 95 % error is shown); it says what the platform actually did. The HPA's model fits CPU use against T and divides by what one pod may use at the HPA's target (70 % without an HPA); it says what the controller would do. Added requests are the needed pods beyond today's count times each pod's requests (R = Σ rᵢ), against the nodes' allocatable minus what is requested now; missing nodes are counted in the cluster's average node. Limits: the models are straight lines through the recorded range, so far beyond it they extrapolate; services no request drives are planned at today's count."</p>
        </section>
    }
}

#[component]
fn Report(report: PlanReport) -> impl IntoView {
    let plan = report.plan;
    if plan.rows.is_empty() {
        return view! {
            <div class="empty-state" role="status">
                <h2>"Nothing to plan from yet"</h2>
                <p>{match report.judged_at_ms {
                    Some(_) => "No service has recorded demand: the planner fits its models on history, which Paydeck records while it runs.",
                    None => "Recorded demand is being read for the first time; this takes a moment after start.",
                }}</p>
            </div>
        }
        .into_any();
    }
    let peak = match report.peak {
        Peak::Times(k) => format!(
            "each service at {k} × its peak of the last {}",
            if report.window == "1 d" { "day" } else { report.window.as_str() }
        ),
        Peak::EntryRate(t) => format!(
            "{} at {}, the others by their recorded share",
            format::rate(t),
            plan.entry.clone().unwrap_or_default()
        ),
    };
    let room = plan.room;
    let nodes = match plan.nodes_missing {
        0 => "None".to_string(),
        n => format!("+{n}"),
    };
    let palette = Palette::current();
    let chart = Signal::derive({
        let plan = plan.clone();
        move || Some(ChartOption::from(plan_chart(&plan, palette)))
    });
    view! {
        <p class="panel-note" data-testid="planner-summary">{format!("Planned for {peak}.")}</p>
        <dl class="stats">
            <div class="stat">
                <dt>"Nodes to add"</dt>
                <dd data-testid="nodes-missing">{nodes}</dd>
                <dd class="sub">{format!("each like the average node: {}, {}", format::cores(room.node_cpu), format::bytes(room.node_memory))}</dd>
            </div>
            <div class="stat">
                <dt>"HPA maxima too low"</dt>
                <dd data-testid="maxima-short">{plan.maxima_short}</dd>
            </div>
            <div class="stat">
                <dt>"CPU requests added"</dt>
                <dd>{format::cores(plan.added_cpu)}</dd>
                <dd class="sub">{format!("{} free on the nodes", format::cores(room.free_cpu))}</dd>
            </div>
            <div class="stat">
                <dt>"Memory requests added"</dt>
                <dd>{format::bytes(plan.added_memory)}</dd>
                <dd class="sub">{format!("{} free on the nodes", format::bytes(room.free_memory))}</dd>
            </div>
        </dl>
        <EChart id="plan-chart" label="Replicas per service at today's peak, needed at the planned peak, and the HPA's maximum".to_string() option=chart />
        <div class="table-wrap">
            <table class="services plan" data-testid="plan-table">
                <thead><tr>
                    <th scope="col">"Service"</th>
                    <th scope="col" class="num">"Today's peak"</th>
                    <th scope="col" class="num">"Planned"</th>
                    <th scope="col" class="num">"Scaling model"</th>
                    <th scope="col" class="num">"HPA model"</th>
                    <th scope="col" class="num">"Needed"</th>
                    <th scope="col" class="num">"HPA max"</th>
                    <th scope="col" class="num">"Requests added"</th>
                    <th scope="col">"Change"</th>
                </tr></thead>
                <tbody>{plan.rows.into_iter().map(|row| view! { <Row row /> }).collect_view()}</tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn Row(row: PlanRow) -> impl IntoView {
    let fit = row.fit.map(|f| {
        format!(
            "N₀ {:.1} at T₀ {}, α {:.1} ± {:.1}, error {:.1} replicas",
            f.n0,
            format::rate(f.t0),
            f.alpha,
            f.alpha_error,
            f.rmse
        )
    });
    let change = row.proposal.as_ref().map(|p| {
        (format!("/services/{}/{}?{}#edit", row.namespace, row.name, p.query(Origin::Planner)), row.needed)
    });
    let count = |n: Option<i32>| n.map_or_else(|| "—".to_string(), |n| n.to_string());
    view! {
        <tr data-workload=format!("{}/{}", row.namespace, row.name) class:short=!row.max_allows>
            <th scope="row" class="service">
                <a href=format!("/services/{}/{}", row.namespace, row.name)>{row.name.clone()}</a>
                <span class="sub">{row.namespace.clone()}</span>
            </th>
            <td class="num">{format::rate(row.peak_rate)}<span class="sub">{format!("{} replicas", row.peak_replicas)}</span></td>
            <td class="num">{format::rate(row.planned_rate)}</td>
            <td class="num">{count(row.fit_replicas)}{fit.map(|f| view! { <span class="sub">{f}</span> })}</td>
            <td class="num">{count(row.hpa_replicas)}</td>
            <td class="num"><strong>{row.needed}</strong>{row.note.clone().map(|n| view! { <span class="sub">{n}</span> })}</td>
            <td class="num">
                {count(row.max_replicas)}
                {(!row.max_allows).then(|| view! { <span class="badge badge-bad">"too low"</span> })}
            </td>
            <td class="num">{format::cores(row.added_cpu)}<span class="sub">{format::bytes(row.added_memory)}</span></td>
            <td>{change.map(|(href, n)| view! {
                <a class="open-change" href=href data-testid="raise-max" rel="external">{format!("Raise max to {n} →")}</a>
            })}</td>
        </tr>
    }
}
