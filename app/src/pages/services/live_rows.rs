//! The rows of the services page, kept up to date in place as the cluster changes.
//!
//! The live feed says which workloads changed. The page fetches its rows again only when an
//! event can change what it shows ([`affects`]), one fetch at a time, and then replaces only
//! the rows whose figures differ: an unchanged row keeps its DOM. A page of 2,000 rows on a
//! churning cluster therefore costs the browser a fetch and a few changed rows per event,
//! not a page rebuilt from nothing.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, PoisonError},
};

use domain::query::SortKey;
use leptos::prelude::*;

use super::url::ServicesUrl;
use crate::{
    dto::{RowPage, WorkloadRow},
    live::LiveEvent,
};

/// The key the live feed names a row's workload by (with its cluster before it in a listing
/// of the whole fleet, which is not followed live).
pub fn row_key(row: &WorkloadRow) -> String {
    let key = domain::live::workload_key(&row.namespace, &row.name);
    match &row.cluster {
        Some(cluster) => format!("{cluster}/{key}"),
        None => key,
    }
}

/// Whether `event` can change a page whose rows `shown` says (by key), ordered and filtered
/// as `state` says, when the cluster had `workloads_before` workloads at the last event seen.
pub fn affects(
    event: &LiveEvent,
    state: &ServicesUrl,
    shown: impl Fn(&str) -> bool,
    workloads_before: Option<i32>,
) -> bool {
    // A workload went: it may be on the page, or rows after it move up. One came: rows after
    // it move down. (Without a removal, a changed count means one came.)
    if !event.removed.is_empty() || workloads_before != Some(event.totals.workloads) {
        return true;
    }
    // Ordered or filtered by figures, any change may move a row onto or off the page; by
    // name or namespace (and searched by them), only a shown row's own change shows.
    let figures_decide =
        !matches!(state.sort, SortKey::Name | SortKey::Namespace) || !state.health.is_empty();
    if figures_decide {
        !event.changed_names.is_empty()
    } else {
        event.changed_names.iter().any(|k| shown(k))
    }
}

/// Changed rows set per browser task.
const ROWS_PER_STEP: usize = 200;

/// Resolves in a later task of the browser's event loop (a zero timeout), after pending
/// input, rendering and the reactive effects of what was set before.
async fn next_browser_task() {
    let (done, wait) = futures::channel::oneshot::channel();
    set_timeout(
        move || {
            let _ = done.send(());
        },
        std::time::Duration::ZERO,
    );
    let _ = wait.await;
}

/// Where following the feed is: what the page was last fetched at, and whether a fetch runs.
#[derive(Default)]
struct Following {
    /// The snapshot version the rows were fetched at.
    version: u64,
    /// The cluster's workload count at the last event seen.
    workloads: Option<i32>,
    fetching: bool,
    /// An event came during the fetch that may need another.
    again: bool,
}

/// One page of rows whose figures follow the cluster.
#[derive(Clone)]
pub struct LiveRows {
    /// The rows' keys in page order.
    pub order: ArcRwSignal<Vec<String>>,
    /// How many rows match the filters in all (over every page).
    pub total: ArcRwSignal<usize>,
    rows: Arc<Mutex<HashMap<String, ArcRwSignal<WorkloadRow>>>>,
    following: Arc<Mutex<Following>>,
}

impl LiveRows {
    pub fn new(page: RowPage) -> Self {
        let rows = Self {
            order: ArcRwSignal::new(Vec::new()),
            total: ArcRwSignal::new(0),
            rows: Arc::default(),
            following: Arc::new(Mutex::new(Following { version: page.version, ..Following::default() })),
        };
        rows.apply(page);
        rows
    }

    /// The row of `key`, if the page shows it.
    pub fn row(&self, key: &str) -> Option<ArcRwSignal<WorkloadRow>> {
        self.rows.lock().unwrap_or_else(PoisonError::into_inner).get(key).cloned()
    }

