//! The spec beside a service's charts: what explains the picture.

use domain::{
    hpa::{PolicyKind, SelectPolicy, spec::BehaviorSpec},
    scaling::validate::Direction,
};
use leptos::prelude::*;

use crate::{
    dto::{Autoscaler, HistoryEvent, Workload},
    format,
};

#[component]
pub fn SpecPanel(w: Workload, events: Vec<HistoryEvent>) -> impl IntoView {
    view! {
        <section class="panel spec" aria-labelledby="spec-title">
            <h2 id="spec-title">"Specification"</h2>
            <h3 class="subheading">"Containers (per pod)"</h3>
            <table class="compact">
                <thead><tr><th scope="col">"Container"</th><th scope="col" class="num">"CPU req / lim"</th><th scope="col" class="num">"Memory req / lim"</th></tr></thead>
                <tbody>
                    {w.containers.iter().map(|c| {
                        let pair = |r: Option<f64>, l: Option<f64>, show: fn(f64) -> String| {
                            format!("{} / {}", r.map(show).unwrap_or_else(|| "none".into()), l.map(show).unwrap_or_else(|| "none".into()))
                        };
                        view! {
                            <tr>
                                <th scope="row" class="mono">{c.name.clone()}</th>
                                <td class="num">{pair(c.cpu_request, c.cpu_limit, format::cores)}</td>
                                <td class="num">{pair(c.memory_request, c.memory_limit, format::bytes)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>

            <h3 class="subheading">"Autoscaler"</h3>
            {match w.autoscaler.clone() {
                Some(a) => view! { <AutoscalerSpec a /> }.into_any(),
                None => view! { <p class="panel-note">"No HorizontalPodAutoscaler targets this Deployment; its replica count is fixed at " {w.replicas.desired} "."</p> }.into_any(),
            }}

            <h3 class="subheading">"Traffic and disruption"</h3>
            <dl class="facts">
                <dt>"Service endpoints"</dt>
                <dd>{format!("{} ready of {}", w.endpoints_ready, w.endpoints_total)}</dd>
                <dt>"Disruption budget"</dt>
                <dd>{match &w.disruption_budget {
                    Some(b) => {
                        let rule = b.min_available.as_ref().map(|m| format!("min available {m}"))
                            .or_else(|| b.max_unavailable.as_ref().map(|m| format!("max unavailable {m}")))
                            .unwrap_or_else(|| "no rule".into());
                        format!("{}: {rule}; {} disruption(s) allowed now", b.name, b.disruptions_allowed)
                    }
                    None => "none: a node drain may take every pod at once".into(),
                }}</dd>
                <dt>"Pods"</dt>
                <dd>{format!("{} ready of {}, {} pending, {} restarts", w.pods.ready, w.pods.total, w.pods.pending, w.pods.restarts)}</dd>
            </dl>

            <h3 class="subheading">"Recent events"</h3>
            {if events.is_empty() {
                view! { <p class="panel-note">"No scaling or spec changes in this range."</p> }.into_any()
            } else {
                view! {
                    <ol class="events" data-testid="events">
                        {events.into_iter().rev().take(12).map(|e| view! {
                            <li>
                                <time>{format::clock(e.at_ms)}</time>
                                <span class="tag">{e.kind}</span>
                                <span>{e.message}</span>
                            </li>
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn AutoscalerSpec(a: Autoscaler) -> impl IntoView {
    let target = |t: Option<i32>, now: Option<i32>| match (t, now) {
        (Some(t), Some(n)) => format!("{n} % now, target {t} %"),
        (Some(t), None) => format!("target {t} %"),
        _ => "not a target".into(),
    };
    view! {
        <dl class="facts">
            <dt>"Name"</dt><dd class="mono">{a.name.clone()}</dd>
            {(!a.owners.is_empty()).then(|| view! {
                <dt>"Managed by"</dt>
                <dd data-testid="hpa-owner">{a.owners.iter().map(|o| o.describe()).collect::<Vec<_>>().join(", ")}</dd>
            })}
            <dt>"Replicas"</dt>
            <dd>{format!("min {} · max {} · current {} → desired {}", a.min_replicas, a.max_replicas, a.current_replicas, a.desired_replicas)}
                {a.at_max.then(|| view! { " " <span class="tag tag-warn">"at max"</span> })}</dd>
            <dt>"CPU"</dt><dd>{target(a.cpu_target_percent, a.cpu_current_percent)}</dd>
            {a.memory_target_percent.map(|_| view! { <dt>"Memory"</dt><dd>{target(a.memory_target_percent, a.memory_current_percent)}</dd> })}
            <dt>"Scale up"</dt><dd>{describe_rules(a.behavior.as_ref(), Direction::Up)}</dd>
            <dt>"Scale down"</dt><dd>{describe_rules(a.behavior.as_ref(), Direction::Down)}</dd>
        </dl>
        {(!a.conditions.is_empty()).then(|| view! {
            <ul class="conditions">
                {a.conditions.iter().map(|c| view! {
                    <li class=if c.status == "True" { "" } else { "muted" }>
                        <span class="mono">{format!("{}={}", c.kind, c.status)}</span>
                        " " {c.reason.clone()} {(!c.message.is_empty()).then(|| format!(": {}", c.message))}
                    </li>
                }).collect_view()}
            </ul>
        })}
    }
}

/// One direction of an HPA's `behavior`, in words. Kubernetes' defaults when unset.
pub fn describe_rules(behavior: Option<&BehaviorSpec>, direction: Direction) -> String {
    let rules = behavior.and_then(|b| match direction {
        Direction::Up => b.scale_up.as_ref(),
        Direction::Down => b.scale_down.as_ref(),
    });
    let Some(rules) = rules else {
        return match direction {
            Direction::Up => {
                "Kubernetes default: no stabilisation; at most double, or +4 pods, per 15 s".into()
            }
            Direction::Down => {
                "Kubernetes default: 300 s stabilisation; may remove all excess pods at once".into()
            }
        };
    };
    let policies: Vec<String> = rules
        .policies
        .iter()
        .flatten()
        .map(|p| match p.kind {
            PolicyKind::Percent => format!("{} % per {} s", p.value, p.period_secs),
            PolicyKind::Pods => format!("{} pods per {} s", p.value, p.period_secs),
        })
        .collect();
    let select = rules.select_policy.unwrap_or(SelectPolicy::Max);
    let mut parts = vec![match rules.stabilization_window_seconds {
        Some(w) => format!("{w} s stabilisation"),
        None => "default stabilisation".into(),
    }];
    if select == SelectPolicy::Disabled {
        parts.push("disabled".into());
    } else if !policies.is_empty() {
        let pick = if select == SelectPolicy::Min { "the smaller of" } else { "the larger of" };
        if policies.len() == 1 {
            parts.push(format!("at most {}", policies[0]));
        } else {
            parts.push(format!("{pick} {}", policies.join(" or ")));
        }
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(value: serde_json::Value) -> BehaviorSpec {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn behavior_reads_as_a_sentence() {
        let b = spec(json!({
            "scaleUp": { "stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                "policies": [{ "type": "Percent", "value": 100, "periodSeconds": 15 }, { "type": "Pods", "value": 4, "periodSeconds": 15 }] },
            "scaleDown": { "stabilizationWindowSeconds": 600, "policies": [{ "type": "Pods", "value": 1, "periodSeconds": 60 }] }
        }));
        assert_eq!(
            describe_rules(Some(&b), Direction::Up),
            "0 s stabilisation; the larger of 100 % per 15 s or 4 pods per 15 s"
        );
        assert_eq!(describe_rules(Some(&b), Direction::Down), "600 s stabilisation; at most 1 pods per 60 s");
    }

    #[test]
    fn unset_behavior_names_the_kubernetes_defaults() {
        assert!(describe_rules(None, Direction::Down).contains("300 s"));
        let disabled = spec(json!({ "scaleDown": { "selectPolicy": "Disabled" } }));
        assert_eq!(describe_rules(Some(&disabled), Direction::Down), "default stabilisation; disabled");
    }
}
