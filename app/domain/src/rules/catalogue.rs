//! The rule catalogue: every rule's stable ID, title, severity, why it matters for a payment
//! service and how to fix it. IDs never change meaning; a retired rule's ID is not reused.
//! PD1xx: availability, PD2xx: resources, PD3xx: autoscaling (from recorded history).

use serde::{Deserialize, Serialize};

/// A rule's stable ID, written as in waivers and the API: `PD101`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RuleId {
    PD101,
    PD102,
    PD103,
    PD104,
    PD105,
    PD106,
    PD107,
    PD201,
    PD202,
    PD203,
    PD204,
    PD205,
    PD206,
    PD301,
    PD302,
    PD303,
}

impl RuleId {
    pub fn as_str(self) -> &'static str {
        rule(self).code
    }

    /// The ID written in a waiver or a filter, case-insensitively (`pd101` too).
    pub fn parse(s: &str) -> Option<RuleId> {
        let s = s.trim();
        CATALOGUE.iter().find(|r| r.code.eq_ignore_ascii_case(s)).map(|r| r.id)
    }

    /// The anchor of the rule's entry in docs/using.md's catalogue.
    pub fn anchor(self) -> String {
        self.as_str().to_ascii_lowercase()
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much a finding matters: `high` risks an outage or a lost payment, `medium` degrades
/// under load or in a disruption, `low` costs money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    High,
    Medium,
    Low,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::High, Severity::Medium, Severity::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Severity::High => "High",
            Severity::Medium => "Medium",
            Severity::Low => "Low",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// One rule of the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub id: RuleId,
    pub code: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// Why it matters for a payment service.
    pub why: &'static str,
    pub fix: &'static str,
    /// Whether it is judged from recorded history (otherwise from the live state).
    pub from_history: bool,
}

const fn live(
    id: RuleId,
    code: &'static str,
    severity: Severity,
    title: &'static str,
    why: &'static str,
    fix: &'static str,
) -> Rule {
    Rule { id, code, title, severity, why, fix, from_history: false }
}

/// A rule judged on recorded history.
const fn recorded(rule: Rule) -> Rule {
    Rule { from_history: true, ..rule }
}

use RuleId::*;
use Severity::*;

/// Every rule, in ID order.
pub const CATALOGUE: [Rule; 16] = [
    live(
        PD101,
        "PD101",
        High,
        "Critical service with fewer than two replicas",
        "One pod of a service on the payment path is a single point of failure: a node drain, an eviction or one crash stops payments until a new pod is ready.",
        "Run at least two replicas; with an HPA, set minReplicas to 2 or more.",
    ),
    live(
        PD102,
        "PD102",
        High,
        "Critical service without a PodDisruptionBudget",
        "Without a budget, a node drain or cluster upgrade may evict every replica at once, and payments stop mid-maintenance.",
        "Add a PodDisruptionBudget selecting the pods, e.g. maxUnavailable: 1.",
    ),
    live(
        PD103,
        "PD103",
        Medium,
        "PodDisruptionBudget allows no voluntary disruption",
        "A budget that never allows an eviction blocks node drains and upgrades; operators then force them, which is the outage the budget was meant to prevent.",
        "Set minAvailable below the replica count (or maxUnavailable to 1 or more) so one pod may move at a time.",
    ),
    live(
        PD104,
        "PD104",
        High,
        "Critical service has every replica on one node",
        "Replicas on one node fail together: losing that node stops the service however many replicas it runs.",
        "Spread the pods (topologySpreadConstraints on kubernetes.io/hostname, or pod anti-affinity).",
    ),
    live(
        PD105,
        "PD105",
        Medium,
        "Critical service without topology spread or anti-affinity",
        "Nothing stops the scheduler from packing the replicas onto one node or zone; a single failure can then take them all.",
        "Add topologySpreadConstraints (hostname and zone) or preferred pod anti-affinity to the pod template.",
    ),
    live(
        PD106,
        "PD106",
        Medium,
        "One replica, no autoscaler, no PodDisruptionBudget",
        "Any disruption (a drain, an eviction, a crash) is an outage of the service until its pod is back.",
        "Run two replicas, or add an HPA with minReplicas 2; then a PodDisruptionBudget.",
    ),
    live(
        PD107,
        "PD107",
        Medium,
        "Replica count written by both a GitOps tool and an HPA",
        "When the repository's manifest sets spec.replicas, every sync puts the Deployment back to that count, whatever the HPA chose: at a peak, pods are taken away until the HPA scales up again.",
        "Leave spec.replicas out of the Deployment's manifest in the repository (the HPA owns it), or have the tool ignore it: Argo CD's ignoreDifferences on /spec/replicas with RespectIgnoreDifferences=true.",
    ),
    live(
        PD201,
        "PD201",
        Medium,
        "Container without a readiness probe",
        "Without a readiness probe a pod receives payments as soon as it starts, before it can serve them, and keeps receiving them when it cannot.",
        "Add a readinessProbe that checks the service can take a request (its dependencies included).",
    ),
    live(
        PD202,
        "PD202",
        Medium,
        "Container without CPU or memory requests",
        "Without requests the scheduler cannot place the pod safely, an HPA cannot compute utilisation, and the pod is first to be evicted under pressure.",
        "Set CPU and memory requests from the usage you see (the service page charts them).",
    ),
    live(
        PD203,
        "PD203",
        Medium,
        "Container without limits",
        "Without a memory limit a leak grows until the node runs out and the kernel kills whatever it picks; without a CPU limit one service can starve its neighbours.",
        "Set a memory limit (and a CPU limit where your policy asks for one) with headroom above the usage you see.",
    ),
    live(
        PD204,
        "PD204",
        High,
        "Memory use close to the limit",
        "A pod at its memory limit is killed (OOMKilled) and its in-flight payments fail.",
        "Raise the memory limit (and request), or find what grows.",
    ),
    live(
        PD205,
        "PD205",
        Medium,
        "CPU use close to the limit",
        "At its CPU limit a pod is throttled: latency rises, payment timeouts follow, long before utilisation looks alarming.",
        "Raise the CPU limit, scale out earlier (a lower HPA target), or remove the CPU limit where your policy allows.",
    ),
    recorded(live(
        PD206,
        "PD206",
        Low,
        "CPU requests far above use",
        "Requested CPU is reserved whether it is used or not: it is paid for and it blocks other pods from those nodes.",
        "Lower the CPU request towards the recorded 95th percentile plus headroom (the right-sizing shows the figure).",
    )),
    recorded(live(
        PD301,
        "PD301",
        High,
        "HPA saturated at its maximum during peaks",
        "At its maximum the HPA can add no pods: above the target, latency rises and payments time out at exactly the busiest moments.",
        "Raise maxReplicas to cover the recorded peak with headroom (check that the nodes can hold it).",
    )),
    recorded(live(
        PD302,
        "PD302",
        Low,
        "HPA minimum so high the service idles",
        "Replicas held by minReplicas with little to do are paid for all day.",
        "Lower minReplicas towards what the quiet hours need, keeping two or more for a critical service.",
    )),
    recorded(live(
        PD303,
        "PD303",
        Medium,
        "HPA target too high for the recorded surges",
        "At this target, a surge as fast as recorded ones pushes pods beyond their CPU limit before new pods are ready: they are throttled while the HPA catches up.",
        "Lower the CPU utilisation target so the pods have headroom for the time new pods take to start.",
    )),
];

/// The catalogue entry of `id`.
pub fn rule(id: RuleId) -> &'static Rule {
    CATALOGUE.iter().find(|r| r.id == id).expect("every RuleId is in the catalogue")
}
