//! The server function behind the Overview's platform card: the last day of the payment
//! services' totals from recorded history, then the live moment.

use leptos::prelude::*;

use crate::dto::Platform;

/// How far back the card looks.
pub const PLATFORM_RANGE_MS: i64 = 86_400_000;

/// The platform over the last day, for the workloads of `namespace` (all when `None`).
#[server(prefix = "/rpc", endpoint = "platform")]
pub async fn platform_totals(
    cluster: Option<String>,
    namespace: Option<String>,
) -> Result<Platform, ServerFnError> {
    let backend = crate::backend::backend_in(&cluster)?;
    let namespace = namespace.filter(|n| !n.is_empty());
    let mut now = backend.cluster.platform_now(namespace.as_deref());
    now.from_ms = now.to_ms - PLATFORM_RANGE_MS;
    let Some(history) = &backend.history else { return Ok(now) };
    let mut points =
        history.platform(namespace.as_deref(), PLATFORM_RANGE_MS).await.map_err(ServerFnError::new)?;
    points.extend(now.points);
    Ok(Platform { points, recorded: true, ..now })
}
