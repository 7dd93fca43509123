//! The server functions behind the edit form and the audit page. The person asking is the
//! one the server's identity middleware found for this request, never anything the browser
//! sends in the body.

use leptos::prelude::*;

use super::{AuditEntry, AuditQuery, EditRequest, EditResponse, Rights, validate::Limits};

#[cfg(feature = "ssr")]
fn edits(cluster: &Option<String>) -> Result<std::sync::Arc<dyn crate::backend::EditSource>, ServerFnError> {
    crate::backend::backend_in(cluster)?
        .edits
        .ok_or_else(|| ServerFnError::new("edits are not available on this server"))
}

/// Whether the person asking may change this workload's scaling.
#[server(prefix = "/rpc", endpoint = "scaling-rights")]
pub async fn scaling_rights(
    cluster: Option<String>,
    namespace: String,
    name: String,
) -> Result<Rights, ServerFnError> {
    let viewer = crate::viewer::request_viewer()?;
    edits(&cluster)?.rights(&viewer, &namespace, &name).await.map_err(ServerFnError::new)
}

/// The bounds the form checks as the user types.
#[server(prefix = "/rpc", endpoint = "scaling-limits")]
pub async fn scaling_limits() -> Result<Limits, ServerFnError> {
    Ok(edits(&None)?.limits())
}

/// Previews (`dry_run`) or applies a change, as the person asking.
#[server(prefix = "/rpc", endpoint = "scaling-submit")]
pub async fn submit_scaling(
    cluster: Option<String>,
    namespace: String,
    name: String,
    request: EditRequest,
) -> Result<EditResponse, ServerFnError> {
    let viewer = crate::viewer::request_viewer()?;
    Ok(edits(&cluster)?.submit(&viewer, &namespace, &name, &request.into()).await)
}

/// Audited attempts, newest first, of `cluster` (the primary for `None`, every cluster's for
/// `*`).
#[server(prefix = "/rpc", endpoint = "audit")]
pub async fn audit_entries(
    cluster: Option<String>,
    query: AuditQuery,
) -> Result<Vec<AuditEntry>, ServerFnError> {
    let viewer = crate::viewer::request_viewer()?;
    let query = match cluster {
        Some(every) if crate::chosen::is_every(Some(&every)) => AuditQuery { cluster: None, ..query },
        Some(name) => AuditQuery { cluster: Some(name), ..query },
        None => AuditQuery { cluster: Some(crate::backend::backend()?.cluster_name), ..query },
    };
    edits(&None)?.audit(&viewer, &query).await.map_err(ServerFnError::new)
}
