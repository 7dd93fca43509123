//! The services page's state, kept in its URL so a view can be bookmarked and shared:
//! `?q=&namespace=&health=&sort=&order=&page=&per=&cluster=`.

use domain::query::{SortKey, SortOrder};

use crate::{
    dto::{Health, WorkloadQuery},
    format::encode,
};

/// Rows per page the page offers; the first is the default.
pub const PAGE_SIZES: [usize; 4] = [100, 50, 500, 2000];

/// What the services page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicesUrl {
    pub q: String,
    pub namespace: String,
    /// `critical`, `warning`, `healthy` or empty for all.
    pub health: String,
    pub sort: SortKey,
    pub descending: bool,
    /// 1-based.
    pub page: usize,
    pub per: usize,
    /// The fleet's cluster shown; empty: the primary.
    pub cluster: String,
}

impl Default for ServicesUrl {
    fn default() -> Self {
        Self {
            q: String::new(),
            namespace: String::new(),
            health: String::new(),
            sort: SortKey::Name,
            descending: false,
            page: 1,
            per: PAGE_SIZES[0],
            cluster: String::new(),
        }
    }
}

impl ServicesUrl {
    /// Reads the state from query parameters; anything unreadable falls back to its default.
    pub fn parse(get: impl Fn(&str) -> Option<String>) -> Self {
        let d = Self::default();
        let number = |key: &str, fallback: usize| {
            get(key).and_then(|v| v.parse::<usize>().ok()).filter(|n| *n > 0).unwrap_or(fallback)
        };
        let per = number("per", d.per);
        Self {
            q: get("q").unwrap_or_default().trim().to_string(),
            namespace: get("namespace").unwrap_or_default(),
            health: get("health")
                .filter(|h| matches!(h.as_str(), "critical" | "warning" | "healthy"))
                .unwrap_or_default(),
            sort: get("sort").and_then(|s| SortKey::parse(&s)).unwrap_or(d.sort),
            descending: get("order").as_deref() == Some("desc"),
            page: number("page", 1),
            per: if PAGE_SIZES.contains(&per) { per } else { d.per },
            cluster: get("cluster").unwrap_or_default(),
        }
    }

    /// The server query for this state.
    pub fn query(&self) -> WorkloadQuery {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        WorkloadQuery {
            namespace: some(&self.namespace),
            q: some(&self.q),
            health: match self.health.as_str() {
                "critical" => Some(Health::Critical),
                "warning" => Some(Health::Warning),
                "healthy" => Some(Health::Healthy),
                _ => None,
            },
            sort: Some(self.sort),
            order: Some(if self.descending { SortOrder::Desc } else { SortOrder::Asc }),
            offset: Some((self.page - 1) * self.per),
            limit: Some(self.per),
        }
    }

    /// The cluster to ask (`None`: the primary).
    pub fn cluster(&self) -> Option<String> {
        (!self.cluster.is_empty()).then(|| self.cluster.clone())
    }

    /// The page's address for this state, defaults left out.
    pub fn href(&self) -> String {
        let d = Self::default();
        let mut params: Vec<(&str, String)> = Vec::new();
        let mut add = |key, value: String, default: String| {
            if value != default {
                params.push((key, value));
            }
        };
        add("q", self.q.clone(), d.q);
        add("namespace", self.namespace.clone(), d.namespace);
        add("health", self.health.clone(), d.health);
        add("sort", self.sort.as_str().to_string(), d.sort.as_str().to_string());
        add("order", if self.descending { "desc" } else { "asc" }.into(), "asc".into());
        add("page", self.page.to_string(), "1".into());
        add("per", self.per.to_string(), d.per.to_string());
        add("cluster", self.cluster.clone(), d.cluster);
        if params.is_empty() {
            return "/services".into();
        }
        let query: Vec<String> = params.into_iter().map(|(k, v)| format!("{k}={}", encode(&v))).collect();
        format!("/services?{}", query.join("&"))
    }

    /// Sorted by `key`: the other direction if it already is, else that column's first one
    /// (figures biggest first). Back to the first page either way.
    pub fn sorted_by(&self, key: SortKey) -> Self {
        let descending =
            if self.sort == key { !self.descending } else { key.default_order() == SortOrder::Desc };
        Self { sort: key, descending, page: 1, ..self.clone() }
    }

    /// Another filter (back to the first page).
    pub fn filtered(&self, change: impl FnOnce(&mut Self)) -> Self {
        let mut next = Self { page: 1, ..self.clone() };
        change(&mut next);
        next
    }

    pub fn at_page(&self, page: usize) -> Self {
        Self { page: page.max(1), ..self.clone() }
    }

    /// Whether any filter narrows the list.
    pub fn is_filtered(&self) -> bool {
        !(self.q.is_empty() && self.namespace.is_empty() && self.health.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &[(&str, &str)]) -> ServicesUrl {
        ServicesUrl::parse(|k| query.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn the_default_state_has_a_bare_address() {
        assert_eq!(ServicesUrl::default().href(), "/services");
        assert_eq!(parse(&[]), ServicesUrl::default());
    }

    #[test]
    fn state_survives_a_round_trip_through_the_address() {
        let state = ServicesUrl {
            q: "card tok&".into(),
            namespace: "payments-core".into(),
            health: "warning".into(),
            sort: SortKey::Cpu,
            descending: true,
            page: 3,
            per: 50,
            cluster: "eu-west".into(),
        };
        let href = state.href();
        assert_eq!(
            href,
            "/services?q=card%20tok%26&namespace=payments-core&health=warning&sort=cpu&order=desc&page=3&per=50&cluster=eu-west"
        );
        let query: Vec<(String, String)> = href
            .split_once('?')
            .unwrap()
            .1
            .split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_string(), v.replace("%20", " ").replace("%26", "&"))
            })
            .collect();
        let back = ServicesUrl::parse(|k| query.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()));
        assert_eq!(back, state);
    }

    #[test]
    fn nonsense_in_the_address_falls_back_to_defaults() {
        let state = parse(&[("page", "0"), ("per", "7"), ("health", "purple"), ("order", "up")]);
        assert_eq!((state.page, state.per, state.health.as_str(), state.descending), (1, 100, "", false));
    }

    #[test]
    fn sorting_toggles_the_same_column_and_starts_numbers_high() {
        let by_name = ServicesUrl::default();
        assert!(
            by_name.sorted_by(SortKey::Name).descending,
            "a second click on the sorted column reverses it"
        );
        let by_cpu = by_name.at_page(4).sorted_by(SortKey::Cpu);
        assert!(by_cpu.descending, "the busiest first");
        assert_eq!(by_cpu.page, 1, "a new order starts at the top");
        assert!(!by_cpu.sorted_by(SortKey::Cpu).descending);
    }

    #[test]
    fn the_query_pages_and_filters() {
        let state = parse(&[("page", "3"), ("per", "50"), ("health", "critical"), ("q", " ledger ")]);
        let q = state.query();
        assert_eq!((q.offset, q.limit), (Some(100), Some(50)));
        assert_eq!(q.health, Some(Health::Critical));
        assert_eq!(q.q.as_deref(), Some("ledger"));
        assert_eq!(q.namespace, None);
    }
}
