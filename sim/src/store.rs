//! The object store: every stored object as Kubernetes JSON, one global resourceVersion, and
//! per-type change history for watches.
//!
//! Objects are kept as shared JSON (`Arc<Value>`) so a list or a watch event costs a pointer
//! copy, and patches work on exactly what clients see.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::Arc,
};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::{
    resources::{Generation, ResourceType},
    status::ApiError,
};

pub type Object = Arc<Value>;

/// What happened to an object, as a watch reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeType {
    Added,
    Modified,
    Deleted,
}

impl ChangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

/// One change, in resourceVersion order.
#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub change: ChangeType,
    pub object: Object,
}

/// `(namespace, name)`; the namespace is empty for cluster-scoped objects.
pub type Key = (String, String);

struct Table {
    objects: BTreeMap<Key, Object>,
    history: VecDeque<Arc<Change>>,
    /// The oldest resourceVersion a watch may start from; older ones get `410 Gone`.
    oldest_watchable: u64,
    live: broadcast::Sender<Arc<Change>>,
}

impl Table {
    fn new() -> Self {
        Table {
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            oldest_watchable: 0,
            live: broadcast::channel(4096).0,
        }
    }
}

/// What a watch starting at some resourceVersion receives: the changes since then, and the
/// live feed from here on (subscribed under the same lock, so nothing falls between).
#[derive(Debug)]
pub struct WatchStart {
    pub backlog: Vec<Arc<Change>>,
    pub live: broadcast::Receiver<Arc<Change>>,
}

/// All stored objects.
pub struct Store {
    rv: u64,
    uid: u64,
    history_limit: usize,
    tables: HashMap<&'static str, Table>,
    /// The HPAGeneration feature gate (Kubernetes 1.37, off by default): whether HPAs get a
    /// maintained `metadata.generation`.
    hpa_generation: bool,
}

impl Store {
    /// A store keeping the last `history_limit` changes per type for watches to resume from.
    pub fn new(history_limit: usize) -> Self {
        Store { rv: 1, uid: 0, history_limit, tables: HashMap::new(), hpa_generation: false }
    }

    /// Turns the HPAGeneration feature gate on or off (off, as in every released Kubernetes
    /// up to 1.36 and by default in 1.37). HPAs created or changed from then on follow it.
    pub fn set_hpa_generation(&mut self, on: bool) {
        self.hpa_generation = on;
    }

    /// Whether the API server keeps `metadata.generation` for this type.
    fn maintains_generation(&self, rt: &ResourceType) -> bool {
        match rt.generation {
            Generation::NotMaintained => false,
            Generation::Spec | Generation::Content => true,
            Generation::SpecBehindHpaGate => self.hpa_generation,
        }
    }

