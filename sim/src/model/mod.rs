//! The cluster's moving parts: the Deployment controller, scheduler, kubelet, endpoints, HPA
//! controller and cluster autoscaler, stepped one simulated second at a time.
//!
//! The store holds what the API serves; the model keeps what only a running cluster knows
//! (which pod runs where, since when, how busy it is) and writes objects back only when they
//! change, so an idle second costs no API traffic.

mod churn;
mod cluster_autoscaler;
mod deployments;
mod endpoints;
mod events;
mod hpa_controller;
mod load;
pub mod metrics_server;
mod owners;
mod pods;
mod scheduler;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use domain::{hpa::Autoscaler, selector::LabelSelector};
use serde_json::{Value, json};

use crate::{
    clock::{Millis, rfc3339},
    resources::{DEPLOYMENTS, HPAS, NODES, SERVICES},
    store::{Key, Store},
    topology::{NodeSpec, ServiceSpec, Topology},
    traffic::{self, FlashSale},
};

/// How long a scheduled pod takes to run, and a running pod to turn Ready.
const START_LATENCY_MS: Millis = 4_000;
const READY_DELAY_MS: Millis = 8_000;
/// How often the HPA controller and cluster autoscaler run (their real defaults).
const HPA_SYNC_MS: Millis = 15_000;
const AUTOSCALER_SYNC_MS: Millis = 10_000;
/// How long pods must be unschedulable before a node is added, and how long it takes to join.
const SCALE_UP_DELAY_MS: Millis = 30_000;
const NODE_PROVISION_MS: Millis = 60_000;
/// On average, how often a running pod's container restarts.
const RESTART_EVERY_SECS: u64 = 6 * 3600;
/// Events older than this are deleted.
const EVENT_TTL_MS: Millis = 3_600_000;

/// A pod as the kubelet and scheduler see it.
#[derive(Clone, Debug)]
struct PodSim {
    owner: String,
    node: Option<String>,
    created: Millis,
    scheduled_at: Option<Millis>,
    running_since: Option<Millis>,
    ready_since: Option<Millis>,
    cpu_request_m: i64,
    memory_request: i64,
    unschedulable_since: Option<Millis>,
    /// Why the scheduler could not place it, as its PodScheduled condition says.
    unschedulable_message: String,
    restarts: u32,
    ip: String,
}

/// What the model needs from a Deployment, cached per resourceVersion.
#[derive(Clone, Debug)]
struct DeploymentView {
    rv: String,
    uid: String,
    generation: i64,
    replicas: i32,
    template: Value,
    cpu_request_m: i64,
    memory_request: i64,
    cpu_limit_m: Option<i64>,
}

/// A Deployment's load against its ready pods' requests ([`Model::deployment_load`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DeploymentLoad {
    pub ready: usize,
    pub demand_cores: f64,
    pub requested_cores: f64,
}

/// Per-pod resource use at the last step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    pub cpu_cores: f64,
    pub memory_bytes: f64,
    pub requests_per_sec: f64,
}

/// The simulated cluster's behaviour.
pub struct Model {
    seed: u64,
    sale: FlashSale,
    services: HashMap<Key, ServiceSpec>,
    streams: HashMap<Key, u64>,
    pods: BTreeMap<Key, PodSim>,
    /// Pod names per Deployment, so per-Deployment work never scans every pod.
    by_owner: HashMap<Key, BTreeSet<String>>,
    /// Deployments whose pods changed since their status and endpoints were last written.
    dirty: HashSet<Key>,
    deployments: HashMap<Key, DeploymentView>,
    usage: HashMap<Key, Usage>,
    /// What the metrics API serves and the HPA controller reads.
    metrics: metrics_server::MetricsServer,
    autoscalers: HashMap<Key, Autoscaler>,
    nodes_joining: Vec<(String, Millis)>,
    node_template: NodeSpec,
    max_nodes: usize,
    next_pod: u64,
    next_event: u64,
    last_step: Millis,
    /// Simulated milliseconds per step.
    step_ms: Millis,
    last_hpa_sync: Millis,
    last_autoscaler_sync: Millis,
    /// Pod events a second that container restarts add on top of the model's own (see
    /// [`Model::set_churn`]), the restarts owed from earlier steps, and where the next is.
    churn_per_sec: f64,
    churn_owed: f64,
    churn_next: usize,
    /// Whether nodes are added when pods cannot be scheduled.
    cluster_autoscaler: bool,
    /// Held still: the clock runs on, nothing steps (see [`Model::set_paused`]).
    paused: bool,
    /// Argo CD, Flux and KEDA, setting back changes to what they own.
    owners: owners::Owners,
}

