//! Leader election among replicas: one `coordination.k8s.io/v1` Lease in Paydeck's
//! namespace, taken and renewed with resourceVersion-conditional updates, as client-go's
//! leader election does. Every replica serves pages from its own watches; the one holding the
//! lease samples, rolls up and settles what stopped replicas left open.
//!
//! Time is each replica's own monotonic clock, never the timestamps in the lease (clocks
//! differ between nodes): a candidate counts a lease expired when its record has not changed
//! for the lease's duration since the candidate saw it change, less one look (it may have seen
//! the change that late), and looks again right then. The holder stops writing
//! [`RENEW_SHARE`] of the way through its lease unless it renewed — before any candidate can
//! count the lease expired — and the store refuses a term older than the newest it issued
//! ([`crate::store::fence`]), for a holder paused past both.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, AtomicU64},
    },
    time::{Duration, Instant},
};

use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
};
use kube::{Api, api::PostParams};
use prometheus_client::metrics::{counter::Counter, gauge::Gauge};

use crate::store::{Fence, HistoryStore};

/// The default lease's name.
pub const DEFAULT_LEASE: &str = "paydeck-leader";

/// The share of the lease's duration a holder may go without renewing before it stops
/// writing (client-go: a renew deadline of 10 s in a 15-s lease).
const RENEW_SHARE: f64 = 2.0 / 3.0;

/// How one replica takes part.
#[derive(Clone, Debug)]
pub struct Election {
    /// Leases in Paydeck's namespace, with Paydeck's own account.
    pub leases: Api<Lease>,
    pub lease: String,
    /// This replica's name in the lease: unique per process.
    pub identity: String,
    /// How long a lease lasts without renewal.
    pub duration: Duration,
}

impl Election {
    /// How long the holder writes after its last renewal began.
    fn renew_deadline(&self) -> Duration {
        self.duration.mul_f64(RENEW_SHARE)
    }

    /// How often candidates look and the holder renews: several times per renew deadline.
    fn retry_period(&self) -> Duration {
        (self.duration / 7).max(Duration::from_millis(100))
    }
}

/// The election's metrics.
#[derive(Debug, Default)]
pub struct LeaderStats {
    /// 1 while this replica leads.
    pub leading: Gauge,
    /// The term it leads under (0 when it does not).
    pub term: Gauge<i64, AtomicI64>,
    /// Times this replica became leader.
    pub acquired: Counter,
    /// Times it stopped leading without being asked to stop.
    pub lost: Counter,
    /// Seconds the last renewal round trip took.
    pub renew_seconds: Gauge<f64, AtomicU64>,
}

/// Unique per process: the pod's name (or the host's) and a random suffix, so a restarted
/// replica is a new holder.
pub fn default_identity() -> String {
    let host = std::env::var("POD_NAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_string()))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "paydeck".into());
    let mut suffix = [0u8; 4];
    let _ = getrandom::fill(&mut suffix);
    format!("{host}_{}", suffix.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// Runs the election until `stopping`; `fence` carries the term while this replica leads, and
/// `on_lead` runs each time it becomes leader (after its term is issued). On stopping, a
/// holder gives the lease up so another replica takes over at once.
pub fn start(
    election: Election,
    store: Arc<dyn HistoryStore>,
    fence: Fence,
    stats: Arc<LeaderStats>,
    on_lead: impl Fn() + Send + Sync + 'static,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let span = tracing::info_span!("leader", lease = %election.lease, identity = %election.identity);
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            let mut candidate = Candidate { observed: None, leading: None, next_look: None };
            loop {
                let round = Instant::now();
                let held = candidate.round(&election).await;
                match held {
                    Ok(true) => {
                        let until = round + election.renew_deadline();
                        if let Some((term, _)) = candidate.leading {
                            candidate.leading = Some((term, until));
                            fence.hold(term, until);
                        } else {
                            match store
                                .claim_term(&election.lease, &election.identity, crate::clock::unix_ms())
                                .await
                            {
                                Ok(term) => {
                                    fence.hold(term, until);
                                    candidate.leading = Some((term, until));
                                    stats.leading.set(1);
                                    stats.term.set(term);
                                    stats.acquired.inc();
                                    tracing::info!(term, "leading: sampling and maintenance run here");
                                    on_lead();
                                }
                                Err(e) => tracing::warn!(
                                    "holding the lease but the store did not issue a term ({e}); will retry"
                                ),
                            }
                        }
                        stats.renew_seconds.set(round.elapsed().as_secs_f64());
                    }
                    Ok(false) => candidate.step_down(&fence, &stats, "another replica holds the lease"),
                    Err(e) => {
                        if candidate.leading.is_some_and(|(_, until)| Instant::now() >= until) {
                            candidate.step_down(
                                &fence,
                                &stats,
                                &format!("the lease was not renewed in time ({e})"),
                            );
                        } else {
                            tracing::debug!("lease round failed: {e}");
                        }
                    }
                }
                let pause = match candidate.next_look.take() {
                    Some(at) => at.saturating_duration_since(Instant::now()).min(election.retry_period()),
                    None => election.retry_period(),
                };
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stopping.wait_for(|stop| *stop) => break,
                }
            }
            if candidate.leading.is_some() {
                fence.release();
                stats.leading.set(0);
                candidate.give_up(&election).await;
            }
        },
        span,
    ))
}

