//! Records the live picture into history: a sample of every workload each interval, an
//! event whenever a workload's scale or its autoscaler's spec changes, and — for the what-if —
//! every metrics reading and HPA scale as each snapshot brings it ([`super::observed`]).

use std::{
    collections::VecDeque,
    sync::{Arc, atomic::AtomicU64},
    time::{Duration, Instant},
};

use prometheus_client::metrics::{counter::Counter, gauge::Gauge};

use super::{Steps, observed::Observed};
use crate::clock::WallClock;
use crate::cluster::{ClusterView, snapshot::Snapshot};
use crate::store::{Fence, HistoryStore, StoreError};

/// Batches kept in memory while the database refuses writes (full disk, lock), oldest dropped.
const MAX_PENDING: usize = 240;

/// How often rollups and retention run (by the monotonic clock: a wall clock that steps
/// back must not stop them).
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);

/// The sampler's metrics.
#[derive(Debug, Default)]
pub struct SamplerStats {
    /// Workload samples written to the history database.
    pub samples_written: Counter,
    /// Sample batches the database refused (kept and retried).
    pub batches_failed: Counter,
    /// Seconds the last batch took to write.
    pub write_seconds: Gauge<f64, AtomicU64>,
    /// Scale and HPA events recorded.
    pub events_written: Counter,
    /// Metrics readings recorded for the what-if.
    pub readings_written: Counter,
}

/// Starts the sampler and the event recorder, stamping history with `clock`. When `stopping`
/// turns true the sampler takes a last sample (not under an election, where the next leader
/// takes it), writes what it still holds, and ends: await
/// the returned task before closing the database. Under an election (`fence`), only the
/// leader records; the other replicas sample nothing and keep nothing.
pub fn start(
    history: Arc<dyn HistoryStore>,
    view: ClusterView,
    interval: Duration,
    stats: Arc<SamplerStats>,
    clock: WallClock,
    fence: Fence,
    stopping: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let (h, v, s, c, f) = (history.clone(), view.clone(), stats.clone(), clock.clone(), fence.clone());
    let observed = Arc::new(std::sync::Mutex::new(Observed::default()));
    let seen = observed.clone();
    tokio::spawn(tracing::Instrument::instrument(
        async move { event_loop(history, view, stats, clock, fence, seen).await },
        tracing::info_span!("history_events"),
    ));
    tokio::spawn(tracing::Instrument::instrument(
        async move { sample_loop(h, v, interval, s, c, f, stopping, observed).await },
        tracing::info_span!("sampler", interval_secs = interval.as_secs()),
    ))
}

