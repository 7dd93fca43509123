//! Liveness (`/healthz`) and readiness (`/readyz`) for Kubernetes probes.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
};

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde::Serialize;

/// What the server still waits for before it should receive traffic. Each subsystem that must
/// finish starting names itself with [`Readiness::wait_for`] and clears it with
/// [`Readiness::done`].
#[derive(Debug, Default, Clone)]
pub struct Readiness(Arc<Mutex<BTreeSet<&'static str>>>);

impl Readiness {
    pub fn wait_for(&self, what: &'static str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(what);
    }

    pub fn done(&self, what: &'static str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(what);
    }

    pub fn waiting_for(&self) -> Vec<&'static str> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).iter().copied().collect()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReadyBody {
    ready: bool,
    waiting_for: Vec<&'static str>,
}

/// The process is up and answering.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 when nothing is pending, else 503 naming what is.
pub async fn readyz(State(readiness): State<Readiness>) -> impl IntoResponse {
    let waiting_for = readiness.waiting_for();
    let ready = waiting_for.is_empty();
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(ReadyBody { ready, waiting_for }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_lists_what_is_pending_until_done() {
        let r = Readiness::default();
        assert!(r.waiting_for().is_empty());
        r.wait_for("cluster sync");
        r.wait_for("database");
        assert_eq!(r.waiting_for(), vec!["cluster sync", "database"]);
        r.done("database");
        assert_eq!(r.waiting_for(), vec!["cluster sync"]);
    }
}
