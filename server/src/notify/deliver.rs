//! Delivery: every second the leader takes the messages due from the outbox and sends each
//! sink's on a task of its own — a sink that hangs or fails holds up only itself, never
//! another sink, an edit or sampling. A sink sends at most its `perMinute` requests in any
//! minute; messages due together go in one request where the format allows. A message is
//! held in the outbox while it is in flight (a process that stops mid-send sends it again
//! after [`HOLD`]); a failed one is tried again after a growing delay, and given up after
//! [`MAX_ATTEMPTS`].

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use prometheus_client::metrics::{counter::Counter, family::Family, gauge::Gauge};

use super::{config::NotifyConfig, event::Event, sinks};
use crate::store::{OutboxStore, outbox::Queued};

/// How long one request may take, answer included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a message taken for sending is held from other looks.
const HOLD_MS: i64 = 120_000;
pub const HOLD: Duration = Duration::from_millis(HOLD_MS as u64);
/// Attempts before a message is given up (retries over about 4 hours: a receiver down for
/// an afternoon still gets its messages).
pub const MAX_ATTEMPTS: i64 = 12;
/// The first retry's delay; each next one doubles, up to [`MAX_DELAY_MS`].
const FIRST_DELAY_MS: i64 = 10_000;
const MAX_DELAY_MS: i64 = 3_600_000;
/// The largest answer read from a receiver.
const MAX_ANSWER: usize = 64 * 1024;
/// How long delivered and given-up messages stay listed.
pub const KEEP_DONE_MS: i64 = 7 * 86_400_000;

/// The delay before attempt `attempts + 1`.
pub fn retry_delay_ms(attempts: i64) -> i64 {
    let doubled = FIRST_DELAY_MS.saturating_mul(1_i64 << attempts.clamp(0, 20));
    doubled.min(MAX_DELAY_MS)
}

/// `{sink="oncall"}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct SinkLabel {
    pub sink: String,
}

/// Delivery's metrics, per sink.
#[derive(Clone, Default)]
pub struct DeliveryMetrics {
    pub delivered: Family<SinkLabel, Counter>,
    pub failed_attempts: Family<SinkLabel, Counter>,
    pub given_up: Family<SinkLabel, Counter>,
    pub pending: Family<SinkLabel, Gauge>,
}

impl DeliveryMetrics {
    pub fn register(&self, registry: &mut prometheus_client::registry::Registry) {
        registry.register(
            "paydeck_notifications_delivered",
            "Notifications delivered, per sink",
            self.delivered.clone(),
        );
        registry.register(
            "paydeck_notification_attempts_failed",
            "Notification requests that failed (to be tried again or given up), per sink",
            self.failed_attempts.clone(),
        );
        registry.register(
            "paydeck_notifications_given_up",
            "Notifications given up after every retry, per sink",
            self.given_up.clone(),
        );
        registry.register(
            "paydeck_notifications_pending",
            "Notifications waiting in the outbox, per sink (read every few seconds by the leader)",
            self.pending.clone(),
        );
    }

    fn of(family: &Family<SinkLabel, Counter>, sink: &str) -> Counter {
        family.get_or_create(&SinkLabel { sink: sink.to_string() }).clone()
    }
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The sender: the HTTP client, each sink's sends of the last minute, the sinks in flight.
pub struct Deliverer {
    config: Arc<NotifyConfig>,
    outbox: Arc<dyn OutboxStore>,
    client: HttpsClient,
    sent: Mutex<HashMap<String, VecDeque<i64>>>,
    busy: Arc<Mutex<HashSet<String>>>,
    pub metrics: DeliveryMetrics,
}

impl Deliverer {
    pub fn new(
        config: Arc<NotifyConfig>,
        outbox: Arc<dyn OutboxStore>,
        metrics: DeliveryMetrics,
    ) -> anyhow::Result<Self> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(Arc::new(rustls::crypto::ring::default_provider()))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(https);
        Ok(Deliverer { config, outbox, client, sent: Mutex::default(), busy: Arc::default(), metrics })
    }

