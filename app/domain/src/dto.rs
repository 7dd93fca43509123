//! The cluster as Paydeck presents it: the data types the server builds from its watches and
//! the browser (and the JSON API's users) read. CPU is in cores, memory in bytes, rates in
//! requests per second, times in Unix milliseconds.

use serde::{Deserialize, Serialize};

/// Requests, limits and use of one resource, summed over a set of pods or nodes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ResourceFigures {
    pub requests: f64,
    /// `None` when some container has no limit (the sum would be meaningless).
    pub limits: Option<f64>,
    /// `None` when the metrics API gave nothing.
    pub usage: Option<f64>,
}

/// One container's requests and limits (per pod).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ContainerResources {
    pub name: String,
    pub cpu_request: Option<f64>,
    pub cpu_limit: Option<f64>,
    pub memory_request: Option<f64>,
    pub memory_limit: Option<f64>,
    /// Whether the container has a readiness probe.
    #[serde(default)]
    pub readiness_probe: bool,
}

/// Where a workload's pods run, and what the template says about spreading them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// Distinct nodes the running pods are on.
    pub nodes: i32,
    /// The pod template has topologySpreadConstraints or pod anti-affinity.
    pub spread: bool,
}

/// A Deployment's replica counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Replicas {
    /// `spec.replicas`.
    pub desired: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
}

/// A condition as Kubernetes reports it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    pub kind: String,
    pub status: String,
    pub reason: String,
    pub message: String,
}

/// The HPA that targets a Deployment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Autoscaler {
    pub name: String,
    pub min_replicas: i32,
    pub max_replicas: i32,
    pub current_replicas: i32,
    pub desired_replicas: i32,
    pub cpu_target_percent: Option<i32>,
    pub cpu_current_percent: Option<i32>,
    pub memory_target_percent: Option<i32>,
    pub memory_current_percent: Option<i32>,
    /// `spec.behavior` as the cluster stores it, when set.
    pub behavior: Option<crate::hpa::spec::BehaviorSpec>,
    pub conditions: Vec<Condition>,
    pub last_scale_time: Option<String>,
    /// Whether it sits at its maximum: more load cannot get more replicas.
    pub at_max: bool,
    pub resource_version: String,
    /// `metadata.generation`, where the cluster keeps one for HPAs (Kubernetes 1.37 with its
    /// HPAGeneration feature gate on): goes up with every change to the spec. `None` elsewhere.
    #[serde(default)]
    pub generation: Option<i64>,
    /// The HPA's spec as Paydeck read it, hashed (`sha256:` and 64 hex digits): a change made
    /// against it is refused if the spec changed since, on any cluster.
    #[serde(default)]
    pub spec_hash: String,
    /// The spec apart from its replica bounds (its target, metrics, behaviour), hashed as
    /// `spec_hash`: what a scheduled plan's approval is pinned to (the plan itself moves the
    /// bounds; a change of anything else needs its approval again).
    #[serde(default)]
    pub policy_hash: String,
    /// What sets the HPA back when it is changed (KEDA, a CronHPA, Flux, Argo CD), in words;
    /// absent when nothing is known to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverted_by: Option<String>,
    /// Who else writes the HPA ([`crate::owners`]), the ones that set a change back first.
    #[serde(default)]
    pub owners: Vec<crate::owners::Owner>,
}

/// A workload's metrics reading (`metrics.k8s.io`), summed over its ready pods as the HPA
/// controller sums it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MetricsReading {
    /// When metrics-server took it (the latest of the pods'), Unix ms.
    pub at_ms: i64,
    /// The window the CPU is averaged over, ms.
    pub window_ms: i64,
    /// CPU in whole millicores, each container rounded up.
    pub cpu_millis: i64,
    pub memory_bytes: f64,
    /// The ready pods it covers.
    pub pods: i32,
}

/// A PodDisruptionBudget selecting a Deployment's pods.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DisruptionBudget {
    pub name: String,
    pub min_available: Option<String>,
    pub max_unavailable: Option<String>,
    pub disruptions_allowed: i32,
}

/// Pods of a workload by state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PodCounts {
    pub total: i32,
    pub ready: i32,
    pub pending: i32,
    pub unschedulable: i32,
    pub restarts: i32,
}

/// How a workload is doing, worst first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Critical,
    Warning,
    #[default]
    Healthy,
}

impl Health {
    pub fn label(self) -> &'static str {
        match self {
            Health::Critical => "Critical",
            Health::Warning => "Warning",
            Health::Healthy => "Healthy",
        }
    }
}

/// One finding about a workload, with how bad it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub health: Health,
    /// A stable code for filtering: `hpa-at-max`, `unavailable`, `no-limits`, …
    pub code: String,
    pub message: String,
}

