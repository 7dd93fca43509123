//! The payment platform the simulator runs: its services, their resources and autoscalers,
//! and the nodes they run on. Two profiles: `demo` (a realistic small platform with a few
//! deliberate misconfigurations) and `large` (thousands of services, for benchmarks).

use serde_json::{Value, json};

/// An HPA on a service: CPU utilisation target, bounds, optional custom behavior.
#[derive(Clone, Debug, PartialEq)]
pub struct HpaSpec {
    pub min: i32,
    pub max: i32,
    pub cpu_target_percent: i32,
    /// A memory utilisation target as well, when set.
    pub memory_target_percent: Option<i32>,
    /// `spec.behavior` as JSON, when not the default.
    pub behavior: Option<Value>,
}

/// One payment service (a Deployment with its Service and, usually, an HPA).
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceSpec {
    pub namespace: String,
    pub name: String,
    pub tier: &'static str,
    /// Requests per second at the normal evening peak (0 for batch work).
    pub peak_rps: f64,
    /// CPU each request costs, in millicores·seconds.
    pub cpu_per_request_m: f64,
    /// CPU used with no traffic (runtime, health checks, batch work), in millicores.
    pub idle_cpu_m: f64,
    /// Memory with no traffic, and per request/s on the pod, in MiB.
    pub base_memory_mib: f64,
    pub memory_per_rps_mib: f64,
    pub replicas: i32,
    pub cpu_request_m: i64,
    /// `None`: no CPU limit set.
    pub cpu_limit_m: Option<i64>,
    pub memory_request_mib: i64,
    pub memory_limit_mib: Option<i64>,
    pub hpa: Option<HpaSpec>,
    /// `minAvailable` of its PodDisruptionBudget, if it has one.
    pub pdb_min_available: Option<i32>,
    /// Whether the service carries the critical-service label.
    pub critical: bool,
    /// Whether the Ingress routes to it.
    pub public: bool,
    /// Whether its container has a readiness probe.
    pub readiness_probe: bool,
    /// Whether its pod template spreads the pods over nodes (topologySpreadConstraints).
    pub spread: bool,
    /// Governance rules waived by annotation, and why.
    pub waive: Option<(&'static str, &'static str)>,
    /// Another tool that writes its objects, by the marks that tool leaves on them.
    pub owned_by: Option<OwnedBy>,
}

/// A tool besides Kubernetes that writes a service's objects (see `model::owners`).
#[derive(Clone, Debug, PartialEq)]
pub enum OwnedBy {
    /// Its HPA is synced by the Argo CD application of this name (tracking annotation).
    ArgoCdHpa(&'static str),
    /// Its Deployment is applied by the Flux Kustomization `flux-system/<name>`.
    FluxDeployment(&'static str),
    /// Its HPA is made by KEDA from the ScaledObject of the service's name.
    KedaHpa,
}

/// A node shape.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeSpec {
    pub name: String,
    pub cpu_m: i64,
    pub memory_mib: i64,
    pub zone: &'static str,
}

/// A whole platform.
#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    pub namespaces: Vec<String>,
    pub services: Vec<ServiceSpec>,
    pub nodes: Vec<NodeSpec>,
    /// The most nodes the cluster autoscaler may run (equal to `nodes.len()`: no autoscaler).
    pub max_nodes: usize,
    /// Shape of nodes the autoscaler adds.
    pub node_template: NodeSpec,
}

#[allow(clippy::too_many_arguments)]
fn service(
    namespace: &str,
    name: &str,
    tier: &'static str,
    peak_rps: f64,
    cpu_per_request_m: f64,
    replicas: i32,
    (cpu_request_m, cpu_limit_m): (i64, Option<i64>),
    (memory_request_mib, memory_limit_mib): (i64, Option<i64>),
) -> ServiceSpec {
    ServiceSpec {
        namespace: namespace.into(),
        name: name.into(),
        tier,
        peak_rps,
        cpu_per_request_m,
        idle_cpu_m: 15.0,
        base_memory_mib: memory_request_mib as f64 * 0.45,
        memory_per_rps_mib: 0.4,
        replicas,
        cpu_request_m,
        cpu_limit_m,
        memory_request_mib,
        memory_limit_mib,
        hpa: None,
        pdb_min_available: None,
        critical: false,
        public: false,
        readiness_probe: true,
        spread: false,
        waive: None,
        owned_by: None,
    }
}

