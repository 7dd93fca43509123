//! The deployment manifests in k8s/ — the kustomize overlays rendered with `kubectl kustomize`
//! as `kubectl apply -k` would, and the Helm chart rendered by Helm's own engine with its
//! default values and each documented example — parsed into Kubernetes types and checked
//! alike: least-privilege RBAC that matches what the code uses, probes on real routes, the
//! container port Paydeck listens on, and a locked-down pod. The chart's own checks (its
//! schema, its likeness to the base) are in `chart.rs`.

use std::{collections::BTreeSet, process::Command, time::Duration};

use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ConfigMap, Container, Service},
    networking::v1::{Ingress, NetworkPolicy},
    rbac::v1::ClusterRole,
};
use paydeck::{
    cluster::{ClusterView, access},
    http::{ServerState, router},
    site,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Every way Paydeck is installed: the kustomize overlays, and the chart with its default values
/// (`chart`) and with each documented example (`chart:NAME`, k8s/chart/examples/NAME.yaml).
/// Names end alike where they install alike (`…read-only`, `…ha-postgres`, `…fleet`).
pub(crate) const RENDERINGS: [&str; 12] = [
    "base",
    "overlays/auth-proxy",
    "overlays/read-only",
    "overlays/ha-postgres",
    "overlays/fleet",
    "chart",
    "chart:auth-proxy",
    "chart:read-only",
    "chart:ha-postgres",
    "chart:fleet",
    "chart:gateway-monitoring",
    "chart:notifications",
];

const K8S: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../k8s/");

/// Every object of one rendering, as JSON.
pub(crate) fn render(rendering: &str) -> Vec<Value> {
    let text = match rendering.strip_prefix("chart") {
        Some(example) => {
            let values = example.strip_prefix(':').map(|name| format!("{K8S}chart/examples/{name}.yaml"));
            helm_template(values.as_deref(), None).unwrap_or_else(|e| panic!("{rendering}: {e}"))
        }
        None => {
            let out = Command::new("kubectl")
                .args(["kustomize", &format!("{K8S}{rendering}")])
                .output()
                .expect("kubectl is needed to render the manifests (make test installs it)");
            assert!(
                out.status.success(),
                "kubectl kustomize {rendering}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        }
    };
    serde_saphyr::from_multiple::<Value>(&text).unwrap()
}

/// `helm template` of k8s/chart/paydeck as the release `paydeck` in the namespace `paydeck`,
/// with a values file and a JSON object of values over it: the manifests, or Helm's refusal.
pub(crate) fn helm_template(values: Option<&str>, set_json: Option<&str>) -> Result<String, String> {
    let mut args = vec![format!("{K8S}chart/render.py")];
    if let Some(file) = values {
        args.extend(["--values".to_string(), file.to_string()]);
    }
    if let Some(json) = set_json {
        args.extend(["--set-json".to_string(), json.to_string()]);
    }
    let out = Command::new(chart_python())
        .args(&args)
        .output()
        .expect("Helm's engine is needed to render the chart (make python-packages installs it)");
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        assert!(out.stdout.is_empty(), "a refused rendering prints no manifests");
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The Python with helm-python-sdk installed: the tests' virtual environment.
pub(crate) fn chart_python() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/.venv/bin/python").to_string()
}

pub(crate) fn all<T: DeserializeOwned>(objects: &[Value], kind: &str) -> Vec<T> {
    objects
        .iter()
        .filter(|o| o["kind"] == kind)
        .map(|o| serde_json::from_value(o.clone()).unwrap_or_else(|e| panic!("{kind}: {e}")))
        .collect()
}

/// The object of `kind` called `name`.
pub(crate) fn named<T: DeserializeOwned>(objects: &[Value], kind: &str, name: &str) -> T {
    let found = objects.iter().find(|o| o["kind"] == kind && o["metadata"]["name"] == name);
    serde_json::from_value(found.unwrap_or_else(|| panic!("no {kind} {name}")).clone()).unwrap()
}

pub(crate) fn one<T: DeserializeOwned>(objects: &[Value], kind: &str) -> T {
    let mut found = all::<T>(objects, kind);
    assert_eq!(found.len(), 1, "one {kind}");
    found.remove(0)
}

/// `(group, resource, verb)` of every rule in the roles.
fn granted(roles: &[ClusterRole]) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for role in roles {
        for rule in role.rules.iter().flatten() {
            for group in rule.api_groups.iter().flatten() {
                for resource in rule.resources.iter().flatten() {
                    for verb in &rule.verbs {
                        out.insert((group.clone(), resource.clone(), verb.clone()));
                    }
                }
            }
        }
    }
    out
}

fn expected(rules: &[access::Rule]) -> BTreeSet<(String, String, String)> {
    rules
        .iter()
        .flat_map(|r| {
            r.verbs.iter().map(|v| (r.api_group.to_string(), r.resource.to_string(), v.to_string()))
        })
        .collect()
}

#[test]
fn rbac_grants_exactly_what_the_code_uses_and_never_secrets_or_wildcards() {
    for overlay in RENDERINGS {
        let objects = render(overlay);
        let roles: Vec<ClusterRole> = all(&objects, "ClusterRole");
        for role in &roles {
            for rule in role.rules.iter().flatten() {
                let name = role.metadata.name.as_deref().unwrap_or("?");
                assert!(rule.verbs.iter().all(|v| v != "*"), "{overlay}: {name} has a wildcard verb");
                assert!(
                    rule.resources.iter().flatten().all(|r| !r.contains('*')),
                    "{overlay}: {name} has a wildcard resource"
                );
                assert!(
                    rule.api_groups.iter().flatten().all(|g| g != "*"),
                    "{overlay}: {name} has a wildcard group"
                );
                assert!(
                    rule.resources.iter().flatten().all(|r| r != "secrets"),
                    "{overlay}: {name} reaches Secrets"
                );
                assert!(rule.non_resource_urls.is_none(), "{overlay}: {name}");
                let by_name = rule
                    .resources
                    .iter()
                    .flatten()
                    .all(|r| access::IMPERSONATED_BY_NAME.contains(&r.as_str()));
                assert_eq!(
                    rule.resource_names.is_some(),
                    by_name,
                    "{overlay}: {name}: resourceNames exactly where impersonation is scoped by name"
                );
            }
        }
        let namespaced: Vec<k8s_openapi::api::rbac::v1::Role> = all(&objects, "Role");
        if overlay.ends_with("ha-postgres") || overlay.ends_with("fleet") {
            leader_role_is_least_privilege(&namespaced, &objects);
        } else {
            assert!(namespaced.is_empty(), "{overlay}: only the ClusterRoles below");
        }

        let role = |name: &str| {
            roles.iter().filter(|r| r.metadata.name.as_deref() == Some(name)).cloned().collect::<Vec<_>>()
        };
        assert_eq!(granted(&role("paydeck-read")), expected(&access::reads()), "{overlay}: paydeck-read");
        if overlay.ends_with("read-only") {
            assert!(role("paydeck-edits").is_empty(), "read-only installs no way to act as a user");
            assert!(objects.iter().all(|o| o["metadata"]["name"] != "paydeck-edits"));
        } else {
            assert_eq!(
                granted(&role("paydeck-edits")),
                expected(&access::edits()),
                "{overlay}: paydeck-edits"
            );
            // The groups Paydeck may pass on are the groups the cluster lets it impersonate,
            // and the simulator grants exactly these too.
            let groups_rule = role("paydeck-edits")
                .iter()
                .flat_map(|r| r.rules.clone().unwrap_or_default())
                .find(|r| r.resources.as_deref() == Some(&["groups".to_string()]))
                .expect("a groups rule");
            let mut by_name = groups_rule.resource_names.clone().unwrap_or_default();
            let config: ConfigMap = named(&objects, "ConfigMap", "paydeck");
            let mut allowed: Vec<String> = config.data.as_ref().unwrap()["PAYDECK_IMPERSONATE_GROUPS"]
                .split(',')
                .map(|g| g.trim().to_string())
                .collect();
            by_name.sort();
            allowed.sort();
            assert_eq!(by_name, allowed, "{overlay}: resourceNames = PAYDECK_IMPERSONATE_GROUPS");
            let mut simulated: Vec<String> =
                sim::auth::IMPERSONABLE_GROUPS.iter().map(|g| g.to_string()).collect();
            simulated.sort();
            assert_eq!(by_name, simulated, "the simulator grants what k8s/base grants");
        }
        // Every binding names an installed role and Paydeck's own service account.
        for binding in objects.iter().filter(|o| o["kind"] == "ClusterRoleBinding") {
            let role = binding["roleRef"]["name"].as_str().unwrap();
            assert!(!self::role_named(&roles, role).is_empty(), "{overlay}: binding to missing {role}");
            assert_eq!(binding["subjects"][0]["name"], "paydeck");
            assert_eq!(binding["subjects"][0]["namespace"], "paydeck");
        }
    }
}

/// The HA overlay's one Role: exactly what the election uses, on its one Lease by name where a
/// name can bind, in Paydeck's namespace, bound to Paydeck's account; and the Lease's name is
/// the one Paydeck uses and the simulator grants.
fn leader_role_is_least_privilege(roles: &[k8s_openapi::api::rbac::v1::Role], objects: &[Value]) {
    assert_eq!(roles.len(), 1, "one Role: paydeck-leader");
    let role = &roles[0];
    assert_eq!(role.metadata.name.as_deref(), Some("paydeck-leader"));
    assert_eq!(role.metadata.namespace.as_deref(), Some("paydeck"));
    let mut got = BTreeSet::new();
    for rule in role.rules.iter().flatten() {
        for verb in &rule.verbs {
            let by_name = access::LEASE_BY_NAME.contains(&verb.as_str());
            assert_eq!(
                rule.resource_names.clone(),
                by_name.then(|| vec![paydeck::leader::DEFAULT_LEASE.to_string()]),
                "{verb}: by name exactly where a name can bind"
            );
            for group in rule.api_groups.iter().flatten() {
                for resource in rule.resources.iter().flatten() {
                    got.insert((group.clone(), resource.clone(), verb.clone()));
                }
            }
        }
    }
    assert_eq!(got, expected(&access::leader_election()));
    assert_eq!(
        paydeck::leader::DEFAULT_LEASE,
        sim::auth::LEADER_LEASE,
        "the simulator grants the same Lease"
    );
    let binding = objects.iter().find(|o| o["kind"] == "RoleBinding").expect("the Role is bound");
    assert_eq!(binding["roleRef"]["name"], "paydeck-leader");
    assert_eq!(binding["subjects"][0]["name"], "paydeck");
    assert_eq!(binding["subjects"][0]["namespace"], "paydeck");
}

/// Two replicas that never stop together: rolling updates without a gap, a disruption budget
/// and spread over nodes; the leader elected with the Lease; the store in PostgreSQL from a
/// Secret, no volume; out to PostgreSQL through the NetworkPolicy.
#[test]
fn the_ha_overlay_runs_two_replicas_with_one_leader_on_postgresql() {
    for rendering in ["overlays/ha-postgres", "chart:ha-postgres"] {
        ha_runs_two_replicas_with_one_leader_on_postgresql(&render(rendering));
    }
}

fn ha_runs_two_replicas_with_one_leader_on_postgresql(objects: &[Value]) {
    use k8s_openapi::api::policy::v1::PodDisruptionBudget;
    let deployment: Deployment = one(objects, "Deployment");
    let spec = deployment.spec.as_ref().unwrap();
    assert_eq!(spec.replicas, Some(2));
    let strategy = spec.strategy.as_ref().unwrap();
    assert_eq!(strategy.type_.as_deref(), Some("RollingUpdate"));
    let rolling = strategy.rolling_update.as_ref().unwrap();
    assert_eq!(
        rolling.max_unavailable,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(0)),
        "a rollout never stops one before its successor serves"
    );
    let pod = spec.template.spec.as_ref().unwrap();
    let labels = spec.selector.match_labels.clone().unwrap();
    let spread = pod.topology_spread_constraints.clone().unwrap_or_default();
    assert!(
        spread.iter().any(|c| c.topology_key == "kubernetes.io/hostname"
            && c.when_unsatisfiable == "DoNotSchedule"
            && c.label_selector.as_ref().and_then(|s| s.match_labels.clone()) == Some(labels.clone())),
        "never both replicas on one node"
    );
    let pdb: PodDisruptionBudget = one(objects, "PodDisruptionBudget");
    let pdb_spec = pdb.spec.unwrap();
    assert_eq!(pdb_spec.selector.unwrap().match_labels, Some(labels), "the budget covers Paydeck's pods");
    assert!(pdb_spec.max_unavailable.is_some() || pdb_spec.min_available.is_some());

    let config: ConfigMap = named(objects, "ConfigMap", "paydeck");
    let data = config.data.clone().unwrap();
    assert_eq!(data.get("PAYDECK_LEADER_ELECT").map(String::as_str), Some("true"));
    assert!(!data.contains_key("PAYDECK_DB"), "no SQLite file beside PostgreSQL");
    let container = paydeck_container(&deployment);
    let env = container.env.clone().unwrap_or_default();
    let url = env.iter().find(|e| e.name == "PAYDECK_DATABASE_URL").expect("the database URL");
    let secret = url.value_from.as_ref().and_then(|v| v.secret_key_ref.as_ref()).expect("from a Secret");
    assert_eq!((secret.name.as_str(), secret.key.as_str()), ("paydeck-database", "url"));
    assert!(url.value.is_none(), "never in the manifest itself");
    assert!(env.iter().any(|e| e.name == "POD_NAME"), "replicas are told apart in the Lease");
    assert!(container.volume_mounts.iter().flatten().all(|m| m.name != "history"));
    assert!(pod.volumes.iter().flatten().all(|v| v.persistent_volume_claim.is_none()), "no volume");
    assert!(objects.iter().all(|o| o["kind"] != "PersistentVolumeClaim"));
    let policy: NetworkPolicy = one(objects, "NetworkPolicy");
    let egress = policy.spec.unwrap().egress.unwrap_or_default();
    assert!(
        egress
            .iter()
            .flat_map(|e| e.ports.iter().flatten())
            .any(|p| p.port == Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(5432))),
        "out to PostgreSQL"
    );
}

