//! The pods Paydeck watches, kept outside kube-rs's reflector. A reflector store keeps a deep
//! copy of each object as read, whole `ObjectMeta` included, and at 100,000 pods that was most
//! of the server's memory. Here each watch event is reduced to a [`Pod`] as it arrives, and
//! equal namespaces, node names and label sets are stored once and shared.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, RwLock},
};

use kube::runtime::watcher;

use super::pod::{Labels, Pod, PodView};

type Key = (Arc<str>, Arc<str>);

/// One watch's pods; clones share them.
#[derive(Clone, Default)]
pub struct PodStore {
    inner: Arc<RwLock<State>>,
}

#[derive(Default)]
struct State {
    live: HashMap<Key, Arc<Pod>>,
    /// The pods of a (re)list until it is complete: as with the reflector, the previous
    /// picture stands until the new one is whole.
    relist: Option<HashMap<Key, Arc<Pod>>>,
    shared: Shared,
}

/// The values many pods have in common, each kept once.
#[derive(Default)]
struct Shared {
    strings: HashSet<Arc<str>>,
    labels: HashSet<Labels>,
    /// Values taken since the last sweep of those no pod holds any more.
    since_sweep: usize,
}

/// The kept value equal to `value`, which is kept if there is none yet.
fn intern<T: Eq + std::hash::Hash + ?Sized>(kept: &mut HashSet<Arc<T>>, value: Arc<T>) -> Arc<T> {
    match kept.get(&*value) {
        Some(same) => same.clone(),
        None => {
            kept.insert(value.clone());
            value
        }
    }
}

impl Shared {
    /// The pod with its shared parts replaced by the kept ones.
    fn share(&mut self, mut pod: Pod, live: usize) -> Pod {
        pod.namespace = intern(&mut self.strings, pod.namespace);
        pod.node = pod.node.map(|n| intern(&mut self.strings, n));
        pod.labels = intern(&mut self.labels, pod.labels);
        self.since_sweep += 1;
        // Label sets change with every rollout (the pod-template hash): forget the ones no
        // pod holds, about as often as the store turns over once.
        if self.since_sweep > live.max(4096) {
            self.strings.retain(|s| Arc::strong_count(s) > 1);
            self.labels.retain(|l| Arc::strong_count(l) > 1);
            self.since_sweep = 0;
        }
        pod
    }
}

impl PodStore {
    /// Applies one watch event, as the reflector would.
    pub fn apply(&self, event: watcher::Event<PodView>) {
        let mut state = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let State { live, relist, shared } = &mut *state;
        match event {
            watcher::Event::Init => *relist = Some(HashMap::new()),
            watcher::Event::InitApply(view) => {
                let pod = shared.share(view.into(), live.len());
                relist.get_or_insert_default().insert(key(&pod), Arc::new(pod));
            }
            watcher::Event::InitDone => {
                if let Some(complete) = relist.take() {
                    *live = complete;
                }
            }
            watcher::Event::Apply(view) => {
                let pod = shared.share(view.into(), live.len());
                live.insert(key(&pod), Arc::new(pod));
            }
            watcher::Event::Delete(view) => {
                let meta = view.metadata;
                let name: Arc<str> = meta.name.unwrap_or_default().into();
                live.remove(&(meta.namespace.unwrap_or_default().into(), name));
            }
        }
    }

    /// Every pod currently known.
    pub fn pods(&self) -> Vec<Arc<Pod>> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).live.values().cloned().collect()
    }
}

fn key(pod: &Pod) -> Key {
    (pod.namespace.clone(), pod.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn view(name: &str, hash: &str, node: &str) -> PodView {
        serde_json::from_value(json!({
            "metadata": { "name": name, "namespace": "pay", "labels": { "app": "ledger", "pod-template-hash": hash } },
            "spec": { "nodeName": node },
            "status": { "phase": "Running" }
        }))
        .unwrap()
    }

    fn names(store: &PodStore) -> Vec<String> {
        let mut names: Vec<String> = store.pods().iter().map(|p| p.name.to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn pods_of_one_replica_set_share_their_namespace_node_and_labels() {
        let store = PodStore::default();
        store.apply(watcher::Event::Apply(view("a", "h1", "node-1")));
        store.apply(watcher::Event::Apply(view("b", "h1", "node-1")));
        let pods = store.pods();
        assert!(Arc::ptr_eq(&pods[0].labels, &pods[1].labels));
        assert!(Arc::ptr_eq(&pods[0].namespace, &pods[1].namespace));
        assert!(Arc::ptr_eq(pods[0].node.as_ref().unwrap(), pods[1].node.as_ref().unwrap()));
    }

    #[test]
    fn a_relist_replaces_the_pods_only_once_it_is_complete() {
        let store = PodStore::default();
        store.apply(watcher::Event::Apply(view("old", "h1", "node-1")));
        store.apply(watcher::Event::Init);
        store.apply(watcher::Event::InitApply(view("new", "h2", "node-2")));
        assert_eq!(names(&store), ["old"], "half a relist is not the picture");
        store.apply(watcher::Event::InitDone);
        assert_eq!(names(&store), ["new"]);
    }

    #[test]
    fn updates_replace_and_deletes_remove() {
        let store = PodStore::default();
        store.apply(watcher::Event::Apply(view("a", "h1", "node-1")));
        store.apply(watcher::Event::Apply(view("a", "h1", "node-2")));
        store.apply(watcher::Event::Apply(view("b", "h1", "node-1")));
        assert_eq!(names(&store), ["a", "b"]);
        assert_eq!(store.pods().iter().find(|p| &*p.name == "a").unwrap().node.as_deref(), Some("node-2"));
        store.apply(watcher::Event::Delete(view("a", "h1", "node-2")));
        assert_eq!(names(&store), ["b"]);
    }

    #[test]
    fn label_sets_no_pod_holds_are_forgotten() {
        let store = PodStore::default();
        // Many rollouts of one pod: each has a new template hash.
        for i in 0..10_000 {
            store.apply(watcher::Event::Apply(view("a", &format!("h{i}"), "node-1")));
        }
        let state = store.inner.read().unwrap();
        assert!(state.shared.labels.len() < 5_000, "{} label sets kept", state.shared.labels.len());
    }
}
