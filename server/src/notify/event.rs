//! What Paydeck tells: one event, whichever sink carries it. Each has a kind (`finding.opened`,
//! `change.applied`, …) whose family the routes choose by, a severity, the object it is about
//! and a line of text; the sinks format it their way ([`super::sinks`]).

use app::scaling::AuditEntry;
use serde::{Deserialize, Serialize};

/// How much it matters, least first: routes send an event at or above their minimum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl From<domain::rules::catalogue::Severity> for Severity {
    fn from(s: domain::rules::catalogue::Severity) -> Self {
        match s {
            domain::rules::catalogue::Severity::High => Severity::High,
            domain::rules::catalogue::Severity::Medium => Severity::Medium,
            domain::rules::catalogue::Severity::Low => Severity::Low,
        }
    }
}

/// The families of events a route chooses among.
pub const FAMILIES: [&str; 6] = ["finding", "hpa-at-max", "cluster", "change", "plan", "test"];

/// One thing to tell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Stable: the same event always has the same id (a sink may de-duplicate by it).
    pub id: String,
    /// `family.what`, e.g. `finding.opened`, `change.reverted`.
    pub kind: String,
    pub severity: Severity,
    pub cluster: String,
    /// Empty for the cluster itself.
    pub namespace: String,
    pub name: String,
    /// One line: what happened.
    pub title: String,
    /// The details, in a sentence or two.
    pub text: String,
    /// When it happened (the cluster's time), Unix ms.
    pub at_ms: i64,
    /// Whether this tells that something open is over.
    #[serde(default)]
    pub resolved: bool,
    /// The page about it, from the site's root: `/services/payments/payment-api`.
    pub path: String,
    /// A few facts by name (the rule, the user, the outcome), for labels and filters.
    #[serde(default)]
    pub facts: std::collections::BTreeMap<String, String>,
}

impl Event {
    /// The family routes choose by: the kind before its dot.
    pub fn family(&self) -> &str {
        self.kind.split('.').next().unwrap_or(&self.kind)
    }

    /// `payments/payment-api on eu-prod`, or `cluster eu-prod`.
    pub fn subject(&self) -> String {
        if self.name.is_empty() {
            format!("cluster {}", self.cluster)
        } else {
            format!("{}/{} on {}", self.namespace, self.name, self.cluster)
        }
    }

    /// The event telling that this one is over, at `at_ms`.
    pub fn resolution(&self, at_ms: i64, text: &str) -> Event {
        let family = self.family().to_string();
        Event {
            id: format!("{}/resolved", self.id),
            kind: format!("{family}.resolved"),
            title: format!("Resolved: {}", self.title),
            text: text.to_string(),
            at_ms,
            resolved: true,
            ..self.clone()
        }
    }
}

/// The page of a workload.
pub fn service_path(cluster_is_primary: bool, cluster: &str, namespace: &str, name: &str) -> String {
    if cluster_is_primary {
        format!("/services/{namespace}/{name}")
    } else {
        format!("/services/{namespace}/{name}?cluster={cluster}")
    }
}

/// The audit outcomes told, and how much each matters: what was done to a cluster, refused
/// by it, or undone by someone else. Previews, invalid input and intents are not.
fn change_severity(outcome: &str) -> Option<Severity> {
    Some(match outcome {
        "applied" => Severity::Info,
        "denied" | "conflict" => Severity::Low,
        "reverted" | "failed" | "unknown" => Severity::Medium,
        _ => return None,
    })
}

/// The plan whose step an HPA change was: the leader's steps carry `plan 7 (…): …` as their
/// reason (`plans::runner`).
fn step_of(row: &AuditEntry) -> Option<&str> {
    let rest = row.reason.strip_prefix("plan ")?;
    let (id, after) = rest.split_once(' ')?;
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && after.starts_with('(')).then_some(id)
}

