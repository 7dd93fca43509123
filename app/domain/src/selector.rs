//! Label selectors: the text form `kubectl -l` and `?labelSelector=` send, the structured form
//! (`matchLabels`, `matchExpressions`) Deployments and PodDisruptionBudgets carry, and the
//! plain label map of a Service.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One requirement of a label selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

impl Requirement {
    fn key(&self) -> &str {
        match self {
            Requirement::Equals(k, _)
            | Requirement::NotEquals(k, _)
            | Requirement::In(k, _)
            | Requirement::NotIn(k, _)
            | Requirement::Exists(k)
            | Requirement::NotExists(k) => k,
        }
    }

    fn holds(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::NotExists(k) => !labels.contains_key(k),
        }
    }
}

/// Why a selector's text could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse requirement: {why} in \"{text}\"")]
pub struct SelectorError {
    pub why: &'static str,
    pub text: String,
}

/// A label selector; all requirements must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<Requirement>);

/// One `matchExpressions` entry, as Kubernetes writes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expression {
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    #[serde(default)]
    pub values: Option<Vec<String>>,
}

impl LabelSelector {
    /// Parses `a=b,c!=d,e in (f,g),h notin (i),j,!k`.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let bad = |why| SelectorError { why, text: text.to_string() };
        let mut out = Vec::new();
        let mut rest = text.trim();
        while !rest.is_empty() {
            // A requirement ends at a comma outside parentheses.
            let mut depth = 0;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    c == ',' && depth == 0
                })
                .map(|(i, _)| i)
                .unwrap_or(rest.len());
            let part = rest[..end].trim();
            rest = rest[end..].strip_prefix(',').map_or("", str::trim);
            if part.is_empty() || (end < text.len() && rest.is_empty() && text.trim_end().ends_with(',')) {
                return Err(bad("empty requirement"));
            }
            let set_op = |op: &str| -> Option<(String, Vec<String>)> {
                let (key, values) = part.split_once(op)?;
                let values = values.trim().strip_prefix('(')?.strip_suffix(')')?;
                Some((key.trim().to_string(), values.split(',').map(|v| v.trim().to_string()).collect()))
            };
            let requirement = if let Some((k, v)) = set_op(" notin ") {
                Requirement::NotIn(k, v)
            } else if let Some((k, v)) = set_op(" in ") {
                Requirement::In(k, v)
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else if let Some(k) = part.strip_prefix('!') {
                Requirement::NotExists(k.trim().into())
            } else {
                Requirement::Exists(part.into())
            };
            let key = requirement.key();
            if key.is_empty() || key.contains(char::is_whitespace) {
                return Err(bad("invalid label key"));
            }
            out.push(requirement);
        }
        Ok(LabelSelector(out))
    }

    /// The structured form of a Deployment's or PodDisruptionBudget's `selector`. An unknown
    /// operator selects nothing (Kubernetes would have refused the object).
    pub fn from_match(match_labels: Option<&BTreeMap<String, String>>, expressions: &[Expression]) -> Self {
        let mut out: Vec<Requirement> = match_labels
            .into_iter()
            .flatten()
            .map(|(k, v)| Requirement::Equals(k.clone(), v.clone()))
            .collect();
        for e in expressions {
            let values = e.values.clone().unwrap_or_default();
            out.push(match e.operator.as_str() {
                "In" => Requirement::In(e.key.clone(), values),
                "NotIn" => Requirement::NotIn(e.key.clone(), values),
                "Exists" => Requirement::Exists(e.key.clone()),
                "DoesNotExist" => Requirement::NotExists(e.key.clone()),
                _ => Requirement::In(e.key.clone(), Vec::new()),
            });
        }
        LabelSelector(out)
    }

    /// A Service's selector: every label must match.
    pub fn from_map(labels: &BTreeMap<String, String>) -> Self {
        Self::from_match(Some(labels), &[])
    }

    /// Whether the selector has no requirement (and so, as a query, selects everything).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| r.holds(labels))
    }

    /// Whether the selector picks out `labels` as an object's selector does: an empty one
    /// picks nothing (a Service or budget without a selector governs no pods here).
    pub fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.is_empty() && self.matches(labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn equality_set_and_existence_requirements() {
        let l = labels(&[("app", "ledger"), ("tier", "core")]);
        for (sel, expected) in [
            ("app=ledger", true),
            ("app==ledger,tier=core", true),
            ("app!=ledger", false),
            ("app in (ledger, fx-rates)", true),
            ("app notin (ledger)", false),
            ("tier", true),
            ("!tier", false),
            ("missing", false),
            ("!missing", true),
            ("app in (a,b),tier=core", false),
        ] {
            assert_eq!(LabelSelector::parse(sel).unwrap().matches(&l), expected, "{sel}");
        }
    }

    #[test]
    fn malformed_selectors_say_why() {
        assert_eq!(LabelSelector::parse("a=b,,c").unwrap_err().why, "empty requirement");
        assert_eq!(LabelSelector::parse("a b=c").unwrap_err().why, "invalid label key");
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn key() -> impl Strategy<Value = String> {
            "[a-z]([a-z0-9.-]{0,8}/)?[a-z0-9_-]{0,8}"
        }

        fn value() -> impl Strategy<Value = String> {
            "[a-z0-9]{0,6}"
        }

        fn requirement() -> impl Strategy<Value = Requirement> {
            let values = proptest::collection::vec("[a-z0-9]{1,6}", 1..4);
            prop_oneof![
                (key(), value()).prop_map(|(k, v)| Requirement::Equals(k, v)),
                (key(), value()).prop_map(|(k, v)| Requirement::NotEquals(k, v)),
                (key(), values.clone()).prop_map(|(k, v)| Requirement::In(k, v)),
                (key(), values).prop_map(|(k, v)| Requirement::NotIn(k, v)),
                key().prop_map(Requirement::Exists),
                key().prop_map(Requirement::NotExists),
            ]
        }

        /// The text `kubectl -l` would send for a requirement, spaced the ways people type it.
        fn text(r: &Requirement, spaced: bool) -> String {
            let (sep, eq) = if spaced { (" ", " = ") } else { ("", "=") };
            match r {
                Requirement::Equals(k, v) => format!("{k}{eq}{v}"),
                Requirement::NotEquals(k, v) => format!("{k}{sep}!={sep}{v}"),
                Requirement::In(k, vs) => format!("{k} in ({})", vs.join(if spaced { ", " } else { "," })),
                Requirement::NotIn(k, vs) => format!("{k} notin ({})", vs.join(",")),
                Requirement::Exists(k) => k.clone(),
                Requirement::NotExists(k) => format!("!{k}"),
            }
        }

        fn labels() -> impl Strategy<Value = BTreeMap<String, String>> {
            proptest::collection::btree_map(key(), value(), 0..4)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            /// Whatever arrives as `?labelSelector=`, parsing answers; it never panics.
            #[test]
            fn any_text_is_parsed_or_refused(text in any::<String>(), like in "[a-z!=(), ]{0,24}") {
                let _ = LabelSelector::parse(&text);
                let _ = LabelSelector::parse(&like);
            }

            /// A selector written out reads back as the same requirements.
            #[test]
            fn written_selectors_read_back(rs in proptest::collection::vec(requirement(), 1..5), spaced in any::<bool>()) {
                let written = rs.iter().map(|r| text(r, spaced)).collect::<Vec<_>>().join(if spaced { ", " } else { "," });
                prop_assert_eq!(LabelSelector::parse(&written), Ok(LabelSelector(rs)));
            }

            /// A requirement and its opposite never both hold, and one of them always does.
            #[test]
            fn opposites_split_every_label_set(k in key(), v in value(), vs in proptest::collection::vec(value(), 1..3), l in labels()) {
                let pairs = [
                    (Requirement::Equals(k.clone(), v.clone()), Requirement::NotEquals(k.clone(), v)),
                    (Requirement::In(k.clone(), vs.clone()), Requirement::NotIn(k.clone(), vs)),
                    (Requirement::Exists(k.clone()), Requirement::NotExists(k)),
                ];
                for (yes, no) in pairs {
                    prop_assert_ne!(yes.holds(&l), no.holds(&l));
                }
            }

            /// A Service's label map selects exactly the label sets that contain it.
            #[test]
            fn a_label_map_selects_its_supersets(wanted in labels(), extra in labels()) {
                let mut superset = extra.clone();
                superset.extend(wanted.clone());
                let selector = LabelSelector::from_map(&wanted);
                prop_assert_eq!(selector.selects(&superset), !wanted.is_empty());
                let contains = wanted.iter().all(|(k, v)| extra.get(k) == Some(v));
                prop_assert_eq!(selector.selects(&extra), !wanted.is_empty() && contains);
            }
        }
    }

    #[test]
    fn structured_selectors_and_maps() {
        let l = labels(&[("app", "ledger"), ("tier", "core")]);
        let expr = |key: &str, op: &str, values: &[&str]| Expression {
            key: key.into(),
            operator: op.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        };
        let app = labels(&[("app", "ledger")]);
        assert!(LabelSelector::from_match(Some(&app), &[]).selects(&l));
        assert!(LabelSelector::from_match(None, &[expr("tier", "In", &["core", "edge"])]).selects(&l));
        assert!(!LabelSelector::from_match(None, &[expr("tier", "NotIn", &["core"])]).selects(&l));
        assert!(LabelSelector::from_match(None, &[expr("zone", "DoesNotExist", &[])]).selects(&l));
        assert!(!LabelSelector::from_match(None, &[expr("tier", "Sideways", &[])]).selects(&l));
        assert!(!LabelSelector::from_map(&BTreeMap::new()).selects(&l), "an empty selector picks nothing");
        assert!(LabelSelector::parse("").unwrap().matches(&l), "…but as a query matches everything");
    }
}
