//! `GET /api/v1/live`: Server-Sent Events carrying each new snapshot's changes.
//!
//! The first event carries every workload; later ones only the workloads that changed and
//! the names of those that went away, with the totals and connection state each time.
//! `?workloads=names` leaves out the workloads' bodies: the browser uses that to learn what
//! changed and fetches only what its page shows.
//!
//! Events are paced: never two within [`EVENT_GAP`] on one feed. Snapshots that come faster
//! (a churning cluster makes several a second) are merged into the next event, which lists
//! every workload changed since the last one, so a tab does a bounded amount of work a second
//! whatever the cluster does, and a change after a quiet spell still goes out at once.

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{
    Extension,
    extract::{Query, rejection::QueryRejection},
    http::StatusCode,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use domain::live::LiveChange;
use futures::{Stream, StreamExt};
use tokio::{sync::watch, time::Instant};

use super::ServerState;
use crate::cluster::snapshot::Snapshot;

/// The shortest time between two events of one feed: at most four a second.
pub const EVENT_GAP: Duration = Duration::from_millis(250);

/// The change from `previous` (none: everything) to `next`; without `bodies`, only the names.
pub fn diff(previous: Option<&Snapshot>, next: &Snapshot, bodies: bool) -> LiveChange {
    LiveChange::between(
        previous.map(|p| p.workloads.as_slice()),
        &next.workloads,
        bodies,
        next.version,
        next.taken_at_ms,
        next.connection.clone(),
        next.totals.clone(),
    )
}

/// The values of `rx`: the current one at once, then the latest after each change, never two
/// within `gap` of each other. A watch channel keeps only its latest value, so the changes
/// made while waiting out the gap are merged into the next value.
pub fn paced<T: Clone>(rx: watch::Receiver<T>, gap: Duration) -> impl Stream<Item = T> {
    futures::stream::unfold((rx, None::<Instant>), move |(mut rx, sent)| async move {
        if let Some(sent) = sent {
            rx.changed().await.ok()?;
            tokio::time::sleep_until(sent + gap).await;
        }
        let value = rx.borrow_and_update().clone();
        Some((value, (rx, Some(Instant::now()))))
    })
}

/// `?workloads=` of the stream: `full` (default) or `names`.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LiveParams {
    /// `names` leaves the workloads' bodies out (`changedNames` still lists them).
    #[param(example = "names")]
    workloads: Option<String>,
}

impl LiveParams {
    /// Whether the stream leaves the workloads' bodies out, or why the query is refused.
    fn names_only(&self) -> Result<bool, String> {
        match self.workloads.as_deref() {
            None | Some("full") => Ok(false),
            Some("names") => Ok(true),
            Some(other) => Err(format!("workloads must be full or names, got {other:?}")),
        }
    }
}

/// Server-Sent Events: a `snapshot` event with every workload first, then one per change
/// with the workloads that changed and those removed.
#[utoipa::path(get, path = "/api/v1/live", tag = "cluster", params(LiveParams),
    responses(
        (status = 200, description = "An event stream of `snapshot` events", content_type = "text/event-stream", body = domain::live::LiveChange),
        (status = 400, body = super::openapi::ErrorBody),
        (status = 429, description = "Too many live feeds for this user (or address), or in all; Retry-After", body = super::openapi::ErrorBody),
    ))]
pub async fn live(
    super::scope::InCluster(state): super::scope::InCluster,
    Extension(client): Extension<super::identify::ClientKey>,
    params: Result<Query<LiveParams>, QueryRejection>,
) -> Response {
    let names_only =
        match params.map_err(|e| format!("bad query: {}", e.body_text())).and_then(|Query(p)| p.names_only())
        {
            Ok(names_only) => names_only,
            Err(message) => return super::error::error(StatusCode::BAD_REQUEST, message),
        };
    // One person's tabs share their cap; without an identity, one address's do.
    match state.live_slots.take_live_feed(client.0, &state.refusals) {
        Ok(slot) => stream(state, names_only, slot).into_response(),
        Err(refused) => *refused,
    }
}

fn stream(
    state: ServerState,
    names_only: bool,
    slot: super::guard::Place,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut stopping = state.stopping.clone();
    let stopped = async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    // The slot travels with the stream and is given back when the stream is dropped.
    let stream = paced(state.cluster.subscribe(), EVENT_GAP).scan(
        (None::<Arc<Snapshot>>, slot),
        move |(previous, _slot), next| {
            let change = diff(previous.as_deref(), &next, !names_only);
            let event = Event::default()
                .event("snapshot")
                .id(next.version.to_string())
                .json_data(&change)
                .unwrap_or_else(|e| Event::default().event("error").data(e.to_string()));
            *previous = Some(next);
            futures::future::ready(Some(Ok(event)))
        },
    );
    // The browser reconnects by itself once a new server answers.
    let stream = futures::StreamExt::take_until(stream, Box::pin(stopped));
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{LiveParams, paced};
    use futures::StreamExt;
    use proptest::prelude::*;
    use tokio::{sync::watch, time::Instant};

    /// A burst of changes costs a feed one event, no sooner than the gap after the last one,
    /// carrying the latest value; after a quiet spell a change goes out at once.
    #[tokio::test]
    async fn a_burst_of_changes_is_merged_into_one_event_after_the_gap() {
        let gap = Duration::from_millis(300);
        let (tx, rx) = watch::channel(0);
        let mut events = Box::pin(paced(rx, gap));
        // Taken before the first event, so no later than the stream's own clock for it.
        let first = Instant::now();
        assert_eq!(events.next().await, Some(0), "the current value goes out at once");
        for v in 1..=20 {
            tx.send(v).unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(events.next().await, Some(20), "one event with the latest value");
        assert!(first.elapsed() >= gap, "not within the gap: {:?}", first.elapsed());
        let quiet = tokio::time::timeout(Duration::from_millis(400), events.next()).await;
        assert!(quiet.is_err(), "nothing more without a change");

        // Quiet for longer than the gap: the next change is not held back.
        tx.send(21).unwrap();
        let sent = Instant::now();
        assert_eq!(events.next().await, Some(21));
        assert!(sent.elapsed() < gap, "held back {:?} after a quiet spell", sent.elapsed());

        drop(tx);
        assert_eq!(events.next().await, None, "the feed ends with its channel");
    }

    proptest! {
        /// `?workloads=` takes `full` or `names`; anything else is refused with the value
        /// quoted and escaped, so the message stays one readable line whatever was sent.
        #[test]
        fn the_feed_query_takes_two_words(w in prop_oneof![any::<String>(), "full|names|Full|names "].prop_map(Some).boxed().prop_union(Just(None).boxed())) {
            let answer = LiveParams { workloads: w.clone() }.names_only();
            match w.as_deref() {
                None | Some("full") => prop_assert_eq!(answer, Ok(false)),
                Some("names") => prop_assert_eq!(answer, Ok(true)),
                Some(other) => {
                    let message = answer.unwrap_err();
                    let quoted = format!("{:?}", other);
                    prop_assert!(message.contains(&quoted));
                    prop_assert!(!message.chars().any(char::is_control));
                }
            }
        }
    }
}
