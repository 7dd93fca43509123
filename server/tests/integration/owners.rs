//! Objects something else writes, end to end against the simulator, whose Argo CD, Flux and
//! KEDA set changes back as those tools do: a KEDA-made HPA is refused with its ScaledObject
//! named; an HPA Argo CD syncs is warned about, refused until the person confirms, applied,
//! set back by Argo CD, and that is recorded; and the change exported as a repository patch,
//! applied with kubectl to a fresh cluster, gives the spec the live edit gave.

use std::time::{Duration, Instant};

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::{
    Api,
    api::{Patch, PatchParams},
};
use serde_json::{Value, json};

use crate::support::{self, StackOptions, admin};

const OPERATOR: (&str, &str) = ("operator", "payments:operators");

async fn hpa(server: &sim::RunningServer, ns: &str, name: &str) -> HorizontalPodAutoscaler {
    Api::<HorizontalPodAutoscaler>::namespaced(admin(server).await, ns).get(name).await.unwrap()
}

async fn post(s: &support::Stack, path: &str, mut body: Value, dry_run: bool) -> (u16, Value) {
    body["dryRun"] = json!(dry_run);
    let res = reqwest::Client::new()
        .post(format!("{}/workloads/{path}/scaling", s.base))
        .header("X-Forwarded-User", OPERATOR.0)
        .header("X-Forwarded-Groups", OPERATOR.1)
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn get(s: &support::Stack, path: &str) -> Value {
    reqwest::Client::new().get(format!("{}/{path}", s.base)).send().await.unwrap().json().await.unwrap()
}

/// The workload as Paydeck serves it, once `ready` holds of it (the watch brings changes).
async fn workload_when(s: &support::Stack, path: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let w = get(s, &format!("workloads/{path}")).await;
        if ready(&w) {
            return w;
        }
        assert!(Instant::now() < deadline, "the watch did not bring it: {w:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keda_made_hpa_is_refused_with_its_scaled_object_named_and_nothing_changes() {
    let s = support::stack(StackOptions::default()).await;
    // KEDA's label on ledger's HPA, as KEDA writes it on the HPAs it makes.
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(admin(&s.server).await, "payments-core");
    let label = json!({ "metadata": { "labels": { "scaledobject.keda.sh/name": "ledger-so" } } });
    api.patch("ledger", &PatchParams::default(), &Patch::Merge(&label)).await.unwrap();
    let w =
        workload_when(&s, "payments-core/ledger", |w| w["autoscaler"]["owners"][0]["tool"] == "keda").await;
    assert_eq!(w["autoscaler"]["owners"][0]["name"], "ledger-so");
    let before = hpa(&s.server, "payments-core", "ledger").await;
    let audit_before = support::audit_rows(&s).await;

    for dry_run in [true, false] {
        let body = json!({ "spec": { "maxReplicas": 30 }, "reason": "CHG-1", "specHash": w["autoscaler"]["specHash"] });
        let (status, answer) = post(&s, "payments-core/ledger", body, dry_run).await;
        assert_eq!((status, answer["outcome"].as_str()), (403, Some("denied")), "{answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(
            message.contains("KEDA ScaledObject ledger-so") && message.contains("maxReplicaCount"),
            "{message}"
        );
    }
    assert_eq!(hpa(&s.server, "payments-core", "ledger").await, before, "read back: nothing changed");
    let rows: Vec<Value> = reqwest::get(format!("{}/audit?name=ledger&outcome=denied", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "both refusals recorded: {rows:#?}");
    assert_eq!(support::audit_rows(&s).await, audit_before + 2, "no intent was written");
    // The edit panel is locked, saying why.
    let rights: Value = reqwest::Client::new()
        .get(format!("{}/workloads/payments-core/ledger/rights", s.base))
        .header("X-Forwarded-User", OPERATOR.0)
        .header("X-Forwarded-Groups", OPERATOR.1)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rights["mayEdit"], false, "{rights}");
    assert!(rights["reason"].as_str().unwrap().contains("KEDA ScaledObject ledger-so"), "{rights}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hpa_argo_cd_syncs_is_warned_confirmed_applied_set_back_and_the_revert_recorded() {
    let s = support::stack(StackOptions::default()).await;
    let path = "payments-core/payment-api";
    // The demo's payment-api HPA carries Argo CD's tracking annotation.
    let w = get(&s, &format!("workloads/{path}")).await;
    let owner = &w["autoscaler"]["owners"][0];
    assert_eq!(
        (owner["tool"].as_str(), owner["name"].as_str(), owner["effect"].as_str()),
        (Some("argocd"), Some("payments-core"), Some("syncs")),
        "{w:#}"
    );
    let listed = get(&s, "workloads?q=payment-api").await;
    assert_eq!(
        listed["items"][0]["autoscaler"]["owners"][0]["tool"], "argocd",
        "the listing says so too: {listed}"
    );
    let before = hpa(&s.server, "payments-core", "payment-api").await;
    let max = before.spec.as_ref().unwrap().max_replicas;
    let body = json!({ "spec": { "maxReplicas": max + 6 }, "reason": "CHG-21 evening peak", "specHash": w["autoscaler"]["specHash"] });

    // The preview says what will happen, and carries the change for the repository.
    let (status, preview) = post(&s, path, body.clone(), true).await;
    assert_eq!((status, preview["outcome"].as_str()), (200, Some("previewed")), "{preview}");
    let warnings = preview["warnings"].to_string();
    assert!(
        warnings.contains("Argo CD application payments-core") && warnings.contains("ignoreDifferences"),
        "{warnings}"
    );
    let patch = preview["repository"]["patch"].as_str().unwrap();
    assert!(
        patch.contains("# Reason: CHG-21 evening peak\n")
            && patch.contains(&format!("  maxReplicas: {}\n", max + 6)),
        "{patch}"
    );

    // Applying without confirming is refused, and nothing changes.
    let (status, refused) = post(&s, path, body.clone(), false).await;
    assert_eq!((status, refused["outcome"].as_str()), (422, Some("invalid")), "{refused}");
    assert_eq!(refused["errors"][0]["field"], "confirmOwner", "{refused}");
    assert_eq!(hpa(&s.server, "payments-core", "payment-api").await, before, "read back: nothing changed");

    // Confirmed: applied, and the audit row says whose it is and that the person knew.
    let mut confirmed = body.clone();
    confirmed["confirmOwner"] = json!(true);
    let (status, applied) = post(&s, path, confirmed, false).await;
    assert_eq!((status, applied["outcome"].as_str()), (200, Some("applied")), "{applied}");
    let applied_seq = applied["auditSeq"].as_i64().unwrap();
    let rows: Vec<Value> = reqwest::get(format!("{}/audit?name=payment-api&outcome=applied", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let detail = rows[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains(
            "owned by Argo CD application payments-core (syncs); set back unless kept there: confirmed"
        ),
        "{detail}"
    );

    // Argo CD's self-heal sets it back; Paydeck notices and records it.
    workload_when(&s, path, |w| w["autoscaler"]["maxReplicas"] == max + 6).await;
    let sim = s.sim.clone();
    tokio::task::spawn_blocking(move || sim.advance(Duration::from_secs(4))).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        hpa(&s.server, "payments-core", "payment-api").await.spec.unwrap().max_replicas,
        max + 6,
        "not before Argo CD's self-heal delay"
    );
    let sim = s.sim.clone();
    tokio::task::spawn_blocking(move || sim.advance(Duration::from_secs(3))).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let reverted = loop {
        let rows: Vec<Value> = reqwest::get(format!("{}/audit?name=payment-api&outcome=reverted", s.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(row) = rows.first() {
            break row.clone();
        }
        assert!(Instant::now() < deadline, "no revert recorded");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(hpa(&s.server, "payments-core", "payment-api").await.spec.unwrap().max_replicas, max);
    assert_eq!(reverted["user"], "argocd");
    assert_eq!(reverted["before"], json!({ "maxReplicas": max + 6 }));
    assert_eq!(reverted["after"], json!({ "maxReplicas": max }));
    let detail = reverted["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("reverted by argocd: Argo CD application payments-core set maxReplicas"),
        "{detail}"
    );
    assert!(detail.contains(&format!("audit row #{applied_seq}")), "{detail}");
    // The log's chain holds with the new row in it.
    assert!(paydeck::audit::verify(s.store.audit.as_ref()).await.unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exported_patch_applied_with_kubectl_to_a_fresh_cluster_gives_the_live_spec() {
    let s = support::stack(StackOptions::default()).await;
    let path = "payments-core/ledger";
    let w = get(&s, &format!("workloads/{path}")).await;
    let body = json!({
        "spec": {
            "maxReplicas": 18,
            "metrics": [{ "type": "Resource", "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": 60 } } }],
            "behavior": { "scaleDown": { "stabilizationWindowSeconds": 900 } }
        },
        "reason": "CHG-33 through the repository",
        "specHash": w["autoscaler"]["specHash"],
    });
    let (status, applied) = post(&s, path, body, false).await;
    assert_eq!((status, applied["outcome"].as_str()), (200, Some("applied")), "{applied}");
    let live = hpa(&s.server, "payments-core", "ledger").await.spec.unwrap();
    let export = &applied["repository"];

    // A fresh cluster, as the repository's manifests made it, and the patch applied there.
    let fresh = sim::Cluster::new(&sim::Options {
        speed: None,
        start: Some(sim::clock::test_start()),
        ..sim::Options::default()
    });
    let server = fresh.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir =
        std::env::temp_dir().join(format!("paydeck-export-{}-{}", std::process::id(), server.addr.port()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let file = dir.join(export["fileName"].as_str().unwrap());
    std::fs::write(&file, export["patch"].as_str().unwrap()).unwrap();
    let kubectl = |args: &[&str]| {
        let out = std::process::Command::new("kubectl")
            .args(args)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .current_dir(&dir)
            .output()
            .expect("kubectl is needed (make setup installs it)");
        assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    // The object as the repository has it (the fresh cluster's), and the kustomization entry
    // that patches it: kustomize renders the change.
    let original = hpa(&server, "payments-core", "ledger").await;
    let manifest = json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": { "name": "ledger", "namespace": "payments-core" },
        "spec": original.spec,
    });
    std::fs::write(dir.join("hpa.yaml"), manifest.to_string()).unwrap();
    let entry = export["kustomization"].as_str().unwrap();
    std::fs::write(dir.join("kustomization.yaml"), format!("resources:\n- hpa.yaml\n{entry}")).unwrap();
    let rendered = kubectl(&["kustomize", "."]);
    for line in ["maxReplicas: 18", "averageUtilization: 60", "stabilizationWindowSeconds: 900"] {
        assert!(rendered.contains(line), "{line} in {rendered}");
    }

    let line: Vec<String> =
        export["kubectl"].as_str().unwrap().split_whitespace().map(str::to_string).collect();
    assert_eq!(line[..2], ["kubectl", "patch"]);
    kubectl(&line[1..].iter().map(String::as_str).collect::<Vec<_>>());
    let patched = hpa(&server, "payments-core", "ledger").await.spec.unwrap();
    assert_eq!(patched, live, "the repository's change is the live change");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_wrote_the_scaling_fields_is_named_and_one_that_wrote_labels_is_not() {
    let s = support::stack(StackOptions::default()).await;
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(admin(&s.server).await, "payments-core");
    let as_manager = |m: &str| PatchParams { field_manager: Some(m.to_string()), ..PatchParams::default() };
    let label = json!({ "metadata": { "labels": { "team": "ledger" } } });
    api.patch("ledger", &as_manager("kubectl-label"), &Patch::Merge(&label)).await.unwrap();
    let bounds = json!({ "spec": { "maxReplicas": 13 } });
    let written = api.patch("ledger", &as_manager("kubectl-edit"), &Patch::Merge(&bounds)).await.unwrap();
    // The API server's record: each manager owns what it wrote.
    let managers: Vec<(String, Value)> = written
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|m| (m.manager.clone().unwrap(), m.fields_v1.as_ref().unwrap().0.clone()))
        .collect();
    assert!(
        managers
            .contains(&("kubectl-label".into(), json!({ "f:metadata": { "f:labels": { "f:team": {} } } }))),
        "{managers:?}"
    );
    assert!(
        managers.contains(&("kubectl-edit".into(), json!({ "f:spec": { "f:maxReplicas": {} } }))),
        "{managers:?}"
    );

    let w = workload_when(&s, "payments-core/ledger", |w| w["autoscaler"]["maxReplicas"] == 13).await;
    assert_eq!(
        w["autoscaler"]["owners"],
        json!([{ "tool": "manager", "kind": "fieldManager", "name": "kubectl-edit", "effect": "overwrites" }]),
        "{w:#}"
    );
    // Paydeck's own change takes the field over: the client no longer owns it.
    let body =
        json!({ "spec": { "maxReplicas": 14 }, "reason": "CHG-5", "specHash": w["autoscaler"]["specHash"] });
    let (status, applied) = post(&s, "payments-core/ledger", body, false).await;
    assert_eq!((status, applied["outcome"].as_str()), (200, Some("applied")), "{applied}");
    assert!(applied["message"].as_str().unwrap().contains("the client kubectl-edit"), "{applied}");
    let w = workload_when(&s, "payments-core/ledger", |w| w["autoscaler"]["maxReplicas"] == 14).await;
    assert_eq!(w["autoscaler"]["owners"], json!([]), "{w:#}");
}