    /// Takes a freshly fetched page: rows whose figures differ are set, new ones added, gone
    /// ones dropped; the order and count change only if they differ.
    pub fn apply(&self, page: RowPage) {
        for (shown, row) in self.take_membership(page) {
            shown.set(row);
        }
    }

    /// As [`apply`](Self::apply), but sets changed rows [`ROWS_PER_STEP`] at a time, letting the
    /// browser handle input and paint between steps: a metrics poll changes every row, and
    /// 2,000 rows redrawn in one go held the main thread for ~150 ms.
    async fn apply_in_steps(&self, page: RowPage) {
        let mut changed = self.take_membership(page).into_iter().peekable();
        while changed.peek().is_some() {
            for (shown, row) in changed.by_ref().take(ROWS_PER_STEP) {
                shown.set(row);
            }
            if changed.peek().is_some() {
                next_browser_task().await;
            }
        }
    }

    /// Adds new rows, drops gone ones and sets the order and count; returns the rows shown
    /// before whose figures differ, with their new figures, for the caller to set.
    fn take_membership(&self, page: RowPage) -> Vec<(ArcRwSignal<WorkloadRow>, WorkloadRow)> {
        let order: Vec<String> = page.items.iter().map(row_key).collect();
        let mut changed = Vec::new();
        {
            let mut rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
            let keep: HashSet<&String> = order.iter().collect();
            rows.retain(|k, _| keep.contains(k));
            for (key, row) in order.iter().zip(page.items) {
                match rows.get(key) {
                    Some(shown) if shown.with_untracked(|s| *s == row) => {}
                    Some(shown) => changed.push((shown.clone(), row)),
                    None => {
                        rows.insert(key.clone(), ArcRwSignal::new(row));
                    }
                }
            }
        }
        if self.order.with_untracked(|o| *o != order) {
            self.order.set(order);
        }
        if self.total.get_untracked() != page.total {
            self.total.set(page.total);
        }
        changed
    }

    /// Follows the live feed for a page in `state`: fetches again when an event affects it.
    pub fn follow(&self, state: ServicesUrl) {
        let live = crate::live::use_live();
        let rows = self.clone();
        Effect::new(move |_| {
            live.last.with(|event| {
                if let Some(event) = event {
                    rows.on_event(event, &state);
                }
            })
        });
    }

    fn on_event(&self, event: &LiveEvent, state: &ServicesUrl) {
        let mut following = self.following.lock().unwrap_or_else(PoisonError::into_inner);
        // Not `>`: a server that took over (a new pod) counts its versions from the start.
        let wanted = event.version != following.version && {
            // The row map holds exactly the shown rows' keys.
            let rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
            affects(event, state, |key| rows.contains_key(key), following.workloads)
        };
        following.workloads = Some(event.totals.workloads);
        if !wanted {
            return;
        }
        if following.fetching {
            following.again = true;
            return;
        }
        following.fetching = true;
        drop(following);
        self.fetch(state.clone());
    }

