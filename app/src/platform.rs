//! The server function behind the Overview's platform card: the last day of the payment
//! services' totals from recorded history, then the live moment.

use leptos::prelude::*;

use crate::dto::Platform;

/// How far back the card looks.
pub const PLATFORM_RANGE_MS: i64 = 86_400_000;

/// The platform over the last day, for the workloads of `namespace` (all when `None`).
#[server(prefix = "/rpc", endpoint = "platform")]
pub async fn platform_totals(namespace: Option<String>) -> Result<Platform, ServerFnError> {
    let backend = crate::backend::backend()?;
    let namespace = namespace.filter(|n| !n.is_empty());
    let now = backend.cluster.platform_now(namespace.as_deref());
    let totals = backend.cluster.overview(None).totals;
    let mut points = match &backend.history {
        Some(h) => h.platform(namespace.as_deref(), PLATFORM_RANGE_MS).await.map_err(ServerFnError::new)?,
        None => Vec::new(),
    };
    let to_ms = now.at_ms;
    points.push(now);
    Ok(Platform {
        from_ms: to_ms - PLATFORM_RANGE_MS,
        to_ms,
        points,
        cpu_allocatable: totals.cpu.allocatable,
        memory_allocatable: totals.memory.allocatable,
        recorded: backend.history.is_some(),
    })
}