fn hpa(min: i32, max: i32, cpu_target_percent: i32) -> Option<HpaSpec> {
    Some(HpaSpec { min, max, cpu_target_percent, memory_target_percent: None, behavior: None })
}

fn node(name: String, zone: &'static str) -> NodeSpec {
    NodeSpec { name, cpu_m: 8000, memory_mib: 32 * 1024, zone }
}

const ZONES: [&str; 3] = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];

impl Topology {
    /// The demo platform: gateway → payment API → card tokeniser and risk scoring → ledger
    /// → notifications; settlement and reconciliation batches; FX rates.
    ///
    /// Deliberate problems for governance to find: `fx-rates` has no limits and runs one
    /// replica without a PodDisruptionBudget (PD203, PD106); `risk-scoring`'s HPA maximum is
    /// too low for the evening peak (PD301); `notifications` requests several times the CPU it
    /// uses (PD206); `card-tokeniser`, critical, does not spread its pods (PD105);
    /// `reconciliation` has no readiness probe (PD201). `settlement-batch` has none either,
    /// waived by annotation.
    ///
    /// Written by other tools as well: `payment-api`'s HPA is synced by the Argo CD
    /// application `payments-core`, `reconciliation`'s Deployment by the Flux Kustomization
    /// `flux-system/payments-batch`, and `settlement-batch`'s HPA is KEDA's.
    pub fn demo() -> Topology {
        let edge = "payments-edge";
        let core = "payments-core";
        let batch = "payments-batch";
        let mut services = vec![
            ServiceSpec {
                hpa: hpa(3, 20, 70),
                pdb_min_available: Some(2),
                critical: true,
                public: true,
                ..service(edge, "api-gateway", "edge", 1200.0, 0.4, 3, (500, Some(1000)), (256, Some(512)))
            },
            ServiceSpec {
                hpa: hpa(3, 24, 65),
                pdb_min_available: Some(2),
                critical: true,
                ..service(core, "payment-api", "core", 1200.0, 1.2, 4, (500, Some(1000)), (512, Some(1024)))
            },
            ServiceSpec {
                hpa: hpa(2, 12, 70),
                pdb_min_available: Some(1),
                critical: true,
                ..service(core, "card-tokeniser", "core", 960.0, 0.8, 3, (250, Some(500)), (256, Some(512)))
            },
            ServiceSpec {
                // Max 4 holds about 2,000 req/s at 60 %: not the evening peak, let alone a sale.
                hpa: hpa(2, 4, 60),
                pdb_min_available: Some(1),
                critical: true,
                ..service(
                    core,
                    "risk-scoring",
                    "core",
                    1080.0,
                    2.5,
                    3,
                    (1000, Some(2000)),
                    (1024, Some(2048)),
                )
            },
            ServiceSpec {
                hpa: Some(HpaSpec {
                    min: 3,
                    max: 12,
                    cpu_target_percent: 70,
                    memory_target_percent: Some(80),
                    behavior: Some(json!({
                        "scaleDown": {
                            "stabilizationWindowSeconds": 600,
                            "selectPolicy": "Min",
                            "policies": [
                                { "type": "Pods", "value": 1, "periodSeconds": 60 },
                                { "type": "Percent", "value": 10, "periodSeconds": 60 }
                            ]
                        }
                    })),
                }),
                pdb_min_available: Some(2),
                critical: true,
                ..service(core, "ledger", "core", 1140.0, 0.9, 3, (500, Some(1000)), (1024, Some(2048)))
            },
            // Requests 2 cores a pod; uses about a tenth of that.
            ServiceSpec {
                idle_cpu_m: 40.0,
                ..service(core, "notifications", "core", 720.0, 0.3, 3, (2000, Some(2000)), (512, Some(1024)))
            },
            // No limits, one replica, no PDB.
            ServiceSpec {
                idle_cpu_m: 20.0,
                ..service(core, "fx-rates", "core", 300.0, 0.2, 1, (100, None), (128, None))
            },
            ServiceSpec {
                hpa: hpa(1, 6, 75),
                idle_cpu_m: 450.0,
                ..service(
                    batch,
                    "settlement-batch",
                    "batch",
                    0.0,
                    0.0,
                    2,
                    (1000, Some(2000)),
                    (2048, Some(4096)),
                )
            },
            ServiceSpec {
                idle_cpu_m: 120.0,
                pdb_min_available: Some(1),
                ..service(
                    batch,
                    "reconciliation",
                    "batch",
                    40.0,
                    2.0,
                    2,
                    (500, Some(1000)),
                    (1024, Some(2048)),
                )
            },
        ];
        for s in &mut services {
            s.base_memory_mib = s.memory_request_mib as f64 * 0.45;
            s.spread = s.critical && s.name != "card-tokeniser";
            s.readiness_probe = !matches!(s.name.as_str(), "reconciliation" | "settlement-batch");
            if s.name == "settlement-batch" {
                s.waive = Some(("PD201", "batch worker: no traffic to gate; CHG-4102"));
                s.owned_by = Some(OwnedBy::KedaHpa);
            }
            s.owned_by = match s.name.as_str() {
                "payment-api" => Some(OwnedBy::ArgoCdHpa("payments-core")),
                "reconciliation" => Some(OwnedBy::FluxDeployment("payments-batch")),
                _ => s.owned_by.take(),
            };
        }
        let nodes = (0..4).map(|i| node(format!("node-{}", i + 1), ZONES[i % 3])).collect();
        Topology {
            namespaces: vec![edge.into(), core.into(), batch.into()],
            services,
            nodes,
            max_nodes: 8,
            node_template: node("node-template".into(), ZONES[0]),
        }
    }

