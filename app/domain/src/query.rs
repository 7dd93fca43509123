//! Narrowing, ordering and paging the workloads list: one implementation for the services
//! page, the JSON API and the server functions (the sort keys are enums in [`crate::dto`]).

pub use crate::dto::{SortKey, SortOrder};
use crate::dto::{Workload, WorkloadPage, WorkloadQuery};

/// The most workloads one page carries.
pub const MAX_PAGE: usize = 2000;

/// What is wrong with a query.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("limit must be between 1 and {MAX_PAGE}, got {0}")]
    Limit(usize),
}

/// A figure to sort by; unknown figures sort before every known one.
fn figure(w: &Workload, key: SortKey) -> f64 {
    match key {
        SortKey::Replicas => f64::from(w.replicas.desired),
        SortKey::Cpu => w.cpu.usage.unwrap_or(-1.0),
        SortKey::Memory => w.memory.usage.unwrap_or(-1.0),
        SortKey::Rate => w.request_rate.unwrap_or(-1.0),
        SortKey::Utilization => w.cpu_utilization_percent.unwrap_or(-1.0),
        SortKey::Load => w.load_per_replica.unwrap_or(-1.0),
        SortKey::Name | SortKey::Namespace | SortKey::Health => 0.0,
    }
}

/// One page of `workloads` (sorted by namespace, then name) as `q` asks.
pub fn page<W: std::borrow::Borrow<Workload>>(
    workloads: &[W],
    q: &WorkloadQuery,
    version: u64,
    namespaces: Vec<String>,
) -> Result<WorkloadPage, QueryError> {
    let (total, items) = select(workloads, q)?;
    let items = items.into_iter().map(|w| w.borrow().clone()).collect();
    Ok(WorkloadPage { version, total, items, namespaces })
}

fn of<W: std::borrow::Borrow<Workload>>(w: &W) -> &Workload {
    w.borrow()
}

/// The page `q` asks for of `workloads` (in namespace, then name order when unsorted; of
/// several clusters, one after another): how many match, and the page's items as given.
pub fn select<'a, W: std::borrow::Borrow<Workload>>(
    workloads: &'a [W],
    q: &WorkloadQuery,
) -> Result<(usize, Vec<&'a W>), QueryError> {
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_PAGE {
        return Err(QueryError::Limit(limit));
    }
    let needle = q.q.as_deref().map(str::to_lowercase);
    let mut items: Vec<&W> = workloads
        .iter()
        .filter(|w| q.namespace.as_deref().is_none_or(|ns| of::<W>(w).namespace == ns))
        .filter(|w| q.health.is_none_or(|h| of::<W>(w).health == h))
        .filter(|w| {
            let w = of::<W>(w);
            needle
                .as_deref()
                .is_none_or(|n| w.name.to_lowercase().contains(n) || w.namespace.to_lowercase().contains(n))
        })
        .collect();
    let key = q.sort.unwrap_or_default();
    match key {
        SortKey::Name => items.sort_by(|a, b| {
            let (a, b) = (of::<W>(a), of::<W>(b));
            (&a.name, &a.namespace).cmp(&(&b.name, &b.namespace))
        }),
        // Already in namespace order.
        SortKey::Namespace => {}
        SortKey::Health => items.sort_by_key(|w| of::<W>(w).health),
        _ => items.sort_by(|a, b| figure(of::<W>(a), key).total_cmp(&figure(of::<W>(b), key))),
    }
    if q.order == Some(SortOrder::Desc) {
        items.reverse();
    }
    let total = items.len();
    Ok((total, items.into_iter().skip(q.offset.unwrap_or(0)).take(limit).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::{Health, ResourceFigures};

    fn w(ns: &str, name: &str, cpu: Option<f64>, health: Health) -> Workload {
        Workload {
            namespace: ns.into(),
            name: name.into(),
            cpu: ResourceFigures { usage: cpu, ..Default::default() },
            health,
            ..Default::default()
        }
    }

    fn list() -> Vec<Workload> {
        vec![
            w("a", "ledger", Some(2.0), Health::Healthy),
            w("a", "risk", None, Health::Critical),
            w("b", "gateway", Some(1.0), Health::Warning),
        ]
    }

    fn names(page: &WorkloadPage) -> Vec<&str> {
        page.items.iter().map(|w| w.name.as_str()).collect()
    }

    #[test]
    fn sorting_by_every_key_and_order() {
        let q = |sort, order| WorkloadQuery { sort: Some(sort), order: Some(order), ..Default::default() };
        let by = |sort, order| page(&list(), &q(sort, order), 1, vec![]).unwrap();
        assert_eq!(names(&by(SortKey::Name, SortOrder::Asc)), ["gateway", "ledger", "risk"]);
        assert_eq!(names(&by(SortKey::Namespace, SortOrder::Desc)), ["gateway", "risk", "ledger"]);
        assert_eq!(names(&by(SortKey::Health, SortOrder::Asc)), ["risk", "gateway", "ledger"]);
        assert_eq!(names(&by(SortKey::Cpu, SortOrder::Desc)), ["ledger", "gateway", "risk"], "unknown last");
        for key in SortKey::ALL {
            assert_eq!(SortKey::parse(key.as_str()), Some(key));
        }
        assert_eq!(SortKey::parse("colour"), None);
    }

    #[test]
    fn filters_page_and_refuse_a_bad_limit() {
        let found =
            page(&list(), &WorkloadQuery { q: Some("LED".into()), ..Default::default() }, 1, vec![]).unwrap();
        assert_eq!((found.total, names(&found)), (1, vec!["ledger"]));
        let healthy = WorkloadQuery { health: Some(Health::Warning), ..Default::default() };
        assert_eq!(names(&page(&list(), &healthy, 1, vec![]).unwrap()), ["gateway"]);
        let second = WorkloadQuery { offset: Some(1), limit: Some(1), ..Default::default() };
        let p = page(&list(), &second, 1, vec![]).unwrap();
        assert_eq!((p.total, names(&p)), (3, vec!["ledger"]));
        assert_eq!(
            page(&list(), &WorkloadQuery { limit: Some(0), ..Default::default() }, 1, vec![]).unwrap_err(),
            QueryError::Limit(0)
        );
    }

    #[test]
    fn sort_keys_read_from_a_query_string() {
        let q: WorkloadQuery =
            serde_json::from_value(serde_json::json!({ "sort": "utilization", "order": "desc" })).unwrap();
        assert_eq!((q.sort, q.order), (Some(SortKey::Utilization), Some(SortOrder::Desc)));
        assert!(serde_json::from_value::<WorkloadQuery>(serde_json::json!({ "sort": "colour" })).is_err());
    }
}