    /// The resourceVersion of the latest change.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    fn table(&mut self, rt: &ResourceType) -> &mut Table {
        self.tables.entry(rt.key()).or_insert_with(Table::new)
    }

    pub fn get(&self, rt: &ResourceType, namespace: &str, name: &str) -> Option<Object> {
        self.tables.get(rt.key())?.objects.get(&(namespace.to_string(), name.to_string())).cloned()
    }

    /// Objects of a type, ordered by namespace then name, optionally from one namespace,
    /// starting after `after` (for paging).
    pub fn list<'a>(
        &'a self,
        rt: &ResourceType,
        namespace: Option<&'a str>,
        after: Option<&'a Key>,
    ) -> Box<dyn Iterator<Item = (&'a Key, &'a Object)> + 'a> {
        let Some(table) = self.tables.get(rt.key()) else { return Box::new(std::iter::empty()) };
        let range = match after {
            Some(key) => {
                table.objects.range::<Key, _>((std::ops::Bound::Excluded(key), std::ops::Bound::Unbounded))
            }
            None => table.objects.range::<Key, _>(..),
        };
        Box::new(range.filter(move |((ns, _), _)| namespace.is_none_or(|want| ns == want)))
    }

    pub fn count(&self, rt: &ResourceType) -> usize {
        self.tables.get(rt.key()).map_or(0, |t| t.objects.len())
    }

    /// Stores a new object, filling in `kind`, `apiVersion`, `uid`, `resourceVersion`,
    /// `creationTimestamp` and, for the kinds whose strategy keeps one, `generation`.
    pub fn create(&mut self, rt: &ResourceType, mut object: Value, now: &str) -> Result<Object, ApiError> {
        let key = key_of(&object, rt)?;
        if self.get(rt, &key.0, &key.1).is_some() {
            return Err(ApiError::already_exists(rt.plural, &key.1));
        }
        self.uid += 1;
        let uid = format!("00000000-0000-4000-8000-{:012x}", self.uid);
        object["kind"] = Value::from(rt.kind);
        object["apiVersion"] = Value::from(rt.api_version());
        let meta = &mut object["metadata"];
        meta["uid"] = Value::from(uid);
        meta["creationTimestamp"] = Value::from(now);
        if self.maintains_generation(rt) {
            meta["generation"] = Value::from(1);
        }
        if rt.namespaced {
            meta["namespace"] = Value::from(key.0.clone());
        }
        Ok(self.commit(rt, key, object, ChangeType::Added))
    }

    /// Replaces a stored object. `expected_rv`, when given, must equal the stored one
    /// (`409 Conflict` otherwise). `generation` is the stored one, one more when the type's
    /// strategy counts the change (see [`Generation`]).
    pub fn replace(
        &mut self,
        rt: &ResourceType,
        mut object: Value,
        expected_rv: Option<&str>,
    ) -> Result<Object, ApiError> {
        let key = key_of(&object, rt)?;
        let current = self.get(rt, &key.0, &key.1).ok_or_else(|| ApiError::not_found(rt.plural, &key.1))?;
        if let Some(expected) = expected_rv
            && current["metadata"]["resourceVersion"].as_str() != Some(expected)
        {
            return Err(ApiError::conflict(rt.plural, &key.1));
        }
        // Identity and bookkeeping fields are the server's, whatever the client sent.
        object["kind"] = Value::from(rt.kind);
        object["apiVersion"] = Value::from(rt.api_version());
        for field in ["uid", "creationTimestamp", "namespace", "name"] {
            object["metadata"][field] = current["metadata"][field].clone();
        }
        match current["metadata"].get("generation") {
            Some(g) => object["metadata"]["generation"] = g.clone(),
            None => {
                if let Some(meta) = object["metadata"].as_object_mut() {
                    meta.remove("generation");
                }
            }
        }
        if self.maintains_generation(rt) && counts_as_new_generation(rt.generation, &current, &object) {
            let generation = current["metadata"]["generation"].as_i64().unwrap_or(0);
            object["metadata"]["generation"] = Value::from(generation + 1);
        }
        if equal_but_resource_version(&current, &object) {
            return Ok(current);
        }
        Ok(self.commit(rt, key, object, ChangeType::Modified))
    }

    pub fn delete(&mut self, rt: &ResourceType, namespace: &str, name: &str) -> Result<Object, ApiError> {
        let key = (namespace.to_string(), name.to_string());
        let removed =
            self.table(rt).objects.remove(&key).ok_or_else(|| ApiError::not_found(rt.plural, name))?;
        self.rv += 1;
        let mut object = (*removed).clone();
        object["metadata"]["resourceVersion"] = Value::from(self.rv.to_string());
        let object = Arc::new(object);
        self.record(rt, ChangeType::Deleted, object.clone());
        Ok(object)
    }

    fn commit(&mut self, rt: &ResourceType, key: Key, mut object: Value, change: ChangeType) -> Object {
        self.rv += 1;
        object["metadata"]["resourceVersion"] = Value::from(self.rv.to_string());
        let object = Arc::new(object);
        self.table(rt).objects.insert(key, object.clone());
        self.record(rt, change, object.clone());
        object
    }

    fn record(&mut self, rt: &ResourceType, change: ChangeType, object: Object) {
        let rv = self.rv;
        let limit = self.history_limit;
        let table = self.table(rt);
        let change = Arc::new(Change { rv, change, object });
        table.history.push_back(change.clone());
        while table.history.len() > limit {
            if let Some(dropped) = table.history.pop_front() {
                table.oldest_watchable = dropped.rv;
            }
        }
        // No receivers is fine: nobody is watching this type.
        let _ = table.live.send(change);
    }

    /// Starts a watch after `since` (a resourceVersion the client has seen).
    pub fn watch(&mut self, rt: &ResourceType, since: u64) -> Result<WatchStart, ApiError> {
        let table = self.table(rt);
        if since < table.oldest_watchable {
            return Err(ApiError::gone(format!(
                "too old resource version: {since} ({})",
                table.oldest_watchable
            )));
        }
        let backlog = table.history.iter().filter(|c| c.rv > since).cloned().collect();
        Ok(WatchStart { backlog, live: table.live.subscribe() })
    }

    /// Whether a watch or list continuation from `rv` can no longer be served.
    pub fn watch_expired(&self, rt: &ResourceType, rv: u64) -> bool {
        self.tables.get(rt.key()).is_some_and(|t| rv < t.oldest_watchable)
    }

    /// Forgets all history of a type and ends its open watches, as an API server restart
    /// after etcd compaction does: every watcher reconnects, and one resuming from an older
    /// version gets `410 Gone` and must relist.
    pub fn compact(&mut self, rt: &ResourceType) {
        let rv = self.rv;
        let table = self.table(rt);
        table.history.clear();
        table.oldest_watchable = rv;
        table.live = broadcast::channel(4096).0;
    }
}

