//! The cluster picker in the header: which of the fleet's clusters the pages show, kept in
//! the URL (`?cluster=`), so a view on a cluster can be bookmarked and shared. Switching keeps
//! the page and the rest of its URL. Shown only when Paydeck watches more than one cluster; the
//! pages that list the whole fleet at once also offer "All clusters" (`?cluster=*`).

use leptos::prelude::*;
use leptos_router::{NavigateOptions, hooks::use_location, hooks::use_navigate};

use crate::fleet::{ClusterChoice, cluster_choices};

/// `search` (with or without its `?`) with `cluster` set to `chosen` (removed for the
/// primary), every other parameter kept in its order.
pub fn search_on(search: &str, chosen: Option<&str>) -> String {
    let kept: Vec<&str> = search
        .trim_start_matches('?')
        .split('&')
        .filter(|kv| !kv.is_empty() && kv.split('=').next() != Some("cluster"))
        .collect();
    let base = if kept.is_empty() { String::new() } else { format!("?{}", kept.join("&")) };
    crate::chosen::on_cluster(&base, chosen)
}

#[component]
pub fn ClusterPicker() -> impl IntoView {
    let choices = Resource::new(|| (), |_| cluster_choices());
    let chosen = crate::chosen::use_chosen();
    let location = use_location();
    let navigate = use_navigate();
    let on_change = move |ev| {
        let picked = event_target_value(&ev);
        let primary =
            choices.get_untracked().and_then(Result::ok).and_then(|c| c.first().map(|c| c.name.clone()));
        let target = (Some(&picked) != primary.as_ref()).then_some(picked.as_str());
        let href = format!(
            "{}{}",
            location.pathname.get_untracked(),
            search_on(&location.search.get_untracked(), target)
        );
        navigate(&href, NavigateOptions::default());
    };
    view! {
        <Transition fallback=|| ()>
            {move || {
                let list: Vec<ClusterChoice> = choices.get().and_then(Result::ok).unwrap_or_default();
                (list.len() > 1).then(|| {
                    let current = chosen.get().unwrap_or_else(|| list[0].name.clone());
                    let every = crate::chosen::lists_fleet(&location.pathname.get()).then(|| {
                        let selected = crate::chosen::is_every(Some(&current));
                        view! { <option value=crate::chosen::EVERY_CLUSTER selected=selected>"All clusters"</option> }
                    });
                    view! {
                        <label class="cluster-picker">
                            "Cluster"
                            <select on:change=on_change.clone() data-testid="cluster-picker" title="The cluster these pages show">
                                {every}
                                {list.into_iter().map(|c| {
                                    let selected = c.name == current;
                                    let label = if c.state == domain::fleet::ClusterState::Answering {
                                        c.display_name.clone()
                                    } else {
                                        format!("{} ({})", c.display_name, c.state.label().to_lowercase())
                                    };
                                    view! { <option value=c.name.clone() selected=selected>{label}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                    }
                })
            }}
        </Transition>
    }
}

#[cfg(test)]
mod tests {
    use super::search_on;

    #[test]
    fn switching_cluster_keeps_every_other_parameter() {
        assert_eq!(search_on("", Some("b")), "?cluster=b");
        assert_eq!(search_on("?q=card&page=2", Some("b")), "?q=card&page=2&cluster=b");
        assert_eq!(search_on("?cluster=a&sort=cpu", Some("b")), "?sort=cpu&cluster=b");
        assert_eq!(search_on("?cluster=a&sort=cpu", None), "?sort=cpu");
        assert_eq!(search_on("?cluster=a", None), "");
    }
}
