//! Who else writes a Deployment or an HPA, read from the marks each tool leaves on what it
//! writes: Argo CD's tracking annotation (or its instance label, with its field manager),
//! Flux's and Helm's labels and annotations, KEDA's and a CronHPA's owner references, and the
//! field managers of `metadata.managedFields`. A change Paydeck makes to such an object is set
//! back (a GitOps tool syncing its repository, KEDA from its ScaledObject) or written over
//! later (the next Helm upgrade, another client), so Paydeck names the owner before an edit
//! and watches for the revert after one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The tool that writes the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum OwnerTool {
    Argocd,
    Flux,
    Helm,
    Keda,
    Cronhpa,
    /// Another client, known only by its `managedFields` manager.
    Manager,
}

impl OwnerTool {
    /// Its name as its users write it.
    pub fn label(self) -> &'static str {
        match self {
            OwnerTool::Argocd => "Argo CD",
            OwnerTool::Flux => "Flux",
            OwnerTool::Helm => "Helm",
            OwnerTool::Keda => "KEDA",
            OwnerTool::Cronhpa => "CronHPA",
            OwnerTool::Manager => "another client",
        }
    }

    /// As in the API and the audit log: `argocd`, `flux`, `helm`, `keda`, `cronhpa`, `manager`.
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerTool::Argocd => "argocd",
            OwnerTool::Flux => "flux",
            OwnerTool::Helm => "helm",
            OwnerTool::Keda => "keda",
            OwnerTool::Cronhpa => "cronhpa",
            OwnerTool::Manager => "manager",
        }
    }
}

/// What the owner does to a change Paydeck makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum OwnerEffect {
    /// Makes the object from its own resource (KEDA's ScaledObject, a CronHPA) and sets it
    /// back at once: an edit here is pointless, so it is refused and the source named.
    Derives,
    /// Syncs it from a repository (Argo CD, Flux) and sets drift back, unless the field is
    /// ignored there: an edit needs the person to confirm they know.
    Syncs,
    /// Writes it when it next runs (a Helm upgrade, another client): a warning.
    Overwrites,
}

impl OwnerEffect {
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerEffect::Derives => "derives",
            OwnerEffect::Syncs => "syncs",
            OwnerEffect::Overwrites => "overwrites",
        }
    }
}

/// One writer of an object besides Kubernetes' controllers and Paydeck.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    pub tool: OwnerTool,
    /// What it keeps the object in: `Application`, `Kustomization`, `HelmRelease`, `release`,
    /// `ScaledObject`, `CronHorizontalPodAutoscaler`, or `fieldManager`.
    pub kind: String,
    pub name: String,
    /// Where that resource lives, when it says (Flux's Kustomization, for one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub effect: OwnerEffect,
}

impl Owner {
    fn new(tool: OwnerTool, kind: &str, name: &str, namespace: Option<&str>, effect: OwnerEffect) -> Self {
        Owner {
            tool,
            kind: kind.to_string(),
            name: name.to_string(),
            namespace: namespace.map(str::to_string),
            effect,
        }
    }

    /// In words: `Argo CD application payments-core`, `Flux Kustomization flux-system/apps`.
    pub fn describe(&self) -> String {
        let name = match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        };
        match self.tool {
            OwnerTool::Argocd => format!("Argo CD application {name}"),
            OwnerTool::Flux => format!("Flux {} {name}", self.kind),
            OwnerTool::Helm => format!("Helm release {name}"),
            OwnerTool::Keda => format!("KEDA ScaledObject {name}"),
            OwnerTool::Cronhpa => format!("CronHPA {name}"),
            OwnerTool::Manager => format!("the client {name}"),
        }
    }

    /// What becomes of a change Paydeck makes, said to the person making it.
    pub fn consequence(&self) -> String {
        let who = self.describe();
        match (self.effect, self.tool) {
            (OwnerEffect::Derives, OwnerTool::Keda) => format!(
                "{who} makes this HPA and sets it back at once: change minReplicaCount, maxReplicaCount or the triggers of the ScaledObject instead"
            ),
            (OwnerEffect::Derives, _) => {
                format!("{who} sets this HPA on its schedule and sets it back: change its schedule instead")
            }
            (OwnerEffect::Syncs, OwnerTool::Argocd) => format!(
                "{who} syncs this object from its repository and will set the change back unless the field is in the application's ignoreDifferences or the change is made in the repository"
            ),
            (OwnerEffect::Syncs, _) => format!(
                "{who} applies this object from its repository and will set the change back at its next reconciliation unless the change is made in the repository"
            ),
            (OwnerEffect::Overwrites, OwnerTool::Helm) => {
                format!(
                    "{who} installed this object: the next helm upgrade sets the change back unless the chart's values carry it"
                )
            }
            (OwnerEffect::Overwrites, _) => {
                format!("{who} also writes this object and may write over the change")
            }
        }
    }
}

