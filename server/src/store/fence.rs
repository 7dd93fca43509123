//! Fencing: what only the leader may write (samples, readings, rollups, forgetting a stepped
//! back clock) carries the leadership term it holds, and the store refuses a term older than
//! the newest one it has issued. A leader paused past its lease, or cut off from the API
//! server, may wake up still believing it leads; the term it carries is then stale and its
//! write is refused in the same transaction that would have made it.
//!
//! Two locks: the holder gives up its term by its own monotonic clock before its lease can run
//! out for the others ([`Fence::term`] answers `Fenced` after `valid_until`), and the store
//! compares terms under a row lock ([`crate::store::HistoryStore::claim_term`] issues them).

use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

use super::StoreError;

/// A leadership term: its number, issued by the store, and the lease it was issued for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    pub lease: String,
    pub number: i64,
}

/// The term this process writes under, if any. One per process, shared by its history
/// handles and the election that updates it.
#[derive(Clone, Debug, Default)]
pub struct Fence(Option<Arc<Elected>>);

#[derive(Debug)]
struct Elected {
    lease: String,
    held: Mutex<Option<(i64, Instant)>>,
}

impl Fence {
    /// No election: this process is the only writer (one replica), writes carry no term.
    pub const fn unfenced() -> Fence {
        Fence(None)
    }

    /// Writes under the lease `lease`: refused until [`Fence::hold`] gives a term.
    pub fn elected(lease: &str) -> Fence {
        Fence(Some(Arc::new(Elected { lease: lease.to_string(), held: Mutex::new(None) })))
    }

    /// Whether writes depend on an election.
    pub fn is_elected(&self) -> bool {
        self.0.is_some()
    }

    /// Holds term `number` until `valid_until` (renewed by calling again).
    pub fn hold(&self, number: i64, valid_until: Instant) {
        if let Some(e) = &self.0 {
            *e.held.lock().unwrap_or_else(|p| p.into_inner()) = Some((number, valid_until));
        }
    }

    /// Gives the term up: nothing more is written under it.
    pub fn release(&self) {
        if let Some(e) = &self.0 {
            *e.held.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }

    /// The term writes carry now: none without an election; `Fenced` when this process does
    /// not lead, or its hold ran out without a renewal.
    pub fn term(&self) -> Result<Option<Term>, StoreError> {
        let Some(e) = &self.0 else { return Ok(None) };
        match *e.held.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((number, until)) if Instant::now() < until => {
                Ok(Some(Term { lease: e.lease.clone(), number }))
            }
            Some((number, _)) => Err(StoreError::Fenced(format!(
                "the lease {} was not renewed in time: term {number} is over",
                e.lease
            ))),
            None => Err(StoreError::Fenced(format!("this replica does not hold the lease {}", e.lease))),
        }
    }

    /// Whether this process may write what only the leader writes now.
    pub fn leading(&self) -> bool {
        self.term().is_ok()
    }
}

/// Why a write under `term` was refused by the store: a newer term was issued since.
pub(crate) fn superseded(term: Option<&Term>) -> StoreError {
    match term {
        Some(t) => StoreError::Fenced(format!(
            "term {} of the lease {} is no longer the newest: another replica leads",
            t.number, t.lease
        )),
        None => StoreError::Fenced("a newer leadership term was issued".into()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_term_is_carried_only_while_it_is_held_and_valid() {
        assert_eq!(Fence::unfenced().term().unwrap(), None, "one replica writes without a term");
        let fence = Fence::elected("paydeck-leader");
        assert!(matches!(fence.term(), Err(StoreError::Fenced(_))), "not before it is held");
        fence.hold(7, Instant::now() + Duration::from_secs(60));
        assert_eq!(fence.term().unwrap(), Some(Term { lease: "paydeck-leader".into(), number: 7 }));
        fence.hold(7, Instant::now() - Duration::from_millis(1));
        let over = fence.term().unwrap_err().to_string();
        assert!(over.contains("not renewed in time"), "{over}");
        fence.hold(8, Instant::now() + Duration::from_secs(60));
        fence.release();
        assert!(!fence.leading());
    }
}
