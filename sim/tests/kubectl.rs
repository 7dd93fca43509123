//! `kubectl` against the simulator: what an engineer types works and prints what they expect.

use std::path::PathBuf;

use sim::{Cluster, Options, RunningServer};

struct Kubectl {
    kubeconfig: PathBuf,
    _server: RunningServer,
}

impl Kubectl {
    async fn start() -> Self {
        let cluster =
            Cluster::new(&Options { speed: None, start: Some(1_764_230_400_000), ..Options::default() });
        let server = cluster.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let kubeconfig = std::env::temp_dir().join(format!(
            "paydeck-sim-{}-{}.kubeconfig",
            std::process::id(),
            server.addr.port()
        ));
        server.write_kubeconfig(&kubeconfig).unwrap();
        Kubectl { kubeconfig, _server: server }
    }

    /// Runs kubectl with `args`, returning stdout; panics with stderr on failure.
    async fn run(&self, args: &[&str]) -> String {
        let out = tokio::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .await
            .expect("kubectl is installed");
        assert!(out.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Kubectl {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.kubeconfig);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_deployments_and_hpas_in_all_namespaces() {
    let k = Kubectl::start().await;
    let out = k.run(&["get", "deploy,hpa", "-A"]).await;
    assert!(out.contains("READY"), "{out}");
    let ledger = out.lines().find(|l| l.contains("deployment.apps/ledger")).expect("ledger listed");
    assert!(ledger.contains("3/3"), "{ledger}");
    let hpa = out
        .lines()
        .find(|l| l.contains("horizontalpodautoscaler.autoscaling/risk-scoring"))
        .expect("risk-scoring HPA");
    assert!(hpa.contains("Deployment/risk-scoring") && hpa.contains("cpu: "), "{hpa}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_pods_shows_usage() {
    let k = Kubectl::start().await;
    let out = k.run(&["top", "pods", "-A"]).await;
    let line = out.lines().find(|l| l.contains("payment-api-")).expect("payment-api pods listed");
    let cpu = line.split_whitespace().nth(2).unwrap();
    assert!(cpu.ends_with('m') && cpu.trim_end_matches('m').parse::<u32>().unwrap() > 0, "{line}");
    let nodes = k.run(&["top", "nodes"]).await;
    assert!(nodes.contains("node-1"), "{nodes}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_changes_the_replicas() {
    let k = Kubectl::start().await;
    let out = k.run(&["scale", "deploy/fx-rates", "-n", "payments-core", "--replicas=2"]).await;
    assert!(out.contains("scaled"), "{out}");
    let replicas =
        k.run(&["get", "deploy", "fx-rates", "-n", "payments-core", "-o", "jsonpath={.spec.replicas}"]).await;
    assert_eq!(replicas, "2");
}