/// The fleet overlay: the HA overlay, with the file of clusters (and the remote clusters'
/// kubeconfigs beside it) read from a Secret mounted read-only where the setting points.
#[test]
fn the_fleet_overlay_reads_its_clusters_from_a_secret() {
    for rendering in ["overlays/fleet", "chart:fleet"] {
        fleet_reads_its_clusters_from_a_secret(&render(rendering));
    }
}

fn fleet_reads_its_clusters_from_a_secret(objects: &[Value]) {
    let config: ConfigMap = named(objects, "ConfigMap", "paydeck");
    let file = config.data.as_ref().unwrap()["PAYDECK_CLUSTERS_FILE"].clone();
    let deployment: Deployment = one(objects, "Deployment");
    assert_eq!(deployment.spec.as_ref().unwrap().replicas, Some(2), "on the HA overlay");
    assert_eq!(secret_holding(&deployment, &file), "paydeck-clusters");
    let parsed = <paydeck::config::Config as clap::Parser>::try_parse_from(flags_of(&config)).unwrap();
    assert_eq!(parsed.clusters_file.as_deref(), Some(std::path::Path::new(&file)));
    assert!(parsed.cluster_name.is_none() && parsed.context.is_none(), "names come from the file");
}

/// The Secret whose volume holds `file`, mounted read-only in Paydeck's container.
fn secret_holding(deployment: &Deployment, file: &str) -> String {
    let pod = deployment.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    let container = paydeck_container(deployment);
    let mount = container
        .volume_mounts
        .iter()
        .flatten()
        .find(|m| file.starts_with(&format!("{}/", m.mount_path)))
        .unwrap_or_else(|| panic!("{file} is not on a mounted volume"));
    assert_eq!(mount.read_only, Some(true), "{file} is mounted read-only");
    let volume = pod.volumes.iter().flatten().find(|v| v.name == mount.name).unwrap();
    volume
        .secret
        .as_ref()
        .and_then(|s| s.secret_name.clone())
        .unwrap_or_else(|| panic!("{file} is not in a Secret"))
}

