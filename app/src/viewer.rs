//! Who is using Paydeck: shown in the header, and (with the edits) what they may change.

use leptos::{either::EitherOf3, prelude::*};

use crate::dto::Viewer;

/// The cookie the identity switcher sets on the simulated cluster (the server reads it there
/// only).
pub const DEMO_USER_COOKIE: &str = "paydeck_demo_user";

/// The person the server's identity middleware found for the current request.
#[cfg(feature = "ssr")]
pub fn request_viewer() -> Result<Viewer, ServerFnError> {
    let parts = use_context::<http::request::Parts>()
        .ok_or_else(|| ServerFnError::new("the request is not available to the server function"))?;
    Ok(parts.extensions.get::<Viewer>().cloned().unwrap_or_default())
}

/// The person the server takes this browser's requests for.
#[server(prefix = "/rpc", endpoint = "viewer")]
pub async fn current_viewer() -> Result<Viewer, ServerFnError> {
    request_viewer()
}

/// Chooses a demo user (simulated cluster only): a cookie the server reads, then a reload so
/// every part of the page asks again as them.
fn act_as(user: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let cookie = if user.is_empty() {
            format!("{}=; path=/; max-age=0; SameSite=Strict", DEMO_USER_COOKIE)
        } else {
            format!("{}={user}; path=/; SameSite=Strict", DEMO_USER_COOKIE)
        };
        if let Some(doc) = document().dyn_ref::<web_sys::HtmlDocument>() {
            let _ = doc.set_cookie(&cookie);
        }
        let _ = window().location().reload();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = user;
}

/// The user's name (groups on hover), or "Anonymous" with what that means. Loaded in the
/// browser, like the connection banner: no page waits for it on the server.
#[component]
pub fn ViewerBadge() -> impl IntoView {
    let viewer = LocalResource::new(current_viewer);
    view! {
        <Transition fallback=|| ()>
            {move || viewer.get().and_then(Result::ok).map(|v| {
                if !v.demo_users.is_empty() {
                    let current = v.user.clone().unwrap_or_default();
                    return EitherOf3::A(view! {
                        <label class="viewer demo-switch" title="Demo users of the simulated cluster; its RBAC decides what each may change">
                            <span>"Acting as"</span>
                            <select data-testid="act-as" on:change=move |ev| act_as(&event_target_value(&ev))>
                                <option value="" selected=current.is_empty()>"anonymous"</option>
                                {v.demo_users.iter().map(|u| {
                                    let selected = *u == current;
                                    view! { <option value=u.clone() selected=selected>{u.clone()}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                    });
                }
                let mode = v.read_only.then(|| view! { <span class="tag" title="Edits are turned off on this Paydeck server">"read-only"</span> });
                match v.user {
                    Some(user) => {
                        let groups = if v.groups.is_empty() { "no groups".to_string() } else { format!("groups: {}", v.groups.join(", ")) };
                        EitherOf3::B(view! { <span class="viewer" title=groups data-testid="viewer">{user}{mode}</span> })
                    }
                    None => EitherOf3::C(view! {
                        <span class="viewer muted" title="No trusted auth proxy named you: you can read, not change" data-testid="viewer">"Anonymous"{mode}</span>
                    }),
                }
            })}
        </Transition>
    }
}
