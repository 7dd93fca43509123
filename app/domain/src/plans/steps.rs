//! What a plan does to its HPA, and when: raise to the level in force at a window's start,
//! restore what was there before at its end — unless someone changed the HPA during the
//! window, then leave it, pause the plan and say why — and after downtime apply what should
//! be in force now, never the steps missed.

use super::schedule::Level;

pub use crate::plan::{Bounds, Holding};

/// `current` raised to `level`: the minimum at least the level's, the maximum at least the
/// level's and never below the minimum. A level lowers nothing.
pub fn raised(current: Bounds, level: Level) -> Bounds {
    let min = current.min_replicas.max(level.min_replicas.unwrap_or(0));
    let max = current.max_replicas.max(level.max_replicas.unwrap_or(0)).max(min);
    Bounds { min_replicas: min, max_replicas: max }
}

/// The plan's next move, given the level in force now (with since when), what it holds, and
/// the HPA's bounds now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing to do.
    Stay,
    /// Set `to` (from `from`); `late_ms` after the window opened (0 when on time, more after
    /// downtime: only what is in force now is applied).
    Apply { from: Bounds, to: Bounds, late_ms: i64 },
    /// The window closed: put back what was there before it.
    Restore { from: Bounds, to: Bounds },
    /// The window closed and the HPA already has what it had before (a restore that landed
    /// before the leader was lost, or someone put it back): nothing to send, the holding ends.
    Release,
    /// The window closed, but the HPA was changed during it by someone else: leave it, pause
    /// the plan and say why.
    Pause { why: String },
}

/// What a plan holds, once a step that was being sent when its leader was lost is settled by
/// the HPA as it is now: landed (`now` is what it set) — held; not landed (`now` is what it
/// changed from) — what was held before it; else someone changed the HPA meanwhile — held,
/// so the window's end pauses the plan rather than undo their change.
pub fn settle(holding: Option<Holding>, now: Bounds) -> Option<Holding> {
    let h = holding?;
    let Some(from) = h.sending else { return Some(h) };
    if now != h.applied && now == from {
        // The first step of a window changes from what was before; a later one from what the
        // plan had set.
        return (from != h.before).then_some(Holding { applied: from, sending: None, ..h });
    }
    Some(Holding { sending: None, ..h })
}

/// How late a step may be and still count as on time (the leader's loop runs every few
/// seconds).
pub const ON_TIME_MS: i64 = 10_000;

/// The plan's next move at `now_ms`.
pub fn next(in_force: Option<(Level, i64)>, holding: Option<Holding>, now: Bounds, now_ms: i64) -> Step {
    let late = |since_ms: i64| {
        let late = (now_ms - since_ms).max(0);
        if late <= ON_TIME_MS { 0 } else { late }
    };
    match (in_force, holding) {
        // A window open and nothing held yet: at its start, or on taking over after downtime.
        (Some((level, since_ms)), None) => {
            let to = raised(now, level);
            if to == now { Step::Stay } else { Step::Apply { from: now, to, late_ms: late(since_ms) } }
        }
        // Someone changed the HPA while the plan held it: left alone; at the window's end the
        // plan pauses rather than undo their change.
        (Some(_), Some(h)) if now != h.applied => Step::Stay,
        // Held: follows the level as overlapping windows open and close.
        (Some((level, since_ms)), Some(h)) => {
            let to = raised(h.before, level);
            if to == now { Step::Stay } else { Step::Apply { from: now, to, late_ms: late(since_ms) } }
        }
        (None, Some(h)) if now == h.applied => Step::Restore { from: now, to: h.before },
        (None, Some(h)) if now == h.before => Step::Release,
        (None, Some(h)) => Step::Pause { why: changed_during(h, now) },
        (None, None) => Step::Stay,
    }
}

