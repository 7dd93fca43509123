//! Structured logs to stderr, filtered by `--log` / `PAYDECK_LOG` (tracing's filter syntax).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. A filter that does not parse falls back to `info` and says so.
pub fn init(filter: &str) {
    let (filter, bad) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    if let Some(e) = bad {
        tracing::warn!("ignoring the log filter given ({e}); logging at info");
    }
}