/// Writes the readings and decisions the event loop has taken; what the database refuses
/// goes back to be written next time.
async fn write_observed(
    history: &dyn HistoryStore,
    observed: &std::sync::Mutex<Observed>,
    stats: &SamplerStats,
) {
    let steps = {
        let mut o = observed.lock().unwrap_or_else(|e| e.into_inner());
        if o.is_empty() {
            return;
        }
        o.take()
    };
    match history.write_steps(&steps, &[]).await {
        Ok(()) => {
            stats.readings_written.inc_by(steps.readings.len() as u64);
        }
        Err(StoreError::Fenced(why)) => {
            tracing::info!("history: metrics readings dropped ({why})");
        }
        Err(e) => {
            stats.batches_failed.inc();
            tracing::warn!("history: cannot write metrics readings ({e}); kept to retry");
            observed.lock().unwrap_or_else(|e| e.into_inner()).put_back(steps);
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn sample_loop(
    history: Arc<dyn HistoryStore>,
    view: ClusterView,
    interval: Duration,
    stats: Arc<SamplerStats>,
    clock: WallClock,
    fence: Fence,
    mut stopping: tokio::sync::watch::Receiver<bool>,
    observed: Arc<std::sync::Mutex<Observed>>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pending: VecDeque<(i64, Arc<Snapshot>)> = VecDeque::new();
    let mut last_maintenance: Option<Instant> = None;
    // The latest stamp given to a sample; a clock reading before it means the clock stepped
    // back.
    let mut newest_stamp = i64::MIN;
    loop {
        let last = tokio::select! {
            _ = ticker.tick() => false,
            _ = stopping.wait_for(|stop| *stop) => true,
        };
        if !fence.leading() {
            // Another replica records: nothing of this one's is kept to be written later.
            pending.clear();
            observed.lock().unwrap_or_else(|e| e.into_inner()).take();
            if last {
                return;
            }
            continue;
        }
        let now = clock.now_ms();
        if now < newest_stamp {
            pending.retain(|(at_ms, _)| *at_ms <= now);
            match history.forget_after(now).await {
                Ok(forgotten) => {
                    tracing::warn!(
                        stepped_back_ms = newest_stamp - now,
                        forgotten,
                        "history: the wall clock stepped back; samples stamped after now are forgotten"
                    );
                    newest_stamp = now;
                }
                Err(e) => tracing::warn!(
                    "history: the wall clock stepped back and the later samples could not be forgotten yet ({e}); will retry"
                ),
            }
        }
        let snapshot = view.current();
        // While the API server is unreachable the snapshot is stale: record nothing, so the
        // outage shows as a gap rather than as flat lines. After a step back not yet dealt
        // with, nothing either: the sample would land among those about to be forgotten.
        // Stopping under an election: no last sample, only what is held. The next leader
        // samples the moment it takes the released lease; a last one here would land a few
        // milliseconds before its first.
        let sample = !(last && fence.is_elected());
        if sample && snapshot.connection.synced && snapshot.connection.reachable && now >= newest_stamp {
            newest_stamp = now;
            pending.push_back((now, snapshot));
            if pending.len() > MAX_PENDING {
                pending.pop_front();
                tracing::warn!("history: dropping the oldest unwritten sample batch");
            }
        }
        while let Some((at_ms, snapshot)) = pending.front() {
            let started = Instant::now();
            match history.write_steps(&Steps::one(*at_ms, &snapshot.workloads), &[]).await {
                Ok(()) => {
                    stats.samples_written.inc_by(snapshot.workloads.len() as u64);
                    stats.write_seconds.set(started.elapsed().as_secs_f64());
                    pending.pop_front();
                }
                Err(StoreError::Fenced(why)) => {
                    tracing::warn!("history: {} sample batch(es) dropped: {why}", pending.len());
                    pending.clear();
                    break;
                }
                Err(e) => {
                    stats.batches_failed.inc();
                    tracing::warn!(
                        "history: cannot write samples ({e}); {} batch(es) kept to retry",
                        pending.len()
                    );
                    break;
                }
            }
        }
        write_observed(history.as_ref(), &observed, &stats).await;
        if last {
            if !pending.is_empty() {
                tracing::warn!(
                    "history: {} sample batch(es) could not be written before stopping",
                    pending.len()
                );
            }
            return;
        }
        if last_maintenance.is_none_or(|at| at.elapsed() >= MAINTENANCE_EVERY) {
            last_maintenance = Some(Instant::now());
            if let Err(e) = history.maintain(clock.now_ms()).await {
                tracing::warn!("history: rollups or retention failed ({e}); will retry");
            }
        }
    }
}

async fn event_loop(
    history: Arc<dyn HistoryStore>,
    view: ClusterView,
    stats: Arc<SamplerStats>,
    clock: WallClock,
    fence: Fence,
    observed: Arc<std::sync::Mutex<Observed>>,
) {
    let mut rx = view.subscribe();
    let mut previous: Option<Arc<Snapshot>> = None;
    loop {
        let current = rx.borrow_and_update().clone();
        if current.connection.synced {
            {
                // Every snapshot, even one that comes while events are being written: a
                // reading lasts until the next scrape, so none is passed over.
                let positions_kept =
                    previous.as_ref().is_some_and(|b| b.workloads.len() == current.workloads.len());
                let mut o = observed.lock().unwrap_or_else(|e| e.into_inner());
                for (i, w) in current.workloads.iter().enumerate() {
                    let before = previous.as_ref().and_then(|b| {
                        if positions_kept && Arc::ptr_eq(w, &b.workloads[i]) {
                            return Some(&*b.workloads[i]);
                        }
                        b.workload(&w.namespace, &w.name)
                    });
                    o.observe(before, w);
                }
            }
            if let Some(before) = &previous
                && fence.leading()
            {
                let now = clock.now_ms();
                // Figures the new snapshot shares with the one before did not change.
                let positions_kept = before.workloads.len() == current.workloads.len();
                for (i, w) in current.workloads.iter().enumerate() {
                    if positions_kept && Arc::ptr_eq(w, &before.workloads[i]) {
                        continue;
                    }
                    let Some(old) = before.workload(&w.namespace, &w.name) else { continue };
                    for (kind, message) in super::events::changes(old, w) {
                        match history.write_event(&w.namespace, &w.name, now, kind, &message).await {
                            Ok(()) => {
                                stats.events_written.inc();
                            }
                            Err(e) => tracing::warn!(
                                "history: cannot record event for {}/{}: {e}",
                                w.namespace,
                                w.name
                            ),
                        }
                    }
                }
            }
            previous = Some(current);
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}