/// Whether replacing `old` by `new` makes a new generation under `policy`.
fn counts_as_new_generation(policy: Generation, old: &Value, new: &Value) -> bool {
    match policy {
        Generation::NotMaintained => false,
        Generation::Spec | Generation::SpecBehindHpaGate => {
            // The scheduler's binding sets a pod's node without a new generation.
            let unbound = |o: &Value| {
                let mut spec = o["spec"].clone();
                if let Some(s) = spec.as_object_mut() {
                    s.remove("nodeName");
                }
                spec
            };
            if old["kind"] == "Pod" { unbound(old) != unbound(new) } else { old["spec"] != new["spec"] }
        }
        Generation::Content => {
            let content = |o: &Value| -> Vec<(String, Value)> {
                let Some(map) = o.as_object() else { return Vec::new() };
                let mut fields: Vec<(String, Value)> = map
                    .iter()
                    .filter(|(k, _)| *k != "metadata")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                fields.push(("labels".into(), o["metadata"]["labels"].clone()));
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                fields
            };
            content(old) != content(new)
        }
    }
}

/// Whether two objects are the same but for their resourceVersion: a replace that changes
/// nothing else is no change. Compared in place (controllers replace objects every few
/// seconds; a copy for each comparison would cost more than the comparison).
fn equal_but_resource_version(a: &Value, b: &Value) -> bool {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else { return a == b };
    let without_rv =
        |m: &serde_json::Map<String, Value>| m.iter().filter(|(k, _)| *k != "resourceVersion").count();
    a.len() == b.len()
        && a.iter().all(|(k, v)| match (k.as_str(), b.get(k)) {
            ("metadata", Some(w)) => match (v.as_object(), w.as_object()) {
                (Some(m), Some(n)) => {
                    without_rv(m) == without_rv(n)
                        && m.iter().filter(|(k, _)| *k != "resourceVersion").all(|(k, v)| n.get(k) == Some(v))
                }
                _ => v == w,
            },
            (_, Some(w)) => v == w,
            (_, None) => false,
        })
}

