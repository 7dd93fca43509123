//! Label and field selectors, as `kubectl -l` and `--field-selector` send them.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::status::ApiError;

/// A parsed label selector (the domain's), read from a query string as the API server does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector(domain::selector::LabelSelector);

impl LabelSelector {
    /// Parses `a=b,c!=d,e in (f,g),h notin (i),j,!k`; a bad selector is a 400.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        domain::selector::LabelSelector::parse(text)
            .map(LabelSelector)
            .map_err(|e| ApiError::bad_request(e.to_string()))
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.matches(labels)
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
        self.0.matches(&labels)
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

    #[test]
    fn selectors_read_an_objects_labels_and_malformed_ones_are_bad_requests() {
        let pod = json!({ "metadata": { "labels": { "app": "ledger" } } });
        assert!(LabelSelector::parse("app in (ledger)").unwrap().matches_object(&pod));
        assert!(!LabelSelector::parse("app!=ledger").unwrap().matches_object(&pod));
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
