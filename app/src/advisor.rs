//! The server function behind the Advisor page and a service's governance section.

use domain::rules::report::{FindingsQuery, FindingsReport};
use leptos::prelude::*;

/// The governance findings `query` asks for, with per-rule counts.
#[server(prefix = "/rpc", endpoint = "findings")]
pub async fn findings(query: FindingsQuery) -> Result<FindingsReport, ServerFnError> {
    Ok(crate::backend::backend()?.advisor.findings(&query))
}
