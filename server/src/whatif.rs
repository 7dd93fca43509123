//! The what-if on the server: a workload's recorded demand for the browser to replay as the
//! operator types, and backtests for the API and for the audit row of an applied change —
//! the domain's replay over the history database.

use std::{sync::Arc, time::Duration};

use app::dto::Workload;
use domain::{
    scaling::{FieldError, ScalingChange, check_spec, request::SpecChange, validate::Limits},
    whatif::{self, Backtest, HpaConfig, Options, Series, Window},
};

use crate::{clock::unix_ms, cluster::ClusterView, store::HistoryStore};

/// Why a replay cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum WhatIfError {
    #[error("no Deployment {0} is known to Paydeck")]
    UnknownWorkload(String),
    #[error("no HPA targets {0}: there is nothing to replay")]
    NoAutoscaler(String),
    #[error("nothing was recorded for {0} yet")]
    NoHistory(String),
    #[error("the proposed spec is not valid")]
    Invalid(Vec<FieldError>),
    #[error("the history database did not answer: {0}")]
    Database(#[from] crate::store::StoreError),
}

/// Replays over recorded history.
#[derive(Clone)]
pub struct WhatIf {
    pub history: Arc<dyn HistoryStore>,
    pub cluster: ClusterView,
    pub sample_interval: Duration,
    pub limits: Limits,
}

/// Requests per pod, from the containers' (cores, bytes).
fn requests_of(w: &Workload) -> (f64, f64) {
    (
        w.containers.iter().filter_map(|c| c.cpu_request).sum(),
        w.containers.iter().filter_map(|c| c.memory_request).sum(),
    )
}

impl WhatIf {
    fn workload(&self, namespace: &str, name: &str) -> Result<Workload, WhatIfError> {
        self.cluster
            .current()
            .workload(namespace, name)
            .cloned()
            .ok_or_else(|| WhatIfError::UnknownWorkload(format!("{namespace}/{name}")))
    }

    /// The workload's demand over the last `window`, at the sampling interval.
    pub async fn series(&self, namespace: &str, name: &str, window: Window) -> Result<Series, WhatIfError> {
        let w = self.workload(namespace, name)?;
        self.series_of(&w, window).await
    }

    /// What the HPA controller saw and did at each of its syncs over the last `window`.
    pub(crate) async fn series_of(&self, w: &Workload, window: Window) -> Result<Series, WhatIfError> {
        let now = unix_ms();
        self.series_over(w, (now - window.millis(), now)).await
    }

    /// What the HPA controller saw and did at each of its syncs over `[from, to)` (Unix ms).
    pub(crate) async fn series_over(
        &self,
        w: &Workload,
        (from, to): (i64, i64),
    ) -> Result<Series, WhatIfError> {
        // The syncs' phase when no scale was recorded in the window: the HPA's last one.
        let last_scale = w
            .autoscaler
            .as_ref()
            .and_then(|a| a.last_scale_time.as_deref()?.parse::<jiff::Timestamp>().ok())
            .map(|t| t.as_millisecond());
        self.history
            .demand(&w.namespace, &w.name, (from, to), requests_of(w), last_scale)
            .await?
            .ok_or_else(|| WhatIfError::NoHistory(format!("{}/{}", w.namespace, w.name)))
    }

    /// The current HPA and a proposed partial spec, replayed over the last `window`.
    pub async fn backtest(
        &self,
        namespace: &str,
        name: &str,
        window: Window,
        spec: &SpecChange,
        options: &Options,
    ) -> Result<Backtest, WhatIfError> {
        let w = self.workload(namespace, name)?;
        let current = w
            .autoscaler
            .as_ref()
            .map(HpaConfig::of)
            .ok_or_else(|| WhatIfError::NoAutoscaler(format!("{namespace}/{name}")))?;
        let allocatable = self.cluster.current().totals.cpu.allocatable;
        let checked = check_spec(spec, &w, &self.limits, allocatable);
        let proposed = checked
            .change
            .as_ref()
            .and_then(HpaConfig::from_change)
            .ok_or(WhatIfError::Invalid(checked.errors))?;
        let series = self.series_of(&w, window).await?;
        let options = options.clone();
        Ok(replay_off_the_workers(move || {
            whatif::backtest(&series, window.millis(), &current, &proposed, &options)
        })
        .await)
    }

    /// The one-line backtest of an applied HPA change over the last week, for its audit row
    /// (`None` when it cannot be made: no HPA before, nothing recorded). It says how much of
    /// the week was recorded: its figures count that only.
    pub async fn summary_of(&self, w: &Workload, change: &ScalingChange) -> Option<String> {
        let current = HpaConfig::of(w.autoscaler.as_ref()?);
        let proposed = HpaConfig::from_change(change)?;
        let series = self.series_of(w, Window::Week).await.ok()?;
        if series.recorded_steps() == 0 {
            return None;
        }
        let b = replay_off_the_workers(move || {
            whatif::backtest(&series, Window::Week.millis(), &current, &proposed, &Options::default())
        })
        .await;
        Some(whatif::summary(&b))
    }
}

/// Runs a replay (milliseconds of pure computation over a week of steps) on the blocking
/// pool: on the async workers, a few at once would stall every other request.
async fn replay_off_the_workers(replay: impl FnOnce() -> Backtest + Send + 'static) -> Backtest {
    match tokio::task::spawn_blocking(replay).await {
        Ok(backtest) => backtest,
        // A panic in the replay is a bug: it stays one, as it would have on the worker.
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

impl domain::ports::WhatIfSource for WhatIf {
    fn demand<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        window: Window,
    ) -> domain::ports::BoxFuture<'a, Result<Series, String>> {
        Box::pin(async move { self.series(namespace, name, window).await.map_err(|e| e.to_string()) })
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        },
        time::Duration,
    };

    use super::*;

    /// On a runtime with one worker, other tasks go on while a replay computes: it runs on
    /// the blocking pool, not on the worker.
    #[test]
    fn a_replay_leaves_the_async_workers_free() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let ticks = Arc::new(AtomicUsize::new(0));
            let ticker = {
                let ticks = ticks.clone();
                tokio::spawn(async move {
                    loop {
                        ticks.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                })
            };
            tokio::task::yield_now().await;
            let backtest = replay_off_the_workers(|| {
                // Computation that never yields, as a week's replay does.
                std::thread::sleep(Duration::from_millis(300));
                Backtest { window_ms: 7, ..Backtest::default() }
            })
            .await;
            assert_eq!(backtest.window_ms, 7);
            let during = ticks.load(Ordering::Relaxed);
            assert!(during >= 10, "the worker went on ticking during the replay: {during} ticks");
            ticker.abort();
        });
    }
}
