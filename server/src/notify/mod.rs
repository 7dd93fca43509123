//! Notifications: Paydeck tells a team, where it already talks, about a finding at or above a
//! severity (and its resolution), an HPA held at its maximum, a cluster unreachable, a change
//! applied, denied or reverted, and a plan's changes and steps.
//!
//! - [`config`]: the sinks and their routes, from `--notifications FILE`.
//! - [`event`]: one thing to tell, whatever the sink.
//! - [`watch`]: what makes messages — the audit log's new rows and each cluster's
//!   conditions — queued in the store's outbox with the position they were read to.
//! - [`sinks`]: each receiver's format and signature.
//! - [`deliver`]: sending, per sink on its own task, within its rate, retried with backoff.
//!
//! Only the leader watches and sends (replicas share the outbox in PostgreSQL); nothing here
//! runs on a request's or the sampler's path.

pub mod config;
pub mod deliver;
pub mod event;
pub mod sinks;
pub mod watch;

use std::{sync::Arc, time::Duration};

use domain::notifications::{NotificationsStatus, SinkStatus};

use self::{
    config::{NotifyConfig, Route},
    deliver::{Deliverer, DeliveryMetrics},
    watch::{ClusterLook, Watcher},
};
use crate::store::{AuditStore, OutboxStore, StoreError};

/// How often the sources are looked at.
pub const LOOK_EVERY: Duration = Duration::from_secs(5);
/// How often due messages are sent.
pub const SEND_EVERY: Duration = Duration::from_secs(1);

/// The notifications of a server: its sinks, its outbox, its metrics.
pub struct Notifications {
    pub config: Arc<NotifyConfig>,
    outbox: Arc<dyn OutboxStore>,
    pub metrics: DeliveryMetrics,
    fence: crate::store::Fence,
    /// When each sink was last sent a test message (wall clock, ms).
    tested: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

/// How long after a test message to a sink another is refused.
pub const TEST_EVERY_MS: i64 = 10_000;

/// What became of a test message request.
#[derive(Debug, PartialEq)]
pub enum TestAnswer {
    Queued,
    NoSuchSink,
    /// One was queued this many ms ago.
    TooSoon(i64),
}

impl Notifications {
    pub fn new(config: NotifyConfig, outbox: Arc<dyn OutboxStore>, fence: crate::store::Fence) -> Self {
        Notifications {
            config: Arc::new(config),
            outbox,
            metrics: DeliveryMetrics::default(),
            fence,
            tested: Default::default(),
        }
    }

    /// Starts watching and sending on this replica while it leads: the watcher looks at the
    /// audit log and at the clusters `clusters` gives (the fleet can grow), at the time `clock`
    /// reads.
    pub fn start(
        self: &Arc<Self>,
        audit: Option<Arc<dyn AuditStore>>,
        primary: &str,
        clusters: impl Fn() -> Vec<ClusterLook> + Send + Sync + 'static,
        clock: crate::plans::runner::Clock,
        stopping: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        let deliverer =
            Arc::new(Deliverer::new(self.config.clone(), self.outbox.clone(), self.metrics.clone())?);
        let mut watcher = Watcher::new(self.config.clone(), self.outbox.clone(), audit, primary);
        let mut looks = LeaderTicks::new(LOOK_EVERY, self.fence.clone(), stopping.clone());
        tokio::spawn(async move {
            while looks.next().await {
                if let Err(e) = watcher.look(&clusters(), clock(), crate::clock::unix_ms()).await {
                    tracing::warn!("notifications: cannot queue messages: {e}");
                }
            }
        });
        let mut sends = LeaderTicks::new(SEND_EVERY, self.fence.clone(), stopping);
        let outbox = self.outbox.clone();
        tokio::spawn(async move {
            let mut rounds: u64 = 0;
            while sends.next().await {
                deliverer.round(crate::clock::unix_ms()).await;
                rounds += 1;
                if rounds % 10 == 1 {
                    deliverer.count_pending().await;
                }
                if rounds % 3_600 == 1 {
                    let before = crate::clock::unix_ms() - deliver::KEEP_DONE_MS;
                    if let Err(e) = outbox.forget_before(before).await {
                        tracing::warn!("notifications: cannot forget old messages: {e}");
                    }
                }
            }
        });
        Ok(())
    }

