//! A plan's life, maker–checker: drafted by one person, approved by another (never its author,
//! unless the server runs single-person plans), pinned to the HPA's spec the approver saw —
//! a plan whose HPA changed since needs approving again — then active, paused, resumed or
//! cancelled. Each move is checked here and said in words when refused; the caller audits it.

pub use crate::plan::{Approval, Record, State};
use crate::plan::{Plan, PlanRequest};

/// A move someone asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Move {
    /// Changes the plan's schedule or levels: back to draft, approval gone.
    Edit,
    /// With the HPA's spec hash the approver saw.
    Approve {
        spec: String,
    },
    Reject,
    Pause,
    Resume,
    Cancel,
}

/// Why a move is refused, in words for the person who asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Where a new plan is for: the cluster, the Deployment's namespace and name, and the HPA.
pub struct Target<'a> {
    pub cluster: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub autoscaler: String,
}

impl Plan {
    /// A new draft of `request` by `author`, not stored yet (its id is the store's to give).
    pub fn drafted(target: Target<'_>, request: PlanRequest, author: &str, now_ms: i64) -> Plan {
        Plan {
            id: 0,
            cluster: target.cluster.to_string(),
            namespace: target.namespace.to_string(),
            name: target.name.to_string(),
            autoscaler: target.autoscaler,
            reason: request.reason.trim().to_string(),
            schedule: request.schedule,
            record: Record::draft(author),
            approver_groups: vec![],
            holding: None,
            paused_why: None,
            last_step: None,
            backtest: None,
            reports: vec![],
            created_ms: now_ms,
            updated_ms: now_ms,
            version: 1,
        }
    }
}

impl Record {
    /// A new draft by `author`.
    pub fn draft(author: &str) -> Record {
        Record { state: State::Draft, author: author.into(), approver: None, approved_spec: None }
    }

    /// The plan after `by` makes `step`, or why not. Rights on the HPA are the cluster's to
    /// answer (asked apart, as the person); this is the plan's own rules.
    pub fn after(&self, step: &Move, by: &str, approval: Approval) -> Result<Record, Refused> {
        let refuse = |why: String| Err(Refused(why));
        let closed = matches!(self.state, State::Rejected | State::Cancelled);
        if closed {
            return refuse(format!("the plan is {}: nothing more can be done with it", self.word()));
        }
        match step {
            Move::Edit => {
                Ok(Record { state: State::Draft, approver: None, approved_spec: None, ..self.clone() })
            }
            Move::Approve { .. } | Move::Reject if self.state != State::Draft => {
                refuse(format!("only a draft is approved or rejected; this plan is {}", self.word()))
            }
            Move::Approve { .. } if by == self.author && approval == Approval::RequireApproval => {
                refuse(format!("{by} wrote this plan: another person must approve it (maker–checker)"))
            }
            Move::Approve { spec } => Ok(Record {
                state: State::Active,
                approver: Some(by.into()),
                approved_spec: Some(spec.clone()),
                ..self.clone()
            }),
            Move::Reject => Ok(Record { state: State::Rejected, ..self.clone() }),
            Move::Pause if self.state != State::Active => {
                refuse(format!("only an active plan is paused; this plan is {}", self.word()))
            }
            Move::Pause => Ok(Record { state: State::Paused, ..self.clone() }),
            Move::Resume if self.state != State::Paused => {
                refuse(format!("only a paused plan is resumed; this plan is {}", self.word()))
            }
            Move::Resume => Ok(Record { state: State::Active, ..self.clone() }),
            Move::Cancel => Ok(Record { state: State::Cancelled, ..self.clone() }),
        }
    }

    /// Whether its steps may run against an HPA whose spec hash is now `spec`; if not, why.
    pub fn may_run(&self, spec: &str) -> Result<(), Refused> {
        match (&self.state, &self.approved_spec) {
            (State::Active, Some(approved)) if approved == spec => Ok(()),
            (State::Active, _) => Err(Refused(
                "the HPA's spec changed since the plan was approved: it needs approving again".into(),
            )),
            _ => Err(Refused(format!("the plan is {}", self.word()))),
        }
    }

    fn word(&self) -> &'static str {
        match self.state {
            State::Draft => "a draft",
            State::Active => "active",
            State::Paused => "paused",
            State::Rejected => "rejected",
            State::Cancelled => "cancelled",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: Approval = Approval::RequireApproval;

    fn approve(spec: &str) -> Move {
        Move::Approve { spec: spec.into() }
    }

    #[test]
    fn a_plan_is_approved_by_another_person_never_its_author() {
        let draft = Record::draft("ana");
        let refused = draft.after(&approve("h1"), "ana", TWO).unwrap_err();
        assert!(refused.0.contains("another person must approve"), "{refused}");
        let active = draft.after(&approve("h1"), "ben", TWO).unwrap();
        assert_eq!((active.state, active.approver.as_deref()), (State::Active, Some("ben")));
        // Small teams may let the author approve, when the server says so.
        assert_eq!(draft.after(&approve("h1"), "ana", Approval::SinglePerson).unwrap().state, State::Active);
    }

    #[test]
    fn approval_is_pinned_to_the_hpa_spec_it_saw_and_an_edit_takes_it_away() {
        let active = Record::draft("ana").after(&approve("h1"), "ben", TWO).unwrap();
        assert_eq!(active.may_run("h1"), Ok(()));
        assert!(active.may_run("h2").unwrap_err().0.contains("approving again"));
        let edited = active.after(&Move::Edit, "ana", TWO).unwrap();
        assert_eq!((edited.state, edited.approver.clone()), (State::Draft, None));
        assert!(edited.may_run("h1").is_err(), "a draft runs nothing");
    }

    #[test]
    fn pause_resume_reject_and_cancel_only_where_they_make_sense() {
        let draft = Record::draft("ana");
        assert!(draft.after(&Move::Pause, "ana", TWO).is_err());
        let active = draft.after(&approve("h1"), "ben", TWO).unwrap();
        assert!(active.after(&approve("h1"), "cy", TWO).is_err(), "approved once");
        assert!(active.after(&Move::Resume, "ben", TWO).is_err());
        let paused = active.after(&Move::Pause, "ben", TWO).unwrap();
        assert_eq!(paused.after(&Move::Resume, "ana", TWO).unwrap().state, State::Active);
        let rejected = draft.after(&Move::Reject, "ben", TWO).unwrap();
        assert!(rejected.after(&Move::Edit, "ana", TWO).unwrap_err().0.contains("rejected"));
        let cancelled = paused.after(&Move::Cancel, "ana", TWO).unwrap();
        assert!(cancelled.after(&Move::Resume, "ana", TWO).is_err());
    }
}
