//! The live feed: one Server-Sent Events connection per browser tab, shared by every page.
//!
//! The stream (`/api/v1/live?workloads=names`) says which workloads changed; each page then
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

/// Opens the tab's live connection (in the browser) and provides it to every page.
pub fn provide_live() -> Live {
    let live = Live { status: RwSignal::new(LiveStatus::Connecting), last: RwSignal::new(None) };
    provide_context(live);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| browser::connect(live, 0));
    live
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

    const URL: &str = "/api/v1/live?workloads=names";

    pub fn connect(live: Live, attempt: u32) {
        let Ok(source) = EventSource::new(URL) else {
            retry(live, attempt);
            return;
        };

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
            live.status.set(LiveStatus::Reconnecting);
            if watched.ready_state() == EventSource::CLOSED {
                retry(live, attempt + 1);
            }
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
    }

    fn retry(live: Live, attempt: u32) {
        let pause = Duration::from_secs(u64::from(attempt.min(5)) * 6).max(Duration::from_secs(1));
        set_timeout(move || connect(live, attempt), pause);
    }
}