/// Notifications: the file and the robots' URLs and secrets it names read from a Secret mounted
/// read-only where the setting points, and the receivers' ports open in the egress.
#[test]
fn the_chart_reads_its_notifications_from_a_secret_and_lets_them_out() {
    let objects = render("chart:notifications");
    let config: ConfigMap = named(&objects, "ConfigMap", "paydeck");
    let file = config.data.as_ref().unwrap()["PAYDECK_NOTIFICATIONS_FILE"].clone();
    assert_eq!(secret_holding(&one(&objects, "Deployment"), &file), "paydeck-notifications");
    let parsed = <paydeck::config::Config as clap::Parser>::try_parse_from(flags_of(&config)).unwrap();
    assert_eq!(parsed.notifications.as_deref(), Some(std::path::Path::new(&file)));
    let policy: NetworkPolicy = one(&objects, "NetworkPolicy");
    let ports: BTreeSet<String> = policy
        .spec
        .unwrap()
        .egress
        .iter()
        .flatten()
        .flat_map(|rule| rule.ports.iter().flatten())
        .filter_map(|p| {
            p.port.as_ref().map(|p| match p {
                k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n) => n.to_string(),
                k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s.clone(),
            })
        })
        .collect();
    assert!(ports.contains("8080") && ports.contains("443"), "{ports:?}");
    // Off by default: no file, no mount.
    let default: ConfigMap = named(&render("chart"), "ConfigMap", "paydeck");
    assert!(!default.data.unwrap().contains_key("PAYDECK_NOTIFICATIONS_FILE"));
}

