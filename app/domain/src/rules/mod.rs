//! Governance: a catalogue of rules ([`catalogue`]) with stable IDs, judged on a workload's
//! live state ([`live`]) and on its recorded demand ([`history`]), with waivers from the
//! Deployment's annotations. A waived finding is kept and shown as waived, never dropped.

pub mod catalogue;
pub mod history;
pub mod live;
pub mod report;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use catalogue::{CATALOGUE, Rule, RuleId, Severity, rule};

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

/// Where a proposal comes from: a governance rule, a right-sizing recommendation or the
/// peak capacity planner. Named by its code in the link that opens it and in the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Rule(RuleId),
    Sizing(crate::sizing::SizingKind),
    Planner,
}

impl Origin {
    const PLANNER: &'static str = "PLAN";

    /// `PD301`, `RS2`, `PLAN`.
    pub fn code(self) -> String {
        match self {
            Origin::Rule(r) => r.to_string(),
            Origin::Sizing(k) => k.code().to_string(),
            Origin::Planner => Origin::PLANNER.to_string(),
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Origin::Rule(r) => catalogue::rule(r).title,
            Origin::Sizing(k) => k.title(),
            Origin::Planner => "Peak capacity plan",
        }
    }

    pub fn parse(code: &str) -> Option<Origin> {
        RuleId::parse(code)
            .map(Origin::Rule)
            .or_else(|| crate::sizing::SizingKind::parse(code).map(Origin::Sizing))
            .or_else(|| code.trim().eq_ignore_ascii_case(Origin::PLANNER).then_some(Origin::Planner))
    }
}

/// The URL parameters of a proposal, and their names.
const PROPOSAL_PARAMS: [&str; 4] = ["replicas", "min", "max", "target"];

impl Proposal {
    fn fields(&self) -> [Option<i32>; 4] {
        [self.replicas, self.min_replicas, self.max_replicas, self.cpu_target]
    }

    /// `propose=PD301&max=14`: the service page's query that opens the edit form with it.
    pub fn query(&self, origin: Origin) -> String {
        let mut out = format!("propose={}", origin.code());
        for (name, value) in PROPOSAL_PARAMS.iter().zip(self.fields()) {
            if let Some(v) = value {
                out.push_str(&format!("&{name}={v}"));
            }
        }
        out
    }

    /// Read back from a URL: numbers only, anything else ignored (the form validates what
    /// it is given in any case).
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> Option<(Origin, Proposal)> {
        let origin = Origin::parse(&get("propose")?)?;
        let n = |k: &str| get(k).and_then(|v| v.trim().parse::<i32>().ok());
        let p = Proposal {
            replicas: n("replicas"),
            min_replicas: n("min"),
            max_replicas: n("max"),
            cpu_target: n("target"),
        };
        (p != Proposal::default()).then_some((origin, p))
    }

    /// The HPA configuration `current` becomes with this proposal.
    pub fn applied_to(&self, current: &crate::whatif::HpaConfig) -> crate::whatif::HpaConfig {
        crate::whatif::HpaConfig {
            min_replicas: self.min_replicas.unwrap_or(current.min_replicas),
            max_replicas: self.max_replicas.unwrap_or(current.max_replicas),
            cpu_target: self.cpu_target.or(current.cpu_target),
            ..current.clone()
        }
    }

    /// Sets the proposed fields in `form` and gives where it came from as the reason (to be
    /// completed by the operator with a ticket).
    pub fn apply(&self, origin: Origin, form: &mut crate::scaling::ScalingForm) {
        if let (Some(r), Some(replicas)) = (self.replicas, form.replicas.as_mut()) {
            *replicas = r.to_string();
        }
        if let Some(a) = form.autoscaler.as_mut() {
            if let Some(v) = self.min_replicas {
                a.min_replicas = v.to_string();
            }
            if let Some(v) = self.max_replicas {
                a.max_replicas = v.to_string();
            }
            if let Some(v) = self.cpu_target {
                a.cpu_target = v.to_string();
            }
        }
        form.reason = format!("{} {} (advisor)", origin.code(), origin.title());
    }
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
