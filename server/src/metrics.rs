//! The label sets of Paydeck's metrics. Each part of the server owns its metrics as typed
//! `prometheus-client` handles (counters, gauges, labelled families); `/metrics` registers
//! them all in one registry per server (see `http::metrics`) and the library writes the text.

use prometheus_client::encoding::EncodeLabelSet;

/// `{kind="Pod"}`: per watched kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

/// `{reason="…"}`: why something was refused or not believed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: &'static str,
}

/// `{limit="…"}`: which of the server's limits refused a request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabel {
    pub limit: &'static str,
}

/// `{cluster="eu-prod"}`: one of the fleet's clusters (as many as are configured).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterLabel {
    pub cluster: String,
}

/// `{rule="PD301",severity="high",state="open"}`: the advisor's findings per rule.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FindingLabel {
    pub rule: &'static str,
    pub severity: &'static str,
    /// `open` or `waived`.
    pub state: &'static str,
}

pub type CounterFamily<L> =
    prometheus_client::metrics::family::Family<L, prometheus_client::metrics::counter::Counter>;

/// Increments `family` for `reason`.
pub fn count(family: &CounterFamily<ReasonLabel>, reason: &'static str) {
    family.get_or_create(&ReasonLabel { reason }).inc();
}

/// The current count of `family` for `reason`.
pub fn counted(family: &CounterFamily<ReasonLabel>, reason: &'static str) -> u64 {
    family.get_or_create(&ReasonLabel { reason }).get()
}