    /// The sinks and their deliveries.
    pub async fn status(&self) -> Result<NotificationsStatus, StoreError> {
        let counts = self.outbox.counts().await?;
        let sinks = self
            .config
            .sinks
            .iter()
            .map(|s| {
                let c = counts.iter().find(|c| c.sink == s.name).cloned().unwrap_or_default();
                SinkStatus {
                    name: s.name.clone(),
                    kind: s.kind.as_str().into(),
                    host: s.host(),
                    signed: s.secret.is_some(),
                    per_minute: s.per_minute,
                    route: route_words(&s.route),
                    pending: c.pending,
                    delivered: c.delivered,
                    failed: c.failed,
                    last_error: c.last_error,
                    last_delivered_ms: c.last_delivered_ms,
                    oldest_pending_ms: c.oldest_pending_ms,
                }
            })
            .collect();
        Ok(NotificationsStatus {
            configured: true,
            sending_here: self.fence.leading(),
            at_max_minutes: self.config.at_max_minutes,
            group_wait_seconds: self.config.group_wait_seconds,
            sinks,
        })
    }

    /// Queues a test message to `sink`, asked for by `user` at `now_ms` (the cluster's time),
    /// unless one was queued for it within [`TEST_EVERY_MS`] (a sink's rate is not spent on
    /// clicks).
    pub async fn queue_test(
        &self,
        sink: &str,
        user: &str,
        cluster: &str,
        now_ms: i64,
    ) -> Result<TestAnswer, StoreError> {
        if !self.config.sinks.iter().any(|s| s.name == sink) {
            return Ok(TestAnswer::NoSuchSink);
        }
        let wall_ms = crate::clock::unix_ms();
        {
            let mut tested = self.tested.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(last) = tested.get(sink).filter(|&&last| wall_ms - last < TEST_EVERY_MS) {
                return Ok(TestAnswer::TooSoon(wall_ms - last));
            }
            tested.insert(sink.to_string(), wall_ms);
        }
        let message = watch::test_message(sink, user, cluster, now_ms, wall_ms);
        let batch = crate::store::outbox::Batch { messages: vec![message], ..Default::default() };
        if let Err(e) = self.outbox.record(&batch).await {
            self.tested.lock().unwrap_or_else(|e| e.into_inner()).remove(sink);
            return Err(e);
        }
        Ok(TestAnswer::Queued)
    }
}

/// A tick every period while this replica leads (the ticks while it does not are skipped).
struct LeaderTicks {
    every: tokio::time::Interval,
    fence: crate::store::Fence,
    stopping: tokio::sync::watch::Receiver<bool>,
}

impl LeaderTicks {
    fn new(
        period: Duration,
        fence: crate::store::Fence,
        stopping: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        let mut every = tokio::time::interval(period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        LeaderTicks { every, fence, stopping }
    }

    /// Waits for the next tick this replica leads at; `false` once the server stops.
    async fn next(&mut self) -> bool {
        loop {
            tokio::select! {
                _ = self.every.tick() => {}
                _ = self.stopping.changed() => {}
            }
            if *self.stopping.borrow() {
                return false;
            }
            if self.fence.leading() {
                return true;
            }
        }
    }
}

/// A route in words.
fn route_words(route: &Route) -> String {
    fn family(f: &str) -> &str {
        match f {
            "finding" => "findings",
            "hpa-at-max" => "HPAs at their maximum",
            "cluster" => "unreachable clusters",
            "change" => "changes",
            "plan" => "plans",
            other => other,
        }
    }
    let mut parts = vec![if route.families.is_empty() {
        "every event".to_string()
    } else {
        route.families.iter().map(|f| family(f)).collect::<Vec<_>>().join(", ")
    }];
    if let Some(min) = route.min_severity {
        parts.push(format!("{} and above", min.as_str()));
    }
    if !route.clusters.is_empty() {
        parts.push(format!("clusters {}", route.clusters.join(", ")));
    }
    if !route.namespaces.is_empty() {
        parts.push(format!("namespaces {}", route.namespaces.join(", ")));
    }
    parts.join(" · ")
}

/// The notifications as the API and the pages ask for them, for a person: who may read them
/// (like the audit log), who may send a test message.
pub struct NotificationDesk {
    /// `None`: no notifications file on this server.
    pub told: Option<Arc<Notifications>>,
    /// Whether anonymous readers may see them (as they may read the audit log).
    pub anonymous_reads: bool,
    pub cluster: String,
    pub clock: crate::plans::runner::Clock,
}

/// Why the desk said no.
#[derive(Debug, PartialEq)]
pub enum Refusal {
    SignIn,
    /// No such sink, or no notifications at all.
    NotFound,
    /// Seconds to wait.
    TooSoon(u64),
    Unavailable,
}

impl NotificationDesk {
    /// The sinks and their deliveries for `user` (`configured: false` without a file).
    pub async fn read(&self, user: Option<&str>) -> Result<NotificationsStatus, (Refusal, String)> {
        if user.is_none() && !self.anonymous_reads {
            return Err((Refusal::SignIn, crate::edits::AUDIT_NEEDS_IDENTITY.to_string()));
        }
        let Some(told) = &self.told else { return Ok(NotificationsStatus::default()) };
        told.status().await.map_err(|e| {
            tracing::warn!("notifications: cannot read the outbox: {e}");
            (Refusal::Unavailable, "the store did not answer; try again".to_string())
        })
    }

