//! What scheduled plans ask of a store: a plan as it stands, found by id or listed per
//! cluster, and replaced only from the version the change was made against — two people (or a
//! person and the leader's step) changing one plan at once cannot overwrite each other. A
//! plan's history is the audit log's: every change to it is a row there.

pub use domain::plan::Plan;

use super::StoreFuture;

/// Plans in a database.
pub trait PlanStore: Send + Sync + 'static {
    /// Stores a new plan (its `id` is ignored): the id it was given.
    fn insert<'a>(&'a self, plan: &'a Plan) -> StoreFuture<'a, i64>;

    /// The plan `id`, if there is one.
    fn get(&self, id: i64) -> StoreFuture<'_, Option<Plan>>;

    /// The plans of `cluster` (every cluster's with `None`), oldest first.
    fn list<'a>(&'a self, cluster: Option<&'a str>) -> StoreFuture<'a, Vec<Plan>>;

    /// Replaces the plan stored at version `plan.version - 1` with `plan`: `false`, and
    /// nothing written, when it is not at that version any more.
    fn replace<'a>(&'a self, plan: &'a Plan) -> StoreFuture<'a, bool>;
}

/// The plan as its row's body.
pub(crate) fn body(plan: &Plan) -> Result<String, super::StoreError> {
    serde_json::to_string(plan)
        .map_err(|e| super::StoreError::Failed(format!("a plan cannot be written: {e}")))
}

/// The plan a row holds, with its id and version from their columns.
pub(crate) fn from_row(id: i64, version: i64, body: &str) -> Result<Plan, super::StoreError> {
    let mut plan: Plan = serde_json::from_str(body)
        .map_err(|e| super::StoreError::Failed(format!("plan {id} cannot be read: {e}")))?;
    plan.id = id;
    plan.version = version;
    Ok(plan)
}

/// The word a plan's state is stored as (for finding plans by state).
pub(crate) fn state_word(plan: &Plan) -> String {
    serde_json::to_value(plan.record.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
