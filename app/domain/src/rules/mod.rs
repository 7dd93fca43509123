//! Governance: a catalogue of rules ([`catalogue`]) with stable IDs, judged on a workload's
//! live state ([`live`]) and on its recorded demand ([`history`]), with waivers from the
//! Deployment's annotations. A waived finding is kept and shown as waived, never dropped.

pub mod catalogue;
pub mod finding;
pub mod history;
pub mod live;
pub mod report;
#[cfg(test)]
mod tests;

pub use catalogue::{CATALOGUE, Rule, RuleId, Severity, rule};
pub use finding::{
    MAX_WAIVER_REASON_CHARS, Proposal, RuleFinding, WAIVE_ANNOTATION, WAIVE_REASON_ANNOTATION, Waivers,
};

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
