//! Polls the metrics APIs: pod and node usage (`metrics.k8s.io`) and request rates
//! (`custom.metrics.k8s.io` `http_requests_per_second`). A missing API means "no usage data",
//! reported once, never a failure.

use std::{sync::Arc, time::Duration};

use domain::quantity::Quantity;
use kube::Client;
use serde::Deserialize;
use tokio::sync::{Notify, watch};

use super::{
    snapshot::{PodUsage, Usage},
    watch::{Stores, WatchState},
};

/// How often the first poll looks whether the first lists are over.
const FIRST_LISTS_CHECK: Duration = Duration::from_millis(100);

fn get(path: &str) -> http::Request<Vec<u8>> {
    http::Request::get(path).body(Vec::new()).expect("a GET with a static path is a valid request")
}

fn parse(v: Option<&str>) -> Option<f64> {
    Quantity::parse(v?).ok().map(|q| q.as_f64())
}

/// A Kubernetes timestamp (RFC 3339) as Unix ms.
fn timestamp_ms(v: Option<&str>) -> Option<i64> {
    v?.parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond())
}

/// A Go duration as `metav1.Duration` writes it (`15s`, `15.5s`, `1m0s`, `500ms`) in ms.
fn go_duration_ms(text: &str) -> Option<i64> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "h" => 3_600_000.0,
            "m" => 60_000.0,
            "s" => 1000.0,
            "ms" => 1.0,
            "us" | "µs" => 0.001,
            "ns" => 0.000_001,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_end..];
    }
    Some(total.round() as i64)
}

// The metrics APIs' lists, read into only what Paydeck takes from them: at 100,000 pods a
// list read as generic JSON held ten times its size while it was walked.

#[derive(Deserialize)]
struct List<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

#[derive(Default, Deserialize)]
struct Meta {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
}

#[derive(Default, Deserialize)]
struct Figures {
    cpu: Option<String>,
    memory: Option<String>,
}

#[derive(Deserialize)]
struct PodMetrics {
    #[serde(default)]
    metadata: Meta,
    /// When metrics-server took the reading (RFC 3339).
    timestamp: Option<String>,
    /// The window the CPU figure is averaged over (a Go duration: `15s`, `1m0s`).
    window: Option<String>,
    #[serde(default)]
    containers: Vec<ContainerMetrics>,
}

#[derive(Deserialize)]
struct ContainerMetrics {
    #[serde(default)]
    usage: Figures,
}

