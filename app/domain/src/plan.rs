//! Scheduled scaling plans as they are exchanged: the schedule, the people, what a plan holds
//! on its HPA, and its backtest. What reads time zones and decides steps is in
//! [`crate::plans`] (the server's; the browser's bundle carries no time zone database).

use serde::{Deserialize, Serialize};

/// A plan's schedule: when its levels are in force.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PlanSchedule))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Schedule {
    /// An IANA time zone, e.g. `Asia/Shanghai`.
    pub time_zone: String,
    pub windows: Vec<WindowRule>,
    #[serde(default)]
    pub exclusions: Vec<Exclusion>,
}

/// A window of local time and the level in force during it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PlanWindowRule))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WindowRule {
    pub repeat: Repeat,
    /// Local start, `HH:MM`.
    pub start: String,
    /// Local end, `HH:MM`; at or before `start`: the next day.
    pub end: String,
    pub level: Level,
}

/// Which days a window opens on.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PlanRepeat))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "every", deny_unknown_fields)]
pub enum Repeat {
    Day,
    /// Weekdays as `monday` … `sunday`.
    Week {
        days: Vec<String>,
    },
    /// One date, `YYYY-MM-DD`.
    Once {
        date: String,
    },
}

/// What a window raises the HPA to: its minimum (and maximum, when the minimum needs room) at
/// least these. `None` leaves the field as it is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PlanLevel))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Level {
    pub min_replicas: Option<i32>,
    pub max_replicas: Option<i32>,
}

impl Level {
    /// The stronger of two levels in force at once.
    pub fn with(self, other: Level) -> Level {
        let most = |a: Option<i32>, b: Option<i32>| a.max(b);
        Level {
            min_replicas: most(self.min_replicas, other.min_replicas),
            max_replicas: most(self.max_replicas, other.max_replicas),
        }
    }
}

/// A date the plan skips, whole or for a window of it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PlanExclusion))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Exclusion {
    /// `YYYY-MM-DD`, local.
    pub date: String,
    /// `HH:MM`–`HH:MM` of that date; both absent: the whole date.
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Where a plan stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PlanState))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum State {
    /// Written, waiting for a second person.
    Draft,
    /// Approved: its steps run.
    Active,
    /// Stopped by someone, or by itself when the HPA was changed during a window.
    Paused,
    Rejected,
    Cancelled,
}

/// Whether a plan needs a second person (`--plans`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Approval {
    /// Another person approves (maker–checker): the default.
    #[default]
    RequireApproval,
    /// Its author may approve it (small teams; said on every approval row).
    SinglePerson,
}

/// The people and pins of a plan.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PlanRecord))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub state: State,
    pub author: String,
    pub approver: Option<String>,
    /// The HPA's spec hash when it was approved.
    pub approved_spec: Option<String>,
}

/// An HPA's replica bounds.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PlanBounds))]
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

/// What a plan holds while a window is open: the bounds before it, and what it set.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PlanHolding))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Holding {
    pub before: Bounds,
    pub applied: Bounds,
    /// When the window it holds for opened (Unix ms).
    pub since_ms: i64,
    /// Set while a step that puts `applied` in place is being sent, to what it changes from:
    /// a leader lost mid-step leaves it, and the next one reads the HPA to tell whether the
    /// step landed ([`crate::plans::steps::settle`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sending: Option<Bounds>,
}

/// A plan as it is stored and served.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScheduledPlan))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub id: i64,
    /// The fleet's name for its cluster.
    pub cluster: String,
    pub namespace: String,
    /// The Deployment.
    pub name: String,
    /// The HPA it raises.
    pub autoscaler: String,
    /// Why the plan exists (a change ticket, the peak it is for).
    pub reason: String,
    pub schedule: Schedule,
    #[serde(flatten)]
    pub record: Record,
    /// The groups the approver's steps are sent with (theirs when they approved, bounded).
    #[serde(default)]
    pub approver_groups: Vec<String>,
    /// What the plan holds while a window is open.
    #[serde(default)]
    pub holding: Option<Holding>,
    /// Why it paused itself, when it did.
    #[serde(default)]
    pub paused_why: Option<String>,
    /// The last step the plan made or tried.
    #[serde(default)]
    pub last_step: Option<PlanStep>,
    /// The schedule replayed over the recorded weeks when it was written.
    #[serde(default)]
    pub backtest: Option<Backtest>,
    /// After each window, what it did against the same window a week before (newest last).
    #[serde(default)]
    pub reports: Vec<WindowReport>,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// Goes up with every change to the plan: a change made against an older one is refused.
    pub version: i64,
}

/// A step a plan made or tried, in words.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanStep {
    /// Unix ms.
    pub at_ms: i64,
    /// E.g. `minReplicas 3 → 8 applied 2 min 10 s late (window opened 17:45)`.
    pub text: String,
    /// The audit row that records it.
    pub audit_seq: Option<i64>,
}

/// What is asked to draft or edit a plan.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanRequest {
    pub schedule: Schedule,
    pub reason: String,
    /// On an edit: the plan's version it was made against.
    #[serde(default)]
    pub version: Option<i64>,
}

/// What is asked to approve, reject, pause, resume or cancel a plan.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanMoveRequest {
    pub reason: String,
    /// The plan's version it was made against.
    pub version: i64,
}

/// Figures of one stretch of recorded demand replayed with and without the plan.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanFigures {
    /// Minutes the service was overloaded (demand above what ready replicas serve).
    pub overloaded_minutes_without: f64,
    pub overloaded_minutes_with: f64,
    /// Minutes CPU stood above the HPA's target.
    pub above_target_minutes_without: f64,
    pub above_target_minutes_with: f64,
    /// What the plan costs: replica-hours and core-hours (requests) more.
    pub extra_replica_hours: f64,
    pub extra_core_hours: f64,
}

