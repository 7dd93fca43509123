//! The advisor's report: every workload's findings in one list, filtered, with per-rule
//! counts — what `/advisor`, `GET /api/v1/findings` and `/metrics` show.

use serde::{Deserialize, Serialize};

use super::{
    catalogue::{CATALOGUE, RuleId, Severity},
    finding::RuleFinding,
};
use crate::dto::Workload;

/// Which findings to list. Counts per rule are always over the whole namespace (or cluster),
/// so a filtered list still shows what else there is.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct FindingsQuery {
    /// Only this namespace.
    pub namespace: Option<String>,
    /// Only this workload (with `namespace`).
    pub name: Option<String>,
    /// Only this rule, e.g. `PD301`.
    pub rule: Option<RuleId>,
    /// Only this severity or worse.
    pub severity: Option<Severity>,
    /// Include waived findings (they are counted either way).
    pub waived: bool,
}

/// One finding on one workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FindingRow {
    /// The fleet's cluster, in a report of several clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    pub namespace: String,
    pub name: String,
    pub critical: bool,
    #[serde(flatten)]
    pub finding: RuleFinding,
}

/// How often a rule is broken in scope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RuleCount {
    pub rule: RuleId,
    pub title: String,
    pub severity: Severity,
    pub from_history: bool,
    /// Findings not waived.
    pub open: usize,
    pub waived: usize,
}

/// The report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FindingsReport {
    /// Every rule of the catalogue with its counts in scope, in ID order.
    pub rules: Vec<RuleCount>,
    /// The findings asked for: most severe first, then by rule, namespace and name.
    pub findings: Vec<FindingRow>,
    /// When recorded history was last judged (the PD2xx/PD3xx rules marked `from_history`);
    /// `None`: not yet, or this server records no history.
    pub history_judged_at_ms: Option<i64>,
    /// How far back those rules look, e.g. "1 d".
    pub history_window: String,
    /// Every namespace with a workload (for the filter).
    pub namespaces: Vec<String>,
}

/// The report over `workloads`, each with all its findings (live and from history).
pub fn report<'a>(
    workloads: impl IntoIterator<Item = (&'a Workload, Vec<RuleFinding>)>,
    query: &FindingsQuery,
) -> FindingsReport {
    let mut rules: Vec<RuleCount> = CATALOGUE
        .iter()
        .map(|r| RuleCount {
            rule: r.id,
            title: r.title.into(),
            severity: r.severity,
            from_history: r.from_history,
            open: 0,
            waived: 0,
        })
        .collect();
    let mut findings = Vec::new();
    let mut namespaces: Vec<String> = Vec::new();
    for (w, found) in workloads {
        if namespaces.last() != Some(&w.namespace) && !namespaces.contains(&w.namespace) {
            namespaces.push(w.namespace.clone());
        }
        if query.namespace.as_deref().is_some_and(|ns| ns != w.namespace) {
            continue;
        }
        if query.name.as_deref().is_some_and(|n| n != w.name) {
            continue;
        }
        for f in found {
            let count = rules.iter_mut().find(|c| c.rule == f.rule).expect("every rule is counted");
            if f.waived.is_some() {
                count.waived += 1
            } else {
                count.open += 1
            }
            let shown = query.rule.is_none_or(|r| r == f.rule)
                && query.severity.is_none_or(|s| f.severity <= s)
                && (query.waived || f.waived.is_none());
            if shown {
                findings.push(FindingRow {
                    cluster: None,
                    namespace: w.namespace.clone(),
                    name: w.name.clone(),
                    critical: w.critical,
                    finding: f,
                });
            }
        }
    }
    sort(&mut findings);
    namespaces.sort();
    FindingsReport { rules, findings, history_judged_at_ms: None, history_window: String::new(), namespaces }
}

/// Most severe first, then by rule, cluster, namespace and name; waived last.
fn sort(findings: &mut [FindingRow]) {
    findings.sort_by(|a, b| {
        (a.finding.waived.is_some(), a.finding.severity, a.finding.rule, &a.cluster, &a.namespace, &a.name)
            .cmp(&(
                b.finding.waived.is_some(),
                b.finding.severity,
                b.finding.rule,
                &b.cluster,
                &b.namespace,
                &b.name,
            ))
    });
}