    /// One cluster of a fleet for benchmarks: 1,000 Deployments with HPAs, 10,000 pods.
    pub fn regional() -> Topology {
        Self::generated(50, 20, 10)
    }

    /// Thousands of services for benchmarks: `namespaces × per_namespace` Deployments with
    /// HPAs, `replicas` pods each, on nodes sized to hold them.
    pub fn large() -> Topology {
        Self::generated(100, 20, 10)
    }

    /// Fleet scale for benchmarks: 10,000 Deployments and HPAs in 500 namespaces, 100,000
    /// pods, on 500 large nodes (64 cores, 256 GiB) that hold every service at its maximum.
    pub fn huge() -> Topology {
        let mut topology = Self::generated(500, 20, 10);
        let big = |name: String, zone| NodeSpec { name, cpu_m: 64_000, memory_mib: 256 * 1024, zone };
        topology.nodes = (0..500).map(|i| big(format!("node-{:04}", i + 1), ZONES[i % 3])).collect();
        topology.max_nodes = topology.nodes.len();
        topology.node_template = big("node-template".into(), ZONES[0]);
        topology
    }

    pub fn generated(namespaces: usize, per_namespace: usize, replicas: i32) -> Topology {
        let mut services = Vec::with_capacity(namespaces * per_namespace);
        let names: Vec<String> = (0..namespaces).map(|i| format!("team-{i:03}")).collect();
        for (n, ns) in names.iter().enumerate() {
            for s in 0..per_namespace {
                let peak = 50.0 + ((n * 31 + s * 17) % 400) as f64;
                services.push(ServiceSpec {
                    hpa: hpa(replicas, replicas * 3, 70),
                    ..service(
                        ns,
                        &format!("svc-{s:03}"),
                        "core",
                        peak,
                        0.5,
                        replicas,
                        (100, Some(500)),
                        (128, Some(256)),
                    )
                });
            }
        }
        let pods: i64 = services.iter().map(|s| i64::from(s.replicas) * 3).sum();
        // Room for every service at its HPA maximum at 100 millicores a pod.
        let node_count = (pods * 100 / 8000 + 1) as usize;
        let nodes = (0..node_count).map(|i| node(format!("node-{:04}", i + 1), ZONES[i % 3])).collect();
        Topology {
            namespaces: names,
            services,
            nodes,
            max_nodes: node_count,
            node_template: node("node-template".into(), ZONES[0]),
        }
    }
}

impl ServiceSpec {
    /// Labels on the Deployment, its pods and Service.
    pub fn labels(&self) -> Value {
        let mut labels = json!({
            "app.kubernetes.io/name": self.name,
            "app.kubernetes.io/part-of": "payments",
            "tier": self.tier,
        });
        if self.critical {
            labels["paydeck.io/critical"] = json!("true");
        }
        labels
    }

    fn resources(&self) -> Value {
        let mut requests = json!({ "cpu": format!("{}m", self.cpu_request_m), "memory": format!("{}Mi", self.memory_request_mib) });
        let mut limits = json!({});
        if let Some(cpu) = self.cpu_limit_m {
            limits["cpu"] = json!(format!("{cpu}m"));
        }
        if let Some(mem) = self.memory_limit_mib {
            limits["memory"] = json!(format!("{mem}Mi"));
        }
        let mut resources = json!({ "requests": requests.take() });
        if limits.as_object().is_some_and(|l| !l.is_empty()) {
            resources["limits"] = limits;
        }
        resources
    }