/// A Deployment with everything that explains its scaling.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Workload {
    pub namespace: String,
    pub name: String,
    /// Marked critical for payments (`paydeck.io/critical=true`).
    pub critical: bool,
    /// Who else writes the Deployment ([`crate::owners`]): a GitOps tool, Helm, other clients.
    #[serde(default)]
    pub owners: Vec<crate::owners::Owner>,
    pub replicas: Replicas,
    pub autoscaler: Option<Autoscaler>,
    pub containers: Vec<ContainerResources>,
    /// Summed over the workload's pods.
    pub cpu: ResourceFigures,
    pub memory: ResourceFigures,
    /// CPU use as a share of requests, in percent (what an HPA compares with its target).
    pub cpu_utilization_percent: Option<f64>,
    /// Total request rate T, and per ready replica L = T / N.
    pub request_rate: Option<f64>,
    pub load_per_replica: Option<f64>,
    /// The ready pods' latest metrics reading, as the HPA controller reads it.
    #[serde(default)]
    pub metrics: Option<MetricsReading>,
    pub pods: PodCounts,
    pub endpoints_ready: i32,
    pub endpoints_total: i32,
    pub disruption_budget: Option<DisruptionBudget>,
    #[serde(default)]
    pub placement: Placement,
    /// The rules its annotations waive.
    #[serde(default)]
    pub waivers: crate::rules::finding::Waivers,
    pub health: Health,
    pub findings: Vec<Finding>,
    /// The governance rules it breaks, judged on the live state (waived ones marked); the
    /// rules judged on recorded history are the advisor's, apart.
    #[serde(default)]
    pub governance: Vec<crate::rules::finding::RuleFinding>,
    pub resource_version: String,
    /// `metadata.generation`: goes up with every change to the Deployment's spec.
    pub generation: i64,
}

/// Node capacity against what is requested and used (R = Σ rᵢ).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Capacity {
    pub allocatable: f64,
    pub requests: f64,
    pub usage: Option<f64>,
}

/// Whole-cluster figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClusterTotals {
    pub workloads: i32,
    pub nodes: i32,
    pub nodes_ready: i32,
    pub pods: i32,
    pub pods_ready: i32,
    pub pods_pending: i32,
    pub cpu: Capacity,
    pub memory: Capacity,
    pub autoscalers: i32,
    pub autoscalers_at_max: i32,
    pub workloads_unavailable: i32,
}

/// The person using Paydeck, as far as this server knows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Viewer {
    /// Named by a trusted auth proxy (or vouched for by the cluster); `None`: anonymous
    /// (reads only).
    pub user: Option<String>,
    /// The groups Paydeck passes on when it acts as this user (after its bounds).
    pub groups: Vec<String>,
    /// Why Paydeck will not act as this identity at all (e.g. it claims `system:masters`).
    #[serde(default)]
    pub refused: Option<String>,
    /// Edits are off on this server, whoever asks.
    pub read_only: bool,
    /// On the simulated cluster: the demo users one may act as (the identity switcher).
    pub demo_users: Vec<String>,
    /// The cluster that vouched for the caller's bearer token (its TokenReview): Paydeck acts
    /// as them on that cluster only. Absent for an identity from the auth proxy, the same
    /// person on every cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vouched_by: Option<String>,
}

/// What Paydeck knows about its connection to the cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    /// Where it is connected, e.g. `https://10.0.0.1:443` or `simulated cluster`.
    pub cluster: String,
    /// Whether every watch has completed its first full list.
    pub synced: bool,
    /// Whether the API server is answering now (figures are stale while it is not).
    pub reachable: bool,
    /// Whether usage figures are available (the metrics API answered).
    pub metrics_available: bool,
    /// Problems worth a banner: unreachable API server, forbidden resources, missing APIs.
    pub problems: Vec<String>,
}

/// The overview: totals, what needs attention, and the connection.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    /// Increases with every change Paydeck sees.
    pub version: u64,
    pub taken_at_ms: i64,
    pub connection: Connection,
    pub totals: ClusterTotals,
    /// Workloads with findings, worst first.
    pub attention: Vec<AttentionItem>,
    /// Every namespace with a workload, sorted (for the namespace filters).
    pub namespaces: Vec<String>,
    /// The namespace the figures are narrowed to; node figures are always cluster-wide.
    pub namespace: Option<String>,
}

/// A workload that needs a look, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AttentionItem {
    pub namespace: String,
    pub name: String,
    pub health: Health,
    pub findings: Vec<Finding>,
}

/// What the workloads list can be ordered by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SortKey {
    #[default]
    Name,
    Namespace,
    Health,
    Replicas,
    Cpu,
    Memory,
    Rate,
    Utilization,
    Load,
}