fn key(ns: &str, name: &str) -> Key {
    (ns.to_string(), name.to_string())
}

impl Model {
    /// Creates the topology's objects in `store`, with every pod already running and ready
    /// (the cluster has been up for a while), and returns the model driving them.
    pub fn install(topology: &Topology, store: &mut Store, seed: u64, sale: FlashSale, now: Millis) -> Model {
        let mut model = Model {
            seed,
            sale,
            services: HashMap::new(),
            streams: HashMap::new(),
            pods: BTreeMap::new(),
            by_owner: HashMap::new(),
            dirty: HashSet::new(),
            deployments: HashMap::new(),
            usage: HashMap::new(),
            metrics: metrics_server::MetricsServer::default(),
            autoscalers: HashMap::new(),
            nodes_joining: Vec::new(),
            node_template: topology.node_template.clone(),
            max_nodes: topology.max_nodes,
            next_pod: 0,
            next_event: 0,
            last_step: now,
            step_ms: 1000,
            last_hpa_sync: now,
            last_autoscaler_sync: now,
            churn_per_sec: 0.0,
            churn_owed: 0.0,
            churn_next: 0,
            cluster_autoscaler: true,
            paused: false,
            owners: owners::Owners::default(),
        };
        let ts = rfc3339(now.saturating_sub(86_400_000));
        // As through the API: defaulted, then stored.
        let mut create = |rt, mut obj| {
            crate::defaults::apply(rt, &mut obj);
            store.create(rt, obj, &ts).expect("the topology's objects are valid and unique");
        };
        // Paydeck's own namespace, where its replicas keep their Lease, beside the platform's.
        let own = crate::auth::PAYDECK_NAMESPACE.to_string();
        for ns in topology.namespaces.iter().chain([&own]) {
            create(
                &crate::resources::NAMESPACES,
                json!({ "metadata": { "name": ns }, "spec": {}, "status": { "phase": "Active" } }),
            );
        }
        for n in &topology.nodes {
            create(&NODES, n.object());
        }
        for (i, s) in topology.services.iter().enumerate() {
            create(&DEPLOYMENTS, s.deployment());
            create(&SERVICES, s.service());
            if let Some(h) = s.hpa() {
                create(&HPAS, h);
            }
            if let Some(p) = s.pdb() {
                create(&crate::resources::PDBS, p);
            }
            let k = key(&s.namespace, &s.name);
            model.streams.insert(k.clone(), i as u64 + 1);
            model.services.insert(k, s.clone());
        }
        if let Some(ing) = topology.ingress() {
            create(&crate::resources::INGRESSES, ing);
        }
        // Pods that have been running for a day.
        let long_ago = now.saturating_sub(86_400_000);
        model.refresh_deployments(store);
        let mut views: Vec<(Key, DeploymentView)> =
            model.deployments.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        views.sort_by(|a, b| a.0.cmp(&b.0));
        for (k, view) in views {
            for _ in 0..view.replicas {
                let name = model.new_pod(&k, &view, long_ago);
                let pod = model.pods.get_mut(&name).expect("just created");
                pod.running_since = Some(long_ago);
                pod.ready_since = Some(long_ago);
            }
        }
        model.schedule(store, long_ago);
        model.compute_usage(now);
        model.metrics = metrics_server::MetricsServer::running_since_long_ago(now, &model.usage);
        for name in model.pods.keys().cloned().collect::<Vec<_>>() {
            model.write_pod(store, &name, now);
        }
        model.sync_deployment_status(store, now);
        model.sync_endpoints(store, now);
        // Autoscalers report their state from the start, as in a cluster that has been running.
        model.run_hpa_controller(store, now);
        // The other tools own what the topology marks as theirs as it was installed.
        model.owners.run(store, now);
        model
    }

