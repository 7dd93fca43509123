//! A fleet's clusters each served through the same handlers: [`Scope`] is what one cluster
//! answers from (its live view, history, advisor and edits), and [`InCluster`] is the
//! extractor that gives a handler the server's state narrowed to the cluster its path names —
//! `/api/v1/clusters/{cluster}/…` — or the primary's on the single-cluster paths.

use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams};

use super::{ServerState, error::ApiError};
use crate::{advisor::Advisor, cluster::ClusterView, edits::Editor, history::sampler::SamplerStats};

/// What one cluster of the fleet is served from.
#[derive(Clone)]
pub struct Scope {
    pub name: String,
    pub cluster: ClusterView,
    pub history: Option<Arc<dyn crate::store::HistoryStore>>,
    pub sampler: Arc<SamplerStats>,
    pub advisor: Advisor,
    /// Edits sent to this cluster as the user, audited in the one chain.
    pub editor: Option<Arc<Editor>>,
    /// Bearer tokens sent for this cluster are checked by it.
    pub tokens: Option<Arc<crate::identity::token_review::TokenReviewer>>,
}

/// The server's state for the cluster the request's path names.
pub struct InCluster(pub ServerState);

impl FromRequestParts<ServerState> for InCluster {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &ServerState,
    ) -> Result<Self, ApiError> {
        match cluster_param(parts, state).await {
            None => Ok(InCluster(state.clone())),
            Some(name) => state.in_cluster(&name).map(InCluster).ok_or_else(|| unknown_cluster(&name)),
        }
    }
}

/// The cluster the request's path names, if it names one.
pub struct NamedCluster(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for NamedCluster {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(NamedCluster(cluster_param(parts, state).await))
    }
}

async fn cluster_param<S: Send + Sync>(parts: &mut axum::http::request::Parts, state: &S) -> Option<String> {
    // A route without parameters has none to read: it is a single-cluster path.
    let params = RawPathParams::from_request_parts(parts, state).await.ok()?;
    params.iter().find(|(key, _)| *key == "cluster").map(|(_, v)| v.to_string())
}

/// The answer for a cluster Paydeck does not watch.
pub fn unknown_cluster(name: &str) -> ApiError {
    ApiError::NotFound(format!("no cluster {name:?} is watched by Paydeck (GET /api/v1/clusters lists them)"))
}
