//! Faults the API server can be made to play, for tests of what is built on it: reads
//! answered with an error status (429 with Retry-After, 500, 503), requests accepted and never
//! answered, watch streams that go silent part-way, the metrics APIs gone. Switched from the
//! process that runs the simulator (`Cluster::faults`), never over the API itself.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use tokio::sync::watch;

/// One fault, in force until it is cleared or replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Reads of resources (lists, gets, watches) answered with this status; a 429 carries
    /// `Retry-After`.
    Status { code: u16, retry_after_secs: Option<u32> },
    /// Every request is accepted and not answered, and open watch streams go silent.
    Hang,
    /// Watches send the events they start with, then nothing more (no events, no bookmarks).
    StallWatches,
    /// The metrics APIs (`metrics.k8s.io`, `custom.metrics.k8s.io`) answer 503, as when
    /// metrics-server is down.
    MetricsGone,
}

/// The switch, shared by every handler of one simulated cluster.
#[derive(Clone)]
pub struct Faults(Arc<Inner>);

struct Inner {
    current: watch::Sender<Option<Fault>>,
    resource_reads: AtomicU64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults(Arc::new(Inner { current: watch::channel(None).0, resource_reads: AtomicU64::new(0) }))
    }
}

impl Faults {
    pub fn set(&self, fault: Fault) {
        self.0.current.send_replace(Some(fault));
    }

    pub fn clear(&self) {
        self.0.current.send_replace(None);
    }

    pub fn current(&self) -> Option<Fault> {
        self.0.current.borrow().clone()
    }

    /// Lists, gets and watches of resources asked for so far, answered or refused (the
    /// metrics APIs not included): how a test tells backoff from a hot loop.
    pub fn resource_reads(&self) -> u64 {
        self.0.resource_reads.load(Ordering::Relaxed)
    }

    pub(crate) fn count_resource_read(&self) {
        self.0.resource_reads.fetch_add(1, Ordering::Relaxed);
    }

    /// Waits while a fault holds that `silences` (returns at once if none does).
    pub(crate) async fn pass(&self, silences: impl Fn(&Fault) -> bool) {
        let mut rx = self.0.current.subscribe();
        let _ = rx.wait_for(|f| !f.as_ref().is_some_and(&silences)).await;
    }

    /// Waits until a fault holds that `ends` (for ever if none comes).
    pub(crate) async fn until(&self, ends: impl Fn(&Fault) -> bool) {
        let mut rx = self.0.current.subscribe();
        let _ = rx.wait_for(|f| f.as_ref().is_some_and(&ends)).await;
    }

    /// Whether an open watch ends now: an API server answering errors has dropped its
    /// streams, so clients must come back and meet the errors.
    pub(crate) fn ends_watches(fault: &Fault) -> bool {
        matches!(fault, Fault::Status { .. })
    }

    /// Whether a watch must stay silent now.
    pub(crate) fn silences_watches(fault: &Fault) -> bool {
        matches!(fault, Fault::Hang | Fault::StallWatches)
    }
}