    pub fn deployment(&self) -> Value {
        let mut container = json!({
            "name": self.name,
            "image": format!("registry.payments.internal/{}:1.8.2", self.name),
            "ports": [{ "containerPort": 8080, "name": "http" }],
            "resources": self.resources(),
        });
        if self.readiness_probe {
            container["readinessProbe"] =
                json!({ "httpGet": { "path": "/ready", "port": "http" }, "periodSeconds": 5 });
        }
        let mut pod_spec = json!({ "containers": [container] });
        if self.spread {
            pod_spec["topologySpreadConstraints"] = json!([{
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": { "matchLabels": { "app.kubernetes.io/name": self.name } },
            }]);
        }
        let mut metadata = json!({ "name": self.name, "namespace": self.namespace, "labels": self.labels() });
        if let Some((rules, reason)) = self.waive {
            metadata["annotations"] = json!({ "paydeck.io/waive": rules, "paydeck.io/waive-reason": reason });
        }
        if let Some(OwnedBy::FluxDeployment(kustomization)) = &self.owned_by {
            metadata["labels"]["kustomize.toolkit.fluxcd.io/name"] = json!(kustomization);
            metadata["labels"]["kustomize.toolkit.fluxcd.io/namespace"] = json!("flux-system");
        }
        json!({
            "metadata": metadata,
            "spec": {
                "replicas": self.replicas,
                "selector": { "matchLabels": { "app.kubernetes.io/name": self.name } },
                "strategy": { "type": "RollingUpdate", "rollingUpdate": { "maxSurge": "25%", "maxUnavailable": "25%" } },
                "template": {
                    "metadata": { "labels": self.labels() },
                    "spec": pod_spec
                }
            }
        })
    }

    pub fn service(&self) -> Value {
        json!({
            "metadata": { "name": self.name, "namespace": self.namespace, "labels": self.labels() },
            "spec": {
                "selector": { "app.kubernetes.io/name": self.name },
                "ports": [{ "name": "http", "port": 80, "targetPort": "http", "protocol": "TCP" }],
                "type": "ClusterIP",
            }
        })
    }

    pub fn hpa(&self) -> Option<Value> {
        let h = self.hpa.as_ref()?;
        let mut metrics = vec![json!({
            "type": "Resource",
            "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": h.cpu_target_percent } }
        })];
        if let Some(mem) = h.memory_target_percent {
            metrics.push(json!({
                "type": "Resource",
                "resource": { "name": "memory", "target": { "type": "Utilization", "averageUtilization": mem } }
            }));
        }
        let mut spec = json!({
            "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": self.name },
            "minReplicas": h.min,
            "maxReplicas": h.max,
            "metrics": metrics,
        });
        if let Some(b) = &h.behavior {
            spec["behavior"] = b.clone();
        }
        let mut metadata = json!({ "name": self.name, "namespace": self.namespace, "labels": self.labels() });
        match &self.owned_by {
            Some(OwnedBy::ArgoCdHpa(app)) => {
                metadata["annotations"] = json!({
                    "argocd.argoproj.io/tracking-id":
                        format!("{app}:autoscaling/HorizontalPodAutoscaler:{}/{}", self.namespace, self.name),
                });
            }
            Some(OwnedBy::KedaHpa) => {
                metadata["labels"]["scaledobject.keda.sh/name"] = json!(self.name);
                metadata["labels"]["app.kubernetes.io/managed-by"] = json!("keda-operator");
                metadata["ownerReferences"] = json!([{
                    "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "name": self.name,
                    "uid": "6b1e0c4e-5d1a-4f4e-9c63-0000000000a1", "controller": true, "blockOwnerDeletion": true,
                }]);
            }
            _ => {}
        }
        Some(json!({ "metadata": metadata, "spec": spec }))
    }

    pub fn pdb(&self) -> Option<Value> {
        let min = self.pdb_min_available?;
        Some(json!({
            "metadata": { "name": self.name, "namespace": self.namespace },
            "spec": { "minAvailable": min, "selector": { "matchLabels": { "app.kubernetes.io/name": self.name } } }
        }))
    }
}

