//! Snapshots one after another, each reusing the figures of the workloads nothing touched
//! since the one before. At 10,000 workloads a full build takes a few hundred milliseconds,
//! which is most of the time from a change reaching Paydeck to it being on screen; under
//! churn only the few workloads whose objects changed need building again.
//!
//! A workload's figures are a function of its Deployment, its autoscaler, its pods, the
//! Services, endpoint slices and disruption budgets of its namespace, and the usage figures.
//! Watch stores replace an object's `Arc` whenever it changes and keep it otherwise, so
//! "unchanged" is "the same `Arc`". The builder holds the `Arc`s it compared against, so an
//! address cannot be freed and reused by a different object while it is remembered.

use std::{
    collections::HashMap,
    sync::{Arc, Weak},
};

use app::dto::Workload;
use k8s_openapi::api::{autoscaling::v2::HorizontalPodAutoscaler, policy::v1::PodDisruptionBudget};

use super::{Connection, Objects, Snapshot, Usage, totals, workload::Index};
use crate::cluster::{
    pod::Pod,
    views::{DeploymentView, EndpointSliceView, ServiceView},
};

/// What one workload's figures were built from, and where they are in the last snapshot.
struct Built {
    deployment: Arc<DeploymentView>,
    autoscaler: Option<Arc<HorizontalPodAutoscaler>>,
    /// Sorted by address: the same pods in another order are the same pods.
    pods: Vec<Arc<Pod>>,
    /// Position in the last snapshot's workloads.
    position: usize,
}

/// The objects of a namespace that each of its workloads reads, sorted by address.
#[derive(Default)]
struct Shared {
    services: Vec<Arc<ServiceView>>,
    slices: Vec<Arc<EndpointSliceView>>,
    budgets: Vec<Arc<PodDisruptionBudget>>,
}

fn same_arcs<T>(a: &[Arc<T>], b: &[Arc<T>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(a, b)| Arc::ptr_eq(a, b))
}

fn by_address<T>(list: &mut [Arc<T>]) {
    list.sort_unstable_by_key(|a| Arc::as_ptr(a) as *const () as usize);
}

impl Shared {
    fn of(objects: &Objects) -> HashMap<String, Shared> {
        let mut out: HashMap<String, Shared> = HashMap::new();
        // Each build walks every Service, slice and budget: a name is copied only the first
        // time its namespace is seen.
        fn of_namespace<'a>(
            out: &'a mut HashMap<String, Shared>,
            m: &kube::api::ObjectMeta,
        ) -> &'a mut Shared {
            let ns = m.namespace.as_deref().unwrap_or_default();
            if !out.contains_key(ns) {
                out.insert(ns.to_string(), Shared::default());
            }
            out.get_mut(ns).expect("inserted above")
        }
        for s in &objects.services {
            of_namespace(&mut out, &s.metadata).services.push(s.clone());
        }
        for s in &objects.endpoint_slices {
            of_namespace(&mut out, &s.metadata).slices.push(s.clone());
        }
        for b in &objects.disruption_budgets {
            of_namespace(&mut out, &b.metadata).budgets.push(b.clone());
        }
        for shared in out.values_mut() {
            by_address(&mut shared.services);
            by_address(&mut shared.slices);
            by_address(&mut shared.budgets);
        }
        out
    }

    fn same(&self, other: &Shared) -> bool {
        same_arcs(&self.services, &other.services)
            && same_arcs(&self.slices, &other.slices)
            && same_arcs(&self.budgets, &other.budgets)
    }
}

/// Builds snapshots in turn, remembering what each workload was built from.
#[derive(Default)]
pub struct Builder {
    /// By the Deployment's address (held in the entry).
    built: HashMap<usize, Built>,
    namespaces: HashMap<String, Shared>,
    /// The usage figures of the last build: not held (the poller replaces them, and two sets
    /// at 100,000 pods are tens of megabytes), but their allocation is, so the address
    /// cannot be reused by the next set.
    usage: Weak<Usage>,
    /// Workloads built (not reused) by the last build, for tests and logs.
    pub rebuilt: usize,
}

