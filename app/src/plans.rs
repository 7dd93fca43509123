//! Server functions for scheduled plans: a cluster's plans (one service's, or one), their
//! history in the audit log, drafting, moves, proposals and the fleet's calendar. The person
//! acting is the one the server's identity middleware found, never anything in the body.

use leptos::prelude::*;

pub use domain::plan::*;

use crate::scaling::AuditEntry;

#[cfg(feature = "ssr")]
fn plans(cluster: &Option<String>) -> Result<std::sync::Arc<dyn crate::backend::PlanSource>, ServerFnError> {
    crate::backend::backend_in(cluster)?
        .plans
        .ok_or_else(|| ServerFnError::new("plans are not available on this server (no audit log)"))
}

/// The cluster's plans (one service's when named), each with its windows.
#[server(prefix = "/rpc", endpoint = "plans")]
pub async fn list_plans(
    cluster: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
) -> Result<Vec<PlanView>, ServerFnError> {
    let workload = namespace.as_deref().zip(name.as_deref());
    plans(&cluster)?.plans(workload).await.map_err(ServerFnError::new)
}

/// One plan with its windows.
#[server(prefix = "/rpc", endpoint = "plan-view")]
pub async fn get_plan(cluster: Option<String>, id: i64) -> Result<PlanView, ServerFnError> {
    plans(&cluster)?.plan(id).await.map_err(ServerFnError::new)
}

/// What the audit log holds of plan `id`: its drafting, approvals and moves, and its steps.
#[server(prefix = "/rpc", endpoint = "plan-history")]
pub async fn plan_history(cluster: Option<String>, id: i64) -> Result<Vec<AuditEntry>, ServerFnError> {
    let backend = crate::backend::backend_in(&cluster)?;
    let view = plans(&cluster)?.plan(id).await.map_err(ServerFnError::new)?;
    let viewer = crate::viewer::request_viewer()?;
    let edits = backend.edits.ok_or_else(|| ServerFnError::new("edits are not available on this server"))?;
    let query = crate::scaling::AuditQuery {
        cluster: Some(backend.cluster_name.clone()),
        namespace: Some(view.plan.namespace.clone()),
        name: Some(view.plan.name.clone()),
        limit: Some(1000),
        ..Default::default()
    };
    let rows = edits.audit(&viewer, &query).await.map_err(ServerFnError::new)?;
    Ok(rows.into_iter().filter(|r| of_plan(r, id)).collect())
}

/// Whether an audit row is about plan `id`: a change to it, or one of its steps.
pub fn of_plan(row: &AuditEntry, id: i64) -> bool {
    row.target == format!("Plan/{id}") || row.reason.starts_with(&format!("plan {id} "))
}

/// Drafts a plan for a service's HPA, as the person asking.
#[server(prefix = "/rpc", endpoint = "plan-draft")]
pub async fn draft_plan(
    cluster: Option<String>,
    namespace: String,
    name: String,
    request: PlanRequest,
) -> Result<Result<Plan, PlanRefusal>, ServerFnError> {
    let viewer = crate::viewer::request_viewer()?;
    Ok(plans(&cluster)?.draft(&viewer, &namespace, &name, request).await)
}

/// Approves, rejects, pauses, resumes or cancels a plan, as the person asking.
#[server(prefix = "/rpc", endpoint = "plan-act")]
pub async fn act_on_plan(
    cluster: Option<String>,
    id: i64,
    action: PlanAction,
    reason: String,
    version: i64,
) -> Result<Result<Plan, PlanRefusal>, ServerFnError> {
    let viewer = crate::viewer::request_viewer()?;
    Ok(plans(&cluster)?.act(&viewer, id, action, PlanMoveRequest { reason, version }).await)
}

/// A plan proposed from the service's recorded demand, its peaks read in `time_zone`.
#[server(prefix = "/rpc", endpoint = "plan-propose")]
pub async fn propose_plan(
    cluster: Option<String>,
    namespace: String,
    name: String,
    time_zone: String,
) -> Result<Result<PlanProposal, PlanRefusal>, ServerFnError> {
    Ok(plans(&cluster)?.propose(&namespace, &name, &time_zone).await)
}

/// Every cluster's plan windows over the next `days`.
#[server(prefix = "/rpc", endpoint = "plan-calendar")]
pub async fn plan_calendar(days: i64) -> Result<Vec<CalendarWindow>, ServerFnError> {
    plans(&None)?.calendar(days).await.map_err(ServerFnError::new)
}

/// A level in words: `min ≥ 8, max ≥ 20`.
pub fn level_words(level: &Level) -> String {
    match (level.min_replicas, level.max_replicas) {
        (Some(min), Some(max)) => format!("min ≥ {min}, max ≥ {max}"),
        (Some(min), None) => format!("min ≥ {min}"),
        (None, Some(max)) => format!("max ≥ {max}"),
        (None, None) => "no level".into(),
    }
}

/// A window rule in words: `every day 17:45–21:15`, `Mon, Fri 11:30–14:00`, `on 2026-11-11 00:00–02:00`.
pub fn rule_words(rule: &WindowRule) -> String {
    let days = match &rule.repeat {
        Repeat::Day => "every day".to_string(),
        Repeat::Week { days } => days
            .iter()
            .map(|d| d.get(..3).map(capitalised).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(", "),
        Repeat::Once { date } => format!("on {date}"),
    };
    format!("{days} {}–{}, {}", rule.start, rule.end, level_words(&rule.level))
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A state in words, and the class of its badge.
pub fn state_words(state: State) -> (&'static str, &'static str) {
    match state {
        State::Draft => ("Awaiting approval", "badge badge-warn"),
        State::Active => ("Active", "badge badge-ok"),
        State::Paused => ("Paused", "badge badge-warn"),
        State::Rejected => ("Rejected", "badge badge-muted"),
        State::Cancelled => ("Cancelled", "badge badge-muted"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_as_sentences() {
        let rule = |repeat| WindowRule {
            repeat,
            start: "17:45".into(),
            end: "21:15".into(),
            level: Level { min_replicas: Some(8), max_replicas: None },
        };
        assert_eq!(rule_words(&rule(Repeat::Day)), "every day 17:45–21:15, min ≥ 8");
        assert_eq!(
            rule_words(&rule(Repeat::Week { days: vec!["monday".into(), "friday".into()] })),
            "Mon, Fri 17:45–21:15, min ≥ 8"
        );
        assert_eq!(
            rule_words(&rule(Repeat::Once { date: "2026-11-11".into() })),
            "on 2026-11-11 17:45–21:15, min ≥ 8"
        );
    }
}
