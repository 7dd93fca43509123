//! The server function behind the what-if: a workload's recorded demand, which the browser
//! replays as the operator types.

use domain::whatif::{Series, Window};
use leptos::prelude::*;

/// The workload's recorded demand over `window`.
#[server(prefix = "/rpc", endpoint = "demand")]
pub async fn workload_demand(
    cluster: Option<String>,
    namespace: String,
    name: String,
    window: Window,
) -> Result<Series, ServerFnError> {
    let whatif = crate::backend::backend_in(&cluster)?
        .whatif
        .ok_or_else(|| ServerFnError::new("this server records no history to replay"))?;
    whatif.demand(&namespace, &name, window).await.map_err(ServerFnError::new)
}
