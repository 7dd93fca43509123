//! `GET /metrics`: Prometheus text format, for the platform team's own monitoring.

use std::{fmt::Write, sync::atomic::Ordering};

use axum::{extract::State, http::header, response::IntoResponse};

use super::ServerState;
use crate::clock::unix_secs;

/// Writes a metric family's header.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

pub async fn metrics(State(state): State<ServerState>) -> impl IntoResponse {
    let mut out = String::new();
    let kinds = &state.cluster.watch_state.kinds;

    family(&mut out, "paydeck_watch_events_total", "counter", "Watch events received, per kind.");
    for (kind, k) in kinds {
        let _ = writeln!(
            out,
            "paydeck_watch_events_total{{kind=\"{kind}\"}} {}",
            k.events.load(Ordering::Relaxed)
        );
    }
    family(
        &mut out,
        "paydeck_watch_restarts_total",
        "counter",
        "Relists after a watch restarted (e.g. 410 Gone), per kind.",
    );
    for (kind, k) in kinds {
        let _ = writeln!(
            out,
            "paydeck_watch_restarts_total{{kind=\"{kind}\"}} {}",
            k.restarts.load(Ordering::Relaxed)
        );
    }

    let snapshot = state.cluster.current();
    let age = (unix_secs() as f64 - snapshot.taken_at_ms as f64 / 1000.0).max(0.0);
    family(
        &mut out,
        "paydeck_snapshot_age_seconds",
        "gauge",
        "Seconds since the cluster snapshot was built.",
    );
    let _ = writeln!(out, "paydeck_snapshot_age_seconds {age:.3}");
    family(&mut out, "paydeck_snapshot_version", "gauge", "Version of the current cluster snapshot.");
    let _ = writeln!(out, "paydeck_snapshot_version {}", snapshot.version);
    family(&mut out, "paydeck_cluster_synced", "gauge", "1 once every watch has listed its kind.");
    let _ = writeln!(out, "paydeck_cluster_synced {}", u8::from(snapshot.connection.synced));
    family(&mut out, "paydeck_http_requests_total", "counter", "HTTP requests answered.");
    let _ = writeln!(out, "paydeck_http_requests_total {}", state.traffic.series(unix_secs()).total_requests);

    let sampler = &state.sampler;
    family(
        &mut out,
        "paydeck_history_samples_written_total",
        "counter",
        "Workload samples written to the history database.",
    );
    let _ = writeln!(
        out,
        "paydeck_history_samples_written_total {}",
        sampler.samples_written.load(Ordering::Relaxed)
    );
    family(
        &mut out,
        "paydeck_history_write_failures_total",
        "counter",
        "Sample batches the database refused (kept and retried).",
    );
    let _ = writeln!(
        out,
        "paydeck_history_write_failures_total {}",
        sampler.batches_failed.load(Ordering::Relaxed)
    );
    family(&mut out, "paydeck_history_write_seconds", "gauge", "Duration of the last sample batch write.");
    let _ = writeln!(
        out,
        "paydeck_history_write_seconds {:.6}",
        sampler.last_write_micros.load(Ordering::Relaxed) as f64 / 1e6
    );
    family(&mut out, "paydeck_history_events_written_total", "counter", "Scale and HPA events recorded.");
    let _ = writeln!(
        out,
        "paydeck_history_events_written_total {}",
        sampler.events_written.load(Ordering::Relaxed)
    );
    if let Some(history) = &state.history
        && let Ok(bytes) = history.size_bytes().await
    {
        family(&mut out, "paydeck_history_database_bytes", "gauge", "Size of the history database.");
        let _ = writeln!(out, "paydeck_history_database_bytes {bytes}");
    }

    security(&mut out, &state).await;

    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out)
}

/// Refusals and the audit head: what a security team alerts on.
async fn security(out: &mut String, state: &ServerState) {
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let d = &state.asking.disbelieved;
    family(out, "paydeck_identity_disbelieved_total", "counter", "Identity claims not believed, by reason.");
    for (reason, n) in [
        ("address", load(&d.address)),
        ("proxy_proof", load(&d.proof)),
        ("token", load(&d.token)),
        ("review_rate", load(&d.review_limited)),
    ] {
        let _ = writeln!(out, "paydeck_identity_disbelieved_total{{reason=\"{reason}\"}} {n}");
    }
    if let Some(tokens) = &state.asking.tokens {
        family(
            out,
            "paydeck_token_reviews_total",
            "counter",
            "TokenReviews sent to the cluster (cache misses).",
        );
        let _ = writeln!(out, "paydeck_token_reviews_total {}", load(&tokens.reviews_sent));
        family(out, "paydeck_token_review_cache_entries", "gauge", "Token review answers held.");
        let _ = writeln!(out, "paydeck_token_review_cache_entries {}", tokens.cached());
    }
    if let Some(editor) = &state.editor {
        let u = &editor.unrecorded;
        family(
            out,
            "paydeck_edit_refusals_unrecorded_total",
            "counter",
            "Edit attempts refused before anything was written, by reason.",
        );
        for (reason, n) in [
            ("read_only", load(&u.read_only)),
            ("anonymous", load(&u.anonymous)),
            ("throttled", load(&u.throttled)),
            ("audit_unavailable", load(&u.audit_unavailable)),
        ] {
            let _ = writeln!(out, "paydeck_edit_refusals_unrecorded_total{{reason=\"{reason}\"}} {n}");
        }
    }
    let r = &state.refusals;
    family(
        out,
        "paydeck_http_refusals_total",
        "counter",
        "Requests refused by the server's limits, by limit.",
    );
    for (limit, n) in [
        ("body_size", load(&r.body_too_large)),
        ("concurrency", load(&r.overloaded)),
        ("live_feeds", load(&r.live_capped)),
    ] {
        let _ = writeln!(out, "paydeck_http_refusals_total{{limit=\"{limit}\"}} {n}");
    }
    family(out, "paydeck_live_feeds_open", "gauge", "Live feeds (SSE) open now.");
    let _ = writeln!(out, "paydeck_live_feeds_open {}", state.live_slots.open());
    if let Some(audit) = &state.audit
        && let Ok(head) = audit.head().await
    {
        family(
            out,
            "paydeck_audit_head_seq",
            "gauge",
            "Sequence number of the last audit row (its hash: /api/v1/audit/head).",
        );
        let _ = writeln!(out, "paydeck_audit_head_seq {}", head.seq);
    }
}
