//! A plan's backtest when it is drafted or edited: its schedule replayed over every recorded
//! week of the HPA's demand (the domain's `plans::backtest`), stored with the plan so the
//! approver sees what it would have done; and a plan proposed from that demand's recurring
//! peaks (`plans::propose`).

use domain::{
    plan::{Backtest, Plan, PlanProposal},
    whatif::{HpaConfig, Options},
};

use super::PlanError;

use crate::edits::Editor;

/// How far back a backtest reads: the demand's retention.
const SPAN_MS: i64 = 14 * 86_400_000;

/// The plan over the recorded weeks up to `now_ms`; `None` when nothing was recorded for its
/// HPA (or the cluster keeps no history).
pub async fn run(editor: &Editor, plan: &Plan, now_ms: i64) -> Option<Backtest> {
    let whatif = editor.whatif()?;
    let w = editor.view().current().workload(&plan.namespace, &plan.name)?.clone();
    let config = HpaConfig::of(w.autoscaler.as_ref()?);
    let schedule = plan.schedule.check().ok()?;
    let series = match whatif.series_over(&w, (now_ms - SPAN_MS, now_ms)).await {
        Ok(series) if series.recorded_steps() > 0 => series,
        Ok(_) => return None,
        Err(e) => {
            tracing::info!(plan = plan.id, "no backtest: {e}");
            return None;
        }
    };
    // Milliseconds of pure computation per week: off the async workers.
    let replayed = tokio::task::spawn_blocking(move || {
        domain::plans::backtest::weeks(&series, &schedule, &config, &Options::default(), now_ms)
    })
    .await;
    replayed.ok()
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
    let w = editor.view().current().workload(namespace, name).cloned().ok_or_else(|| {
        PlanError::NotFound(format!("no Deployment {namespace}/{name} is known to Paydeck"))
    })?;
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
