//! `GET /metrics`: every metric of this server in one `prometheus-client` registry, written
//! by the library in the OpenMetrics text format. The metrics themselves live with what
//! they measure (watchers, sampler, identity, edits, limits); gauges of the current state
//! (snapshot age, database size, open feeds, audit head) are read when scraped.

use std::sync::{Arc, atomic::AtomicU64};

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, gauge::Gauge},
    registry::Registry,
};

use super::ServerState;
use crate::clock::unix_secs;

/// The registry, and the gauges set at each scrape.
pub struct Metrics {
    registry: Registry,
    snapshot_age: Gauge<f64, AtomicU64>,
    snapshot_version: Gauge,
    synced: Gauge,
    database_bytes: Gauge,
    token_cache: Gauge,
    live_feeds: Gauge,
    audit_head: Gauge,
    findings: prometheus_client::metrics::family::Family<crate::metrics::FindingLabel, Gauge>,
    /// Each cluster of the fleet (the first too), followed at each scrape.
    cluster_samples: crate::metrics::CounterFamily<crate::metrics::ClusterLabel>,
    cluster_write_failures: crate::metrics::CounterFamily<crate::metrics::ClusterLabel>,
    cluster_snapshot_age:
        prometheus_client::metrics::family::Family<crate::metrics::ClusterLabel, Gauge<f64, AtomicU64>>,
    cluster_reachable: prometheus_client::metrics::family::Family<crate::metrics::ClusterLabel, Gauge>,
}

impl Metrics {
    /// Registers every metric of `state` (its parts share their counters with the registry).
    pub fn of(state: &ServerState) -> Arc<Self> {
        let mut r = Registry::default();
        let m = Metrics {
            snapshot_age: Gauge::default(),
            snapshot_version: Gauge::default(),
            synced: Gauge::default(),
            database_bytes: Gauge::default(),
            token_cache: Gauge::default(),
            live_feeds: Gauge::default(),
            audit_head: Gauge::default(),
            findings: Default::default(),
            cluster_samples: Default::default(),
            cluster_write_failures: Default::default(),
            cluster_snapshot_age: Default::default(),
            cluster_reachable: Default::default(),
            registry: Registry::default(),
        };
        let watch = &state.cluster.watch_state;
        r.register("paydeck_watch_events", "Watch events received, per kind", watch.events.clone());
        r.register(
            "paydeck_watch_restarts",
            "Relists after a watch restarted (e.g. 410 Gone), per kind",
            watch.restarts.clone(),
        );
        r.register(
            "paydeck_snapshot_age_seconds",
            "Seconds since the cluster snapshot was built",
            m.snapshot_age.clone(),
        );
        r.register(
            "paydeck_snapshot_version",
            "Version of the current cluster snapshot",
            m.snapshot_version.clone(),
        );
        r.register("paydeck_cluster_synced", "1 once every watch has listed its kind", m.synced.clone());
        if let Some(told) = &state.notifications {
            told.metrics.register(&mut r);
        }
        r.register("paydeck_http_requests", "HTTP requests answered", state.traffic.requests.clone());
        let s = &state.sampler;
        r.register(
            "paydeck_history_samples_written",
            "Workload samples written to the history database",
            s.samples_written.clone(),
        );
        r.register(
            "paydeck_history_write_failures",
            "Sample batches the database refused (kept and retried)",
            s.batches_failed.clone(),
        );
        r.register(
            "paydeck_history_write_seconds",
            "Duration of the last sample batch write",
            s.write_seconds.clone(),
        );
        r.register(
            "paydeck_history_events_written",
            "Scale and HPA events recorded",
            s.events_written.clone(),
        );
        r.register(
            "paydeck_history_readings_written",
            "Metrics readings recorded for the what-if, each at the time it was taken",
            s.readings_written.clone(),
        );
        r.register(
            "paydeck_history_database_bytes",
            "Size of the history database",
            m.database_bytes.clone(),
        );
        r.register(
            "paydeck_identity_disbelieved",
            "Identity claims not believed, by reason",
            state.asking.disbelieved.as_ref().clone(),
        );
        let reviews = state.asking.tokens.as_ref().map_or_else(Counter::default, |t| t.reviews_sent.clone());
        r.register("paydeck_token_reviews", "TokenReviews sent to the cluster (cache misses)", reviews);
        r.register("paydeck_token_review_cache_entries", "Token review answers held", m.token_cache.clone());
        if let Some(editor) = &state.editor {
            r.register(
                "paydeck_edit_refusals_unrecorded",
                "Edit attempts refused before anything was written, by reason",
                editor.unrecorded.as_ref().clone(),
            );
        }
        r.register(
            "paydeck_http_refusals",
            "Requests refused by the server's limits, by limit",
            state.refusals.as_ref().clone(),
        );
        r.register(
            "paydeck_connections_closed",
            "Connections turned away or closed by the listener's limits, by reason",
            state.closed.as_ref().clone(),
        );
        r.register("paydeck_live_feeds_open", "Live feeds (SSE) open now", m.live_feeds.clone());
        let leader = &state.leader;
        r.register(
            "paydeck_leader",
            "1 while this replica leads (samples and maintains history)",
            leader.leading.clone(),
        );
        r.register(
            "paydeck_leader_term",
            "The leadership term this replica writes under (0: none)",
            leader.term.clone(),
        );
        r.register("paydeck_leader_acquired", "Times this replica became leader", leader.acquired.clone());
        r.register(
            "paydeck_leader_lost",
            "Times this replica stopped leading without being asked to",
            leader.lost.clone(),
        );
        r.register(
            "paydeck_leader_renew_seconds",
            "Seconds the last lease round took",
            leader.renew_seconds.clone(),
        );
        r.register(
            "paydeck_audit_head_seq",
            "Sequence number of the last audit row (its hash: /api/v1/audit/head)",
            m.audit_head.clone(),
        );
        r.register(
            "paydeck_findings",
            "Governance findings per rule (see /api/v1/findings), open or waived",
            m.findings.clone(),
        );
        r.register(
            "paydeck_cluster_history_samples_written",
            "Workload samples written to the history database, per cluster of the fleet",
            m.cluster_samples.clone(),
        );
        r.register(
            "paydeck_cluster_history_write_failures",
            "Sample batches the database refused, per cluster of the fleet",
            m.cluster_write_failures.clone(),
        );
        r.register(
            "paydeck_cluster_snapshot_age_seconds",
            "Seconds since the cluster's snapshot was built, per cluster of the fleet",
            m.cluster_snapshot_age.clone(),
        );
        r.register(
            "paydeck_cluster_reachable",
            "1 while the cluster's API server answers, per cluster of the fleet",
            m.cluster_reachable.clone(),
        );
        Arc::new(Metrics { registry: r, ..m })
    }

