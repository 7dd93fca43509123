//! The cluster's moving parts: the Deployment controller, scheduler, kubelet, endpoints, HPA
//! controller and cluster autoscaler, stepped one simulated second at a time.
//!
//! The store holds what the API serves; the model keeps what only a running cluster knows
//! (which pod runs where, since when, how busy it is) and writes objects back only when they
//! change, so an idle second costs no API traffic.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use domain::{
    hpa::{self, Autoscaler, PodReadiness, PodSample, spec::BehaviorSpec},
    quantity::Quantity,
    selector::LabelSelector,
};
use serde_json::{Value, json};

use crate::{
    clock::{Millis, rfc3339, rfc3339_micros},
    resources::{DEPLOYMENTS, ENDPOINT_SLICES, EVENTS, HPAS, NODES, PODS, SERVICES},
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
    autoscalers: HashMap<Key, Autoscaler>,
    nodes_joining: Vec<(String, Millis)>,
    node_template: NodeSpec,
    max_nodes: usize,
    next_pod: u64,
    next_event: u64,
    last_step: Millis,
    last_hpa_sync: Millis,
    last_autoscaler_sync: Millis,
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
            autoscalers: HashMap::new(),
            nodes_joining: Vec::new(),
            node_template: topology.node_template.clone(),
            max_nodes: topology.max_nodes,
            next_pod: 0,
            next_event: 0,
            last_step: now,
            last_hpa_sync: now,
            last_autoscaler_sync: now,
        };
        let ts = rfc3339(now.saturating_sub(86_400_000));
        let mut create = |rt, obj| {
            store.create(rt, obj, &ts).expect("the topology's objects are valid and unique");
        };
        for ns in &topology.namespaces {
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
        for name in model.pods.keys().cloned().collect::<Vec<_>>() {
            model.write_pod(store, &name, now);
        }
        model.sync_deployment_status(store, now);
        model.sync_endpoints(store, now);
        // Autoscalers report their state from the start, as in a cluster that has been running.
        model.run_hpa_controller(store, now);
        model
    }

    /// Runs the cluster forward to `now`, one simulated second at a time (at most a day).
    pub fn advance_to(&mut self, store: &mut Store, now: Millis) {
        let target = now.min(self.last_step + 86_400_000);
        while self.last_step + 1000 <= target {
            let t = self.last_step + 1000;
            self.step(store, t);
            self.last_step = t;
        }
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
        self.compute_usage(now);
        self.sync_deployment_status(store, now);
        self.sync_endpoints(store, now);
        if now >= self.last_hpa_sync + HPA_SYNC_MS {
            self.last_hpa_sync = now;
            self.run_hpa_controller(store, now);
        }
        if now >= self.last_autoscaler_sync + AUTOSCALER_SYNC_MS {
            self.last_autoscaler_sync = now;
            self.run_cluster_autoscaler(store, now);
            self.expire_events(store, now);
        }
    }

    /// Resource use of one pod at the last step.
    pub fn pod_usage(&self, namespace: &str, name: &str) -> Option<Usage> {
        self.usage.get(&key(namespace, name)).copied()
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

    // ---- Deployment controller ------------------------------------------------------

    fn refresh_deployments(&mut self, store: &Store) {
        let mut seen = Vec::new();
        for ((ns, name), obj) in store.list(&DEPLOYMENTS, None, None) {
            let k = key(ns, name);
            let rv = obj["metadata"]["resourceVersion"].as_str().unwrap_or_default();
            seen.push(k.clone());
            if self.deployments.get(&k).is_some_and(|v| v.rv == rv) {
                continue;
            }
            self.dirty.insert(k.clone());
            let containers =
                obj["spec"]["template"]["spec"]["containers"].as_array().cloned().unwrap_or_default();
            let sum = |path: [&str; 2], to: fn(&Quantity) -> i64| -> Option<i64> {
                let mut total = 0;
                let mut any = false;
                for c in &containers {
                    if let Some(q) =
                        c["resources"][path[0]][path[1]].as_str().and_then(|s| Quantity::parse(s).ok())
                    {
                        total += to(&q);
                        any = true;
                    }
                }
                any.then_some(total)
            };
            self.deployments.insert(
                k,
                DeploymentView {
                    rv: rv.to_string(),
                    uid: obj["metadata"]["uid"].as_str().unwrap_or_default().to_string(),
                    generation: obj["metadata"]["generation"].as_i64().unwrap_or(1),
                    replicas: obj["spec"]["replicas"].as_i64().unwrap_or(1) as i32,
                    template: obj["spec"]["template"].clone(),
                    cpu_request_m: sum(["requests", "cpu"], Quantity::as_millis).unwrap_or(0),
                    memory_request: sum(["requests", "memory"], Quantity::as_units).unwrap_or(0),
                    cpu_limit_m: sum(["limits", "cpu"], Quantity::as_millis),
                },
            );
        }
        self.deployments.retain(|k, _| seen.contains(k));
    }

    fn pods_of<'a>(&'a self, deployment: &'a Key) -> impl Iterator<Item = (Key, &'a PodSim)> + 'a {
        self.by_owner.get(deployment).into_iter().flatten().filter_map(move |name| {
            let k = key(&deployment.0, name);
            let pod = self.pods.get(&k)?;
            Some((k, pod))
        })
    }

    fn remove_pod(&mut self, store: &mut Store, k: &Key) {
        if let Some(pod) = self.pods.remove(k) {
            let owner = key(&k.0, &pod.owner);
            if let Some(names) = self.by_owner.get_mut(&owner) {
                names.remove(&k.1);
            }
            self.dirty.insert(owner);
        }
        self.usage.remove(k);
        let _ = store.delete(&PODS, &k.0, &k.1);
    }

    fn new_pod(&mut self, deployment: &Key, view: &DeploymentView, now: Millis) -> Key {
        self.next_pod += 1;
        let n = self.next_pod;
        let suffix: String = (0..5)
            .map(|i| {
                let alphabet = b"bcdfghjklmnpqrstvwxz2456789";
                alphabet[((n.wrapping_mul(2_654_435_761) >> (i * 5)) as usize + i * 7) % alphabet.len()]
                    as char
            })
            .collect();
        let name = format!("{}-{}-{suffix}", deployment.1, template_hash(&deployment.1));
        let k = key(&deployment.0, &name);
        self.by_owner.entry(deployment.clone()).or_default().insert(name);
        self.dirty.insert(deployment.clone());
        self.pods.insert(
            k.clone(),
            PodSim {
                owner: deployment.1.clone(),
                node: None,
                created: now,
                scheduled_at: None,
                running_since: None,
                ready_since: None,
                cpu_request_m: view.cpu_request_m,
                memory_request: view.memory_request,
                unschedulable_since: None,
                unschedulable_message: String::new(),
                restarts: 0,
                ip: format!("10.{}.{}.{}", 64 + (n >> 16) % 64, (n >> 8) % 256, n % 256),
            },
        );
        k
    }

    fn reconcile_replicas(&mut self, store: &mut Store, now: Millis) {
        let mut deployments: Vec<(Key, usize)> =
            self.deployments.iter().map(|(k, v)| (k.clone(), v.replicas.max(0) as usize)).collect();
        deployments.sort();
        for (dk, want) in deployments {
            let have = self.by_owner.get(&dk).map_or(0, BTreeSet::len);
            if have == want {
                continue;
            }
            let current: Vec<Key> = self.pods_of(&dk).map(|(k, _)| k).collect();
            let view = self.deployments[&dk].clone();
            if current.len() < want {
                for _ in current.len()..want {
                    let pk = self.new_pod(&dk, &view, now);
                    self.write_pod(store, &pk, now);
                }
                self.event(
                    store,
                    now,
                    &dk.0,
                    ("Deployment", &dk.1),
                    "Normal",
                    "ScalingReplicaSet",
                    &format!(
                        "Scaled up replica set {}-{} from {} to {want}",
                        dk.1,
                        template_hash(&dk.1),
                        current.len()
                    ),
                    "deployment-controller",
                );
            } else if current.len() > want {
                // Like the ReplicaSet controller: unscheduled first, then not ready, then newest.
                let mut victims: Vec<(u8, Millis, Key)> = current
                    .iter()
                    .map(|k| {
                        let p = &self.pods[k];
                        let rank = if p.node.is_none() {
                            0
                        } else if p.ready_since.is_none() {
                            1
                        } else {
                            2
                        };
                        (rank, u64::MAX - p.created, k.clone())
                    })
                    .collect();
                victims.sort();
                for (_, _, k) in victims.into_iter().take(current.len() - want) {
                    self.remove_pod(store, &k);
                }
                self.event(
                    store,
                    now,
                    &dk.0,
                    ("Deployment", &dk.1),
                    "Normal",
                    "ScalingReplicaSet",
                    &format!(
                        "Scaled down replica set {}-{} from {} to {want}",
                        dk.1,
                        template_hash(&dk.1),
                        current.len()
                    ),
                    "deployment-controller",
                );
            }
        }
        // Pods whose Deployment is gone go with it.
        let orphans: Vec<Key> = self
            .pods
            .iter()
            .filter(|((ns, _), p)| !self.deployments.contains_key(&key(ns, &p.owner)))
            .map(|(k, _)| k.clone())
            .collect();
        for k in orphans {
            self.remove_pod(store, &k);
        }
        self.by_owner.retain(|owner, names| !names.is_empty() || self.deployments.contains_key(owner));
    }

    // ---- Scheduler, nodes and kubelet ----------------------------------------------

    fn node_capacity(store: &Store) -> Vec<(String, i64, i64)> {
        store
            .list(&NODES, None, None)
            .map(|((_, name), n)| {
                let q =
                    |r: &str| n["status"]["allocatable"][r].as_str().and_then(|s| Quantity::parse(s).ok());
                (name.clone(), q("cpu").map_or(0, |c| c.as_millis()), q("memory").map_or(0, |m| m.as_units()))
            })
            .collect()
    }

    fn schedule(&mut self, store: &mut Store, now: Millis) {
        let nodes = Self::node_capacity(store);
        let mut used: HashMap<String, (i64, i64)> = HashMap::new();
        for p in self.pods.values() {
            if let Some(n) = &p.node {
                let e = used.entry(n.clone()).or_default();
                e.0 += p.cpu_request_m;
                e.1 += p.memory_request;
            }
        }
        let pending: Vec<Key> =
            self.pods.iter().filter(|(_, p)| p.node.is_none()).map(|(k, _)| k.clone()).collect();
        for k in pending {
            let (cpu, mem) = (self.pods[&k].cpu_request_m, self.pods[&k].memory_request);
            // Least-allocated node that fits, as the default scoring prefers.
            let best = nodes
                .iter()
                .filter(|(n, c, m)| {
                    let (uc, um) = used.get(n).copied().unwrap_or_default();
                    uc + cpu <= *c && um + mem <= *m
                })
                .min_by_key(|(n, c, _)| (used.get(n).map_or(0, |u| u.0) * 1000 / (*c).max(1), n.clone()));
            let pod = self.pods.get_mut(&k).expect("listed above");
            match best {
                Some((node, _, _)) => {
                    pod.node = Some(node.clone());
                    pod.scheduled_at = Some(now);
                    pod.unschedulable_since = None;
                    let e = used.entry(node.clone()).or_default();
                    e.0 += cpu;
                    e.1 += mem;
                    self.write_pod(store, &k, now);
                }
                None if pod.unschedulable_since.is_none() => {
                    pod.unschedulable_since = Some(now);
                    let message =
                        format!("0/{} nodes are available: {} Insufficient cpu.", nodes.len(), nodes.len());
                    self.write_pod(store, &k, now);
                    self.event(
                        store,
                        now,
                        &k.0,
                        ("Pod", &k.1),
                        "Warning",
                        "FailedScheduling",
                        &message,
                        "default-scheduler",
                    );
                }
                None => {}
            }
        }
    }

    /// Starts scheduled pods, marks them ready, and now and then restarts a container (about
    /// once per pod every six hours, at moments the seed decides).
    fn run_kubelets(&mut self, store: &mut Store, now: Millis) {
        let mut changed = Vec::new();
        let second = now / 1000;
        for (k, p) in self.pods.iter_mut() {
            let Some(scheduled_at) = p.scheduled_at else { continue };
            let dice = (hash_str(&k.1) ^ self.seed.wrapping_mul(0x9E37_79B9))
                .wrapping_add(second)
                .wrapping_mul(0x2545_F491_4F6C_DD1D);
            if p.ready_since.is_some() && dice.is_multiple_of(RESTART_EVERY_SECS) {
                p.restarts += 1;
                p.running_since = Some(now);
                p.ready_since = None;
                changed.push(k.clone());
            } else if p.running_since.is_none() && now >= scheduled_at + START_LATENCY_MS {
                p.running_since = Some(now);
                changed.push(k.clone());
            } else if let Some(run) = p.running_since
                && p.ready_since.is_none()
                && now >= run + READY_DELAY_MS
            {
                p.ready_since = Some(now);
                changed.push(k.clone());
            }
        }
        for k in changed {
            if let Some(p) = self.pods.get(&k) {
                self.dirty.insert(key(&k.0, &p.owner));
            }
            self.write_pod(store, &k, now);
        }
    }

    fn join_nodes(&mut self, store: &mut Store, now: Millis) {
        let (ready, waiting): (Vec<_>, Vec<_>) = self.nodes_joining.drain(..).partition(|(_, at)| *at <= now);
        self.nodes_joining = waiting;
        for (name, _) in ready {
            let spec = NodeSpec { name: name.clone(), ..self.node_template.clone() };
            if store.create(&NODES, spec.object(), &rfc3339(now)).is_ok() {
                self.event(
                    store,
                    now,
                    "default",
                    ("Node", &name),
                    "Normal",
                    "RegisteredNode",
                    &format!("Node {name} event: Registered Node {name} in Controller"),
                    "node-controller",
                );
            }
        }
    }

    fn run_cluster_autoscaler(&mut self, store: &mut Store, now: Millis) {
        let stuck = self
            .pods
            .values()
            .filter(|p| p.unschedulable_since.is_some_and(|t| now >= t + SCALE_UP_DELAY_MS))
            .count();
        let nodes = store.count(&NODES) + self.nodes_joining.len();
        if stuck == 0 || nodes >= self.max_nodes || !self.nodes_joining.is_empty() {
            return;
        }
        let name = format!("node-{}", nodes + 1);
        self.nodes_joining.push((name.clone(), now + NODE_PROVISION_MS));
        self.event(
            store,
            now,
            "default",
            ("ConfigMap", "cluster-autoscaler-status"),
            "Normal",
            "TriggeredScaleUp",
            &format!(
                "pod triggered scale-up: {stuck} unschedulable pods; adding {name} ({} → {} nodes)",
                nodes,
                nodes + 1
            ),
            "cluster-autoscaler",
        );
    }

    // ---- Load ----------------------------------------------------------------------

    fn compute_usage(&mut self, now: Millis) {
        let mut usage = HashMap::with_capacity(self.pods.len());
        let secs = now as f64 / 1000.0;
        for (dk, view) in &self.deployments {
            let pods: Vec<(Key, &PodSim)> = self.pods_of(dk).collect();
            let ready = pods.iter().filter(|(_, p)| p.ready_since.is_some()).count();
            let spec = self.services.get(dk);
            let stream = self.streams.get(dk).copied().unwrap_or(0);
            let rate = spec.map_or(0.0, |s| traffic::rate(s.peak_rps, secs, self.seed, stream, &self.sale));
            let per_pod = if ready == 0 { 0.0 } else { rate / ready as f64 };
            for (k, p) in pods {
                if p.running_since.is_none() {
                    continue;
                }
                let serving = p.ready_since.is_some();
                let rps = if serving { per_pod } else { 0.0 };
                let wobble = 1.0 + traffic::noise(self.seed, stream * 7919 + hash_str(&k.1), secs, 0.04);
                let (idle, cost, base_mib, per_rps_mib) = spec.map_or((5.0, 0.0, 32.0, 0.0), |s| {
                    (s.idle_cpu_m, s.cpu_per_request_m, s.base_memory_mib, s.memory_per_rps_mib)
                });
                let mut cpu_m = (idle + cost * rps) * wobble;
                if let Some(limit) = view.cpu_limit_m {
                    cpu_m = cpu_m.min(limit as f64);
                }
                let memory_mib = (base_mib + per_rps_mib * rps) * (1.0 + (wobble - 1.0) * 0.25);
                usage.insert(
                    k,
                    Usage {
                        cpu_cores: cpu_m / 1000.0,
                        memory_bytes: memory_mib * 1_048_576.0,
                        requests_per_sec: rps,
                    },
                );
            }
        }
        self.usage = usage;
    }

    // ---- Status writers -------------------------------------------------------------

    fn write_pod(&mut self, store: &mut Store, k: &Key, now: Millis) {
        let Some(pod) = self.pods.get(k) else { return };
        let Some(view) = self.deployments.get(&key(&k.0, &pod.owner)) else { return };
        let mut labels = view.template["metadata"]["labels"].clone();
        labels["pod-template-hash"] = json!(template_hash(&pod.owner));
        let mut spec = view.template["spec"].clone();
        if let Some(node) = &pod.node {
            spec["nodeName"] = json!(node);
        }
        let cond = |t: &str, ok: bool, since: Millis| json!({ "type": t, "status": if ok { "True" } else { "False" }, "lastTransitionTime": rfc3339(since) });
        let scheduled = cond("PodScheduled", pod.node.is_some(), pod.created);
        let scheduled = match pod.unschedulable_since {
            Some(t) if pod.node.is_none() => {
                json!({ "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": pod.unschedulable_message, "lastTransitionTime": rfc3339(t) })
            }
            _ => scheduled,
        };
        let ready = pod.ready_since.is_some();
        let phase = if pod.running_since.is_some() { "Running" } else { "Pending" };
        let containers = view.template["spec"]["containers"].as_array().cloned().unwrap_or_default();
        let statuses: Vec<Value> = containers
            .iter()
            .map(|c| {
                let state = match pod.running_since {
                    Some(t) => json!({ "running": { "startedAt": rfc3339(t) } }),
                    None => json!({ "waiting": { "reason": "ContainerCreating" } }),
                };
                json!({ "name": c["name"], "image": c["image"], "imageID": "", "ready": ready, "started": pod.running_since.is_some(),
                    "restartCount": pod.restarts, "state": state })
            })
            .collect();
        let mut status = json!({
            "phase": phase,
            "conditions": [
                scheduled,
                cond("Initialized", pod.node.is_some(), pod.created),
                cond("ContainersReady", ready, pod.ready_since.unwrap_or(pod.created)),
                cond("Ready", ready, pod.ready_since.unwrap_or(pod.created)),
            ],
            "qosClass": "Burstable",
        });
        if pod.node.is_some() {
            status["podIP"] = json!(pod.ip);
            status["podIPs"] = json!([{ "ip": pod.ip }]);
            status["startTime"] = json!(rfc3339(pod.created));
            status["containerStatuses"] = json!(statuses);
        }
        let object = json!({
            "metadata": {
                "name": k.1, "namespace": k.0, "labels": labels,
                "ownerReferences": [{ "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{}-{}", pod.owner, template_hash(&pod.owner)),
                    "uid": view.uid, "controller": true, "blockOwnerDeletion": true }],
            },
            "spec": spec,
            "status": status,
        });
        let result = match store.get(&PODS, &k.0, &k.1) {
            Some(current) => {
                let mut next = object;
                next["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
                store.replace(&PODS, next, None)
            }
            None => store.create(&PODS, object, &rfc3339(now)),
        };
        if let Err(e) = result {
            tracing::warn!("could not store pod {}/{}: {}", k.0, k.1, e.message);
        }
    }

    fn sync_deployment_status(&mut self, store: &mut Store, _now: Millis) {
        let keys: Vec<Key> =
            self.dirty.iter().filter(|k| self.deployments.contains_key(*k)).cloned().collect();
        for dk in keys {
            let view = &self.deployments[&dk];
            let pods: Vec<&PodSim> = self.pods_of(&dk).map(|(_, p)| p).collect();
            let total = pods.len() as i64;
            let ready = pods.iter().filter(|p| p.ready_since.is_some()).count() as i64;
            let available = view.replicas as i64 <= ready;
            let status = json!({
                "observedGeneration": view.generation,
                "replicas": total,
                "updatedReplicas": total,
                "readyReplicas": ready,
                "availableReplicas": ready,
                "unavailableReplicas": (total - ready).max(0),
                "conditions": [
                    { "type": "Available", "status": if available { "True" } else { "False" },
                      "reason": if available { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
                      "message": if available { "Deployment has minimum availability." } else { "Deployment does not have minimum availability." } },
                    { "type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                      "message": format!("ReplicaSet \"{}-{}\" has successfully progressed.", dk.1, template_hash(&dk.1)) },
                ],
            });
            let Some(current) = store.get(&DEPLOYMENTS, &dk.0, &dk.1) else { continue };
            if strip_zero(&current["status"]) == strip_zero(&status) {
                continue;
            }
            let mut next = (*current).clone();
            next["status"] = status;
            if let Ok(updated) = store.replace(&DEPLOYMENTS, next, None) {
                let rv = updated["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string();
                if let Some(v) = self.deployments.get_mut(&dk) {
                    v.rv = rv;
                }
            }
        }
    }

    /// Rewrites the EndpointSlices of Services selecting a Deployment whose pods changed.
    fn sync_endpoints(&mut self, store: &mut Store, now: Millis) {
        let dirty: Vec<Key> = self.dirty.drain().collect();
        let mut services: BTreeSet<Key> = BTreeSet::new();
        for dk in &dirty {
            let Some(view) = self.deployments.get(dk) else { continue };
            for ((ns, name), svc) in store.list(&SERVICES, Some(&dk.0), None) {
                if selects(&svc["spec"]["selector"], &view.template["metadata"]["labels"]) {
                    services.insert(key(ns, name));
                }
            }
        }
        for (ns, name) in services {
            let Some(svc) = store.get(&SERVICES, &ns, &name) else { continue };
            let owners: Vec<Key> = self
                .deployments
                .iter()
                .filter(|((dns, _), v)| {
                    *dns == ns && selects(&svc["spec"]["selector"], &v.template["metadata"]["labels"])
                })
                .map(|(k, _)| k.clone())
                .collect();
            let endpoints: Vec<Value> = owners
                .iter()
                .flat_map(|owner| self.pods_of(owner).collect::<Vec<_>>())
                .filter(|(_, p)| p.running_since.is_some())
                .map(|((_, pname), p)| {
                    let ready = p.ready_since.is_some();
                    json!({ "addresses": [p.ip], "conditions": { "ready": ready, "serving": ready, "terminating": false },
                        "nodeName": p.node, "targetRef": { "kind": "Pod", "namespace": ns, "name": pname } })
                })
                .collect();
            let slice_name = format!("{name}-sim01");
            let object = json!({
                "metadata": { "name": slice_name, "namespace": ns,
                    "labels": { "kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io" } },
                "addressType": "IPv4",
                "endpoints": endpoints,
                "ports": [{ "name": "http", "port": 8080, "protocol": "TCP" }],
            });
            match store.get(&ENDPOINT_SLICES, &ns, &slice_name) {
                Some(current) if current["endpoints"] == object["endpoints"] => {}
                Some(current) => {
                    let mut next = (*current).clone();
                    next["endpoints"] = object["endpoints"].clone();
                    let _ = store.replace(&ENDPOINT_SLICES, next, None);
                }
                None => {
                    let _ = store.create(&ENDPOINT_SLICES, object, &rfc3339(now));
                }
            }
        }
    }

    // ---- HPA controller --------------------------------------------------------------

    fn run_hpa_controller(&mut self, store: &mut Store, now: Millis) {
        let hpas: Vec<(Key, Value)> =
            store.list(&HPAS, None, None).map(|(k, v)| (k.clone(), (**v).clone())).collect();
        for (hk, hpa_obj) in hpas {
            self.sync_hpa(store, now, &hk, hpa_obj);
        }
    }

    fn sync_hpa(&mut self, store: &mut Store, now: Millis, hk: &Key, mut hpa_obj: Value) {
        let spec = &hpa_obj["spec"];
        let target = spec["scaleTargetRef"]["name"].as_str().unwrap_or_default().to_string();
        let min = spec["minReplicas"].as_i64().unwrap_or(1) as i32;
        let max = spec["maxReplicas"].as_i64().unwrap_or(1) as i32;
        let behavior = BehaviorSpec::resolve_optional(BehaviorSpec::from_json(&spec["behavior"]).as_ref());
        let dk = key(&hk.0, &target);
        let Some(view) = self.deployments.get(&dk).cloned() else {
            hpa_obj["status"]["conditions"] = json!([condition(
                "AbleToScale",
                false,
                "FailedGetScale",
                &format!(
                    "the HPA controller was unable to get the target's current scale: deployments/scale.apps \"{target}\" not found"
                ),
                now
            )]);
            let _ = store.replace(&HPAS, hpa_obj, None);
            return;
        };
        let current = view.replicas;
        let mut conditions = Vec::new();
        let mut current_metrics = Vec::new();
        let mut utilisation_by_metric = Vec::new();

        let desired = if current == 0 && min != 0 {
            conditions.push(condition(
                "ScalingActive",
                false,
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
                now,
            ));
            0
        } else if let Some(clamped) = hpa::clamp_out_of_range(current, min, max) {
            conditions.push(condition(
                "ScalingActive",
                true,
                "ValidMetricFound",
                "the HPA was able to successfully calculate a replica count",
                now,
            ));
            clamped
        } else {
            let mut best: Option<i32> = None;
            let mut failure = None;
            for metric in spec["metrics"].as_array().cloned().unwrap_or_default() {
                let resource = metric["resource"]["name"].as_str().unwrap_or("cpu");
                let Some(target_pct) = metric["resource"]["target"]["averageUtilization"].as_i64() else {
                    continue;
                };
                let samples: Vec<PodSample> = self
                    .pods_of(&dk)
                    .map(|(k, p)| {
                        let readiness = match (p.running_since, p.ready_since) {
                            (None, _) => PodReadiness::Pending,
                            (Some(_), None) => PodReadiness::Unready,
                            (Some(_), Some(_)) => PodReadiness::Ready,
                        };
                        let usage = self.usage.get(&k).map(|u| {
                            if resource == "memory" { u.memory_bytes } else { u.cpu_cores * 1000.0 }
                        });
                        let request = if resource == "memory" {
                            p.memory_request as f64
                        } else {
                            p.cpu_request_m as f64
                        };
                        PodSample { readiness, usage, request }
                    })
                    .collect();
                match hpa::replicas_for_utilization(
                    current,
                    &samples,
                    target_pct as i32,
                    hpa::DEFAULT_TOLERANCE,
                ) {
                    Ok(rec) => {
                        best = Some(best.map_or(rec.replicas, |b| b.max(rec.replicas)));
                        utilisation_by_metric.push((resource.to_string(), rec.utilization_percent));
                        let average_value = if resource == "memory" {
                            domain::quantity::format_memory_ki(
                                samples.iter().filter_map(|s| s.usage).sum::<f64>()
                                    / samples.len().max(1) as f64,
                            )
                        } else {
                            format!(
                                "{}m",
                                (samples.iter().filter_map(|s| s.usage).sum::<f64>()
                                    / samples.len().max(1) as f64)
                                    .round() as i64
                            )
                        };
                        current_metrics.push(json!({ "type": "Resource", "resource": { "name": resource,
                            "current": { "averageUtilization": rec.utilization_percent, "averageValue": average_value } } }));
                    }
                    Err(e) => failure = Some(e),
                }
            }
            match (best, failure) {
                (Some(b), _) => {
                    conditions.push(condition("ScalingActive", true, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)", now));
                    let decision = self
                        .autoscalers
                        .entry(hk.clone())
                        .or_insert_with(|| Autoscaler::new(now, current))
                        .normalize(now, current, b, min, max, &behavior);
                    let able = if decision.stabilized != b {
                        condition(
                            "AbleToScale",
                            true,
                            if decision.stabilized < b { "ScaleUpStabilized" } else { "ScaleDownStabilized" },
                            "recent recommendations were higher than current one, applying the highest recent recommendation",
                            now,
                        )
                    } else {
                        condition(
                            "AbleToScale",
                            true,
                            "ReadyForNewScale",
                            "recommended size matches current size",
                            now,
                        )
                    };
                    conditions.insert(0, able);
                    conditions.push(condition(
                        "ScalingLimited",
                        decision.replicas != decision.stabilized,
                        decision.limit.reason(),
                        decision.limit.message(),
                        now,
                    ));
                    decision.replicas
                }
                (None, Some(e)) => {
                    conditions.push(condition(
                        "ScalingActive",
                        false,
                        "FailedGetResourceMetric",
                        &e.to_string(),
                        now,
                    ));
                    current
                }
                (None, None) => current,
            }
        };

        let previous_status = hpa_obj["status"].clone();
        let mut status = json!({
            "currentReplicas": current,
            "desiredReplicas": desired,
            "currentMetrics": current_metrics,
            "conditions": keep_transition_times(conditions, &previous_status["conditions"]),
        });
        if let Some(t) = previous_status.get("lastScaleTime") {
            status["lastScaleTime"] = t.clone();
        }
        if desired != current && !(current == 0 && min != 0) {
            self.scale_deployment(store, &dk, desired);
            self.autoscalers
                .entry(hk.clone())
                .or_insert_with(|| Autoscaler::new(now, current))
                .record_scale(now, current, desired, &behavior);
            status["lastScaleTime"] = json!(rfc3339(now));
            let reason = utilisation_by_metric
                .iter()
                .map(|(r, u)| {
                    format!(
                        "{r} resource utilization (percentage of request) {}",
                        if desired > current {
                            format!("above target ({u}%)")
                        } else {
                            format!("below target ({u}%)")
                        }
                    )
                })
                .next()
                .unwrap_or_else(|| "Current number of replicas out of range".to_string());
            self.event(
                store,
                now,
                &hk.0,
                ("HorizontalPodAutoscaler", &hk.1),
                "Normal",
                "SuccessfulRescale",
                &format!("New size: {desired}; reason: {reason}"),
                "horizontal-pod-autoscaler",
            );
        }
        hpa_obj["status"] = status;
        if let Some(stored) = store.get(&HPAS, &hk.0, &hk.1)
            && stored["status"] != hpa_obj["status"]
        {
            let _ = store.replace(&HPAS, hpa_obj, None);
        }
    }

    fn scale_deployment(&mut self, store: &mut Store, dk: &Key, replicas: i32) {
        let Some(current) = store.get(&DEPLOYMENTS, &dk.0, &dk.1) else { return };
        let mut next = (*current).clone();
        next["spec"]["replicas"] = json!(replicas);
        let _ = store.replace(&DEPLOYMENTS, next, None);
    }

    // ---- Events ------------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        store: &mut Store,
        now: Millis,
        ns: &str,
        (kind, name): (&str, &str),
        type_: &str,
        reason: &str,
        message: &str,
        component: &str,
    ) {
        self.next_event += 1;
        let api_version = match kind {
            "Deployment" => "apps/v1",
            "HorizontalPodAutoscaler" => "autoscaling/v2",
            _ => "v1",
        };
        let object = json!({
            "metadata": { "name": format!("{name}.{:016x}", now * 1000 + self.next_event), "namespace": ns },
            "involvedObject": { "kind": kind, "namespace": ns, "name": name, "apiVersion": api_version },
            "reason": reason,
            "message": message,
            "type": type_,
            "source": { "component": component },
            "reportingComponent": component,
            "firstTimestamp": rfc3339(now),
            "lastTimestamp": rfc3339(now),
            "eventTime": rfc3339_micros(now),
            "count": 1,
        });
        let _ = store.create(&EVENTS, object, &rfc3339(now));
    }

    fn expire_events(&mut self, store: &mut Store, now: Millis) {
        let cutoff = rfc3339(now.saturating_sub(EVENT_TTL_MS));
        let old: Vec<Key> = store
            .list(&EVENTS, None, None)
            .filter(|(_, e)| e["lastTimestamp"].as_str().is_some_and(|t| t < cutoff.as_str()))
            .map(|(k, _)| k.clone())
            .collect();
        for (ns, name) in old {
            let _ = store.delete(&EVENTS, &ns, &name);
        }
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
