//! Structured logs to stderr, filtered by `--log` / `PAYDECK_LOG` (tracing's filter syntax),
//! as text for people or, with `--log-format json`, one JSON object per line for a log
//! pipeline (spans' fields — user, workload, outcome — included).

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the global subscriber. A filter that does not parse falls back to `info` and says so.
pub fn init(filter: &str, format: LogFormat) {
    let (filter, bad) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(true).init(),
    }
    if let Some(e) = bad {
        tracing::warn!("ignoring the log filter given ({e}); logging at info");
    }
}
