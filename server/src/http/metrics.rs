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

    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out)
}