/// The command line the ConfigMap's environment amounts to (each variable → its flag).
pub(crate) fn flags_of(config: &ConfigMap) -> Vec<String> {
    use clap::CommandFactory;
    let command = paydeck::config::Config::command();
    let mut args = vec!["paydeck".to_string()];
    for (key, value) in config.data.iter().flatten() {
        let arg = command
            .get_arguments()
            .find(|a| a.get_env().is_some_and(|e| e == key.as_str()))
            .unwrap_or_else(|| panic!("{key} is not the environment variable of any flag"));
        let flag = arg.get_long().unwrap();
        if arg.get_action().takes_values() {
            args.push(format!("--{flag}={value}"));
        } else if value == "true" {
            args.push(format!("--{flag}"));
        }
    }
    args
}

#[test]
fn the_auth_proxy_proves_itself_to_paydeck() {
    for rendering in ["overlays/auth-proxy", "chart:auth-proxy"] {
        auth_proxy_proves_itself(&render(rendering));
    }
}

fn auth_proxy_proves_itself(objects: &[Value]) {
    use clap::Parser;
    let config: ConfigMap = named(objects, "ConfigMap", "paydeck");
    let data = config.data.clone().unwrap();
    let secret_file = data["PAYDECK_PROXY_SECRET_FILE"].clone();

    // The secret Paydeck reads is mounted into Paydeck, and the proxy injects the same file.
    let deployment: Deployment = one(objects, "Deployment");
    let pod = deployment.spec.as_ref().unwrap().template.spec.clone().unwrap();
    let mounted_secret = |container: &Container| -> Option<String> {
        container.volume_mounts.iter().flatten().find_map(|m| {
            let volume = pod.volumes.iter().flatten().find(|v| v.name == m.name)?;
            let secret = volume.secret.as_ref()?;
            let item = secret
                .items
                .iter()
                .flatten()
                .find(|i| secret_file == format!("{}/{}", m.mount_path, i.path))?;
            Some(format!("{}:{}", secret.secret_name.clone()?, item.key))
        })
    };
    let paydeck = paydeck_container(&deployment);
    let proxy = pod.containers.iter().find(|c| c.name == "oauth2-proxy").expect("the proxy sidecar");
    let in_paydeck = mounted_secret(&paydeck).expect("the secret file is mounted into Paydeck");
    assert_eq!(mounted_secret(proxy), Some(in_paydeck), "the proxy reads the same secret");

    let proxy_config: Value = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "paydeck-oauth2-proxy")
        .map(|o| serde_saphyr::from_str(o["data"]["oauth2-proxy.yaml"].as_str().unwrap()).unwrap())
        .expect("the proxy's configuration");
    let injected = |name: &str| {
        proxy_config["injectRequestHeaders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .map(|h| h["values"][0].clone())
    };
    assert_eq!(injected(&data["PAYDECK_PROXY_SECRET_HEADER"]).unwrap()["fromFile"], secret_file.as_str());
    // The user is the provider's stable subject, prefixed as the API server prefixes it.
    assert_eq!(injected(&data["PAYDECK_USER_HEADER"]).unwrap()["claim"], "sub");
    assert_eq!(proxy_config["providers"][0]["oidcConfig"]["userIDClaim"], "sub");
    assert_eq!(data["PAYDECK_USERNAME_PREFIX"], "oidc:");
    assert!(injected(&data["PAYDECK_GROUPS_HEADER"]).is_some());
    assert_eq!(proxy_config["upstreamConfig"]["upstreams"][0]["uri"], "http://127.0.0.1:8080/");

    // Paydeck started with these settings reads the secret file (absent here, so it says which)…
    let flags = flags_of(&config);
    let parsed = paydeck::config::Config::try_parse_from(&flags).unwrap();
    assert!(parsed.proxy_trust().unwrap_err().to_string().contains(&secret_file));
    // …and without it, refuses to trust loopback at all.
    let without: Vec<String> = flags.into_iter().filter(|f| !f.starts_with("--proxy-secret-file")).collect();
    let parsed = paydeck::config::Config::try_parse_from(&without).unwrap();
    assert!(parsed.proxy_trust().unwrap_err().to_string().contains("--proxy-secret-file"));
}

