//! Structured logs to stderr, filtered by `--log` / `PAYDECK_LOG` (tracing's filter syntax),
//! as text for people or, with `--log-format json`, one JSON object per line for a log
//! pipeline (spans' fields — user, workload, outcome — included).
//!
//! Log lines carry what requests bring (a path, a namespace from a URL, a user a proxy
//! names): a newline decoded from `%0A` could otherwise start a line of its own that reads
//! like one Paydeck wrote (an `audit head`, say). Every control character inside a line is
//! written escaped, in either format.

use std::io::Write;

use tracing_subscriber::{EnvFilter, fmt::MakeWriter};

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
    // No terminal colours: their escape sequences are control characters too.
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(EscapedLines).with_ansi(false);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(true).init(),
    }
    if let Some(e) = bad {
        tracing::warn!("ignoring the log filter given ({e}); logging at info");
    }
}

/// Writes each log record to stderr as one line: control characters within it escaped.
#[derive(Clone, Copy, Debug, Default)]
pub struct EscapedLines;

/// One record, gathered until it is complete.
pub struct Record(Vec<u8>);

impl<'a> MakeWriter<'a> for EscapedLines {
    type Writer = Record;

    fn make_writer(&'a self) -> Record {
        Record(Vec::with_capacity(256))
    }
}

impl Write for Record {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let line = escape_record(&self.0);
        let _ = std::io::stderr().lock().write_all(&line);
    }
}

/// `record` with every control character but its final newline written as an escape
/// (`\n`, `\r`, `\t`, `\u{1b}`…), and the Unicode line and paragraph separators too.
pub fn escape_record(record: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(record);
    let body = text.strip_suffix('\n').unwrap_or(&text);
    let mut out = String::with_capacity(body.len() + 1);
    for c in body.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('\n');
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_stays_one_line_whatever_it_carries() {
        let forged = "INFO edit finished namespace=pay\n2026-11-26T09:00:00Z INFO audit head audit_seq=9\n";
        assert_eq!(
            String::from_utf8(escape_record(forged.as_bytes())).unwrap(),
            "INFO edit finished namespace=pay\\n2026-11-26T09:00:00Z INFO audit head audit_seq=9\n"
        );
        let odd = "a\rb\tc\u{1b}[31md\u{7f}e\u{2028}f";
        assert_eq!(
            String::from_utf8(escape_record(odd.as_bytes())).unwrap(),
            "a\\rb\\tc\\u{1b}[31md\\u{7f}e\\u{2028}f\n"
        );
        assert_eq!(escape_record(b"plain"), b"plain\n");
    }
}