impl Builder {
    /// A snapshot of `objects` and `usage`. `last` is the snapshot this builder built before
    /// (or one equal to it); figures are reused from it for unchanged workloads.
    pub fn build(
        &mut self,
        objects: &Objects,
        usage: &Arc<Usage>,
        connection: Connection,
        version: u64,
        taken_at_ms: i64,
        last: &Snapshot,
    ) -> Snapshot {
        // New usage figures change almost every workload's: build them all.
        let usage_same = std::ptr::eq(self.usage.as_ptr(), Arc::as_ptr(usage));
        self.usage = Arc::downgrade(usage);
        self.assemble(objects, usage, usage_same, connection, version, taken_at_ms, last)
    }

    /// [`build`](Self::build), told whether the usage figures are those of the last build.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn assemble(
        &mut self,
        objects: &Objects,
        usage: &Usage,
        usage_same: bool,
        connection: Connection,
        version: u64,
        taken_at_ms: i64,
        last: &Snapshot,
    ) -> Snapshot {
        let namespaces = Shared::of(objects);
        let namespace_same = |ns: &str| match (self.namespaces.get(ns), namespaces.get(ns)) {
            (None, None) => true,
            (Some(then), Some(now)) => then.same(now),
            _ => false,
        };
        let unchanged_namespaces: HashMap<&str, bool> = self
            .namespaces
            .keys()
            .chain(namespaces.keys())
            .map(|ns| (ns.as_str(), namespace_same(ns)))
            .collect();
        let index = Index::new(objects, usage);
        let mut before = std::mem::take(&mut self.built);
        let mut built = HashMap::with_capacity(objects.deployments.len());
        // Built in the snapshot's order (namespace, then name): moving built figures about
        // to sort them costs more than sorting the Deployments.
        let mut deployments: Vec<(&str, &str, &Arc<DeploymentView>)> = objects
            .deployments
            .iter()
            .map(|d| {
                (
                    d.metadata.namespace.as_deref().unwrap_or_default(),
                    d.metadata.name.as_deref().unwrap_or_default(),
                    d,
                )
            })
            .collect();
        deployments.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut workloads: Vec<Arc<Workload>> = Vec::with_capacity(deployments.len());
        self.rebuilt = 0;
        for (namespace, _, d) in deployments {
            let address = Arc::as_ptr(d) as usize;
            let autoscaler = index.autoscaler_for(d).cloned();
            let selected = index.pods_of(d);
            let mut pods: Vec<Arc<Pod>> = selected.iter().map(|p| Arc::clone(p)).collect();
            by_address(&mut pods);
            let reused = before.remove(&address).filter(|b| {
                Arc::ptr_eq(&b.deployment, d)
                    && usage_same
                    && unchanged_namespaces.get(namespace).copied().unwrap_or(true)
                    && b.autoscaler.as_ref().map(Arc::as_ptr) == autoscaler.as_ref().map(Arc::as_ptr)
                    && same_arcs(&b.pods, &pods)
            });
            let figures = reused
                .and_then(|b| last.workloads.get(b.position))
                .filter(|w| {
                    Some(w.namespace.as_str()) == d.metadata.namespace.as_deref()
                        && Some(w.name.as_str()) == d.metadata.name.as_deref()
                })
                .cloned()
                .unwrap_or_else(|| {
                    self.rebuilt += 1;
                    Arc::new(index.workload_of(d, &selected))
                });
            let position = workloads.len();
            workloads.push(figures);
            built.insert(address, Built { deployment: d.clone(), autoscaler, pods, position });
        }
        self.built = built;
        self.namespaces = namespaces;
        let totals = totals::cluster(objects, usage, &workloads);
        Snapshot { version, taken_at_ms, connection, workloads, totals }
    }
}
