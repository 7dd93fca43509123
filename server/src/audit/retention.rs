//! The retention of refused attempts: once an hour, the details of refused attempts older
//! than the retention period are removed (their header and digest stay in the chain).

use std::{sync::Arc, time::Duration};

use super::AuditLog;

/// How often the sweep runs.
const EVERY: Duration = Duration::from_secs(3600);

/// Sweeps `log` now and every hour until `stopping` turns true.
pub fn start(log: Arc<AuditLog>, retention: Duration, mut stopping: tokio::sync::watch::Receiver<bool>) {
    tokio::spawn(async move {
        loop {
            let before = crate::clock::unix_ms() - retention.as_millis() as i64;
            match log.prune_refusals(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    rows = n,
                    "audit: details of refused attempts past their retention removed"
                ),
                Err(e) => tracing::warn!("audit: cannot remove refused attempts past their retention: {e}"),
            }
            tokio::select! {
                () = tokio::time::sleep(EVERY) => {}
                _ = stopping.wait_for(|s| *s) => return,
            }
        }
    });
}
