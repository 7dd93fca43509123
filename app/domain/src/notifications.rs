//! Notifications as the settings page and the API show them: each sink (by name, type and
//! host — never its URL or secret), what it is sent, and how its deliveries stand.

use serde::{Deserialize, Serialize};

/// The notifications of this server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NotificationsStatus {
    /// Whether a notifications file is set (`--notifications`).
    pub configured: bool,
    /// Whether this replica is the one that sends (the leader, or the only one).
    pub sending_here: bool,
    /// How long an HPA is held at its maximum before it is told.
    pub at_max_minutes: u32,
    /// How long a message waits for others of a burst.
    pub group_wait_seconds: u32,
    pub sinks: Vec<SinkStatus>,
}

/// One sink and its deliveries.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SinkStatus {
    pub name: String,
    /// `webhook` (CloudEvents), `alertmanager`, `slack`, `dingtalk`, `wecom`, `feishu`.
    pub kind: String,
    /// The URL's host only.
    pub host: String,
    /// Whether messages are signed with a secret.
    pub signed: bool,
    pub per_minute: u32,
    /// What it is sent, in words: "findings, changes · high and above · clusters eu-prod".
    pub route: String,
    pub pending: i64,
    pub delivered: i64,
    /// Given up after every retry.
    pub failed: i64,
    /// The last error of a message not delivered, if any.
    pub last_error: String,
    pub last_delivered_ms: Option<i64>,
    pub oldest_pending_ms: Option<i64>,
}

/// `POST /api/v1/notifications/test`: a test message to one sink.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestMessage {
    pub sink: String,
}

/// What became of a test message request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TestQueued {
    pub message: String,
}