#[test]
fn every_overlays_settings_are_valid_flags() {
    use clap::Parser;
    for overlay in RENDERINGS {
        let objects = render(overlay);
        let config: ConfigMap = named(&objects, "ConfigMap", "paydeck");
        let parsed = paydeck::config::Config::try_parse_from(flags_of(&config));
        assert!(parsed.is_ok(), "{overlay}: {}", parsed.unwrap_err());
        let parsed = parsed.unwrap();
        if parsed.leader_elect {
            // The Lease Paydeck takes is the one its Role names.
            let role: k8s_openapi::api::rbac::v1::Role = one(&objects, "Role");
            assert!(
                role.rules
                    .iter()
                    .flatten()
                    .any(|r| r.resource_names.as_deref() == Some(std::slice::from_ref(&parsed.lease_name))),
                "{overlay}: the Role names the Lease {}",
                parsed.lease_name
            );
        }
    }
}

fn role_named(roles: &[ClusterRole], name: &str) -> Vec<ClusterRole> {
    roles.iter().filter(|r| r.metadata.name.as_deref() == Some(name)).cloned().collect()
}

pub(crate) fn paydeck_container(deployment: &Deployment) -> Container {
    let spec = deployment.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    spec.containers.iter().find(|c| c.name == "paydeck").cloned().expect("a container named paydeck")
}

