//! Watches: newline-delimited JSON events from a resourceVersion on, with bookmarks,
//! timeouts, and `410 Gone` (as an `ERROR` event) when the version is too old; and streaming
//! lists (`sendInitialEvents=true`): the current objects as events, then a bookmark marking
//! their end, then changes, unless the cluster is set to refuse them as an older API server
//! does.

use std::{sync::Arc, time::Duration};

use axum::{
    body::Body,
    http::header::CONTENT_TYPE,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::{Request, ResourcePath, rest::selectors};
use crate::{
    cluster::Cluster,
    selector::{FieldSelector, LabelSelector},
    status::{ApiError, Cause},
    store::{Change, ChangeType, Object},
};

/// How often a watch that asked for bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(5);
/// How long a watch lasts when the client sets no timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);
/// Events are sent in batches of about this many bytes: a streamed list of 100,000 objects
/// goes out as it is serialised, without a channel message per object.
const BATCH_BYTES: usize = 256 * 1024;

struct Filter {
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn matches(&self, object: &Value) -> bool {
        self.namespace.as_deref().is_none_or(|ns| object["metadata"]["namespace"].as_str() == Some(ns))
            && self.labels.matches_object(object)
            && self.fields.matches_object(object)
    }
}

fn event_line(kind: &str, object: &Value) -> Vec<u8> {
    let mut line =
        serde_json::to_vec(&json!({ "type": kind, "object": object })).expect("JSON values serialise");
    line.push(b'\n');
    line
}

/// The checks an API server makes of a streaming list's parameters.
fn check_streaming_list(cluster: &Cluster, request: &Request, bookmarks: bool) -> Result<(), ApiError> {
    let refuse = |field: &str, message: &str| {
        Err(ApiError::invalid("ListOptions", "", vec![Cause::new(field, format!("Forbidden: {message}"))]))
    };
    if !cluster.streaming_lists() {
        return refuse(
            "sendInitialEvents",
            "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
        );
    }
    if request.param("resourceVersionMatch") != Some("NotOlderThan") {
        return refuse(
            "resourceVersionMatch",
            "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        );
    }
    if !bookmarks {
        return refuse("allowWatchBookmarks", "sendInitialEvents requires allowWatchBookmarks to be set");
    }
    Ok(())
}

pub fn watch(cluster: &Cluster, path: &ResourcePath, request: &Request) -> Result<Response, ApiError> {
    let (labels, fields) = selectors(request)?;
    let filter = Filter { namespace: path.namespace.clone(), labels, fields };
    let bookmarks = matches!(request.param("allowWatchBookmarks"), Some("true" | "1"));
    let streaming_list = matches!(request.param("sendInitialEvents"), Some("true" | "1"));
    if streaming_list {
        check_streaming_list(cluster, request, bookmarks)?;
        cluster.count_streamed_list();
    }
    let timeout = match request.param("timeoutSeconds") {
        Some(t) => Duration::from_secs(
            t.parse().map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds: {t}")))?,
        ),
        None => DEFAULT_TIMEOUT,
    };
    // A streaming list starts from the current state (which is never older than the version
    // asked for), as a watch without a version does.
    let since = request.param("resourceVersion").filter(|rv| *rv != "0" && !rv.is_empty() && !streaming_list);
    let since = match since {
        Some(rv) => Some(
            rv.parse::<u64>().map_err(|_| ApiError::bad_request(format!("invalid resourceVersion: {rv}")))?,
        ),
        None => None,
    };

    let rt = path.rt;
    let (tx, rx) = mpsc::channel::<Vec<u8>>(64);
    // The current objects are taken under the lock (references only) and serialised after it,
    // while they are sent.
    let mut current: Vec<Object> = Vec::new();
    let start = {
        let mut world = cluster.lock();
        let current_rv = world.store.resource_version();
        match since {
            // No version: the current state as ADDED events, then changes.
            None => {
                current.extend(world.store.list(rt, path.namespace.as_deref(), None).map(|(_, o)| o.clone()));
                world.store.watch(rt, current_rv).map(|s| (s, current_rv))
            }
            Some(rv) => world.store.watch(rt, rv).map(|s| (s, current_rv)),
        }
    };
    let (start, mut last_rv) = match start {
        Ok(s) => s,
        Err(gone) => {
            // Like the real server: 200, then an ERROR event carrying the 410 Status.
            let line = event_line("ERROR", &gone.to_status());
            return Ok(([(CONTENT_TYPE, "application/json")], line).into_response());
        }
    };
    let listed_rv = last_rv;
    let backlog = start.backlog;
    let mut live = start.live;
    let faults = cluster.faults().clone();
    let kind = rt.kind;
    let api_version = rt.api_version();

    tokio::spawn(async move {
        let mut batch = Vec::new();
        for object in current.iter().filter(|o| filter.matches(o)) {
            batch.extend(event_line(ChangeType::Added.as_str(), object));
            if batch.len() >= BATCH_BYTES && tx.send(std::mem::take(&mut batch)).await.is_err() {
                return;
            }
        }
        drop(current);
        if streaming_list {
            batch.extend(event_line(
                "BOOKMARK",
                &json!({ "kind": kind, "apiVersion": api_version,
                "metadata": { "resourceVersion": listed_rv.to_string(),
                    "annotations": { "k8s.io/initial-events-end": "true" } } }),
            ));
        }
        for change in &backlog {
            if filter.matches(&change.object) {
                batch.extend(event_line(change.change.as_str(), &change.object));
            }
            last_rv = last_rv.max(change.rv);
        }
        if !batch.is_empty() && tx.send(batch).await.is_err() {
            return;
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut bookmark = tokio::time::interval(BOOKMARK_EVERY);
        bookmark.tick().await;
        loop {
            let line = tokio::select! {
                _ = &mut deadline => {
                    // A stalled server does not even end its streams on time.
                    tokio::select! {
                        _ = faults.pass(crate::faults::Faults::silences_watches) => {}
                        _ = tx.closed() => {}
                    }
                    return;
                }
                _ = tx.closed() => return,
                _ = faults.until(crate::faults::Faults::ends_watches) => return,
                _ = bookmark.tick(), if bookmarks => {
                    event_line("BOOKMARK", &json!({ "kind": kind, "apiVersion": api_version,
                        "metadata": { "resourceVersion": last_rv.to_string() } }))
                }
                received = live.recv() => match received {
                    Ok(change) => match relevant(&change, &filter) {
                        Some(line) => { last_rv = change.rv; line }
                        None => { last_rv = change.rv; continue }
                    },
                    // A watcher that cannot keep up is cut off, as the real API server
                    // does: it watches again from the last version it saw, from history,
                    // and relists only if that has passed (`410 Gone` then).
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            // A stalled or hung server keeps the connection open and says nothing more.
            tokio::select! {
                _ = faults.pass(crate::faults::Faults::silences_watches) => {}
                _ = tx.closed() => return,
            }
            if tx.send(line).await.is_err() {
                return;
            }
        }
    });

    let stream = ReceiverStream::new(rx);
    let body = Body::from_stream(futures::StreamExt::map(stream, Ok::<_, std::convert::Infallible>));
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

fn relevant(change: &Arc<Change>, filter: &Filter) -> Option<Vec<u8>> {
    filter.matches(&change.object).then(|| event_line(change.change.as_str(), &change.object))
}
