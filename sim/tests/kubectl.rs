//! `kubectl` against the `paydeck-sim` binary: what an engineer types works and prints what
//! they expect.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
};

/// A running `paydeck-sim` and the kubeconfig it wrote.
struct Sim {
    child: Child,
    kubeconfig: PathBuf,
}

impl Sim {
    fn start() -> Self {
        let kubeconfig = std::env::temp_dir().join(format!(
            "paydeck-sim-{}-{:?}.kubeconfig",
            std::process::id(),
            std::thread::current().id()
        ));
        let mut child = Command::new(env!("CARGO_BIN_EXE_paydeck-sim"))
            .args(["--listen", "127.0.0.1:0", "--write-kubeconfig"])
            .arg(&kubeconfig)
            .arg("--start")
            .arg(sim::clock::rfc3339(sim::clock::test_start()))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let serving =
            stdout.lines().map_while(Result::ok).any(|line| line.contains("serving on https://127.0.0.1:"));
        let sim = Sim { child, kubeconfig };
        assert!(serving, "paydeck-sim exited without serving");
        sim
    }

    /// Runs kubectl with `args`, returning stdout; panics with stderr on failure.
    fn kubectl(&self, args: &[&str]) -> String {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .expect("kubectl is installed");
        assert!(out.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.kubeconfig);
    }
}

#[test]
fn get_deployments_and_hpas_in_all_namespaces() {
    let sim = Sim::start();
    // READY is ready/desired as the Deployment's status has them, whatever the load of the
    // hour; read twice around the table, in case the HPA scaled in between.
    let counts = || {
        sim.kubectl(&[
            "get",
            "deploy",
            "ledger",
            "-n",
            "payments-core",
            "-o",
            "jsonpath={.status.readyReplicas}/{.spec.replicas}",
        ])
    };
    let (out, ledger) = (0..3)
        .find_map(|_| {
            let before = counts();
            let out = sim.kubectl(&["get", "deploy,hpa", "-A"]);
            let ledger = out.lines().find(|l| l.contains("deployment.apps/ledger")).expect("ledger listed");
            let ledger = ledger.to_string();
            (counts() == before).then(|| {
                assert!(ledger.split_whitespace().any(|column| column == before), "{ledger} shows {before}");
                (out, ledger)
            })
        })
        .expect("the ledger held still for a moment");
    assert!(out.contains("READY"), "{out}");
    assert!(ledger.contains("payments-core"), "{ledger}");
    let hpa = out
        .lines()
        .find(|l| l.contains("horizontalpodautoscaler.autoscaling/risk-scoring"))
        .expect("risk-scoring HPA");
    assert!(
        hpa.contains("Deployment/risk-scoring") && hpa.contains("cpu: ") && hpa.contains("%/60%"),
        "{hpa}"
    );
}

#[test]
fn top_pods_and_nodes_show_usage() {
    let sim = Sim::start();
    let out = sim.kubectl(&["top", "pods", "-A"]);
    let line = out.lines().find(|l| l.contains("payment-api-")).expect("payment-api pods listed");
    let cpu = line.split_whitespace().nth(2).unwrap();
    assert!(cpu.ends_with('m') && cpu.trim_end_matches('m').parse::<u32>().unwrap() > 0, "{line}");
    let nodes = sim.kubectl(&["top", "nodes"]);
    assert!(nodes.contains("node-1"), "{nodes}");
}

#[test]
fn scale_changes_the_replicas() {
    let sim = Sim::start();
    let out = sim.kubectl(&["scale", "deploy/fx-rates", "-n", "payments-core", "--replicas=2"]);
    assert!(out.contains("scaled"), "{out}");
    let replicas =
        sim.kubectl(&["get", "deploy", "fx-rates", "-n", "payments-core", "-o", "jsonpath={.spec.replicas}"]);
    assert_eq!(replicas, "2");
}

#[test]
fn a_bad_flag_is_refused_with_its_reason() {
    for (args, reason) in [
        (["--speed", "0"], "speed must be a number above 0"),
        (["--start", "18:00"], "the start must be a UTC time like 2026-11-26T09:00:00Z, got \"18:00\""),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_paydeck-sim")).args(args).output().unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(reason), "{stderr}");
    }
}