/// `(namespace, name)` of an object, checked against the type's scope.
fn key_of(object: &Value, rt: &ResourceType) -> Result<Key, ApiError> {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        return Err(ApiError::invalid(
            rt.kind,
            "",
            vec![crate::status::Cause::new("metadata.name", "Required value: name is required")],
        ));
    }
    let namespace =
        if rt.namespaced { object["metadata"]["namespace"].as_str().unwrap_or("default") } else { "" };
    Ok((namespace.to_string(), name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{DEPLOYMENTS, NAMESPACES};
    use serde_json::json;

    fn deployment(name: &str, replicas: i64) -> Value {
        json!({ "metadata": { "name": name, "namespace": "payments" }, "spec": { "replicas": replicas } })
    }

    #[test]
    fn create_fills_in_identity_and_versions() {
        let mut s = Store::new(100);
        let d = s.create(&DEPLOYMENTS, deployment("ledger", 2), "2026-01-01T00:00:00Z").unwrap();
        assert_eq!(d["kind"], "Deployment");
        assert_eq!(d["apiVersion"], "apps/v1");
        assert_eq!(d["metadata"]["resourceVersion"], "2");
        assert_eq!(d["metadata"]["generation"], 1);
        assert_eq!(s.create(&DEPLOYMENTS, deployment("ledger", 2), "t").unwrap_err().code, 409);
    }

    #[test]
    fn replace_checks_the_expected_version_and_bumps_generation_on_spec_changes() {
        let mut s = Store::new(100);
        s.create(&DEPLOYMENTS, deployment("ledger", 2), "t").unwrap();
        let err = s.replace(&DEPLOYMENTS, deployment("ledger", 3), Some("1")).unwrap_err();
        assert_eq!((err.code, err.reason), (409, "Conflict"));
        assert_eq!(s.get(&DEPLOYMENTS, "payments", "ledger").unwrap()["spec"]["replicas"], 2, "unchanged");

        let d = s.replace(&DEPLOYMENTS, deployment("ledger", 3), Some("2")).unwrap();
        assert_eq!(d["metadata"]["generation"], 2);
        assert_eq!(d["metadata"]["resourceVersion"], "3");
    }

    #[test]
    fn generation_is_kept_per_kind_as_the_api_servers_strategies_keep_it() {
        use crate::resources::{ENDPOINT_SLICES, HPAS, SERVICES};
        let mut s = Store::new(100);
        let hpa = |max: i64| json!({ "metadata": { "name": "ledger", "namespace": "payments" }, "spec": { "maxReplicas": max } });
        // HPAs: no generation at all, and a spec change does not make one (Kubernetes ≤ 1.36,
        // or 1.37 with the HPAGeneration gate off).
        let created = s.create(&HPAS, hpa(4), "t").unwrap();
        assert!(created["metadata"].get("generation").is_none(), "{created}");
        let changed = s.replace(&HPAS, hpa(5), None).unwrap();
        assert!(changed["metadata"].get("generation").is_none(), "{changed}");
        // Nor can a client set one by update.
        let mut forged = hpa(5);
        forged["metadata"]["generation"] = json!(7);
        assert!(s.replace(&HPAS, forged, None).unwrap()["metadata"].get("generation").is_none());
        // With the gate on, a spec change counts from zero, as the strategy's old + 1 does.
        s.set_hpa_generation(true);
        assert_eq!(s.replace(&HPAS, hpa(6), None).unwrap()["metadata"]["generation"], 1);
        let mut status = (*s.get(&HPAS, "payments", "ledger").unwrap()).clone();
        status["status"] = json!({ "desiredReplicas": 3 });
        assert_eq!(s.replace(&HPAS, status, None).unwrap()["metadata"]["generation"], 1, "status is no spec");

        // Services never get one; EndpointSlices count any change but metadata's.
        let svc =
            json!({ "metadata": { "name": "ledger", "namespace": "payments" }, "spec": { "ports": [] } });
        assert!(s.create(&SERVICES, svc, "t").unwrap()["metadata"].get("generation").is_none());
        let slice = |ready: bool| json!({ "metadata": { "name": "ledger-x", "namespace": "payments" }, "endpoints": [{ "conditions": { "ready": ready } }] });
        assert_eq!(s.create(&ENDPOINT_SLICES, slice(false), "t").unwrap()["metadata"]["generation"], 1);
        assert_eq!(s.replace(&ENDPOINT_SLICES, slice(true), None).unwrap()["metadata"]["generation"], 2);
        let mut annotated = slice(true);
        annotated["metadata"]["annotations"] = json!({ "a": "b" });
        assert_eq!(s.replace(&ENDPOINT_SLICES, annotated, None).unwrap()["metadata"]["generation"], 2);
    }

    #[test]
    fn a_replace_that_changes_nothing_keeps_the_version() {
        let mut s = Store::new(100);
        let created = s.create(&DEPLOYMENTS, deployment("ledger", 2), "t").unwrap();
        let same = s.replace(&DEPLOYMENTS, (*created).clone(), None).unwrap();
        assert_eq!(same["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"]);
        // A client's stale or missing resourceVersion is not a change either…
        let mut stale = (*created).clone();
        stale["metadata"]["resourceVersion"] = Value::from("0");
        assert_eq!(s.replace(&DEPLOYMENTS, stale.clone(), None).unwrap()["metadata"]["resourceVersion"], "2");
        stale["metadata"].as_object_mut().unwrap().remove("resourceVersion");
        assert_eq!(s.replace(&DEPLOYMENTS, stale.clone(), None).unwrap()["metadata"]["resourceVersion"], "2");
        // …but a label, or a status field, is.
        let mut labelled = stale.clone();
        labelled["metadata"]["labels"] = json!({ "team": "payments" });
        assert_eq!(s.replace(&DEPLOYMENTS, labelled, None).unwrap()["metadata"]["resourceVersion"], "3");
        let mut status = (*s.get(&DEPLOYMENTS, "payments", "ledger").unwrap()).clone();
        status["status"] = json!({ "readyReplicas": 2 });
        assert_eq!(s.replace(&DEPLOYMENTS, status, None).unwrap()["metadata"]["resourceVersion"], "4");
    }

    #[test]
    fn watches_replay_history_and_expire_with_compaction() {
        let mut s = Store::new(2);
        for n in ["a", "b", "c"] {
            s.create(&NAMESPACES, json!({ "metadata": { "name": n } }), "t").unwrap();
        }
        let start = s.watch(&NAMESPACES, 2).unwrap();
        let names: Vec<_> = start.backlog.iter().map(|c| c.object["metadata"]["name"].clone()).collect();
        assert_eq!(names, vec![json!("b"), json!("c")]);
        assert_eq!(s.watch(&NAMESPACES, 1).unwrap_err().code, 410, "history keeps two changes");
        s.compact(&NAMESPACES);
        assert_eq!(s.watch(&NAMESPACES, 3).unwrap_err().code, 410);
        assert!(s.watch(&NAMESPACES, s.resource_version()).is_ok());
    }

    #[test]
    fn lists_page_by_key() {
        let mut s = Store::new(100);
        for n in ["c", "a", "b"] {
            s.create(&DEPLOYMENTS, deployment(n, 1), "t").unwrap();
        }
        let first: Vec<_> = s.list(&DEPLOYMENTS, None, None).take(2).map(|(k, _)| k.1.clone()).collect();
        assert_eq!(first, vec!["a", "b"]);
        let after = ("payments".to_string(), "b".to_string());
        let rest: Vec<_> =
            s.list(&DEPLOYMENTS, Some("payments"), Some(&after)).map(|(k, _)| k.1.clone()).collect();
        assert_eq!(rest, vec!["c"]);
    }
}