#[test]
fn every_container_runs_locked_down() {
    for overlay in RENDERINGS {
        let objects = render(overlay);
        let deployment: Deployment = one(&objects, "Deployment");
        let spec = deployment.spec.as_ref().unwrap();
        let config: ConfigMap = named(&objects, "ConfigMap", "paydeck");
        if config.data.as_ref().unwrap().contains_key("PAYDECK_DB") {
            assert_eq!(spec.replicas, Some(1), "{overlay}: SQLite has one writer");
            assert_eq!(spec.strategy.as_ref().unwrap().type_.as_deref(), Some("Recreate"), "{overlay}");
        }
        let pod = spec.template.spec.as_ref().unwrap();
        let pod_security = pod.security_context.as_ref().unwrap();
        assert_eq!(pod_security.run_as_non_root, Some(true), "{overlay}");
        // The rest of the Pod Security Standard `restricted`: no host namespaces, no host
        // ports, only the volume types it allows, never user 0.
        assert!(pod_security.run_as_user.is_some_and(|u| u != 0), "{overlay}");
        for shared in [pod.host_network, pod.host_pid, pod.host_ipc] {
            assert_ne!(shared, Some(true), "{overlay}: no host namespaces");
        }
        for volume in pod.volumes.iter().flatten() {
            assert!(
                volume.config_map.is_some()
                    || volume.secret.is_some()
                    || volume.persistent_volume_claim.is_some()
                    || volume.empty_dir.is_some()
                    || volume.projected.is_some()
                    || volume.downward_api.is_some(),
                "{overlay}: volume {} is of a type `restricted` refuses",
                volume.name
            );
        }
        for port in pod.containers.iter().flat_map(|c| c.ports.iter().flatten()) {
            assert!(port.host_port.is_none(), "{overlay}: no host ports");
        }
        assert_eq!(pod_security.seccomp_profile.as_ref().unwrap().type_, "RuntimeDefault", "{overlay}");
        for c in &pod.containers {
            let sc = c
                .security_context
                .as_ref()
                .unwrap_or_else(|| panic!("{overlay}: {} has no securityContext", c.name));
            assert_eq!(sc.run_as_non_root, Some(true), "{overlay}: {}", c.name);
            assert_eq!(sc.read_only_root_filesystem, Some(true), "{overlay}: {}", c.name);
            assert_eq!(sc.allow_privilege_escalation, Some(false), "{overlay}: {}", c.name);
            assert_eq!(
                sc.capabilities.as_ref().unwrap().drop,
                Some(vec!["ALL".to_string()]),
                "{overlay}: {}",
                c.name
            );
            assert!(sc.capabilities.as_ref().unwrap().add.is_none(), "{overlay}: {}", c.name);
            assert_eq!(sc.seccomp_profile.as_ref().unwrap().type_, "RuntimeDefault", "{overlay}: {}", c.name);
            let resources =
                c.resources.as_ref().unwrap_or_else(|| panic!("{overlay}: {} has no resources", c.name));
            for key in ["cpu", "memory"] {
                assert!(
                    resources.requests.as_ref().is_some_and(|r| r.contains_key(key)),
                    "{overlay}: {} requests {key}",
                    c.name
                );
                assert!(
                    resources.limits.as_ref().is_some_and(|r| r.contains_key(key)),
                    "{overlay}: {} limits {key}",
                    c.name
                );
            }
        }
        // The history database lives on the claimed volume, where PAYDECK_DB points (unless
        // it is a PostgreSQL server: the HA overlay, checked on its own).
        let Some(db) = config.data.as_ref().unwrap().get("PAYDECK_DB").cloned() else { continue };
        let paydeck = paydeck_container(&deployment);
        let mount =
            paydeck.volume_mounts.iter().flatten().find(|m| db.starts_with(&format!("{}/", m.mount_path)));
        let mount = mount.unwrap_or_else(|| panic!("{overlay}: {db} is not on a mounted volume"));
        let volume = pod.volumes.iter().flatten().find(|v| v.name == mount.name).unwrap();
        let claim =
            volume.persistent_volume_claim.as_ref().expect("a PersistentVolumeClaim").claim_name.clone();
        assert!(
            objects.iter().any(|o| o["kind"] == "PersistentVolumeClaim" && o["metadata"]["name"] == claim)
        );
    }
}

