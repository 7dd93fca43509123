//! The leader's plan steps: every few seconds each approved plan's window is compared with
//! its HPA and the step the domain decides (`domain::plans::steps::next`) is sent — as the
//! approver (impersonated: the cluster's RBAC and audit log decide and name them), through
//! the editor's stages (validation, a dry run, the spec-hash precondition, the audit intent
//! and outcome). Only the leader runs it; what a lost leader left half-done is settled from
//! the HPA as it is (`steps::settle`), so no step is lost or sent twice.
//!
//! Before a step is sent the plan records what it is sending (`Holding::sending`), against
//! the plan's version: a second runner (a replica that still thinks it leads) finds the
//! version moved and sends nothing, and one that wrote first but was cut off is settled.

use std::{sync::Arc, time::Duration};

use app::{
    dto::{Autoscaler, Viewer},
    scaling::{Edit, Outcome},
};
use domain::{
    plan::{Bounds, Holding, Plan, PlanStep, State},
    plans::{
        lifecycle::Move,
        steps::{Step, next, settle},
    },
};
use serde_json::json;

use super::{PAYDECK, PlanRow, Plans};
use crate::edits::Editor;

/// The cluster's time, Unix ms: Paydeck's own clock (which follows a simulated cluster's
/// start and speed); a test's simulator with its clock held still gives its own.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Paydeck's own clock.
pub fn own_clock() -> Clock {
    Arc::new(crate::clock::unix_ms)
}

/// How often the leader looks: steps are on time within [`domain::plans::steps::ON_TIME_MS`].
pub const EVERY: Duration = Duration::from_secs(2);

/// One round at `now_ms` (the cluster's time) over every plan whose cluster has an editor
/// here: what each plan did, in words (for logs and tests).
pub async fn tick(plans: &Plans, editors: &[Arc<Editor>], now_ms: i64) -> Vec<(i64, String)> {
    let every = match plans.every().await {
        Ok(every) => every,
        Err(e) => {
            tracing::warn!("plans: cannot read the plans: {e}");
            return vec![];
        }
    };
    let mut done = Vec::new();
    for plan in every {
        let runs = plan.record.state == State::Active
            || (plan.record.state == State::Cancelled && plan.holding.is_some());
        if !runs {
            continue;
        }
        let Some(editor) = editors.iter().find(|e| e.cluster_name() == plan.cluster) else { continue };
        let id = plan.id;
        match step(plans, editor, plan, now_ms).await {
            Ok(Some(what)) => done.push((id, what)),
            Ok(None) => {}
            Err(e) => tracing::warn!(plan = id, "plans: {e}"),
        }
    }
    done
}

/// Starts the leader's loop: a round every [`EVERY`] while this replica leads, at the time
/// `clock` reads, over the editors `editors` gives (the fleet can grow).
pub fn start(
    plans: Arc<Plans>,
    editors: impl Fn() -> Vec<Arc<Editor>> + Send + Sync + 'static,
    fence: crate::store::Fence,
    clock: Clock,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = stopping.changed() => return,
            }
            if *stopping.borrow() || !fence.leading() {
                continue;
            }
            for (id, what) in tick(&plans, &editors(), clock()).await {
                tracing::info!(plan = id, "{what}");
            }
        }
    })
}

fn bounds_of(a: &Autoscaler) -> Bounds {
    Bounds { min_replicas: a.min_replicas, max_replicas: a.max_replicas }
}