    /// Fetches the page again, and once more after it if an event asked meanwhile.
    fn fetch(&self, state: ServicesUrl) {
        let rows = self.clone();
        leptos::task::spawn_local(async move {
            loop {
                // A failed fetch leaves the rows as they were; the next event tries again.
                if let Ok(page) = crate::workloads::list_workloads(state.cluster(), state.query()).await {
                    rows.following.lock().unwrap_or_else(PoisonError::into_inner).version = page.version;
                    rows.apply_in_steps(page).await;
                }
                let mut following = rows.following.lock().unwrap_or_else(PoisonError::into_inner);
                if !std::mem::take(&mut following.again) {
                    following.fetching = false;
                    return;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::ClusterTotals;

    fn event(changed: &[&str], removed: &[&str], workloads: i32) -> LiveEvent {
        LiveEvent {
            version: 2,
            changed_names: changed.iter().map(|s| s.to_string()).collect(),
            removed: removed.iter().map(|s| s.to_string()).collect(),
            totals: ClusterTotals { workloads, ..ClusterTotals::default() },
            ..LiveEvent::default()
        }
    }

    fn shown<'a>(keys: &'a [&'a str]) -> impl Fn(&str) -> bool + Copy + 'a {
        move |key| keys.contains(&key)
    }

    #[test]
    fn by_name_only_a_shown_row_changing_matters() {
        let by_name = ServicesUrl::default();
        let page = shown(&["a/one", "a/two"]);
        assert!(affects(&event(&["a/two"], &[], 10), &by_name, page, Some(10)));
        assert!(!affects(&event(&["b/other"], &[], 10), &by_name, page, Some(10)));
        assert!(!affects(&event(&[], &[], 10), &by_name, page, Some(10)));
        let searched = ServicesUrl { q: "one".into(), sort: SortKey::Namespace, ..ServicesUrl::default() };
        assert!(!affects(&event(&["b/other"], &[], 10), &searched, page, Some(10)));
    }

    #[test]
    fn a_workload_coming_or_going_anywhere_matters() {
        let by_name = ServicesUrl::default();
        let page = shown(&["a/one"]);
        assert!(affects(&event(&["b/new"], &[], 11), &by_name, page, Some(10)), "one came");
        assert!(affects(&event(&[], &["b/old"], 9), &by_name, page, Some(10)), "one went");
        assert!(affects(&event(&["b/new"], &["b/old"], 10), &by_name, page, Some(10)), "one came, one went");
        assert!(affects(&event(&[], &[], 10), &by_name, page, None), "nothing known yet");
    }

    #[test]
    fn ordered_or_filtered_by_figures_any_change_matters() {
        let page = shown(&["a/one"]);
        let by_cpu = ServicesUrl { sort: SortKey::Cpu, ..ServicesUrl::default() };
        assert!(affects(&event(&["b/other"], &[], 10), &by_cpu, page, Some(10)));
        let critical = ServicesUrl { health: "critical".into(), ..ServicesUrl::default() };
        assert!(affects(&event(&["b/other"], &[], 10), &critical, page, Some(10)));
        assert!(!affects(&event(&[], &[], 10), &by_cpu, page, Some(10)), "nothing changed");
    }

    fn row(name: &str, ready: i32) -> WorkloadRow {
        WorkloadRow { namespace: "a".into(), name: name.into(), ready, desired: 3, ..WorkloadRow::default() }
    }

    /// Rows whose figures are equal keep their signal untouched; changed ones are set; the
    /// order follows the page.
    #[test]
    fn a_fetched_page_changes_only_the_rows_that_differ() {
        let _owner = Owner::new();
        let rows = LiveRows::new(RowPage {
            version: 1,
            total: 2,
            items: vec![row("one", 1), row("two", 1)],
            ..RowPage::default()
        });
        let one = rows.row("a/one").unwrap();
        let two = rows.row("a/two").unwrap();
        rows.apply(RowPage {
            version: 2,
            total: 3,
            items: vec![row("zero", 3), row("one", 1), row("two", 2)],
            ..RowPage::default()
        });
        assert!(rows.row("a/one").unwrap() == one, "an unchanged row is the same signal");
        assert_eq!(one.get_untracked().ready, 1);
        assert!(rows.row("a/two").unwrap() == two, "a changed row is set in place");
        assert_eq!(two.get_untracked().ready, 2);
        assert_eq!(rows.order.get_untracked(), vec!["a/zero", "a/one", "a/two"]);
        assert_eq!(rows.total.get_untracked(), 3);
        rows.apply(RowPage { version: 3, total: 1, items: vec![row("two", 2)], ..RowPage::default() });
        assert!(
            rows.row("a/one").is_none() && rows.row("a/zero").is_none(),
            "rows gone from the page are dropped"
        );
    }
}
