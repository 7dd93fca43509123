//! The live feed: one Server-Sent Events connection per browser tab, shared by every page.
//!
//! The stream (`/api/v1/live?workloads=names`, or the chosen cluster's under
//! `/api/v1/clusters/{cluster}/`) says which workloads changed; each page then
//! fetches only what it shows, and updates it in place. The browser's `EventSource`
//! reconnects by itself after a dropped connection; when it gives up (the server answered
//! with an error), we open a new one after a pause that grows up to 30 s.

use leptos::prelude::*;

/// Where the stream is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveStatus {
    /// Before the first event (and always on the server).
    Connecting,
    Live,
    /// The connection dropped; a new one is on its way.
    Reconnecting,
}

/// One `snapshot` event (the domain's message; with `?workloads=names` it carries no bodies).
pub use domain::live::LiveChange as LiveEvent;

/// The feed's state, provided as context by the app.
#[derive(Clone, Copy)]
pub struct Live {
    pub status: RwSignal<LiveStatus>,
    /// The latest event.
    pub last: RwSignal<Option<LiveEvent>>,
}

impl Live {
    /// The snapshot version of the latest event (0 before the first): key a resource on it to
    /// refetch whenever anything changes.
    pub fn version(&self) -> u64 {
        self.last.with(|e| e.as_ref().map_or(0, |e| e.version))
    }
}

/// Opens the tab's live connection to `cluster` (in the browser; again whenever the page
/// switches cluster) and provides it to every page.
pub fn provide_live(cluster: Memo<Option<String>>) -> Live {
    let live = Live { status: RwSignal::new(LiveStatus::Connecting), last: RwSignal::new(None) };
    provide_context(live);
    #[cfg(feature = "hydrate")]
    Effect::new(move |previous: Option<Option<String>>| {
        let chosen = cluster.get();
        if previous.is_some() {
            // Another cluster's events must not pass for this one's.
            live.status.set(LiveStatus::Connecting);
            live.last.set(None);
        }
        browser::open(live, url_of(chosen.as_deref()));
        chosen
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = cluster;
    live
}

/// The feed of `cluster` (the primary's for `None`).
pub fn url_of(cluster: Option<&str>) -> String {
    // A page of the whole fleet follows the primary's feed (for the banner and indicator).
    crate::chosen::api_on("/live?workloads=names", cluster.filter(|c| !crate::chosen::is_every(Some(c))))
}

/// The live feed of this page.
pub fn use_live() -> Live {
    use_context::<Live>()
        .unwrap_or_else(|| Live { status: RwSignal::new(LiveStatus::Connecting), last: RwSignal::new(None) })
}

/// A counter that goes up whenever the live feed reports a change to `namespace/name`.
pub fn use_changes_to(key: Signal<String>) -> ReadSignal<u64> {
    let live = use_live();
    let (revision, set_revision) = signal(0u64);
    Effect::new(move |_| {
        if live.last.with(|e| e.as_ref().is_some_and(|e| e.touches(&key.get()))) {
            set_revision.update(|r| *r += 1);
        }
    });
    revision
}

/// The live / reconnecting indicator in the header.
#[component]
pub fn LiveIndicator() -> impl IntoView {
    let live = use_live();
    let label = move || match live.status.get() {
        LiveStatus::Connecting => "Connecting…",
        LiveStatus::Live => "Live",
        LiveStatus::Reconnecting => "Reconnecting…",
    };
    let class = move || match live.status.get() {
        LiveStatus::Connecting => "live live-connecting",
        LiveStatus::Live => "live live-on",
        LiveStatus::Reconnecting => "live live-off",
    };
    let title = move || match live.status.get() {
        LiveStatus::Live => "Figures update as the cluster changes",
        LiveStatus::Connecting => "Opening the live connection to Paydeck",
        LiveStatus::Reconnecting => "The live connection dropped; figures are not updating until it is back",
    };
    view! {
        <span class=class title=title role="status" aria-live="polite" data-testid="live-status">
            <span class="live-dot" aria-hidden="true"></span>
            {label}
        </span>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::time::Duration;

    use leptos::prelude::*;
    use wasm_bindgen::{JsCast, closure::Closure};
    use web_sys::{EventSource, MessageEvent};

    use super::{Live, LiveEvent, LiveStatus};

    thread_local! {
        /// The open connection and its generation: a switch of cluster closes it, and a retry
        /// of an older generation gives up.
        static CURRENT: std::cell::RefCell<(u64, Option<EventSource>)> = const { std::cell::RefCell::new((0, None)) };
    }

    /// Closes the tab's connection (if any) and opens one to `url`.
    pub fn open(live: Live, url: String) {
        let generation = CURRENT.with(|c| {
            let mut current = c.borrow_mut();
            if let Some(old) = current.1.take() {
                old.close();
            }
            current.0 += 1;
            current.0
        });
        connect(live, url, generation, 0);
    }

    fn connect(live: Live, url: String, generation: u64, attempt: u32) {
        if CURRENT.with(|c| c.borrow().0) != generation {
            return;
        }
        let Ok(source) = EventSource::new(&url) else {
            retry(live, url, generation, attempt);
            return;
        };
        CURRENT.with(|c| c.borrow_mut().1 = Some(source.clone()));

        let on_snapshot = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(text) = event.data().as_string() else { return };
            match serde_json::from_str::<LiveEvent>(&text) {
                Ok(event) => {
                    live.status.set(LiveStatus::Live);
                    live.last.set(Some(event));
                }
                Err(e) => leptos::logging::warn!("live event not understood: {e}"),
            }
        });
        let _ = source.add_event_listener_with_callback("snapshot", on_snapshot.as_ref().unchecked_ref());
        // The connection lives as long as the tab; its handlers must too.
        on_snapshot.forget();

        let watched = source.clone();
        let on_error = Closure::<dyn FnMut()>::new(move || {
            if CURRENT.with(|c| c.borrow().0) != generation {
                return;
            }
            live.status.set(LiveStatus::Reconnecting);
            if watched.ready_state() == EventSource::CLOSED {
                retry(live, url.clone(), generation, attempt + 1);
            }
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
    }

    fn retry(live: Live, url: String, generation: u64, attempt: u32) {
        let pause = Duration::from_secs(u64::from(attempt.min(5)) * 6).max(Duration::from_secs(1));
        set_timeout(move || connect(live, url, generation, attempt), pause);
    }
}
