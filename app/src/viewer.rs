//! Who is using Paydeck: shown in the header, and (with the edits) what they may change.

use leptos::prelude::*;

use crate::dto::Viewer;

/// The person the server takes this browser's requests for.
#[server(prefix = "/rpc", endpoint = "viewer")]
pub async fn current_viewer() -> Result<Viewer, ServerFnError> {
    let parts = use_context::<http::request::Parts>()
        .ok_or_else(|| ServerFnError::new("the request is not available to the server function"))?;
    Ok(parts.extensions.get::<Viewer>().cloned().unwrap_or_default())
}

/// The user's name (groups on hover), or "Anonymous" with what that means. Loaded in the
/// browser, like the connection banner: no page waits for it on the server.
#[component]
pub fn ViewerBadge() -> impl IntoView {
    let viewer = LocalResource::new(current_viewer);
    view! {
        <Transition fallback=|| ()>
            {move || viewer.get().and_then(Result::ok).map(|v| {
                let mode = v.read_only.then(|| view! { <span class="tag" title="Edits are turned off on this Paydeck server">"read-only"</span> });
                match v.user {
                    Some(user) => {
                        let groups = if v.groups.is_empty() { "no groups".to_string() } else { format!("groups: {}", v.groups.join(", ")) };
                        view! { <span class="viewer" title=groups data-testid="viewer">{user}{mode}</span> }.into_any()
                    }
                    None => view! {
                        <span class="viewer muted" title="No trusted auth proxy named you: you can read, not change" data-testid="viewer">"Anonymous"{mode}</span>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