/// One plan's step now: what it did, if anything.
async fn step(
    plans: &Plans,
    editor: &Arc<Editor>,
    plan: Plan,
    now_ms: i64,
) -> Result<Option<String>, String> {
    let snapshot = editor.view().current();
    let Some(seen) = snapshot.workload(&plan.namespace, &plan.name).and_then(|w| w.autoscaler.clone()) else {
        return Ok(None);
    };
    // Most rounds find nothing to do on the watched picture; anything else is decided on the
    // HPA read afresh (the watch may not have brought the last step yet).
    if quiet(&plan, &seen, now_ms) {
        return Ok(None);
    }
    let read = editor
        .read_autoscaler(&plan.namespace, &seen.name)
        .await
        .map_err(|e| format!("cannot read HorizontalPodAutoscaler {}/{}: {e}", plan.namespace, seen.name))?;
    let Some(a) = read else { return Ok(None) };
    let now = bounds_of(&a);
    let held = settle(plan.holding, now);
    let schedule = plan.schedule.check().map_err(|e| format!("its schedule no longer reads: {e:?}"))?;
    let in_force = if plan.record.state == State::Active {
        if let Some(owner) = &a.reverted_by {
            let why =
                format!("HorizontalPodAutoscaler {} is now set back by {owner}: the plan is paused", a.name);
            return pause(plans, plan, why, now_ms).await.map(Some);
        }
        if let Err(why) = plan.record.may_run(&a.policy_hash) {
            return unapprove(plans, plan, held, why.0, now_ms).await.map(Some);
        }
        schedule.in_force(now_ms)
    } else {
        // Cancelled while holding: what it holds is put back now.
        None
    };
    match next(in_force, held, now, now_ms) {
        Step::Stay if held == plan.holding => Ok(None),
        Step::Stay => {
            save(plans, &Plan { holding: held, ..plan.clone() }, now_ms, None).await?;
            Ok(Some("settled a step a lost leader left".into()))
        }
        Step::Release => {
            let text = "the window closed; the HPA already had its bounds from before".to_string();
            let mut released = Plan { holding: None, ..plan.clone() };
            if let Some(h) = held {
                reported(editor, &mut released, h.since_ms, now_ms).await;
            }
            save(plans, &released, now_ms, Some((text.clone(), None))).await?;
            Ok(Some(text))
        }
        Step::Pause { why } if plan.record.state == State::Cancelled => {
            let text = format!("cancelled; {why}");
            save(plans, &Plan { holding: None, ..plan.clone() }, now_ms, Some((text.clone(), None))).await?;
            Ok(Some(text))
        }
        Step::Pause { why } => pause(plans, plan, why, now_ms).await.map(Some),
        Step::Apply { from, to, late_ms } => {
            let since_ms = in_force.map_or(now_ms, |(_, since)| since);
            let opened = schedule.local(since_ms);
            let mut words = format!("window opened {opened}");
            if late_ms > 0 {
                words.push_str(&format!(
                    "; applied {} late (Paydeck was down or had no leader when it opened)",
                    human(late_ms)
                ));
            }
            let sending = Holding {
                before: held.map_or(from, |h| h.before),
                applied: to,
                since_ms,
                sending: Some(from),
            };
            send(plans, editor, plan, &a, held, sending, to, words, now_ms).await.map(Some)
        }
        Step::Restore { from, to } => {
            let Some(h) = held else { return Ok(None) };
            let words = if plan.record.state == State::Cancelled {
                "cancelled: restoring what was there before the window".to_string()
            } else {
                format!("window closed; restoring what was there before it ({from} → {to})")
            };
            // A restore in flight holds what the plan set: a leader lost mid-restore finds
            // the HPA either still at it (restored again) or back (released).
            send(plans, editor, plan, &a, held, h, to, words, now_ms).await.map(Some)
        }
    }
}

/// Whether the watched HPA leaves the plan nothing to do at `now_ms`.
fn quiet(plan: &Plan, a: &Autoscaler, now_ms: i64) -> bool {
    let now = bounds_of(a);
    if plan.holding.is_some_and(|h| h.sending.is_some()) || plan.record.state != State::Active {
        return false;
    }
    if a.reverted_by.is_some() || plan.record.may_run(&a.policy_hash).is_err() {
        return false;
    }
    let Ok(schedule) = plan.schedule.check() else { return false };
    next(schedule.in_force(now_ms), plan.holding, now, now_ms) == Step::Stay
}

