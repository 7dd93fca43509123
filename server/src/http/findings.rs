//! `GET /api/v1/findings`: the governance rules' findings, filtered, with per-rule counts.

use axum::{Json, extract::Query};
use domain::rules::{
    CATALOGUE, RuleId, Severity,
    report::{FindingsQuery, FindingsReport},
};
use serde::Deserialize;

use super::{error::ApiError, openapi::ErrorBody};

/// The filters, as written in a URL.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FindingsParams {
    /// Only this namespace (counts too).
    #[param(example = "payments-core")]
    pub namespace: Option<String>,
    /// Only this Deployment (with `namespace`).
    #[param(example = "risk-scoring")]
    pub name: Option<String>,
    /// Only this rule, e.g. `PD301` (counts stay over the whole scope).
    #[param(example = "PD301")]
    pub rule: Option<String>,
    /// Only this severity or worse: `high`, `medium`, `low`.
    #[param(example = "medium")]
    pub severity: Option<String>,
    /// `true`: list waived findings too (they are counted either way).
    #[param(example = true)]
    pub waived: Option<bool>,
}

impl FindingsParams {
    /// The query, or a 400 naming the value not understood.
    pub fn query(self) -> Result<FindingsQuery, ApiError> {
        let rule = match self.rule.as_deref().filter(|r| !r.is_empty()) {
            None => None,
            Some(r) => Some(RuleId::parse(r).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "unknown rule {:?}: the rules are {}",
                    r.chars().take(20).collect::<String>(),
                    CATALOGUE.iter().map(|r| r.code).collect::<Vec<_>>().join(", ")
                ))
            })?),
        };
        let severity = match self.severity.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(Severity::parse(s).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "unknown severity {:?}: high, medium or low",
                    s.chars().take(20).collect::<String>()
                ))
            })?),
        };
        if self.name.is_some() && self.namespace.is_none() {
            return Err(ApiError::BadRequest("name needs namespace".into()));
        }
        Ok(FindingsQuery {
            namespace: self.namespace.filter(|n| !n.is_empty()),
            name: self.name.filter(|n| !n.is_empty()),
            rule,
            severity,
            waived: self.waived.unwrap_or(false),
        })
    }
}

/// The governance rules' findings: each rule of the catalogue with its open and waived
/// counts in scope, and the findings asked for (most severe first). Rules judged on
/// recorded history (`from_history`) are judged every ten minutes over the last day.
#[utoipa::path(get, path = "/api/v1/findings", tag = "advisor", params(FindingsParams),
    responses((status = 200, body = FindingsReport), (status = 400, body = ErrorBody)))]
pub async fn findings(
    super::scope::InCluster(state): super::scope::InCluster,
    params: Result<Query<FindingsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<FindingsReport>, ApiError> {
    let Query(p) = params?;
    Ok(Json(state.advisor.report(&p.query()?)))
}