impl SortKey {
    pub const ALL: [SortKey; 9] = [
        SortKey::Name,
        SortKey::Namespace,
        SortKey::Health,
        SortKey::Replicas,
        SortKey::Cpu,
        SortKey::Memory,
        SortKey::Rate,
        SortKey::Utilization,
        SortKey::Load,
    ];

    /// The name in URLs and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Namespace => "namespace",
            SortKey::Health => "health",
            SortKey::Replicas => "replicas",
            SortKey::Cpu => "cpu",
            SortKey::Memory => "memory",
            SortKey::Rate => "rate",
            SortKey::Utilization => "utilization",
            SortKey::Load => "load",
        }
    }

    pub fn parse(text: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Figures sort biggest first on the first click; names and health read top-down.
    pub fn default_order(self) -> SortOrder {
        match self {
            SortKey::Name | SortKey::Namespace | SortKey::Health => SortOrder::Asc,
            _ => SortOrder::Desc,
        }
    }
}

/// Ascending or descending.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

impl SortOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        }
    }

    pub fn parse(text: &str) -> Option<SortOrder> {
        match text {
            "asc" => Some(SortOrder::Asc),
            "desc" => Some(SortOrder::Desc),
            _ => None,
        }
    }

    pub fn reversed(self) -> SortOrder {
        match self {
            SortOrder::Asc => SortOrder::Desc,
            SortOrder::Desc => SortOrder::Asc,
        }
    }
}

/// How the workloads list is narrowed, ordered and paged: the services page keeps it in its
/// URL, the JSON API takes it as query parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadQuery {
    /// Only this namespace.
    #[cfg_attr(feature = "openapi", param(example = "payments-core"))]
    pub namespace: Option<String>,
    /// Matches namespace or name, case-insensitively.
    #[cfg_attr(feature = "openapi", param(example = "led"))]
    pub q: Option<String>,
    /// Only workloads in this state.
    #[cfg_attr(feature = "openapi", param(example = "healthy"))]
    pub health: Option<Health>,
    /// `name` by default.
    #[cfg_attr(feature = "openapi", param(example = "cpu"))]
    pub sort: Option<SortKey>,
    /// `asc` by default.
    #[cfg_attr(feature = "openapi", param(example = "desc"))]
    pub order: Option<SortOrder>,
    /// Rows to skip (paging).
    #[cfg_attr(feature = "openapi", param(example = 0))]
    pub offset: Option<usize>,
    /// At most this many rows (1–2000, default 100).
    #[cfg_attr(feature = "openapi", param(example = 50, minimum = 1, maximum = 2000))]
    pub limit: Option<usize>,
}

/// A page of workloads.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WorkloadPage {
    pub version: u64,
    /// Workloads matching the filter, before paging.
    pub total: usize,
    pub items: Vec<Workload>,
    /// Every namespace with a workload, sorted (for the namespace filter).
    pub namespaces: Vec<String>,
}

/// What the services table shows of a workload: a fraction of [`Workload`], so a page of
/// thousands of rows stays small (the page also carries its data for hydration).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WorkloadRow {
    /// The fleet's cluster, in a listing of several clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    pub namespace: String,
    pub name: String,
    pub critical: bool,
    pub health: Health,
    pub ready: i32,
    pub desired: i32,
    pub autoscaler: Option<RowAutoscaler>,
    pub cpu_utilization_percent: Option<f64>,
    pub request_rate: Option<f64>,
    pub load_per_replica: Option<f64>,
    pub cpu: ResourceFigures,
    pub memory: ResourceFigures,
    /// Who else sets the workload's scaling ([`Workload::scaling_owners`]'s first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<crate::owners::Owner>,
}

/// The autoscaler figures of a table row.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RowAutoscaler {
    pub min: i32,
    pub max: i32,
    pub current: i32,
    pub desired: i32,
    pub at_max: bool,
    pub cpu_target_percent: Option<i32>,
}

impl Workload {
    /// Who else writes what a scaling change here writes: the HPA when one targets the
    /// Deployment (its replicas are the HPA's to set), else the Deployment.
    pub fn scaling_owners(&self) -> &[crate::owners::Owner] {
        match &self.autoscaler {
            Some(a) => &a.owners,
            None => &self.owners,
        }
    }

    /// Every writer of the Deployment and its HPA, once each, the ones that set a change
    /// back first.
    pub fn all_owners(&self) -> Vec<crate::owners::Owner> {
        let mut all: Vec<crate::owners::Owner> = self.scaling_owners().to_vec();
        let others = match &self.autoscaler {
            Some(_) => self.owners.as_slice(),
            None => &[],
        };
        for o in others {
            if !all.contains(o) {
                all.push(o.clone());
            }
        }
        all.sort_by_key(|o| o.effect);
        all
    }
}