/// The reports of several clusters as one: counts added up, every finding naming its
/// cluster, in the one order; history judged as of the cluster judged longest ago (`None` if
/// any is not yet).
pub fn merge(reports: Vec<(String, FindingsReport)>) -> FindingsReport {
    let mut merged = FindingsReport::default();
    let mut judged = Some(i64::MAX);
    for (cluster, report) in reports {
        if merged.rules.is_empty() {
            merged.rules =
                report.rules.iter().map(|r| RuleCount { open: 0, waived: 0, ..r.clone() }).collect();
            merged.history_window = report.history_window.clone();
        }
        for count in report.rules {
            if let Some(sum) = merged.rules.iter_mut().find(|c| c.rule == count.rule) {
                sum.open += count.open;
                sum.waived += count.waived;
            }
        }
        merged
            .findings
            .extend(report.findings.into_iter().map(|f| FindingRow { cluster: Some(cluster.clone()), ..f }));
        merged.namespaces.extend(report.namespaces);
        judged = judged.zip(report.history_judged_at_ms).map(|(a, b)| a.min(b));
    }
    sort(&mut merged.findings);
    merged.namespaces.sort();
    merged.namespaces.dedup();
    merged.history_judged_at_ms = judged.filter(|at| *at != i64::MAX);
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(ns: &str, name: &str) -> Workload {
        Workload { namespace: ns.into(), name: name.into(), ..Default::default() }
    }

    #[test]
    fn the_report_filters_the_list_but_counts_the_whole_scope() {
        let (a, b, c) = (workload("pay", "a"), workload("pay", "b"), workload("batch", "c"));
        let waived = RuleFinding { waived: Some("ticket".into()), ..RuleFinding::new(RuleId::PD201, "x") };
        let all = || {
            vec![
                (
                    &a,
                    vec![RuleFinding::new(RuleId::PD203, "no limit"), RuleFinding::new(RuleId::PD101, "one")],
                ),
                (&b, vec![waived.clone()]),
                (&c, vec![RuleFinding::new(RuleId::PD203, "no limit")]),
            ]
        };
        let r = report(all(), &FindingsQuery::default());
        let order: Vec<(&str, RuleId)> =
            r.findings.iter().map(|f| (f.name.as_str(), f.finding.rule)).collect();
        assert_eq!(order, [("a", RuleId::PD101), ("c", RuleId::PD203), ("a", RuleId::PD203)], "high first");
        let count =
            |r: &FindingsReport, id| r.rules.iter().find(|c| c.rule == id).map(|c| (c.open, c.waived));
        assert_eq!(count(&r, RuleId::PD201), Some((0, 1)), "a waived finding is counted, not listed");
        assert_eq!(r.rules.len(), CATALOGUE.len());

        let q =
            FindingsQuery { namespace: Some("pay".into()), rule: Some(RuleId::PD203), ..Default::default() };
        let r = report(all(), &q);
        assert_eq!(r.findings.len(), 1);
        assert_eq!(count(&r, RuleId::PD101), Some((1, 0)), "counts cover the namespace, not the rule filter");

        let q = FindingsQuery { waived: true, severity: Some(Severity::Medium), ..Default::default() };
        let listed: Vec<RuleId> = report(all(), &q).findings.iter().map(|f| f.finding.rule).collect();
        assert_eq!(listed, [RuleId::PD101, RuleId::PD203, RuleId::PD203, RuleId::PD201], "waived last");
        let q = FindingsQuery { severity: Some(Severity::High), ..Default::default() };
        assert_eq!(report(all(), &q).findings.len(), 1);
    }

    #[test]
    fn reports_of_several_clusters_merge_into_one_order_with_counts_added() {
        let (a, b) = (workload("pay", "a"), workload("batch", "b"));
        let eu = report(
            vec![(&a, vec![RuleFinding::new(RuleId::PD203, "no limit")]), (&b, vec![])],
            &FindingsQuery::default(),
        );
        let us = report(vec![(&a, vec![RuleFinding::new(RuleId::PD101, "one")])], &FindingsQuery::default());
        let (eu, us) = (
            FindingsReport { history_judged_at_ms: Some(20), ..eu },
            FindingsReport { history_judged_at_ms: Some(10), ..us },
        );
        let merged = merge(vec![("eu".into(), eu.clone()), ("us".into(), us)]);
        let order: Vec<(Option<&str>, RuleId)> =
            merged.findings.iter().map(|f| (f.cluster.as_deref(), f.finding.rule)).collect();
        assert_eq!(
            order,
            [(Some("us"), RuleId::PD101), (Some("eu"), RuleId::PD203)],
            "high first, across clusters"
        );
        let open = |id| merged.rules.iter().find(|c| c.rule == id).map(|c| c.open);
        assert_eq!((open(RuleId::PD101), open(RuleId::PD203)), (Some(1), Some(1)));
        assert_eq!(merged.rules.len(), CATALOGUE.len());
        assert_eq!(merged.namespaces, ["batch", "pay"]);
        assert_eq!(merged.history_judged_at_ms, Some(10), "as of the cluster judged longest ago");
        let unjudged = FindingsReport { history_judged_at_ms: None, ..eu.clone() };
        assert_eq!(merge(vec![("eu".into(), eu), ("us".into(), unjudged)]).history_judged_at_ms, None);
    }

    #[test]
    fn the_query_reads_ids_and_severities_and_refuses_unknown_fields() {
        let q: FindingsQuery =
            serde_json::from_str(r#"{"rule":"PD301","severity":"high","waived":true}"#).unwrap();
        assert_eq!((q.rule, q.severity, q.waived), (Some(RuleId::PD301), Some(Severity::High), true));
        assert!(serde_json::from_str::<FindingsQuery>(r#"{"rule":"PD999"}"#).is_err());
        assert!(serde_json::from_str::<FindingsQuery>(r#"{"sevrity":"high"}"#).is_err());
    }
}
