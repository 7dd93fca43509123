//! Periodic refresh in the browser.

use std::time::Duration;

use leptos::prelude::*;

/// A counter that goes up every `period` in the browser (and never on the server). Key a
/// `Resource` on it to refetch on that rhythm; the timer stops with the owning component.
pub fn use_tick(period: Duration) -> ReadSignal<u64> {
    let (tick, set_tick) = signal(0u64);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(move || set_tick.update(|t| *t += 1), period) {
            on_cleanup(move || handle.clear());
        }
    });
    tick
}