impl NodeSpec {
    pub fn object(&self) -> Value {
        let capacity = json!({ "cpu": format!("{}m", self.cpu_m), "memory": format!("{}Mi", self.memory_mib), "pods": "110" });
        json!({
            "metadata": {
                "name": self.name,
                "labels": {
                    "kubernetes.io/hostname": self.name,
                    "topology.kubernetes.io/zone": self.zone,
                    "node.kubernetes.io/instance-type": "m6i.2xlarge",
                }
            },
            "spec": {},
            "status": {
                "capacity": capacity,
                "allocatable": capacity,
                "conditions": [{ "type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status" }],
                "nodeInfo": { "kubeletVersion": "v1.33.4", "osImage": "Paydeck simulated node", "architecture": "amd64", "operatingSystem": "linux",
                    "containerRuntimeVersion": "containerd://2.0.0", "kernelVersion": "6.1.0", "kubeProxyVersion": "v1.33.4",
                    "machineID": "", "systemUUID": "", "bootID": "" },
            }
        })
    }
}

impl Topology {
    /// The Ingress routing public traffic to the public services.
    pub fn ingress(&self) -> Option<Value> {
        let public: Vec<&ServiceSpec> = self.services.iter().filter(|s| s.public).collect();
        let first = public.first()?;
        let paths: Vec<Value> = public
            .iter()
            .map(|s| json!({ "path": "/", "pathType": "Prefix", "backend": { "service": { "name": s.name, "port": { "number": 80 } } } }))
            .collect();
        Some(json!({
            "metadata": { "name": "payments", "namespace": first.namespace },
            "spec": {
                "ingressClassName": "nginx",
                "tls": [{ "hosts": ["pay.example.com"], "secretName": "payments-tls" }],
                "rules": [{ "host": "pay.example.com", "http": { "paths": paths } }]
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_has_its_deliberate_problems() {
        let t = Topology::demo();
        let by_name = |n: &str| t.services.iter().find(|s| s.name == n).unwrap();
        let fx = by_name("fx-rates");
        assert!(fx.cpu_limit_m.is_none() && fx.memory_limit_mib.is_none(), "no limits");
        assert!(
            fx.replicas == 1 && fx.pdb_min_available.is_none() && fx.hpa.is_none(),
            "one replica, no PDB"
        );
        let notifications = by_name("notifications");
        let peak_usage_per_pod = notifications.idle_cpu_m
            + notifications.peak_rps * notifications.cpu_per_request_m / notifications.replicas as f64;
        assert!(notifications.cpu_request_m as f64 > 2.5 * peak_usage_per_pod, "requests far above usage");
        let risk = by_name("risk-scoring");
        let h = risk.hpa.as_ref().unwrap();
        let pods_needed_at_peak = (risk.peak_rps * risk.cpu_per_request_m)
            / (risk.cpu_request_m as f64 * h.cpu_target_percent as f64 / 100.0);
        assert!(pods_needed_at_peak > h.max as f64, "max too low for the evening peak");
    }

    #[test]
    fn the_large_profile_is_large() {
        let t = Topology::large();
        assert!(t.services.len() >= 2000);
        let pods: i32 = t.services.iter().map(|s| s.replicas).sum();
        assert!(pods >= 20_000);
        assert!(t.services.iter().filter(|s| s.hpa.is_some()).count() >= 2000);
    }

    #[test]
    fn the_huge_profile_is_fleet_sized_and_its_500_nodes_hold_every_service_at_its_maximum() {
        let t = Topology::huge();
        assert_eq!(t.services.len(), 10_000);
        assert_eq!(t.services.iter().map(|s| i64::from(s.replicas)).sum::<i64>(), 100_000);
        assert_eq!(t.nodes.len(), 500);
        let at_max: i64 = t
            .services
            .iter()
            .map(|s| i64::from(s.hpa.as_ref().map_or(s.replicas, |h| h.max)) * s.cpu_request_m)
            .sum();
        let capacity: i64 = t.nodes.iter().map(|n| n.cpu_m).sum();
        assert!(at_max <= capacity, "{at_max} m requested at the maxima, {capacity} m on the nodes");
    }

    #[test]
    fn a_service_without_limits_renders_no_limits_block() {
        let t = Topology::demo();
        let fx = t.services.iter().find(|s| s.name == "fx-rates").unwrap().deployment();
        assert!(fx["spec"]["template"]["spec"]["containers"][0]["resources"].get("limits").is_none());
    }
}