    /// Runs the cluster forward to `now`, one simulated second at a time (at most a day).
    pub fn advance_to(&mut self, store: &mut Store, now: Millis) {
        if self.paused {
            // Time passes without anything happening: on resuming, the model goes on from
            // the clock's time instead of running the pause through.
            self.last_step += now.saturating_sub(self.last_step) / self.step_ms * self.step_ms;
            return;
        }
        let target = now.min(self.last_step + 86_400_000);
        while self.last_step + self.step_ms <= target {
            let t = self.last_step + self.step_ms;
            self.step(store, t);
            self.last_step = t;
        }
    }

    /// The clock stepped to `now`. After a step back the controllers go on from there, as
    /// Kubernetes' do after a node's clock is corrected, rather than standing still until it
    /// catches up; a step forward is caught up by the next [`Model::advance_to`].
    pub fn clock_stepped_to(&mut self, now: Millis) {
        self.last_step = self.last_step.min(now);
        self.last_hpa_sync = self.last_hpa_sync.min(now);
        self.last_autoscaler_sync = self.last_autoscaler_sync.min(now);
        self.metrics.clock_stepped_to(now);
    }

    /// Holds the cluster still (`true`) or lets it go on: no controller, traffic, churn or
    /// restart changes anything while paused, so the API server's objects stay as they are.
    /// For benchmarks that time reading the cluster without its controllers competing.
    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }

    /// Steps of `ms` simulated milliseconds (at least one; at most the HPA's sync period,
    /// which stays the period the controller runs at).
    pub fn set_step(&mut self, ms: Millis) {
        self.step_ms = ms.clamp(1, HPA_SYNC_MS);
    }

    /// Whether a cluster autoscaler adds nodes (up to the profile's maximum) for pods that
    /// cannot be scheduled; without one they stay Pending.
    pub fn set_cluster_autoscaler(&mut self, on: bool) {
        self.cluster_autoscaler = on;
    }

    /// The time the model has been stepped to.
    pub fn time(&self) -> Millis {
        self.last_step
    }

    fn step(&mut self, store: &mut Store, now: Millis) {
        self.refresh_deployments(store);
        self.reconcile_replicas(store, now);
        self.join_nodes(store, now);
        self.schedule(store, now);
        self.run_kubelets(store, now);
        self.churn(store, now);
        self.compute_usage(now);
        // Before the controller in the same second: a scrape at its sync is one it reads.
        self.metrics.step(now, self.step_ms, &self.usage);
        self.sync_deployment_status(store, now);
        self.sync_endpoints(store, now);
        if now >= self.last_hpa_sync + HPA_SYNC_MS {
            self.last_hpa_sync = now;
            self.run_hpa_controller(store, now);
        }
        self.owners.run(store, now);
        if now >= self.last_autoscaler_sync + AUTOSCALER_SYNC_MS {
            self.last_autoscaler_sync = now;
            if self.cluster_autoscaler {
                self.run_cluster_autoscaler(store, now);
            }
            self.expire_events(store, now);
        }
    }

    /// How a Deployment keeps up at the last step: its ready pods, the CPU its traffic asks of
    /// them (idle plus per-request work, before any limit) and the CPU they request, in cores.
    /// What a test judges a scaling change by: above the requests is overloaded.
    pub fn deployment_load(&self, namespace: &str, name: &str) -> Option<DeploymentLoad> {
        let k = key(namespace, name);
        let spec = self.services.get(&k)?;
        let ready: Vec<&PodSim> =
            self.pods_of(&k).map(|(_, p)| p).filter(|p| p.ready_since.is_some()).collect();
        let rate = self.service_rate(namespace, name, self.last_step);
        let demand_m = spec.idle_cpu_m * ready.len() as f64 + spec.cpu_per_request_m * rate;
        Some(DeploymentLoad {
            ready: ready.len(),
            demand_cores: demand_m / 1000.0,
            requested_cores: ready.iter().map(|p| p.cpu_request_m as f64).sum::<f64>() / 1000.0,
        })
    }

    /// Resource use of one pod at the last step.
    pub fn pod_usage(&self, namespace: &str, name: &str) -> Option<Usage> {
        self.usage.get(&key(namespace, name)).copied()
    }

    /// The same, by the pod's store key (no key to build: for readers of every pod, every step).
    pub fn pod_usage_by_key(&self, key: &Key) -> Option<Usage> {
        self.usage.get(key).copied()
    }

    /// The pod's reading as metrics-server serves it (its last scrape's), if it has one.
    pub fn pod_metrics(&self, key: &Key) -> Option<metrics_server::Reading> {
        self.metrics.reading(key)
    }

    /// The request rate of a Deployment's Service at the last step (0 for unknown ones).
    pub fn service_rate(&self, namespace: &str, deployment: &str, now: Millis) -> f64 {
        let k = key(namespace, deployment);
        match (self.services.get(&k), self.streams.get(&k)) {
            (Some(s), Some(stream)) => {
                traffic::rate(s.peak_rps, now as f64 / 1000.0, self.seed, *stream, &self.sale)
            }
            _ => 0.0,
        }
    }

    /// Whether the flash sale is under way.
    pub fn sale_active(&self, now: Millis) -> bool {
        self.sale.active(((now / 1000) % traffic::DAY_SECS) as f64)
    }

    /// Summed usage of the pods on each node.
    pub fn node_usage(&self) -> HashMap<String, Usage> {
        let mut out: HashMap<String, Usage> = HashMap::new();
        for (k, pod) in &self.pods {
            if let (Some(node), Some(u)) = (&pod.node, self.usage.get(k)) {
                let e = out.entry(node.clone()).or_default();
                e.cpu_cores += u.cpu_cores;
                e.memory_bytes += u.memory_bytes;
            }
        }
        out
    }
}

