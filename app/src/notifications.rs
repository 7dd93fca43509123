//! Server functions for the notifications page: the sinks and their deliveries, and a test
//! message to one. The person asking is the one the server's identity middleware found.

use leptos::prelude::*;

pub use domain::notifications::{NotificationsStatus, SinkStatus};

/// The sinks and how their deliveries stand (`configured: false` when none are set up).
#[server(prefix = "/rpc", endpoint = "notifications")]
pub async fn load_notifications() -> Result<NotificationsStatus, ServerFnError> {
    let viewer = crate::viewer::request_viewer()?;
    match crate::backend::backend()?.notifications {
        Some(source) => source.status(&viewer).await.map_err(ServerFnError::new),
        None => Ok(NotificationsStatus::default()),
    }
}

/// Queues a test message to `sink`: what came of it, in words.
#[server(prefix = "/rpc", endpoint = "notifications-test")]
pub async fn send_test_message(sink: String) -> Result<String, ServerFnError> {
    let viewer = crate::viewer::request_viewer()?;
    let source = crate::backend::backend()?
        .notifications
        .ok_or_else(|| ServerFnError::new("no notifications are set up on this server"))?;
    source.send_test(&viewer, &sink).await.map_err(ServerFnError::new)
}