/// The event an audit row makes, if it is one that is told. A row about a plan (`Plan/7`) is
/// of the `plan` family, and so is a plan's step (`plan.step-applied`, `plan.step-conflict`,
/// …, with `late` among its facts when its window opened while no leader ran); any other row
/// is of `change`.
pub fn of_audit_row(row: &AuditEntry, primary: &str) -> Option<Event> {
    let severity = change_severity(&row.outcome)?;
    let cluster = if row.cluster.is_empty() { primary.to_string() } else { row.cluster.clone() };
    let about_plan = row.target.starts_with("Plan");
    let step = if about_plan { None } else { step_of(row) };
    let (kind, what) = match step {
        Some(id) => (format!("plan.step-{}", row.outcome), format!("plan {id} step")),
        None if about_plan => (format!("plan.{}", row.outcome), "plan".to_string()),
        None => (format!("change.{}", row.outcome), "change".to_string()),
    };
    let title =
        format!("{} {} by {}: {} in {}", capital(&what), row.outcome, row.user, row.target, row.namespace);
    let mut text = row.detail.clone();
    if !row.reason.is_empty() && !about_plan {
        text = format!("{text} Reason: {}", row.reason);
    }
    let mut facts = std::collections::BTreeMap::new();
    facts.insert("outcome".into(), row.outcome.clone());
    facts.insert("user".into(), row.user.clone());
    facts.insert("target".into(), row.target.clone());
    facts.insert("auditSeq".into(), row.seq.to_string());
    if let Some(id) = step {
        facts.insert("plan".into(), id.to_string());
        if row.reason.contains(" late") {
            facts.insert("late".into(), "true".into());
        }
    }
    let path = match step {
        Some(id) => format!("/plans/{id}"),
        None if about_plan => {
            row.target.strip_prefix("Plan/").map_or_else(|| "/plans".to_string(), |id| format!("/plans/{id}"))
        }
        None => service_path(cluster == primary, &cluster, &row.namespace, &row.name),
    };
    Some(Event {
        id: format!("audit/{}", row.seq),
        kind,
        severity,
        cluster,
        namespace: row.namespace.clone(),
        name: row.name.clone(),
        title,
        text: text.trim().to_string(),
        at_ms: row.at_ms,
        resolved: false,
        path,
        facts,
    })
}

fn capital(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(outcome: &str, target: &str) -> AuditEntry {
        AuditEntry {
            seq: 42,
            at_ms: 1_000,
            user: "alice".into(),
            groups: vec![],
            namespace: "payments".into(),
            name: "payment-api".into(),
            target: target.into(),
            before: serde_json::Value::Null,
            after: serde_json::Value::Null,
            reason: "peak".into(),
            outcome: outcome.into(),
            detail: "maxReplicas 24 → 30".into(),
            hash: String::new(),
            intent_seq: None,
            keyed: false,
            cluster: "eu-prod".into(),
        }
    }

    #[test]
    fn changes_done_refused_or_undone_are_told_previews_and_intents_are_not() {
        let applied =
            of_audit_row(&row("applied", "HorizontalPodAutoscaler/payment-api"), "eu-prod").unwrap();
        assert_eq!((applied.kind.as_str(), applied.severity), ("change.applied", Severity::Info));
        assert_eq!(applied.id, "audit/42");
        assert_eq!(applied.path, "/services/payments/payment-api");
        assert!(applied.text.contains("Reason: peak"), "{}", applied.text);
        let reverted =
            of_audit_row(&row("reverted", "HorizontalPodAutoscaler/payment-api"), "eu-prod").unwrap();
        assert_eq!((reverted.family(), reverted.severity), ("change", Severity::Medium));
        for quiet in ["previewed", "invalid", "intent"] {
            assert_eq!(of_audit_row(&row(quiet, "Deployment/payment-api"), "eu-prod"), None, "{quiet}");
        }
        let plan = of_audit_row(&row("applied", "Plan/7"), "other").unwrap();
        assert_eq!((plan.kind.as_str(), plan.path.as_str()), ("plan.applied", "/plans/7"));
        let mut step = row("conflict", "HorizontalPodAutoscaler/payment-api");
        step.reason = "plan 7 (Black Friday): 4–20 → 12–40: window opened; applied 3 min late".into();
        let told = of_audit_row(&step, "eu-prod").unwrap();
        assert_eq!((told.kind.as_str(), told.path.as_str()), ("plan.step-conflict", "/plans/7"));
        assert_eq!((told.facts["plan"].as_str(), told.facts["late"].as_str()), ("7", "true"));
        let mut typed = row("applied", "HorizontalPodAutoscaler/payment-api");
        typed.reason = "plan B for the peak".into();
        assert_eq!(of_audit_row(&typed, "eu-prod").unwrap().kind, "change.applied", "a person's reason");
        let elsewhere = of_audit_row(&row("denied", "Deployment/payment-api"), "us-prod").unwrap();
        assert_eq!(elsewhere.path, "/services/payments/payment-api?cluster=eu-prod");
    }

    #[test]
    fn a_resolution_is_its_own_event_of_the_same_family() {
        let opened = of_audit_row(&row("applied", "Deployment/x"), "eu-prod").unwrap();
        let over = opened.resolution(2_000, "gone");
        assert_eq!(
            (over.kind.as_str(), over.id.as_str(), over.resolved),
            ("change.resolved", "audit/42/resolved", true)
        );
    }
}
