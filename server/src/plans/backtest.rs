//! A plan's backtest when it is drafted or edited: its schedule replayed over every recorded
//! week of the HPA's demand (the domain's `plans::backtest`), stored with the plan so the
//! approver sees what it would have done.

use domain::{
    plan::{Backtest, Plan},
    whatif::{HpaConfig, Options},
};

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