    /// Sets the gauges of the current state and writes every metric.
    async fn scrape(&self, state: &ServerState) -> Result<String, std::fmt::Error> {
        let snapshot = state.cluster.current();
        self.snapshot_age.set((unix_secs() as f64 - snapshot.taken_at_ms as f64 / 1000.0).max(0.0));
        self.snapshot_version.set(snapshot.version as i64);
        self.synced.set(i64::from(snapshot.connection.synced));
        if let Some(history) = &state.history
            && let Ok(bytes) = history.size_bytes().await
        {
            self.database_bytes.set(bytes);
        }
        if let Some(tokens) = &state.asking.tokens {
            self.token_cache.set(tokens.cached() as i64);
        }
        self.live_feeds.set(state.live_slots.open() as i64);
        if let Some(audit) = &state.audit
            && let Ok(head) = audit.head().await
        {
            self.audit_head.set(head.seq);
        }
        for count in state.advisor.report(&Default::default()).rules {
            let rule = domain::rules::rule(count.rule);
            for (label, n) in [("open", count.open), ("waived", count.waived)] {
                let labels = crate::metrics::FindingLabel {
                    rule: rule.code,
                    severity: rule.severity.as_str(),
                    state: label,
                };
                self.findings.get_or_create(&labels).set(n as i64);
            }
        }
        for cluster in state.every_cluster() {
            let label = crate::metrics::ClusterLabel { cluster: cluster.cluster_name.clone() };
            // The samplers' own counters, carried over as they grow.
            for (family, now) in [
                (&self.cluster_samples, cluster.sampler.samples_written.get()),
                (&self.cluster_write_failures, cluster.sampler.batches_failed.get()),
            ] {
                let counter = family.get_or_create(&label);
                counter.inc_by(now.saturating_sub(counter.get()));
            }
            let snapshot = cluster.cluster.current();
            let age = (unix_secs() as f64 - snapshot.taken_at_ms as f64 / 1000.0).max(0.0);
            self.cluster_snapshot_age.get_or_create(&label).set(age);
            self.cluster_reachable.get_or_create(&label).set(i64::from(snapshot.connection.reachable));
        }
        let mut out = String::new();
        encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

pub async fn metrics(State((state, metrics)): State<(ServerState, Arc<Metrics>)>) -> Response {
    match metrics.scrape(&state).await {
        Ok(text) => {
            ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
                .into_response()
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "the metrics could not be written").into_response(),
    }
}