/// Sends `to` as the approver: recorded as sending first, then a dry run, then the apply;
/// the plan then holds `holding` (applied) or what it held before (not applied).
#[allow(clippy::too_many_arguments)]
async fn send(
    plans: &Plans,
    editor: &Arc<Editor>,
    plan: Plan,
    a: &Autoscaler,
    held: Option<Holding>,
    holding: Holding,
    to: Bounds,
    words: String,
    now_ms: i64,
) -> Result<String, String> {
    let mut marked = Plan { holding: Some(holding), ..plan.clone() };
    save(plans, &marked, now_ms, None).await?;
    marked.version += 1;
    let approver = plan.record.approver.clone().unwrap_or_default();
    let viewer =
        Viewer { user: Some(approver.clone()), groups: plan.approver_groups.clone(), ..Viewer::default() };
    let mut reason = format!("plan {} ({}): {words}", plan.id, short(&plan.reason));
    reason.truncate(floor_char_boundary(&reason, domain::scaling::validate::MAX_REASON_CHARS));
    let edit = |dry_run: bool| -> Result<Edit, String> {
        let body = json!({
            "spec": { "minReplicas": to.min_replicas, "maxReplicas": to.max_replicas },
            "reason": reason,
            "specHash": a.spec_hash,
            "dryRun": dry_run,
        });
        let request = app::scaling::request::parse(body.to_string().as_bytes())
            .map_err(|e| format!("the step could not be written: {}: {}", e.field, e.message))?;
        Ok(request.into())
    };
    let preview = editor.submit(&viewer, &plan.namespace, &plan.name, &edit(true)?).await;
    let answer = if preview.outcome == Outcome::Previewed {
        editor.submit(&viewer, &plan.namespace, &plan.name, &edit(false)?).await
    } else {
        preview
    };
    let applied = answer.outcome == Outcome::Applied;
    let text = if applied {
        format!("{} → {}: {words}", bounds_of(a), to)
    } else {
        format!("{} → {} not made ({}): {}", bounds_of(a), to, answer.outcome.as_str(), answer.message)
    };
    // Applied: a restore ends the holding, a raise holds what it set. Not applied: what was
    // held before.
    let after = match (applied, to == holding.before) {
        (true, true) => None,
        (true, false) => Some(Holding { sending: None, ..holding }),
        (false, _) => held,
    };
    let mut settled = Plan { holding: after, ..marked };
    if applied && after.is_none() {
        reported(editor, &mut settled, holding.since_ms, now_ms).await;
    }
    save(plans, &settled, now_ms, Some((text.clone(), answer.audit_seq))).await?;
    Ok(text)
}

/// Adds the report of the window that held since `since_ms` and closed now.
async fn reported(editor: &Editor, plan: &mut Plan, since_ms: i64, now_ms: i64) {
    if let Some(report) = super::backtest::report(editor, plan, (since_ms, now_ms)).await {
        plan.reports.push(report);
        let extra = plan.reports.len().saturating_sub(super::backtest::REPORTS_KEPT);
        plan.reports.drain(..extra);
    }
}

/// Writes the plan's new state against its version (one more than the stored one).
async fn save(
    plans: &Plans,
    plan: &Plan,
    now_ms: i64,
    step: Option<(String, Option<i64>)>,
) -> Result<(), String> {
    let mut next = plan.clone();
    next.version += 1;
    next.updated_ms = now_ms;
    if let Some((text, audit_seq)) = step {
        next.last_step = Some(PlanStep { at_ms: now_ms, text, audit_seq });
    }
    plans.replace(&next).await.map_err(|e| e.to_string())
}

/// Pauses the plan by itself (the HPA was changed under it, or something else now owns it),
/// leaving the HPA as it is; audited as Paydeck.
async fn pause(plans: &Plans, plan: Plan, why: String, now_ms: i64) -> Result<String, String> {
    let record = plan.record.after(&Move::Pause, PAYDECK, plans.approval).map_err(|e| e.0)?;
    let after = Plan { record, holding: None, paused_why: Some(why.clone()), ..plan.clone() };
    by_itself(plans, &plan, after, &format!("paused plan {}: {why}", plan.id), now_ms).await?;
    Ok(why)
}

/// The HPA's spec (apart from its bounds) changed since the approval: a draft again, to be
/// approved again; the HPA is left as it is.
async fn unapprove(
    plans: &Plans,
    plan: Plan,
    held: Option<Holding>,
    why: String,
    now_ms: i64,
) -> Result<String, String> {
    let record = plan.record.after(&Move::Edit, PAYDECK, plans.approval).map_err(|e| e.0)?;
    let after = Plan { record, holding: held, approver_groups: vec![], ..plan.clone() };
    by_itself(plans, &plan, after, &format!("plan {}: {why}", plan.id), now_ms).await?;
    Ok(why)
}

/// A change the plan makes to itself: stored against its version, then audited as Paydeck.
async fn by_itself(
    plans: &Plans,
    before: &Plan,
    mut after: Plan,
    detail: &str,
    now_ms: i64,
) -> Result<(), String> {
    after.version = before.version + 1;
    after.updated_ms = now_ms;
    after.last_step = Some(PlanStep { at_ms: now_ms, text: detail.to_string(), audit_seq: None });
    plans.replace(&after).await.map_err(|e| e.to_string())?;
    let row = PlanRow::changed(now_ms, (PAYDECK, &[]), before, &after, detail);
    plans.record(row).await.map(|_| ()).map_err(|e| e.to_string())
}

fn short(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= 120 {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(119).collect::<String>())
    }
}

fn floor_char_boundary(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map_or(s.len(), |(i, _)| i)
}

/// `2 h 5 min`, `3 min 10 s`, `45 s`.
fn human(ms: i64) -> String {
    let s = ms / 1000;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s} s"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}