    /// One round at `now_ms` (the wall clock): each sink with messages due and room in its
    /// rate gets a task sending them. The tasks' handles, for tests to await.
    pub async fn round(self: &Arc<Self>, now_ms: i64) -> Vec<tokio::task::JoinHandle<()>> {
        let due = match self.outbox.due(now_ms, 500).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!("notifications: cannot read the outbox: {e}");
                return vec![];
            }
        };
        let mut by_sink: Vec<(String, Vec<Queued>)> = Vec::new();
        for q in due {
            match by_sink.iter_mut().find(|(s, _)| *s == q.sink) {
                Some((_, list)) => list.push(q),
                None => by_sink.push((q.sink.clone(), vec![q])),
            }
        }
        let mut tasks = Vec::new();
        for (sink_name, queued) in by_sink {
            let Some(sink) = self.config.sinks.iter().find(|s| s.name == sink_name).cloned() else {
                let ids: Vec<i64> = queued.iter().map(|q| q.id).collect();
                let why = "the sink is no longer in the notifications file";
                if let Err(e) = self.outbox.failed(&ids, why, now_ms, true, now_ms).await {
                    tracing::warn!("notifications: {e}");
                }
                continue;
            };
            if !self.busy.lock().unwrap_or_else(|e| e.into_inner()).insert(sink.name.clone()) {
                continue;
            }
            let room = self.room(&sink.name, sink.per_minute, now_ms);
            let (events, ids, unreadable) = read_events(queued);
            if !unreadable.is_empty() {
                let _ =
                    self.outbox.failed(&unreadable, "the message cannot be read", now_ms, true, now_ms).await;
            }
            let requests: Vec<_> =
                sinks::requests(&sink, &events, self.config.external_url.as_deref(), now_ms)
                    .into_iter()
                    .take(room)
                    .collect();
            let taken: Vec<i64> = requests.iter().flat_map(|r| r.carries.iter().map(|&i| ids[i].0)).collect();
            if requests.is_empty() || self.outbox.hold(&taken, now_ms + HOLD_MS).await.is_err() {
                self.busy.lock().unwrap_or_else(|e| e.into_inner()).remove(&sink.name);
                continue;
            }
            self.spend(&sink.name, requests.len(), now_ms);
            let me = self.clone();
            tasks.push(tokio::spawn(async move {
                for request in requests {
                    let carried: Vec<(i64, i64)> = request.carries.iter().map(|&i| ids[i]).collect();
                    me.send(&sink, request, &carried).await;
                }
                me.busy.lock().unwrap_or_else(|e| e.into_inner()).remove(&sink.name);
            }));
        }
        tasks
    }

    /// Requests `sink` may still send this minute.
    fn room(&self, sink: &str, per_minute: u32, now_ms: i64) -> usize {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        let times = sent.entry(sink.to_string()).or_default();
        while times.front().is_some_and(|&t| t <= now_ms - 60_000) {
            times.pop_front();
        }
        (per_minute as usize).saturating_sub(times.len())
    }

    fn spend(&self, sink: &str, requests: usize, now_ms: i64) {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.entry(sink.to_string()).or_default().extend(std::iter::repeat_n(now_ms, requests));
    }

    /// Sends one request and records what came of it for the messages it carries
    /// (`(id, attempts so far)`).
    async fn send(&self, sink: &super::config::Sink, request: sinks::Request, carried: &[(i64, i64)]) {
        let result = tokio::time::timeout(REQUEST_TIMEOUT, self.post(&request))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())))
            .and_then(|(status, body)| sinks::accepted(sink.kind, status, &body));
        let now_ms = crate::clock::unix_ms();
        let ids: Vec<i64> = carried.iter().map(|c| c.0).collect();
        let label = &sink.name;
        match result {
            Ok(()) => {
                DeliveryMetrics::of(&self.metrics.delivered, label).inc_by(ids.len() as u64);
                if let Err(e) = self.outbox.delivered(&ids, now_ms).await {
                    tracing::warn!(sink = %label, "notifications: delivered, but cannot record it: {e}");
                }
            }
            Err(why) => {
                DeliveryMetrics::of(&self.metrics.failed_attempts, label).inc();
                let attempts = carried.iter().map(|c| c.1).max().unwrap_or(0);
                let give_up = attempts + 1 >= MAX_ATTEMPTS;
                let next = now_ms + retry_delay_ms(attempts);
                // The error names the sink and the host, never the URL (it may hold a token).
                tracing::warn!(sink = %label, host = %sink.host(), attempts = attempts + 1, give_up, "notifications: {why}");
                if give_up {
                    DeliveryMetrics::of(&self.metrics.given_up, label).inc_by(ids.len() as u64);
                }
                if let Err(e) = self.outbox.failed(&ids, &why, next, give_up, now_ms).await {
                    tracing::warn!(sink = %label, "notifications: cannot record a failed attempt: {e}");
                }
            }
        }
    }

    async fn post(&self, request: &sinks::Request) -> Result<(u16, Vec<u8>), String> {
        let http = http::Request::post(&request.url)
            .header(http::header::CONTENT_TYPE, request.content_type)
            .header(http::header::USER_AGENT, concat!("paydeck/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::from(request.body.clone())))
            .map_err(|_| "the URL is not valid".to_string())?;
        let answer = self.client.request(http).await.map_err(|e| {
            // hyper's errors never include the URL; their causes say what went wrong
            // ("Connection refused", a certificate not trusted).
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                text = format!("{text}: {c}");
                cause = c.source();
            }
            format!("cannot send: {text}")
        })?;
        let status = answer.status().as_u16();
        let body = Limited::new(answer.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        Ok((status, body))
    }

    /// Sets the pending gauges from the outbox's counts.
    pub async fn count_pending(&self) {
        if let Ok(counts) = self.outbox.counts().await {
            for c in counts {
                self.metrics.pending.get_or_create(&SinkLabel { sink: c.sink }).set(c.pending);
            }
        }
    }
}

/// The events of `queued`, with `(id, attempts)` beside each; and the ids whose body does not
/// read (given up).
fn read_events(queued: Vec<Queued>) -> (Vec<Event>, Vec<(i64, i64)>, Vec<i64>) {
    let (mut events, mut ids, mut unreadable) = (Vec::new(), Vec::new(), Vec::new());
    for q in queued {
        match serde_json::from_str::<Event>(&q.body) {
            Ok(e) => {
                events.push(e);
                ids.push((q.id, q.attempts));
            }
            Err(_) => unreadable.push(q.id),
        }
    }
    (events, ids, unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        let delays: Vec<i64> = (0..MAX_ATTEMPTS).map(retry_delay_ms).collect();
        assert_eq!(&delays[..4], &[10_000, 20_000, 40_000, 80_000]);
        assert_eq!(*delays.last().unwrap(), 3_600_000);
        let total: i64 = delays.iter().sum();
        assert!(total > 4 * 3_600_000, "retries span {total} ms");
    }
}
