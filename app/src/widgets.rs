//! Small pieces several pages use.

use leptos::prelude::*;

use crate::dto::Health;

/// A coloured health badge: text and colour both say the state.
#[component]
pub fn HealthBadge(health: Health) -> impl IntoView {
    let class = match health {
        Health::Critical => "badge badge-bad",
        Health::Warning => "badge badge-warn",
        Health::Healthy => "badge badge-ok",
    };
    view! { <span class=class>{health.label()}</span> }
}

/// An error box with what went wrong.
#[component]
pub fn ErrorNote(#[prop(into)] what: String, error: String) -> impl IntoView {
    view! { <p class="error" role="alert">{what} ": " {server_reason(&error).to_string()}</p> }
}

/// The server's own words in a server function's error, without the framework's preamble.
pub fn server_reason(error: &str) -> &str {
    error.strip_prefix("error running server function: ").unwrap_or(error)
}
