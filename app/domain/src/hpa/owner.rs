//! Who reverts a change made to an HPA, when something does: KEDA (which makes the HPA of a
//! ScaledObject and sets it back from the ScaledObject), a CronHPA owning it, or a GitOps tool
//! that syncs it from a repository (Flux, Argo CD). A plan or an edit on such an HPA would be
//! undone minutes later, so Paydeck names the owner instead.

use std::collections::BTreeMap;

/// The owner that reverts changes to an HPA with these labels, annotations and owner
/// references (`(kind, name)`), in words; `None` when nothing is known to.
pub fn reverted_by(
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
    owners: &[(String, String)],
) -> Option<String> {
    for (kind, name) in owners {
        match kind.as_str() {
            "ScaledObject" => return Some(format!("KEDA ScaledObject {name}")),
            "CronHorizontalPodAutoscaler" => return Some(format!("CronHPA {name}")),
            _ => {}
        }
    }
    let label = |key: &str| labels.get(key).filter(|v| !v.is_empty());
    if let Some(name) = label("scaledobject.keda.sh/name") {
        return Some(format!("KEDA ScaledObject {name}"));
    }
    let namespaced = |name: &String, namespace: Option<&String>| match namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name.clone(),
    };
    if let Some(name) = label("kustomize.toolkit.fluxcd.io/name") {
        return Some(format!(
            "Flux Kustomization {}",
            namespaced(name, label("kustomize.toolkit.fluxcd.io/namespace"))
        ));
    }
    if let Some(name) = label("helm.toolkit.fluxcd.io/name") {
        return Some(format!(
            "Flux HelmRelease {}",
            namespaced(name, label("helm.toolkit.fluxcd.io/namespace"))
        ));
    }
    // Argo CD tracks by annotation (`app:group/kind:namespace/name`) or by its own label.
    if let Some(id) = annotations.get("argocd.argoproj.io/tracking-id").filter(|v| !v.is_empty()) {
        let app = id.split(':').next().unwrap_or(id);
        return Some(format!("Argo CD application {app}"));
    }
    label("argocd.argoproj.io/instance").map(|app| format!("Argo CD application {app}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn keda_cronhpa_flux_and_argo_cd_are_named() {
        let none = BTreeMap::new();
        let keda = map(&[
            ("scaledobject.keda.sh/name", "orders"),
            ("app.kubernetes.io/managed-by", "keda-operator"),
        ]);
        assert_eq!(reverted_by(&keda, &none, &[]).as_deref(), Some("KEDA ScaledObject orders"));
        let owned = [("ScaledObject".to_string(), "payments".to_string())];
        assert_eq!(reverted_by(&none, &none, &owned).as_deref(), Some("KEDA ScaledObject payments"));
        let cron = [("CronHorizontalPodAutoscaler".to_string(), "lunch".to_string())];
        assert_eq!(reverted_by(&none, &none, &cron).as_deref(), Some("CronHPA lunch"));
        let flux = map(&[
            ("kustomize.toolkit.fluxcd.io/name", "apps"),
            ("kustomize.toolkit.fluxcd.io/namespace", "flux-system"),
        ]);
        assert_eq!(reverted_by(&flux, &none, &[]).as_deref(), Some("Flux Kustomization flux-system/apps"));
        let helm = map(&[("helm.toolkit.fluxcd.io/name", "ledger")]);
        assert_eq!(reverted_by(&helm, &none, &[]).as_deref(), Some("Flux HelmRelease ledger"));
        let argo = map(&[(
            "argocd.argoproj.io/tracking-id",
            "payments:autoscaling/HorizontalPodAutoscaler:core/ledger",
        )]);
        assert_eq!(reverted_by(&none, &argo, &[]).as_deref(), Some("Argo CD application payments"));
    }

    #[test]
    fn helm_alone_or_a_deployment_owner_reverts_nothing() {
        // Helm sets what it installs once; it does not set it back.
        let helm = map(&[("app.kubernetes.io/managed-by", "Helm"), ("app.kubernetes.io/instance", "ledger")]);
        assert_eq!(reverted_by(&helm, &BTreeMap::new(), &[("Deployment".into(), "ledger".into())]), None);
    }
}