/// A week of recorded demand replayed with and without the plan.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanWeek {
    /// Where the week starts and ends, Unix ms.
    pub from_ms: i64,
    pub to_ms: i64,
    /// How many of the plan's windows fell in it.
    pub windows: usize,
    pub figures: PlanFigures,
    /// Each of those windows on its own.
    #[serde(default)]
    pub occurrences: Vec<WindowFigures>,
}

/// One window of a backtest: when it fell (Unix ms), with and without the plan.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowFigures {
    pub start_ms: i64,
    pub end_ms: i64,
    pub figures: PlanFigures,
}

/// The schedule replayed over every recorded week.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PlanBacktest))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Backtest {
    /// When it was made, Unix ms.
    pub at_ms: i64,
    pub weeks: Vec<PlanWeek>,
    pub total: PlanFigures,
}

/// A recurring peak found in recorded demand, and what the proposal does about it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundPeak {
    /// `day`, or a weekday (`monday` … `sunday`) for a weekly peak.
    pub every: String,
    /// Local `HH:MM` the load rises and falls.
    pub start: String,
    pub end: String,
    /// The share of days (weeks) it was seen on.
    pub regularity: f64,
    /// Its load over the day's base.
    pub height: f64,
    /// How far ahead of the rise the window opens: new pods' start-up time.
    pub lead_minutes: i64,
    /// The minimum the window proposes, when one removes the recorded overload.
    pub min_replicas: Option<i32>,
    /// Over the recorded occurrences: the HPA as it is, and with the window's minimum.
    pub overloaded_minutes_without: f64,
    pub overloaded_minutes_with: f64,
    /// Why it has no window, when it has none.
    pub note: Option<String>,
}

/// A plan proposed from recorded demand: the peaks found, and a draft's schedule for the
/// ones a higher minimum helps (none when nothing needs one).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanProposal {
    pub peaks: Vec<FoundPeak>,
    /// The draft to write, when a window helps.
    pub request: Option<PlanRequest>,
    /// Days of demand it read, and how long new pods took to serve.
    pub days_read: f64,
    pub ready_delay_ms: i64,
}

/// What is asked for a proposal.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProposeRequest {
    /// The IANA time zone the peaks are read in (the business's, e.g. `Asia/Shanghai`).
    pub time_zone: String,
}

/// What someone asks of a plan that exists.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanAction {
    Approve,
    Reject,
    Pause,
    Resume,
    Cancel,
}

impl PlanAction {
    pub const ALL: [PlanAction; 5] =
        [PlanAction::Approve, PlanAction::Reject, PlanAction::Pause, PlanAction::Resume, PlanAction::Cancel];

    /// The word in a path or a form.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanAction::Approve => "approve",
            PlanAction::Reject => "reject",
            PlanAction::Pause => "pause",
            PlanAction::Resume => "resume",
            PlanAction::Cancel => "cancel",
        }
    }

    pub fn past(self) -> &'static str {
        match self {
            PlanAction::Approve => "approved",
            PlanAction::Reject => "rejected",
            PlanAction::Pause => "paused",
            PlanAction::Resume => "resumed",
            PlanAction::Cancel => "cancelled",
        }
    }

    /// Whether a plan in `state` takes it (the rest of the rules, such as who approves, are
    /// the server's).
    pub fn fits(self, state: State) -> bool {
        match self {
            PlanAction::Approve | PlanAction::Reject => state == State::Draft,
            PlanAction::Pause => state == State::Active,
            PlanAction::Resume => state == State::Paused,
            PlanAction::Cancel => !matches!(state, State::Rejected | State::Cancelled),
        }
    }
}

/// How a window went, measured on recorded demand.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = WindowMeasured))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Measured {
    /// Minutes the traffic asked more CPU than the ready pods request.
    pub overloaded_minutes: f64,
    /// Ready replicas × hours.
    pub replica_hours: f64,
    /// Minutes of it that were recorded.
    pub recorded_minutes: f64,
}

/// A window that closed, with the plan, against the same window a week before.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowReport {
    pub start_ms: i64,
    pub end_ms: i64,
    pub with_plan: Measured,
    /// `None` when nothing was recorded a week before.
    pub week_before: Option<Measured>,
}

/// One window of a plan as it falls: Unix ms, the level, and the local time in words.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowSpan {
    pub start_ms: i64,
    pub end_ms: i64,
    pub level: Level,
    /// E.g. `Thu 26 Nov 17:55 – 21:45 CST`, in the plan's time zone.
    pub local: String,
}

/// A plan with its windows from a day ago to a week ahead (worked out on the server, which
/// has the time zone database).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanView {
    pub plan: Plan,
    pub windows: Vec<WindowSpan>,
    /// The cluster's time when it was read (Unix ms): which windows are past.
    pub now_ms: i64,
}

impl PlanView {
    /// The window open now or the next to open.
    pub fn next_window(&self) -> Option<&WindowSpan> {
        self.windows.iter().find(|w| w.end_ms > self.now_ms)
    }
}

/// A window in the fleet's calendar.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarWindow {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub plan_id: i64,
    pub state: State,
    pub reason: String,
    pub window: WindowSpan,
}

/// Why a plan was not changed, for a form: the message, and each field at fault.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanRefusal {
    pub message: String,
    pub errors: Vec<crate::scaling::FieldError>,
}
