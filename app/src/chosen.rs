//! Which of the fleet's clusters a page shows: the URL's `?cluster=` (the first cluster when
//! absent, `*` for the whole fleet where a page can list it), and links, forms and API paths
//! that keep it.

use leptos::prelude::*;

/// `?cluster=*`: the pages that can list the whole fleet at once (services, advisor, audit)
/// do; the others ask for one cluster.
pub const EVERY_CLUSTER: &str = "*";

/// Whether the page at `path` can list the whole fleet at once.
pub fn lists_fleet(path: &str) -> bool {
    matches!(path, "/services" | "/advisor" | "/audit")
}

/// Whether `cluster` asks for the whole fleet.
pub fn is_every(cluster: Option<&str>) -> bool {
    cluster == Some(EVERY_CLUSTER)
}

/// The cluster a page shows: the URL's `?cluster=` (the primary when absent), provided by the
/// layout so every page and link reads the same.
#[derive(Clone, Copy)]
pub struct Chosen(pub Memo<Option<String>>);

/// Reads the chosen cluster from the URL and provides it (inside the router).
pub fn provide_chosen() -> Memo<Option<String>> {
    let query = leptos_router::hooks::use_query_map();
    let chosen = Memo::new(move |_| query.with(|q| q.get("cluster")).filter(|c| !c.is_empty()));
    provide_context(Chosen(chosen));
    chosen
}

/// The cluster this page shows (`None`: the primary).
pub fn use_chosen() -> Memo<Option<String>> {
    use_context::<Chosen>().map_or_else(|| Memo::new(|_| None), |c| c.0)
}

/// `href` on `cluster`: with `cluster=` in its query (before any `#fragment`); unchanged for
/// the primary, so a single cluster's URLs stay as they were.
pub fn on_cluster(href: &str, cluster: Option<&str>) -> String {
    let Some(cluster) = cluster else { return href.to_string() };
    let (path, fragment) = href.split_once('#').map_or((href, None), |(p, f)| (p, Some(f)));
    let joiner = if path.contains('?') { '&' } else { '?' };
    let mut out = format!("{path}{joiner}cluster={}", crate::format::encode(cluster));
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// The JSON API's `path` (e.g. `/findings?x=y`) for `cluster`: under
/// `/api/v1/clusters/{cluster}`, or the single-cluster path for the primary.
pub fn api_on(path: &str, cluster: Option<&str>) -> String {
    match cluster {
        None => format!("/api/v1{path}"),
        Some(every) if is_every(Some(every)) => on_cluster(&format!("/api/v1{path}"), Some(every)),
        Some(name) => format!("/api/v1/clusters/{}{path}", crate::format::encode(name)),
    }
}

/// `href` on the page's chosen cluster (reactive: read inside a view or closure).
pub fn here(href: &str) -> String {
    on_cluster(href, use_chosen().get().as_deref())
}

/// The chosen cluster as a hidden field of a `GET` form, so the form keeps it without
/// scripts too.
#[component]
pub fn ClusterField() -> impl IntoView {
    let chosen = use_chosen();
    move || chosen.get().map(|c| view! { <input type="hidden" name="cluster" value=c /> })
}

#[cfg(test)]
mod tests {
    use super::on_cluster;

    #[test]
    fn a_link_keeps_its_query_and_fragment_and_names_the_cluster() {
        assert_eq!(on_cluster("/services", None), "/services");
        assert_eq!(on_cluster("/services", Some("eu-west")), "/services?cluster=eu-west");
        assert_eq!(on_cluster("/planner?peak=2x", Some("b")), "/planner?peak=2x&cluster=b");
        assert_eq!(on_cluster("/services/ns/n#governance", Some("b")), "/services/ns/n?cluster=b#governance");
        assert_eq!(on_cluster("/?namespace=x", Some("a b&c")), "/?namespace=x&cluster=a%20b%26c");
    }
}