fn changed_during(h: Holding, now: Bounds) -> String {
    format!(
        "the HPA was changed during the window ({} set by the plan, {now} now): it is left as it is and the plan paused",
        h.applied
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn b(min: i32, max: i32) -> Bounds {
        Bounds { min_replicas: min, max_replicas: max }
    }

    fn level(min: i32) -> Level {
        Level { min_replicas: Some(min), max_replicas: None }
    }

    #[test]
    fn a_window_raises_at_its_start_and_restores_at_its_end() {
        // Opens at 0: the minimum goes up, the maximum makes room.
        assert_eq!(
            next(Some((level(8), 0)), None, b(3, 6), 5_000),
            Step::Apply { from: b(3, 6), to: b(8, 8), late_ms: 0 }
        );
        let held = Holding { before: b(3, 6), applied: b(8, 8), since_ms: 0, sending: None };
        assert_eq!(next(Some((level(8), 0)), Some(held), b(8, 8), HOUR), Step::Stay);
        assert_eq!(next(None, Some(held), b(8, 8), 2 * HOUR), Step::Restore { from: b(8, 8), to: b(3, 6) });
        // A level lowers nothing: an HPA already above it is left.
        assert_eq!(next(Some((level(8), 0)), None, b(10, 20), 0), Step::Stay);
        assert_eq!(raised(b(3, 20), Level { min_replicas: Some(8), max_replicas: Some(12) }), b(8, 20));
    }

    #[test]
    fn a_change_by_someone_else_during_the_window_pauses_the_plan_at_its_end() {
        let held = Holding { before: b(3, 6), applied: b(8, 8), since_ms: 0, sending: None };
        // During the window: left alone.
        assert_eq!(next(Some((level(8), 0)), Some(held), b(10, 12), HOUR), Step::Stay);
        // At its end: not undone, the plan paused with the reason.
        let Step::Pause { why } = next(None, Some(held), b(10, 12), 2 * HOUR) else { panic!("not paused") };
        assert!(why.contains("8–8 set by the plan, 10–12 now"), "{why}");
    }

    #[test]
    fn after_downtime_what_is_in_force_now_is_applied_and_how_late_said() {
        // The window opened two hours ago, the leader just took over: applied now, late.
        assert_eq!(
            next(Some((level(8), 0)), None, b(3, 6), 2 * HOUR),
            Step::Apply { from: b(3, 6), to: b(8, 8), late_ms: 2 * HOUR }
        );
        // Within the loop's few seconds it is on time.
        assert_eq!(
            next(Some((level(8), 0)), None, b(3, 6), ON_TIME_MS),
            Step::Apply { from: b(3, 6), to: b(8, 8), late_ms: 0 }
        );
        // A window that opened and closed while down: nothing replayed.
        assert_eq!(next(None, None, b(3, 6), 5 * HOUR), Step::Stay);
    }

    #[test]
    fn a_step_cut_off_by_a_lost_leader_is_settled_by_the_hpa_as_it_is() {
        let sent = Holding { before: b(3, 6), applied: b(8, 8), since_ms: 0, sending: Some(b(3, 6)) };
        let landed = Holding { sending: None, ..sent };
        // Landed: held, and nothing sent again.
        assert_eq!(settle(Some(sent), b(8, 8)), Some(landed));
        assert_eq!(next(Some((level(8), 0)), Some(landed), b(8, 8), HOUR), Step::Stay);
        // Not landed: nothing held, so the window's level is applied (once).
        assert_eq!(settle(Some(sent), b(3, 6)), None);
        // A later step of the window, not landed: what the plan had set is still held.
        let raised = Holding { before: b(3, 6), applied: b(12, 12), since_ms: 0, sending: Some(b(8, 8)) };
        assert_eq!(settle(Some(raised), b(8, 8)).map(|h| h.applied), Some(b(8, 8)));
        // Changed by someone meanwhile: held as sent, so the window's end pauses the plan.
        assert_eq!(settle(Some(sent), b(10, 10)), Some(landed));
        // A restore that landed before the leader was lost: released, not paused.
        assert_eq!(next(None, Some(landed), b(3, 6), 2 * HOUR), Step::Release);
    }

    #[test]
    fn held_bounds_follow_overlapping_windows() {
        let held = Holding { before: b(3, 6), applied: b(8, 8), since_ms: 0, sending: None };
        // A stronger window opens inside: up again, from what was before.
        assert_eq!(
            next(Some((level(12), HOUR)), Some(held), b(8, 8), HOUR),
            Step::Apply { from: b(8, 8), to: b(12, 12), late_ms: 0 }
        );
    }
}
