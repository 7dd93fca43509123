//! A plan's backtest when it is drafted or edited: its schedule replayed over every recorded
//! week of the HPA's demand (the domain's `plans::backtest`), stored with the plan so the
//! approver sees what it would have done; and a plan proposed from that demand's recurring
//! peaks (`plans::propose`).

use domain::{
    plan::{Backtest, Plan, PlanProposal, WindowReport},
    plans::lifecycle::Target,
    whatif::{HpaConfig, Options},
};

use super::PlanError;
use crate::edits::Editor;

/// How far back a backtest reads: the demand's retention.
const SPAN_MS: i64 = 14 * 86_400_000;

/// The Deployment as Paydeck sees it now, or 404 naming it.
fn workload(editor: &Editor, namespace: &str, name: &str) -> Result<app::dto::Workload, PlanError> {
    editor
        .view()
        .current()
        .workload(namespace, name)
        .cloned()
        .ok_or_else(|| PlanError::NotFound(format!("no Deployment {namespace}/{name} is known to Paydeck")))
}

/// The plan over the recorded weeks up to `now_ms`, kept with it; `None` when no week of its
/// HPA was recorded (or the cluster keeps no history).
pub async fn run(editor: &Editor, plan: &Plan, now_ms: i64) -> Option<Backtest> {
    match replay(editor, plan, now_ms).await {
        Ok(backtest) => Some(backtest).filter(|b| !b.weeks.is_empty()),
        Err(e) => {
            tracing::info!(plan = plan.id, "no backtest: {e}");
            None
        }
    }
}

/// The plan over the recorded weeks up to `now_ms` (none when nothing was recorded in the
/// span), or why it cannot be replayed.
async fn replay(editor: &Editor, plan: &Plan, now_ms: i64) -> Result<Backtest, PlanError> {
    let (namespace, name) = (&plan.namespace, &plan.name);
    let whatif = editor.whatif().ok_or_else(|| {
        PlanError::Unavailable("history is not recorded by this server: nothing to replay".into())
    })?;
    let w = workload(editor, namespace, name)?;
    let config = w.autoscaler.as_ref().map(HpaConfig::of).ok_or_else(|| {
        PlanError::invalid("autoscaler", format!("{namespace}/{name} has no HorizontalPodAutoscaler"))
    })?;
    let schedule = plan.schedule.check().map_err(|problems| {
        PlanError::Invalid(
            problems
                .into_iter()
                .map(|p| domain::scaling::FieldError {
                    field: format!("schedule.{}", p.field),
                    message: p.message,
                })
                .collect(),
        )
    })?;
    let series = whatif
        .series_over(&w, (now_ms - SPAN_MS, now_ms))
        .await
        .map_err(|e| PlanError::NotFound(format!("nothing to replay: {e}")))?;
    // Milliseconds of pure computation per week: off the async workers.
    tokio::task::spawn_blocking(move || {
        domain::plans::backtest::weeks(&series, &schedule, &config, &Options::default(), now_ms)
    })
    .await
    .map_err(|e| PlanError::Unavailable(format!("the replay failed: {e}")))
}

/// A plan for the HPA of `namespace/name` proposed from its recorded demand, read in
/// `time_zone`.
pub async fn propose(
    editor: &Editor,
    namespace: &str,
    name: &str,
    time_zone: &str,
    now_ms: i64,
) -> Result<PlanProposal, PlanError> {
    let whatif = editor.whatif().ok_or_else(|| {
        PlanError::Unavailable("history is not recorded by this server: nothing to propose from".into())
    })?;
    let w = workload(editor, namespace, name)?;
    let Some(a) = w.autoscaler.as_ref() else {
        return Err(PlanError::invalid(
            "autoscaler",
            format!("{namespace}/{name} has no HorizontalPodAutoscaler: a plan raises an HPA's bounds"),
        ));
    };
    let config = HpaConfig::of(a);
    let series = whatif
        .series_over(&w, (now_ms - SPAN_MS, now_ms))
        .await
        .map_err(|e| PlanError::NotFound(format!("nothing to propose from: {e}")))?;
    let ceiling = editor.limits.max_replicas;
    let zone = time_zone.to_string();
    let proposed = tokio::task::spawn_blocking(move || {
        domain::plans::propose::from_history(&series, &zone, &config, ceiling)
    })
    .await
    .map_err(|e| PlanError::Unavailable(format!("the proposal failed: {e}")))?;
    proposed.map_err(|e| PlanError::invalid(&e.field, e.message))
}

/// How many reports a plan keeps: a quarter of weekly windows, a fortnight of daily ones.
pub const REPORTS_KEPT: usize = 14;

const WEEK_MS: i64 = 7 * 86_400_000;

/// The window `[from_ms, to_ms)` that just closed, measured on what was recorded, against
/// the same window a week before; also marked on the service's charts as an event. `None`
/// when nothing was recorded in it.
pub async fn report(editor: &Editor, plan: &Plan, (from_ms, to_ms): (i64, i64)) -> Option<WindowReport> {
    let whatif = editor.whatif()?;
    let w = editor.view().current().workload(&plan.namespace, &plan.name)?.clone();
    let measure = |series: domain::whatif::Series| domain::plans::report::measure(&series);
    let with_plan = measure(whatif.series_over(&w, (from_ms, to_ms)).await.ok()?);
    if with_plan.recorded_minutes <= 0.0 {
        return None;
    }
    let week_before = match whatif.series_over(&w, (from_ms - WEEK_MS, to_ms - WEEK_MS)).await {
        Ok(series) => Some(measure(series)).filter(|m| m.recorded_minutes > 0.0),
        Err(_) => None,
    };
    let report = WindowReport { start_ms: from_ms, end_ms: to_ms, with_plan, week_before };
    let mut text = format!(
        "plan {} window: {:.1} min overloaded, {:.1} replica-hours",
        plan.id, with_plan.overloaded_minutes, with_plan.replica_hours
    );
    match week_before {
        Some(b) => text.push_str(&format!(
            " (a week before: {:.1} min, {:.1} replica-hours)",
            b.overloaded_minutes, b.replica_hours
        )),
        None => text.push_str(" (nothing recorded a week before)"),
    }
    if let Err(e) = whatif.history.write_event(&plan.namespace, &plan.name, to_ms, "plan", &text).await {
        tracing::warn!(plan = plan.id, "cannot mark the window's report on the charts: {e}");
    }
    Some(report)
}

/// A schedule for the HPA of `namespace/name` replayed over the recorded weeks before anyone
/// drafts it: checked as a draft is, nothing stored.
pub async fn of_request(
    editor: &Editor,
    namespace: &str,
    name: &str,
    request: domain::plan::PlanRequest,
    now_ms: i64,
) -> Result<Backtest, PlanError> {
    super::moves::check_request(&request, editor)?;
    let w = workload(editor, namespace, name)?;
    let autoscaler = w.autoscaler.as_ref().map(|a| a.name.clone()).ok_or_else(|| {
        PlanError::invalid(
            "autoscaler",
            format!("{namespace}/{name} has no HorizontalPodAutoscaler: a plan raises an HPA's bounds"),
        )
    })?;
    let target = Target { cluster: editor.cluster_name(), namespace, name, autoscaler };
    // Drafted by nobody: it is only replayed, never stored.
    let plan = Plan::drafted(target, request, "", now_ms);
    replay(editor, &plan, now_ms).await
}