#[tokio::test]
async fn probes_and_ports_match_the_server() {
    // The routes the probes use must exist on the real router (503 while unsynced is fine).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = ServerState::new(
        site::leptos_options(std::path::Path::new("target/site"), addr),
        Duration::from_secs(10),
        ClusterView::disconnected(),
    );
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    // The probes' own listener (PAYDECK_PROBE_LISTEN) serves them alone.
    let probe_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let probe_addr = probe_listener.local_addr().unwrap();
    let probes = paydeck::http::serve::probes(paydeck::http::health::Readiness::default());
    tokio::spawn(async move { axum::serve(probe_listener, probes).await.unwrap() });
    let http = reqwest::Client::new();

    for overlay in RENDERINGS {
        let objects = render(overlay);
        let deployment: Deployment = one(&objects, "Deployment");
        let paydeck = paydeck_container(&deployment);
        let config: ConfigMap = named(&objects, "ConfigMap", "paydeck");
        let listen: std::net::SocketAddr = config.data.as_ref().unwrap()["PAYDECK_LISTEN"].parse().unwrap();
        assert!(listen.ip().is_unspecified(), "{overlay}: the kubelet probes the pod's address");
        let port = paydeck.ports.iter().flatten().find(|p| p.name.as_deref() == Some("http")).unwrap();
        assert_eq!(
            port.container_port,
            i32::from(listen.port()),
            "{overlay}: container port = PAYDECK_LISTEN"
        );
        let probe_listen: std::net::SocketAddr =
            config.data.as_ref().unwrap()["PAYDECK_PROBE_LISTEN"].parse().unwrap();
        assert!(probe_listen.ip().is_unspecified(), "{overlay}: the kubelet probes the pod's address");
        let probe_port =
            paydeck.ports.iter().flatten().find(|p| p.name.as_deref() == Some("probes")).unwrap();
        assert_eq!(
            probe_port.container_port,
            i32::from(probe_listen.port()),
            "{overlay}: container port = PAYDECK_PROBE_LISTEN"
        );
        assert!(
            paydeck
                .env_from
                .iter()
                .flatten()
                .any(|e| e.config_map_ref.as_ref().is_some_and(|c| c.name == "paydeck")),
            "{overlay}: the settings come from the ConfigMap"
        );

        for (probe, allowed) in [
            (paydeck.liveness_probe.as_ref(), [200, 200]),
            (paydeck.readiness_probe.as_ref(), [200, 503]),
            (paydeck.startup_probe.as_ref(), [200, 200]),
        ] {
            let get = probe.and_then(|p| p.http_get.as_ref()).expect("HTTP probes");
            assert_eq!(
                get.port,
                k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String("probes".into()),
                "{overlay}: probes go to their own port, beside the limits users meet"
            );
            let path = get.path.as_deref().unwrap();
            let status =
                http.get(format!("http://{probe_addr}{path}")).send().await.unwrap().status().as_u16();
            assert!(allowed.contains(&status), "{overlay}: probe {path} answered {status}");
            let status = http.get(format!("http://{addr}{path}")).send().await.unwrap().status().as_u16();
            assert!(allowed.contains(&status), "{overlay}: probe {path} on the main port answered {status}");
        }

        // The Service and the Ingress reach the port that serves users in this overlay.
        let service: Service = one(&objects, "Service");
        let target = service.spec.as_ref().unwrap().ports.as_ref().unwrap()[0].target_port.clone().unwrap();
        let k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(target) = target else {
            panic!("{overlay}: name the target port");
        };
        let pod = deployment.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
        assert!(
            pod.containers
                .iter()
                .flat_map(|c| c.ports.iter().flatten())
                .any(|p| p.name.as_deref() == Some(&target)),
            "{overlay}: the Service targets port {target:?}, which no container has"
        );
        let service_port = &service.spec.as_ref().unwrap().ports.as_ref().unwrap()[0];
        let ingresses: Vec<Ingress> = all(&objects, "Ingress");
        if let Some(ingress) = ingresses.first() {
            let ingress_spec = ingress.spec.as_ref().unwrap();
            assert!(
                ingress_spec.tls.as_ref().is_some_and(|t| !t.is_empty()),
                "{overlay}: TLS at the Ingress"
            );
            let backend = ingress_spec.rules.as_ref().unwrap()[0].http.as_ref().unwrap().paths[0]
                .backend
                .service
                .clone()
                .unwrap();
            assert_eq!(Some(backend.name), service.metadata.name.clone(), "{overlay}");
            assert_eq!(
                backend.port.unwrap().name,
                service_port.name,
                "{overlay}: the Ingress reaches the Service's port"
            );
        } else {
            // Gateway API: the route's backend is the Service's port (TLS is the Gateway's).
            let route =
                objects.iter().find(|o| o["kind"] == "HTTPRoute").expect("an Ingress or an HTTPRoute");
            let backend = &route["spec"]["rules"][0]["backendRefs"][0];
            assert_eq!(backend["name"].as_str(), service.metadata.name.as_deref(), "{overlay}");
            assert_eq!(backend["port"], service_port.port, "{overlay}: the route reaches the Service's port");
            assert!(route["spec"]["parentRefs"].as_array().is_some_and(|p| !p.is_empty()), "{overlay}");
        }
        let policy: NetworkPolicy = one(&objects, "NetworkPolicy");
        let opened: Vec<Vec<String>> = policy
            .spec
            .as_ref()
            .unwrap()
            .ingress
            .iter()
            .flatten()
            .map(|rule| {
                rule.ports
                    .iter()
                    .flatten()
                    .map(|p| match &p.port {
                        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s)) => {
                            s.clone()
                        }
                        other => panic!("{overlay}: name the port, not {other:?}"),
                    })
                    .collect()
            })
            .collect();
        assert_eq!(opened[0], vec![target.clone()], "{overlay}: users reach the Service's port alone");
        // Beside it, only Prometheus, to /metrics on the server's port, when a ServiceMonitor
        // scrapes it through the Service's `metrics` port.
        let monitored = objects.iter().any(|o| o["kind"] == "ServiceMonitor");
        assert_eq!(opened.len(), if monitored { 2 } else { 1 }, "{overlay}: {opened:?}");
        if monitored {
            assert_eq!(opened[1], vec!["http".to_string()], "{overlay}");
            let metrics = service
                .spec
                .as_ref()
                .unwrap()
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some("metrics"));
            assert_eq!(
                metrics.and_then(|p| p.target_port.clone()),
                Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String("http".into())),
                "{overlay}"
            );
            let monitor = objects.iter().find(|o| o["kind"] == "ServiceMonitor").unwrap();
            assert_eq!(monitor["spec"]["endpoints"][0]["port"], "metrics", "{overlay}");
            let status = http.get(format!("http://{addr}/metrics")).send().await.unwrap().status().as_u16();
            assert_eq!(status, 200, "{overlay}: /metrics answers Prometheus without an identity");
        }
        // Every overlay: no answers without an identity, log lines that cannot be forged, a
        // keyed audit chain whose key is mounted where Paydeck reads it.
        let data = config.data.as_ref().unwrap();
        assert_eq!(data["PAYDECK_ANONYMOUS"], "refuse", "{overlay}: no identity, no answer");
        assert_eq!(data["PAYDECK_AUDIT_ANONYMOUS_READS"], "refuse", "{overlay}");
        assert_eq!(data["PAYDECK_LOG_FORMAT"], "json", "{overlay}");
        let key_file = data["PAYDECK_AUDIT_KEY_FILE"].clone();
        let key_mounted = paydeck.volume_mounts.iter().flatten().any(|m| {
            pod.volumes.iter().flatten().any(|v| {
                v.name == m.name
                    && v.secret.as_ref().is_some_and(|s| {
                        s.items.iter().flatten().any(|i| key_file == format!("{}/{}", m.mount_path, i.path))
                    })
            })
        });
        assert!(key_mounted, "{overlay}: {key_file} is a mounted Secret");
        if overlay.ends_with("auth-proxy") {
            assert_eq!(target, "proxy", "users arrive through the proxy");
            let data = config.data.as_ref().unwrap();
            assert_eq!(
                data["PAYDECK_TRUSTED_PROXIES"], "127.0.0.1",
                "headers believed from the sidecar only"
            );
            assert_eq!(data["PAYDECK_USER_HEADER"], "X-Forwarded-User");
            assert_eq!(data["PAYDECK_ANONYMOUS"], "refuse", "no identity, no answer");
        }
        if overlay.ends_with("read-only") {
            assert_eq!(config.data.as_ref().unwrap()["PAYDECK_READ_ONLY"], "true");
        }
    }
}