/// What an object carries that names its writers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Marks<'a> {
    pub labels: Option<&'a BTreeMap<String, String>>,
    pub annotations: Option<&'a BTreeMap<String, String>>,
    /// `(kind, name)` of each owner reference.
    pub owner_references: &'a [(String, String)],
    /// The `managedFields` managers, in order, each with whether it owns any of the fields a
    /// scaling change writes (`spec.replicas`; an HPA's bounds, metrics, behavior).
    pub managers: &'a [(String, bool)],
}

/// Field managers that are Kubernetes itself, or Paydeck: not owners.
const NOT_OWNERS: [&str; 6] = [
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-apiserver",
    "paydeck",
    "before-first-apply",
];

/// Which tool a field manager is, when it is one Paydeck knows.
fn manager_tool(manager: &str) -> Option<OwnerTool> {
    match manager {
        m if m.starts_with("argocd") => Some(OwnerTool::Argocd),
        "kustomize-controller" | "helm-controller" | "flux-client-side-apply" => Some(OwnerTool::Flux),
        "helm" => Some(OwnerTool::Helm),
        m if m.starts_with("keda") => Some(OwnerTool::Keda),
        _ => None,
    }
}

/// The object's writers besides Kubernetes and Paydeck, the ones that set a change back
/// first.
pub fn owners_of(marks: Marks<'_>) -> Vec<Owner> {
    let empty = BTreeMap::new();
    let labels = marks.labels.unwrap_or(&empty);
    let annotations = marks.annotations.unwrap_or(&empty);
    let label = |key: &str| labels.get(key).map(String::as_str).filter(|v| !v.is_empty());
    let annotation = |key: &str| annotations.get(key).map(String::as_str).filter(|v| !v.is_empty());
    let mut found = Vec::new();

    for (kind, name) in marks.owner_references {
        match kind.as_str() {
            "ScaledObject" => {
                found.push(Owner::new(OwnerTool::Keda, "ScaledObject", name, None, OwnerEffect::Derives))
            }
            "CronHorizontalPodAutoscaler" | "CronHPA" => {
                found.push(Owner::new(OwnerTool::Cronhpa, kind, name, None, OwnerEffect::Derives))
            }
            _ => {}
        }
    }
    if let Some(name) = label("scaledobject.keda.sh/name")
        && !found.iter().any(|o| o.tool == OwnerTool::Keda)
    {
        found.push(Owner::new(OwnerTool::Keda, "ScaledObject", name, None, OwnerEffect::Derives));
    }

    // Argo CD tracks by annotation (`app:group/kind:namespace/name`), or by its instance label;
    // that label is common elsewhere too, so it counts only with Argo CD's field manager.
    let argo_manager = marks.managers.iter().any(|(m, _)| manager_tool(m) == Some(OwnerTool::Argocd));
    let argo_app = annotation("argocd.argoproj.io/tracking-id")
        .map(|id| id.split(':').next().unwrap_or(id))
        .or_else(|| label("argocd.argoproj.io/instance"))
        .or_else(|| label("app.kubernetes.io/instance").filter(|_| argo_manager));
    if let Some(app) = argo_app {
        found.push(Owner::new(OwnerTool::Argocd, "Application", app, None, OwnerEffect::Syncs));
    }
    for (prefix, kind) in [("kustomize", "Kustomization"), ("helm", "HelmRelease")] {
        if let Some(name) = label(&format!("{prefix}.toolkit.fluxcd.io/name")) {
            let namespace = label(&format!("{prefix}.toolkit.fluxcd.io/namespace"));
            found.push(Owner::new(OwnerTool::Flux, kind, name, namespace, OwnerEffect::Syncs));
        }
    }
    // A Flux HelmRelease installs through Helm: its release marks are the HelmRelease's.
    if !found.iter().any(|o| o.kind == "HelmRelease")
        && let Some(release) = annotation("meta.helm.sh/release-name")
    {
        let namespace = annotation("meta.helm.sh/release-namespace");
        found.push(Owner::new(OwnerTool::Helm, "release", release, namespace, OwnerEffect::Overwrites));
    }

    // Another client counts when it owns a field a scaling change writes: its next write of
    // the object (a `kubectl apply` of a manifest with replicas) sets the change back.
    let named: Vec<OwnerTool> = found.iter().map(|o| o.tool).collect();
    let mut others: Vec<&str> = Vec::new();
    for (manager, scaling) in marks.managers {
        let known = NOT_OWNERS.contains(&manager.as_str())
            || manager.is_empty()
            || manager_tool(manager).is_some_and(|tool| named.contains(&tool));
        if *scaling && !known && !others.contains(&manager.as_str()) {
            others.push(manager);
        }
    }
    found.extend(
        others
            .into_iter()
            .map(|m| Owner::new(OwnerTool::Manager, "fieldManager", m, None, OwnerEffect::Overwrites)),
    );
    found.sort_by_key(|o| o.effect);
    found
}

