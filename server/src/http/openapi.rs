//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the JSON API, generated from the
//! handlers' annotations and the exchanged types (the domain's), so it cannot drift from them;
//! a test holds it to the router's routes.

use utoipa::OpenApi;

/// The body of every JSON error: `{"error": {"code": 404, "message": "..."}}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    pub code: u16,
    pub message: String,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Paydeck",
        description = "Scaling governance for payment services on Kubernetes: the cluster's figures, history, audited scaling edits. Requests without an identity read only (or get 401 with --anonymous refuse); writes from browsers must come from Paydeck's own pages.",
    ),
    paths(
        super::api::overview,
        super::clusters::clusters,
        super::clusters::cluster,
        super::api::whoami,
        super::api::workloads,
        super::api::workload,
        super::api::history,
        super::scaling::submit,
        super::scaling::rights,
        super::scaling::audit,
        super::scaling::head,
        super::whatif::demand,
        super::whatif::backtest,
        super::findings::findings,
        super::sizing::sizing,
        super::planner::plan,
        super::live::live,
        super::plans::list,
        super::plans::one,
        super::plans::draft,
        super::plans::edit,
        super::plans::act,
        super::plans::propose,
        super::plans::calendar,
        super::plans::backtest,
        super::notifications::status,
        super::notifications::test,
        super::api::openapi_json,
    ),
    // Types named only by query parameters, which utoipa does not collect itself.
    components(schemas(app::dto::SortKey, app::dto::SortOrder, app::dto::Health)),
    tags(
        (name = "cluster", description = "The live picture of the cluster"),
        (name = "fleet", description = "Every cluster Paydeck watches, side by side"),
        (name = "history", description = "Recorded history"),
        (name = "scaling", description = "Changing replicas and HPAs"),
        (name = "audit", description = "The audit log"),
        (name = "what-if", description = "Replaying recorded demand through a proposed HPA"),
        (name = "advisor", description = "Governance rules and what they find, right-sizing, the peak capacity planner"),
        (name = "plans", description = "Scheduled scaling plans: levels over windows, approved by a second person, carried out by the leader"),
        (name = "notifications", description = "Where Paydeck tells teams about findings and changes, and how its deliveries stand"),
        (name = "identity", description = "Who Paydeck takes the caller for"),
        (name = "meta", description = "This document"),
    )
)]
struct ApiDoc;

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = app::VERSION.to_string();
    add_cluster_paths(&mut doc);
    doc
}

/// Every cluster's copy of the per-cluster resources: `/api/v1/clusters/{cluster}/…`, the
/// same operation with the cluster named (its own operation id, the `cluster` parameter
/// first).
fn add_cluster_paths(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
    let cluster: Parameter = ParameterBuilder::new()
        .name("cluster")
        .parameter_in(ParameterIn::Path)
        .required(utoipa::openapi::Required::True)
        .description(Some("The cluster's name, as `GET /api/v1/clusters` lists it."))
        .schema(Some(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String)))
        .example(Some(serde_json::json!("default")))
        .build();
    let unknown_cluster = utoipa::openapi::ResponseBuilder::new()
        .description("No cluster of this name is watched (or, where the path names one, no such workload)")
        .content(
            "application/json",
            utoipa::openapi::ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    for path in super::api::PER_CLUSTER {
        let Some(item) = doc.paths.paths.get(&format!("/api/v1{path}")) else { continue };
        let mut item = item.clone();
        for operation in [&mut item.get, &mut item.post, &mut item.put].into_iter().flatten() {
            operation.operation_id = operation.operation_id.as_ref().map(|id| format!("{id}_in_cluster"));
            let mut parameters = vec![cluster.clone()];
            parameters.extend(operation.parameters.take().unwrap_or_default());
            operation.parameters = Some(parameters);
            // Every one answers 404 for a cluster Paydeck does not watch.
            operation
                .responses
                .responses
                .entry("404".into())
                .or_insert_with(|| unknown_cluster.clone().into());
        }
        doc.paths.paths.insert(format!("{}{path}", super::api::CLUSTER), item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the API fuzzer: `sort` and `order` named schemas the document did not carry.
    #[test]
    fn every_reference_in_the_document_resolves() {
        fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                        out.push(r.clone());
                    }
                    m.values().for_each(|v| refs(v, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let doc = serde_json::to_value(document()).unwrap();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let pointer = r.strip_prefix('#').expect("local references only");
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
    }

    /// Found by the API fuzzer: two types of one name (the what-if's and the plans' backtest,
    /// the planner's and the plans' plan) are one component, the second overwriting the first,
    /// so an operation's answer was checked against the other's schema.
    #[test]
    fn types_of_the_same_name_are_components_of_their_own() {
        let doc = serde_json::to_value(document()).unwrap();
        let schema = |name: &str| doc["components"]["schemas"][name]["properties"].clone();
        assert!(schema("Backtest").get("recordedSteps").is_some(), "the what-if's backtest");
        assert!(schema("PlanBacktest").get("weeks").is_some(), "a plan's backtest");
        // A plan's schema is its own fields and its record's (flattened): `allOf`.
        assert!(
            doc["components"]["schemas"]["ScheduledPlan"].to_string().contains("\"autoscaler\""),
            "a plan"
        );
        // The planner's plan keeps its name, and is not a scheduled plan.
        assert!(
            !doc["components"]["schemas"]["Plan"].to_string().contains("\"schedule\""),
            "the planner's plan"
        );
    }

    #[test]
    fn every_route_of_the_router_is_documented_and_every_documented_route_exists() {
        let doc = serde_json::to_value(document()).unwrap();
        let mut documented: Vec<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), path.clone()))
            })
            .collect();
        let mut routed: Vec<(String, String)> = super::super::api::routes()
            .registered
            .into_iter()
            .map(|(method, path)| (method.to_string(), path.to_string()))
            .collect();
        documented.sort();
        routed.sort();
        assert_eq!(routed, documented, "the router and the OpenAPI document list the same operations");
    }

    #[test]
    fn types_come_from_the_code() {
        let doc = serde_json::to_value(document()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for name in ["Workload", "ScalingRequest", "EditResponse", "AuditEntry", "BehaviorChange", "Viewer"] {
            assert!(schemas.contains_key(name), "{name} is described");
        }
        let request = &schemas["ScalingRequest"]["properties"];
        assert!(
            request.get("dryRun").is_some()
                && request.get("resourceVersion").is_some()
                && request.get("generation").is_some()
                && request.get("specHash").is_some(),
            "{request}"
        );
    }
}