impl From<&Workload> for WorkloadRow {
    fn from(w: &Workload) -> Self {
        WorkloadRow {
            cluster: None,
            namespace: w.namespace.clone(),
            name: w.name.clone(),
            critical: w.critical,
            health: w.health,
            ready: w.replicas.ready,
            desired: w.replicas.desired,
            autoscaler: w.autoscaler.as_ref().map(|a| RowAutoscaler {
                min: a.min_replicas,
                max: a.max_replicas,
                current: a.current_replicas,
                desired: a.desired_replicas,
                at_max: a.at_max,
                cpu_target_percent: a.cpu_target_percent,
            }),
            cpu_utilization_percent: w.cpu_utilization_percent,
            request_rate: w.request_rate,
            load_per_replica: w.load_per_replica,
            cpu: w.cpu.clone(),
            memory: w.memory.clone(),
            owner: w.scaling_owners().first().cloned(),
        }
    }
}

/// A page of table rows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RowPage {
    pub version: u64,
    pub total: usize,
    pub items: Vec<WorkloadRow>,
    pub namespaces: Vec<String>,
}

impl From<WorkloadPage> for RowPage {
    fn from(page: WorkloadPage) -> Self {
        RowPage {
            version: page.version,
            total: page.total,
            items: page.items.iter().map(WorkloadRow::from).collect(),
            namespaces: page.namespaces,
        }
    }
}

/// min / average / max of a figure over one time bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Stat {
    pub min: f64,
    pub avg: f64,
    pub max: f64,
}

/// One time bucket of a workload's history. Every figure is `None` where there is no data
/// (Paydeck or the cluster was down): charts break the line there.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HistoryPoint {
    /// Start of the bucket.
    pub at_ms: i64,
    pub replicas_desired: Option<Stat>,
    pub replicas_ready: Option<Stat>,
    pub cpu_usage: Option<Stat>,
    pub memory_usage: Option<Stat>,
    pub request_rate: Option<Stat>,
    pub cpu_requests: Option<f64>,
    pub cpu_limits: Option<f64>,
    pub memory_requests: Option<f64>,
    pub memory_limits: Option<f64>,
    pub hpa_min: Option<f64>,
    pub hpa_max: Option<f64>,
    pub hpa_cpu_target: Option<f64>,
}

/// Something that happened to a workload: a scale, an HPA change, an audited edit.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    pub at_ms: i64,
    pub kind: String,
    pub message: String,
}

/// A workload's history over a range, at most the requested number of points.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct History {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Width of each point's bucket.
    pub step_ms: i64,
    /// Where the points come from: `raw`, `5m` or `1h` rollups.
    pub source: String,
    pub points: Vec<HistoryPoint>,
    /// `[from, to)` spans without data.
    pub gaps: Vec<[i64; 2]>,
    pub events: Vec<HistoryEvent>,
    /// When the range reaches into a past the simulator generated (`--sim-history`): until when.
    #[serde(default)]
    pub simulated_until_ms: Option<i64>,
}

/// The payment platform at one moment: sums over the workloads in scope.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PlatformPoint {
    /// Start of the bucket (or the live moment).
    pub at_ms: i64,
    /// Total request rate T, req/s.
    pub request_rate: f64,
    pub replicas_desired: f64,
    pub replicas_ready: f64,
    /// Requested CPU R = Σ rᵢ, cores, and what was used.
    pub cpu_requests: f64,
    pub cpu_usage: Option<f64>,
    /// Requested memory, bytes, and what was used.
    pub memory_requests: f64,
    pub memory_usage: Option<f64>,
}

impl PlatformPoint {
    /// The sums over `workloads` as they are now.
    pub fn of<'a>(at_ms: i64, workloads: impl IntoIterator<Item = &'a Workload>) -> PlatformPoint {
        let mut p = PlatformPoint { at_ms, ..PlatformPoint::default() };
        for w in workloads {
            p.request_rate += w.request_rate.unwrap_or(0.0);
            p.replicas_desired += f64::from(w.replicas.desired);
            p.replicas_ready += f64::from(w.replicas.ready);
            p.cpu_requests += w.cpu.requests;
            p.memory_requests += w.memory.requests;
            if let Some(u) = w.cpu.usage {
                *p.cpu_usage.get_or_insert(0.0) += u;
            }
            if let Some(u) = w.memory.usage {
                *p.memory_usage.get_or_insert(0.0) += u;
            }
        }
        p
    }
}

/// The platform over the last day: 5-minute buckets from recorded history, then the live
/// moment, with what the nodes can hold now.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Platform {
    pub from_ms: i64,
    pub to_ms: i64,
    pub points: Vec<PlatformPoint>,
    /// Allocatable over the nodes now: cores and bytes.
    pub cpu_allocatable: f64,
    pub memory_allocatable: f64,
    /// Whether this server records history (else only the live moment).
    pub recorded: bool,
}