/// What one replica knows between rounds.
struct Candidate {
    /// The lease's resourceVersion when this replica last saw it change, and when.
    observed: Option<(String, Instant)>,
    /// The term this replica leads under and until when it writes, when it leads.
    leading: Option<(i64, Instant)>,
    /// When the lease another replica holds runs out, if that comes before the next look.
    next_look: Option<Instant>,
}

impl Candidate {
    /// Takes or renews the lease: whether this replica holds it now. Each call to the API
    /// server is cut off at the renew deadline, so a hung server cannot keep the holder
    /// writing past it.
    async fn round(&mut self, election: &Election) -> Result<bool, String> {
        let limit = election.renew_deadline();
        let current = tokio::time::timeout(limit, election.leases.get_opt(&election.lease))
            .await
            .map_err(|_| "the API server did not answer in time".to_string())?
            .map_err(|e| e.to_string())?;
        let now = Instant::now();
        let stamp = MicroTime(k8s_openapi::jiff::Timestamp::now());
        let Some(lease) = current else {
            let fresh = Lease {
                metadata: ObjectMeta { name: Some(election.lease.clone()), ..Default::default() },
                spec: Some(LeaseSpec {
                    holder_identity: Some(election.identity.clone()),
                    lease_duration_seconds: Some(election.duration.as_secs().max(1) as i32),
                    acquire_time: Some(stamp.clone()),
                    renew_time: Some(stamp),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            return write(election, limit, |leases| {
                Box::pin(async move { leases.create(&PostParams::default(), &fresh).await })
            })
            .await;
        };
        let rv = lease.metadata.resource_version.clone().unwrap_or_default();
        if self.observed.as_ref().is_none_or(|(seen, _)| *seen != rv) {
            self.observed = Some((rv, now));
        }
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let ours = holder == election.identity;
        let duration = Duration::from_secs(spec.lease_duration_seconds.unwrap_or(0).max(0) as u64);
        // A renewal is seen up to one look after it was made: counting from the sighting less
        // that look keeps the takeover within the lease, and stays safe, since the holder
        // stops writing a third of the lease before (the look is a seventh of it).
        let lag = election.retry_period();
        let seen_at = self.observed.as_ref().map_or(now, |(_, at)| *at);
        let expires = (seen_at + duration).checked_sub(lag).unwrap_or(seen_at);
        let expired = holder.is_empty() || now >= expires;
        if !ours && !expired {
            self.next_look = Some(expires);
            return Ok(false);
        }
        let mut next = lease;
        let spec = next.spec.get_or_insert_with(Default::default);
        if !ours {
            spec.holder_identity = Some(election.identity.clone());
            spec.acquire_time = Some(stamp.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        spec.lease_duration_seconds = Some(election.duration.as_secs().max(1) as i32);
        spec.renew_time = Some(stamp);
        let name = election.lease.clone();
        write(election, limit, |leases| {
            Box::pin(async move { leases.replace(&name, &PostParams::default(), &next).await })
        })
        .await
    }

    fn step_down(&mut self, fence: &Fence, stats: &LeaderStats, why: &str) {
        if self.leading.take().is_some() {
            fence.release();
            stats.leading.set(0);
            stats.term.set(0);
            stats.lost.inc();
            tracing::warn!("no longer leading: {why}");
        }
    }

    /// Releases the lease on the way out (holder emptied, a one-second duration), as
    /// client-go's ReleaseOnCancel does: the next replica need not wait out the lease.
    async fn give_up(&self, election: &Election) {
        let Ok(Ok(Some(mut lease))) =
            tokio::time::timeout(election.renew_deadline(), election.leases.get_opt(&election.lease)).await
        else {
            return;
        };
        let spec = lease.spec.get_or_insert_with(Default::default);
        if spec.holder_identity.as_deref() != Some(election.identity.as_str()) {
            return;
        }
        spec.holder_identity = Some(String::new());
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(k8s_openapi::jiff::Timestamp::now()));
        let released = tokio::time::timeout(
            election.renew_deadline(),
            election.leases.replace(&election.lease, &PostParams::default(), &lease),
        )
        .await;
        match released {
            Ok(Ok(_)) => tracing::info!("lease released"),
            Ok(Err(e)) => tracing::warn!("could not release the lease: {e}"),
            Err(_) => tracing::warn!("could not release the lease: the API server did not answer in time"),
        }
    }
}

type Written<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = kube::Result<Lease>> + Send + 'a>>;

/// Sends a lease write: `true` when it took, `false` when another replica wrote first (a
/// conflict, or a create that found the lease there).
async fn write<'a>(
    election: &'a Election,
    limit: Duration,
    send: impl FnOnce(&'a Api<Lease>) -> Written<'a>,
) -> Result<bool, String> {
    match tokio::time::timeout(limit, send(&election.leases)).await {
        Err(_) => Err("the API server did not answer in time".into()),
        Ok(Ok(_)) => Ok(true),
        Ok(Err(kube::Error::Api(e))) if e.code == 409 => Ok(false),
        Ok(Err(e)) => Err(e.to_string()),
    }
}