/// The owner that sets a change back, when one does (KEDA, a CronHPA, Argo CD, Flux).
pub fn reverting(owners: &[Owner]) -> Option<&Owner> {
    owners.iter().find(|o| matches!(o.effect, OwnerEffect::Derives | OwnerEffect::Syncs))
}

/// What an edit of an object with these owners may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Something derives the object (KEDA, a CronHPA): refused, the source named.
    Refused(String),
    /// A GitOps tool syncs it: an apply needs the person to confirm they know (`confirmOwner`).
    Unconfirmed(String),
    /// May go ahead, with these warnings; `audit` says who owns it and that it was confirmed.
    Go { warnings: Vec<String>, audit: Option<String> },
}

/// Whether an edit (a preview, or an apply with or without the person's confirmation) of an
/// object with `owners` goes ahead.
pub fn before_edit(owners: &[Owner], dry_run: bool, confirmed: bool) -> Verdict {
    if let Some(o) = owners.iter().find(|o| o.effect == OwnerEffect::Derives) {
        return Verdict::Refused(format!("nothing was sent: {}", o.consequence()));
    }
    let syncing = owners.iter().find(|o| o.effect == OwnerEffect::Syncs);
    if let Some(o) = syncing
        && !dry_run
        && !confirmed
    {
        return Verdict::Unconfirmed(format!(
            "{}. Confirm that you know (confirmOwner: true) to apply it anyway",
            o.consequence()
        ));
    }
    let warnings = owners.iter().map(Owner::consequence).collect();
    let audit = (!owners.is_empty()).then(|| {
        let named: Vec<String> =
            owners.iter().map(|o| format!("{} ({})", o.describe(), o.effect.as_str())).collect();
        let confirmed =
            if syncing.is_some() && confirmed { "; set back unless kept there: confirmed" } else { "" };
        format!("owned by {}{confirmed}", named.join(", "))
    });
    Verdict::Go { warnings, audit }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn described(marks: Marks<'_>) -> Vec<String> {
        owners_of(marks).iter().map(Owner::describe).collect()
    }

    #[test]
    fn keda_and_cronhpa_derive_the_hpa() {
        let keda = map(&[
            ("scaledobject.keda.sh/name", "orders"),
            ("app.kubernetes.io/managed-by", "keda-operator"),
        ]);
        let owners = owners_of(Marks { labels: Some(&keda), ..Marks::default() });
        assert_eq!(owners.len(), 1);
        assert_eq!((owners[0].tool, owners[0].effect), (OwnerTool::Keda, OwnerEffect::Derives));
        assert_eq!(owners[0].describe(), "KEDA ScaledObject orders");
        assert!(owners[0].consequence().contains("maxReplicaCount"), "{}", owners[0].consequence());
        // The owner reference and the label name one ScaledObject once.
        let refs = [("ScaledObject".to_string(), "orders".to_string())];
        let both = Marks { labels: Some(&keda), owner_references: &refs, ..Marks::default() };
        assert_eq!(described(both), ["KEDA ScaledObject orders"]);
        let cron = [("CronHorizontalPodAutoscaler".to_string(), "lunch".to_string())];
        assert_eq!(described(Marks { owner_references: &cron, ..Marks::default() }), ["CronHPA lunch"]);
    }

    #[test]
    fn gitops_tools_sync_the_object() {
        let flux = map(&[
            ("kustomize.toolkit.fluxcd.io/name", "apps"),
            ("kustomize.toolkit.fluxcd.io/namespace", "flux-system"),
        ]);
        let owners = owners_of(Marks { labels: Some(&flux), ..Marks::default() });
        assert_eq!(owners[0].describe(), "Flux Kustomization flux-system/apps");
        assert_eq!(owners[0].effect, OwnerEffect::Syncs);
        let argo = map(&[(
            "argocd.argoproj.io/tracking-id",
            "payments:autoscaling/HorizontalPodAutoscaler:core/ledger",
        )]);
        let owners = owners_of(Marks { annotations: Some(&argo), ..Marks::default() });
        assert_eq!(owners[0].describe(), "Argo CD application payments");
        assert!(owners[0].consequence().contains("ignoreDifferences"));
        assert_eq!(reverting(&owners).map(|o| o.tool), Some(OwnerTool::Argocd));
    }

    #[test]
    fn an_edit_is_refused_confirmed_or_warned_by_what_the_owner_does() {
        let keda = Owner::new(OwnerTool::Keda, "ScaledObject", "orders", None, OwnerEffect::Derives);
        let argo = Owner::new(OwnerTool::Argocd, "Application", "payments", None, OwnerEffect::Syncs);
        let helm = Owner::new(OwnerTool::Helm, "release", "ledger", None, OwnerEffect::Overwrites);
        for dry_run in [true, false] {
            let Verdict::Refused(why) = before_edit(std::slice::from_ref(&keda), dry_run, true) else {
                panic!()
            };
            assert!(why.starts_with("nothing was sent: KEDA ScaledObject orders"), "{why}");
        }
        let Verdict::Unconfirmed(why) = before_edit(&[argo.clone(), helm.clone()], false, false) else {
            panic!()
        };
        assert!(why.contains("ignoreDifferences") && why.contains("confirmOwner"), "{why}");
        let Verdict::Go { warnings, audit } = before_edit(&[argo.clone(), helm.clone()], true, false) else {
            panic!("a preview shows what will happen")
        };
        assert_eq!(warnings.len(), 2);
        assert_eq!(
            audit.as_deref(),
            Some("owned by Argo CD application payments (syncs), Helm release ledger (overwrites)")
        );
        let Verdict::Go { audit, .. } = before_edit(&[argo], false, true) else { panic!() };
        assert!(audit.unwrap().ends_with("set back unless kept there: confirmed"));
        assert_eq!(
            before_edit(std::slice::from_ref(&helm), false, false),
            Verdict::Go {
                warnings: vec![helm.consequence()],
                audit: Some("owned by Helm release ledger (overwrites)".into())
            }
        );
        assert_eq!(before_edit(&[], false, false), Verdict::Go { warnings: vec![], audit: None });
    }

    #[test]
    fn argo_cd_label_tracking_counts_only_with_its_field_manager() {
        let instance = map(&[("app.kubernetes.io/instance", "payments")]);
        assert_eq!(described(Marks { labels: Some(&instance), ..Marks::default() }), Vec::<String>::new());
        let managers = [("argocd-controller".to_string(), false)];
        let marks = Marks { labels: Some(&instance), managers: &managers, ..Marks::default() };
        assert_eq!(described(marks), ["Argo CD application payments"], "its manager is not listed again");
    }

    #[test]
    fn helm_and_other_clients_overwrite_but_do_not_revert() {
        let helm =
            map(&[("meta.helm.sh/release-name", "ledger"), ("meta.helm.sh/release-namespace", "core")]);
        let managers = [
            ("helm".to_string(), true),
            ("kube-controller-manager".into(), true),
            ("paydeck".into(), true),
            ("kubectl-edit".into(), true),
            ("kubectl-label".into(), false),
        ];
        let owners = owners_of(Marks { annotations: Some(&helm), managers: &managers, ..Marks::default() });
        assert_eq!(
            owners.iter().map(Owner::describe).collect::<Vec<_>>(),
            ["Helm release core/ledger", "the client kubectl-edit"]
        );
        assert!(owners.iter().all(|o| o.effect == OwnerEffect::Overwrites));
        assert_eq!(reverting(&owners), None);
        // A Deployment owning a ReplicaSet-like reference is not an owner of scaling.
        let refs = [("Deployment".to_string(), "ledger".to_string())];
        assert_eq!(described(Marks { owner_references: &refs, ..Marks::default() }), Vec::<String>::new());
    }

    #[test]
    fn a_flux_helm_release_is_named_once_and_reverting_owners_come_first() {
        let labels =
            map(&[("helm.toolkit.fluxcd.io/name", "ledger"), ("helm.toolkit.fluxcd.io/namespace", "core")]);
        let annotations = map(&[("meta.helm.sh/release-name", "core-ledger")]);
        let managers = [("kubectl-patch".to_string(), true), ("helm-controller".into(), true)];
        let marks = Marks {
            labels: Some(&labels),
            annotations: Some(&annotations),
            managers: &managers,
            ..Marks::default()
        };
        assert_eq!(described(marks), ["Flux HelmRelease core/ledger", "the client kubectl-patch"]);
    }
}