    /// What a test message request comes to, in words: `Err` when refused.
    pub async fn test(&self, user: Option<&str>, sink: &str) -> Result<String, (Refusal, String)> {
        let Some(user) = user else {
            return Err((Refusal::SignIn, "sign in to send a test message".into()));
        };
        let Some(told) = &self.told else {
            return Err((
                Refusal::NotFound,
                "no notifications are set up on this server (--notifications)".into(),
            ));
        };
        match told.queue_test(sink, user, &self.cluster, (self.clock)()).await {
            Ok(TestAnswer::Queued) => Ok(format!("A test message to {sink} is on its way.")),
            Ok(TestAnswer::NoSuchSink) => Err((Refusal::NotFound, format!("no sink is named {sink:?}"))),
            Ok(TestAnswer::TooSoon(ago_ms)) => {
                let wait = ((TEST_EVERY_MS - ago_ms) / 1_000).max(1);
                Err((
                    Refusal::TooSoon(wait as u64),
                    format!(
                        "a test message to {sink} was queued {} s ago; try again in {wait} s",
                        ago_ms / 1_000
                    ),
                ))
            }
            Err(e) => {
                tracing::warn!("notifications: cannot queue a test message: {e}");
                Err((Refusal::Unavailable, "the store did not answer; nothing was queued".into()))
            }
        }
    }
}

impl domain::ports::NotificationSource for NotificationDesk {
    fn status<'a>(
        &'a self,
        viewer: &'a app::dto::Viewer,
    ) -> domain::ports::BoxFuture<'a, Result<NotificationsStatus, String>> {
        Box::pin(async move { self.read(viewer.user.as_deref()).await.map_err(|(_, why)| why) })
    }

    fn send_test<'a>(
        &'a self,
        viewer: &'a app::dto::Viewer,
        sink: &'a str,
    ) -> domain::ports::BoxFuture<'a, Result<String, String>> {
        Box::pin(async move { self.test(viewer.user.as_deref(), sink).await.map_err(|(_, why)| why) })
    }
}