#[derive(Deserialize)]
struct NodeMetrics {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    usage: Figures,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetricValue {
    #[serde(default)]
    described_object: Meta,
    value: Option<String>,
}

/// Outcome of one poll of one API.
enum Poll<T> {
    Got(T),
    /// The API is not served (404/503): no data, not an error.
    Missing,
    Failed(String),
}

async fn fetch<T: serde::de::DeserializeOwned>(client: &Client, path: &str, usage: &mut Usage) -> Poll<T> {
    let result = client.request::<T>(get(path)).await;
    if matches!(result, Ok(_) | Err(kube::Error::Api(_))) {
        usage.answered_at = Some(std::time::Instant::now());
    }
    match result {
        Ok(v) => Poll::Got(v),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 503 => Poll::Missing,
        Err(e) => Poll::Failed(format!("GET {path}: {e}")),
    }
}

/// One poll of everything.
pub async fn poll(client: &Client, namespaces: &[String]) -> (Usage, Vec<String>) {
    let mut usage = Usage::default();
    let mut problems = Vec::new();
    match fetch::<List<PodMetrics>>(client, "/apis/metrics.k8s.io/v1beta1/pods", &mut usage).await {
        Poll::Got(list) => {
            usage.metrics_available = true;
            for item in list.items {
                let mut reading = PodUsage {
                    at_ms: timestamp_ms(item.timestamp.as_deref()).unwrap_or(0),
                    window_ms: item.window.as_deref().and_then(go_duration_ms).unwrap_or(0),
                    ..PodUsage::default()
                };
                for c in &item.containers {
                    let cpu = c.usage.cpu.as_deref().and_then(|v| Quantity::parse(v).ok());
                    reading.cpu_cores += cpu.map_or(0.0, |q| q.as_f64());
                    // As the HPA controller's metrics client reads it: `MilliValue()`.
                    reading.cpu_millis += cpu.map_or(0, |q| q.as_millis());
                    reading.memory_bytes += parse(c.usage.memory.as_deref()).unwrap_or(0.0);
                }
                usage.pods.insert(&item.metadata.namespace, &item.metadata.name, reading);
            }
        }
        Poll::Missing => {
            problems.push("no usage data: the metrics API (metrics.k8s.io) is not available".to_string())
        }
        Poll::Failed(e) => problems.push(format!("no usage data: {e}")),
    }
    if usage.metrics_available
        && let Poll::Got(list) =
            fetch::<List<NodeMetrics>>(client, "/apis/metrics.k8s.io/v1beta1/nodes", &mut usage).await
    {
        for item in list.items {
            let figures = (
                parse(item.usage.cpu.as_deref()).unwrap_or(0.0),
                parse(item.usage.memory.as_deref()).unwrap_or(0.0),
            );
            usage.nodes.insert(item.metadata.name, figures);
        }
    }
    let mut rates_missing = false;
    for ns in namespaces {
        let path =
            format!("/apis/custom.metrics.k8s.io/v1beta1/namespaces/{ns}/pods/*/http_requests_per_second");
        match fetch::<List<MetricValue>>(client, &path, &mut usage).await {
            Poll::Got(list) => {
                usage.rates_available = true;
                for item in list.items {
                    if let Some(rate) = parse(item.value.as_deref()) {
                        usage.request_rates.insert(ns, &item.described_object.name, rate);
                    }
                }
            }
            Poll::Missing => rates_missing = true,
            Poll::Failed(e) => problems.push(format!("no request rates for {ns}: {e}")),
        }
    }
    if rates_missing && !usage.rates_available {
        problems.push(
            "no request rates: custom.metrics.k8s.io http_requests_per_second is not served".to_string(),
        );
    }
    (usage, problems)
}

/// How soon a poll nothing answered is made again.
const RETRY_UNANSWERED: Duration = Duration::from_secs(1);

/// The latest poll's figures (shared: every snapshot reads them) and problems.
pub type Polled = (Arc<Usage>, Vec<String>);

/// Polls every `interval` (sooner after a poll nothing answered) and publishes the result;
/// `changed` wakes the snapshot builder.
pub fn start(
    client: Client,
    stores: Stores,
    interval: Duration,
    changed: Arc<Notify>,
    lists: Arc<WatchState>,
    hold_until: tokio::time::Instant,
) -> watch::Receiver<Polled> {
    let (tx, rx) = watch::channel((Arc::new(Usage::default()), Vec::new()));
    tokio::spawn(async move {
        // The first poll waits for the first lists (or a problem, or `hold_until`): at
        // 100,000 pods reading the metrics list takes the CPU the lists need, and it asks
        // for the namespaces the lists are still finding.
        while lists.awaiting_first_lists(hold_until) {
            tokio::time::sleep(FIRST_LISTS_CHECK).await;
        }
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // A hung API server accepts requests and never answers; the poll must end so the
        // banner can say so (and usage shows as unknown, not as the last figures).
        let limit = interval.clamp(Duration::from_secs(5), Duration::from_secs(10));
        loop {
            ticker.tick().await;
            loop {
                let result = match tokio::time::timeout(limit, poll(&client, &stores.workload_namespaces()))
                    .await
                {
                    Ok(result) => result,
                    Err(_) => (
                        Usage::default(),
                        vec![format!(
                            "the API server did not answer the metrics poll within {} s; figures may be out of date",
                            limit.as_secs()
                        )],
                    ),
                };
                let answered = result.0.answered_at.is_some();
                if tx.send((Arc::new(result.0), result.1)).is_err() {
                    return;
                }
                changed.notify_one();
                if answered {
                    break;
                }
                // Nothing answered (unreachable or hung): ask again soon, so usage and the
                // banner recover within seconds of the API server coming back, not a whole
                // interval later.
                tokio::time::sleep(RETRY_UNANSWERED.min(interval)).await;
                ticker.reset();
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_keep_their_time_and_window() {
        assert_eq!(timestamp_ms(Some("2026-11-26T09:00:07Z")), Some(1_795_683_607_000));
        assert_eq!(timestamp_ms(Some("not a time")), None);
        for (text, ms) in [
            ("15s", 15_000),
            ("15.5s", 15_500),
            ("1m0s", 60_000),
            ("1m15s", 75_000),
            ("500ms", 500),
            ("1h2m", 3_720_000),
        ] {
            assert_eq!(go_duration_ms(text), Some(ms), "{text}");
        }
        for bad in ["", "15", "s", "15x", "1.2.3s"] {
            assert_eq!(go_duration_ms(bad), None, "{bad:?}");
        }
    }
}
