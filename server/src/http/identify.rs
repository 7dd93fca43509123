//! The identity middleware: proves who is asking ([`crate::identity`]) and puts the
//! [`Viewer`] into the request's extensions, where pages, server functions and the API read
//! it; or refuses the request (no identity where one is required, too many token reviews).

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::error::ApiError;
use crate::identity::{Asking, Unsettled};

pub async fn identify(State(asking): State<Asking>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let path = request.uri().path().to_string();
    let proven = match asking.prove(peer, request.headers(), &path).await {
        Ok(proven) => proven,
        Err(Unsettled::Limited(wait)) => {
            return ApiError::TooManyRequests {
                message: "too many bearer tokens to check from your address; try again shortly".into(),
                retry_after_secs: wait.as_secs().max(1),
            }
            .into_response();
        }
        Err(Unsettled::Repeated) => {
            return ApiError::BadRequest(
                "the request names its user (or carries the proxy's secret) more than once; nothing was done"
                    .into(),
            )
            .into_response();
        }
    };
    if proven.is_none() && asking.refuses_anonymous(&path) {
        return ApiError::Unauthorized(
            "Paydeck needs to know who you are: sign in through your auth proxy, or send a bearer token issued for Paydeck"
                .into(),
        )
        .into_response();
    }
    let viewer = asking.viewer(proven, &path);
    tracing::Span::current().record("user", viewer.user.as_deref().unwrap_or("anonymous"));
    let client =
        ClientKey::of(&viewer, crate::identity::proxy::client(&asking.trust, peer, request.headers()));
    request.extensions_mut().insert(viewer);
    request.extensions_mut().insert(client);
    next.run(request).await
}

/// Whom the limits kept per client count a request against: the proven user, or without
/// one the client's address (as a trusted forwarder reports it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientKey(pub String);

impl ClientKey {
    pub fn of(viewer: &app::dto::Viewer, address: Option<std::net::IpAddr>) -> Self {
        ClientKey(match (&viewer.user, address) {
            (Some(user), _) => format!("user:{user}"),
            (None, Some(ip)) => format!("addr:{ip}"),
            (None, None) => "addr:unknown".to_string(),
        })
    }
}
