//! History queries as the pages and the API make them: the request checked, then answered
//! by the store.

use app::dto::History as HistoryDto;

pub use super::range::{LAST_MS, MAX_POINTS, Range, RangeError};

/// A history query with its request checked: `Err(Invalid)` names what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Invalid(#[from] RangeError),
    #[error(transparent)]
    Database(#[from] crate::store::StoreError),
}

/// Checks `from`/`to`/`points` (defaults: the last hour before `now`, 300 points) and runs
/// the query.
pub async fn lookup(
    store: &dyn crate::store::HistoryStore,
    namespace: &str,
    name: &str,
    (from_ms, to_ms, points): (Option<i64>, Option<i64>, Option<i64>),
    sample_interval_ms: i64,
    now: i64,
) -> Result<Option<HistoryDto>, LookupError> {
    let range = Range::new(from_ms, to_ms, points, now)?;
    store.history(namespace, name, range, sample_interval_ms, now).await.map_err(|e| {
        tracing::warn!("history query for {namespace}/{name} failed: {e}");
        LookupError::Database(e)
    })
}

/// The history store as the app's server functions see it.
pub struct HistoryService {
    pub store: std::sync::Arc<dyn crate::store::HistoryStore>,
    pub sample_interval_ms: i64,
}

impl domain::ports::HistorySource for HistoryService {
    fn recent<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        range_ms: i64,
        points: i64,
    ) -> domain::ports::HistoryFuture<'a> {
        Box::pin(async move {
            let now = crate::clock::unix_ms();
            let span = (Some(now.saturating_sub(range_ms)), Some(now), Some(points));
            lookup(self.store.as_ref(), namespace, name, span, self.sample_interval_ms, now).await.map_err(
                |e| match e {
                    LookupError::Invalid(range) => range.to_string(),
                    LookupError::Database(_) => "the history database did not answer; try again".into(),
                },
            )
        })
    }

    fn platform<'a>(
        &'a self,
        namespace: Option<&'a str>,
        range_ms: i64,
    ) -> domain::ports::BoxFuture<'a, Result<Vec<app::dto::PlatformPoint>, String>> {
        Box::pin(async move {
            self.store
                .platform_recent(namespace, range_ms, crate::clock::unix_ms())
                .await
                .map_err(|_| "the history database did not answer; try again".to_string())
        })
    }
}
