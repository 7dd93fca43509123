//! What a plan does to its HPA, and when: raise to the level in force at a window's start,
//! restore what was there before at its end — unless someone changed the HPA during the
//! window, then leave it, pause the plan and say why — and after downtime apply what should
//! be in force now, never the steps missed.

use serde::{Deserialize, Serialize};

use super::schedule::Level;

/// An HPA's replica bounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bounds {
    pub min_replicas: i32,
    pub max_replicas: i32,
}

impl std::fmt::Display for Bounds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}–{}", self.min_replicas, self.max_replicas)
    }
}

/// `current` raised to `level`: the minimum at least the level's, the maximum at least the
/// level's and never below the minimum. A level lowers nothing.
pub fn raised(current: Bounds, level: Level) -> Bounds {
    let min = current.min_replicas.max(level.min_replicas.unwrap_or(0));
    let max = current.max_replicas.max(level.max_replicas.unwrap_or(0)).max(min);
    Bounds { min_replicas: min, max_replicas: max }
}

/// What a plan holds while a window is open: the bounds before it, and what it set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Holding {
    pub before: Bounds,
    pub applied: Bounds,
    /// When the window it holds for opened (Unix ms).
    pub since_ms: i64,
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
    /// The window closed, but the HPA was changed during it by someone else: leave it, pause
    /// the plan and say why.
    Pause { why: String },
}

/// How late a step may be and still count as on time (the leader's loop runs every few
/// seconds).
pub const ON_TIME_MS: i64 = 30_000;

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
        let held = Holding { before: b(3, 6), applied: b(8, 8), since_ms: 0 };
        assert_eq!(next(Some((level(8), 0)), Some(held), b(8, 8), HOUR), Step::Stay);
        assert_eq!(next(None, Some(held), b(8, 8), 2 * HOUR), Step::Restore { from: b(8, 8), to: b(3, 6) });
        // A level lowers nothing: an HPA already above it is left.
        assert_eq!(next(Some((level(8), 0)), None, b(10, 20), 0), Step::Stay);
        assert_eq!(raised(b(3, 20), Level { min_replicas: Some(8), max_replicas: Some(12) }), b(8, 20));
    }

    #[test]
    fn a_change_by_someone_else_during_the_window_pauses_the_plan_at_its_end() {
        let held = Holding { before: b(3, 6), applied: b(8, 8), since_ms: 0 };
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
    fn held_bounds_follow_overlapping_windows() {
        let held = Holding { before: b(3, 6), applied: b(8, 8), since_ms: 0 };
        // A stronger window opens inside: up again, from what was before.
        assert_eq!(
            next(Some((level(12), HOUR)), Some(held), b(8, 8), HOUR),
            Step::Apply { from: b(8, 8), to: b(12, 12), late_ms: 0 }
        );
    }
}
