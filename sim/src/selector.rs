//! Label and field selectors, as `kubectl -l` and `--field-selector` send them.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::status::ApiError;

/// One requirement of a label selector.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector; all requirements must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<Requirement>);

impl LabelSelector {
    /// Parses `a=b,c!=d,e in (f,g),h notin (i),j,!k`.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let bad =
            |why: &str| ApiError::bad_request(format!("unable to parse requirement: {why} in \"{text}\""));
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
            let key = match &requirement {
                Requirement::Equals(k, _)
                | Requirement::NotEquals(k, _)
                | Requirement::In(k, _)
                | Requirement::NotIn(k, _)
                | Requirement::Exists(k)
                | Requirement::NotExists(k) => k,
            };
            if key.is_empty() || key.contains(char::is_whitespace) {
                return Err(bad("invalid label key"));
            }
            out.push(requirement);
        }
        Ok(LabelSelector(out))
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::NotExists(k) => !labels.contains_key(k),
        })
    }

    /// Whether the object's `metadata.labels` satisfy the selector.
    pub fn matches_object(&self, object: &Value) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let labels: BTreeMap<String, String> = object["metadata"]["labels"]
            .as_object()
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default();
        self.matches(&labels)
    }
}

/// A field selector over the fields this server indexes: `metadata.name`,
/// `metadata.namespace`, and for pods `spec.nodeName` and `status.phase`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let mut out = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (f, true, v)
            } else {
                return Err(ApiError::bad_request(format!("invalid field selector: \"{part}\"")));
            };
            let field = field.trim();
            if !matches!(field, "metadata.name" | "metadata.namespace" | "spec.nodeName" | "status.phase") {
                return Err(ApiError::bad_request(format!("field label not supported: {field}")));
            }
            out.push((field.to_string(), equal, value.trim().to_string()));
        }
        Ok(FieldSelector(out))
    }

    pub fn matches_object(&self, object: &Value) -> bool {
        self.0.iter().all(|(field, equal, value)| {
            let actual = field.split('.').fold(object, |v, segment| &v[segment]).as_str().unwrap_or("");
            (actual == value) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn malformed_selectors_are_bad_requests() {
        assert_eq!(LabelSelector::parse("a=b,,c").unwrap_err().code, 400);
        assert_eq!(FieldSelector::parse("spec.replicas=3").unwrap_err().code, 400);
    }

    #[test]
    fn field_selectors_read_nested_fields() {
        let pod = json!({ "metadata": { "name": "p", "namespace": "n" }, "spec": { "nodeName": "node-1" } });
        assert!(FieldSelector::parse("metadata.name=p,spec.nodeName=node-1").unwrap().matches_object(&pod));
        assert!(!FieldSelector::parse("metadata.namespace!=n").unwrap().matches_object(&pod));
    }
}
