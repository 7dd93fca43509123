//! A rule's finding, the change it proposes and the waivers that mark it: plain data, shared
//! by the workload figures (`dto`), the rules that make findings and the right-sizing that
//! proposes changes. What a proposal does to a form or an HPA lives with those (`rules`).

use serde::{Deserialize, Serialize};

use super::catalogue::{self, RuleId, Severity};

/// The annotation listing the rules waived for a Deployment: `PD101,PD204`.
pub const WAIVE_ANNOTATION: &str = "paydeck.io/waive";
/// The annotation saying why.
pub const WAIVE_REASON_ANNOTATION: &str = "paydeck.io/waive-reason";

/// One rule's finding on one workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RuleFinding {
    pub rule: RuleId,
    pub severity: Severity,
    /// What was found, with the figures: "at its maximum of 4 for 95 min of the last day".
    pub message: String,
    /// Waived by the Deployment's `paydeck.io/waive` annotation: the reason given (`""`
    /// when none was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived: Option<String>,
    /// The scaling change that would address it, where one does; opened in the edit form,
    /// never applied by the advisor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<Proposal>,
    /// For a proposed HPA change judged on recorded demand: the proposal replayed against the
    /// current HPA over the same recording, in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backtest: Option<String>,
}

impl RuleFinding {
    pub fn new(rule: RuleId, message: impl Into<String>) -> RuleFinding {
        RuleFinding {
            rule,
            severity: catalogue::rule(rule).severity,
            message: message.into(),
            waived: None,
            proposal: None,
            backtest: None,
        }
    }

    pub fn proposing(self, proposal: Proposal) -> RuleFinding {
        RuleFinding { proposal: Some(proposal), ..self }
    }
}

/// A scaling change proposed by a finding: the fields to set, the rest as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Proposal {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_target: Option<i32>,
}

/// The rules a Deployment waives, from its annotations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Waivers {
    pub rules: Vec<RuleId>,
    pub reason: Option<String>,
    /// Entries of the annotation that name no rule (shown, so a typo does not go unseen).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
}

/// The longest waiver reason kept, in characters: it is copied into every finding it waives
/// and every live event carrying them, so an annotation of 200 KB must not be.
pub const MAX_WAIVER_REASON_CHARS: usize = 500;

impl Waivers {
    /// From the annotations' values: IDs separated by commas or spaces. A reason longer than
    /// [`MAX_WAIVER_REASON_CHARS`] is cut, and says so.
    pub fn parse(waive: Option<&str>, reason: Option<&str>) -> Waivers {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty()).map(|r| {
            if r.chars().count() <= MAX_WAIVER_REASON_CHARS {
                r.to_string()
            } else {
                let mut cut: String = r.chars().take(MAX_WAIVER_REASON_CHARS - 1).collect();
                cut.push('…');
                cut
            }
        });
        let mut out = Waivers { reason, ..Waivers::default() };
        for item in waive.unwrap_or_default().split([',', ' ']).filter(|s| !s.trim().is_empty()) {
            match RuleId::parse(item) {
                Some(id) if !out.rules.contains(&id) => out.rules.push(id),
                Some(_) => {}
                None => out.unknown.push(item.trim().chars().take(20).collect()),
            }
        }
        out.unknown.truncate(10);
        out
    }

    /// Marks the findings this waives (keeping them), most severe and unwaived first.
    pub fn apply(&self, findings: &mut [RuleFinding]) {
        for f in findings.iter_mut() {
            if self.rules.contains(&f.rule) {
                f.waived = Some(self.reason.clone().unwrap_or_default());
            }
        }
        findings.sort_by_key(|f| (f.waived.is_some(), f.severity, f.rule));
    }
}