/// A JSON label map (`metadata.labels`, a Service's `spec.selector`) as a map.
fn label_map(labels: &Value) -> BTreeMap<String, String> {
    labels
        .as_object()
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default()
}

/// Whether a Service selector (a label map) selects pods with `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    LabelSelector::from_map(&label_map(selector)).selects(&label_map(labels))
}

/// A stable ReplicaSet-style hash for a Deployment's pods.
fn template_hash(deployment: &str) -> String {
    let alphabet = b"bcdfghjklmnpqrstvwxz2456789";
    let mut h = hash_str(deployment);
    (0..10)
        .map(|_| {
            let c = alphabet[(h % alphabet.len() as u64) as usize] as char;
            h /= alphabet.len() as u64;
            c
        })
        .collect()
}

fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// A status with zero counts dropped, to compare statuses as the API would serialise them.
fn strip_zero(status: &Value) -> Value {
    let mut s = status.clone();
    if let Some(map) = s.as_object_mut() {
        map.retain(|_, v| v.as_i64() != Some(0));
    }
    s
}

fn condition(type_: &str, ok: bool, reason: &str, message: &str, now: Millis) -> Value {
    json!({ "type": type_, "status": if ok { "True" } else { "False" }, "reason": reason, "message": message, "lastTransitionTime": rfc3339(now) })
}

/// Conditions whose status did not change keep their previous transition time.
fn keep_transition_times(mut conditions: Vec<Value>, previous: &Value) -> Vec<Value> {
    for c in &mut conditions {
        if let Some(p) = previous.as_array().and_then(|ps| ps.iter().find(|p| p["type"] == c["type"]))
            && p["status"] == c["status"]
        {
            c["lastTransitionTime"] = p["lastTransitionTime"].clone();
        }
    }
    conditions
}
