//! kube-rs reflectors for the kinds Paydeck shows, with objects trimmed before they are kept,
//! counters for `/metrics`, and the sync and error state the snapshot reports.

use std::{
    collections::BTreeMap,
    fmt::Debug,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use futures::StreamExt;
use k8s_openapi::{
    NamespaceResourceScope,
    api::{autoscaling::v2::HorizontalPodAutoscaler, core::v1::Node, policy::v1::PodDisruptionBudget},
};
use kube::{
    Api, Client, Resource, ResourceExt,
    runtime::{WatchStreamExt, reflector, watcher},
};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use prometheus_client::metrics::counter::Counter;

use super::{
    pod::PodView,
    pods::PodStore,
    snapshot::Objects,
    views::{DeploymentView, EndpointSliceView, ServiceView},
};
use crate::metrics::{CounterFamily, KindLabel};

/// How long each watch request lasts before it is renewed from where it left off (the API
/// server ends it; kube-rs carries on from the last resourceVersion, with no relist).
pub const WATCH_SECONDS: u32 = 60;

/// What the watchers narrow to.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Empty: every namespace.
    pub namespaces: Vec<String>,
    /// Applied to Deployments and Pods.
    pub label_selector: Option<String>,
}

/// Per-kind progress, for the snapshot and `/metrics`.
#[derive(Debug, Default)]
pub struct KindState {
    /// Whether a probe is waiting for this kind to be served again after a transient error.
    pub probing: std::sync::atomic::AtomicBool,
    /// Watch events received (this kind's member of [`WatchState::events`]).
    pub events: Counter,
    /// Relists after a watch restarted, e.g. on `410 Gone` (of [`WatchState::restarts`]).
    pub restarts: Counter,
    pub synced_scopes: AtomicU64,
    pub scopes: u64,
    pub last_error: Mutex<Option<WatchProblem>>,
}

/// The latest failure of a kind's watch.
#[derive(Clone, Debug)]
pub struct WatchProblem {
    pub message: String,
    /// The API server could not be reached (as opposed to answering with an error).
    pub unreachable: bool,
    /// The API server answered 429 or 5xx (overloaded or restarting) or the watch stalled: the
    /// error stands until the kind is served again (see [`probe_until_served`]).
    pub transient: bool,
    pub at: std::time::Instant,
}

/// All watch state, keyed by kind.
#[derive(Debug, Default)]
pub struct WatchState {
    pub kinds: BTreeMap<&'static str, Arc<KindState>>,
    /// Watch events per kind.
    pub events: CounterFamily<KindLabel>,
    /// Relists per kind.
    pub restarts: CounterFamily<KindLabel>,
}

impl WatchState {
    /// Whether every watch has completed its first list.
    pub fn synced(&self) -> bool {
        self.kinds.values().all(|k| k.synced_scopes.load(Ordering::SeqCst) >= k.scopes)
    }

    /// Whether the first lists are over: every watch has listed its kind, or some kind
    /// reports a problem (a forbidden kind never lists, and what is visible should show).
    pub fn first_lists_over(&self) -> bool {
        self.synced()
            || self.kinds.values().any(|k| k.last_error.lock().unwrap_or_else(|e| e.into_inner()).is_some())
    }

    /// Whether the first snapshot and metrics poll should still wait: the first lists are
    /// not over and `until` has not come.
    pub fn awaiting_first_lists(&self, until: tokio::time::Instant) -> bool {
        !self.first_lists_over() && tokio::time::Instant::now() < until
    }

    /// Whether some watch failed to reach the API server and it has not answered since.
    pub fn unreachable(&self, answered_at: Option<std::time::Instant>) -> bool {
        self.kinds.values().any(|k| {
            k.last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .is_some_and(|p| p.unreachable && answered_at.is_none_or(|a| a < p.at))
        })
    }

    /// The latest error of each kind that has one. A watch that failed because the API
    /// server was unreachable resumes without an event when it comes back, so such an error
    /// no longer counts once the API server has answered since (`answered_at`).
    pub fn problems(&self, answered_at: Option<std::time::Instant>) -> Vec<String> {
        self.kinds
            .values()
            .filter_map(|k| k.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .filter(|p| !(p.unreachable && answered_at.is_some_and(|a| a > p.at)))
            .map(|p| p.message)
            .collect()
    }
}

/// The reflector stores, one per watched scope for each kind.
#[derive(Clone)]
pub struct Stores {
    deployments: Vec<reflector::Store<DeploymentView>>,
    autoscalers: Vec<reflector::Store<HorizontalPodAutoscaler>>,
    pods: Vec<PodStore>,
    nodes: Vec<reflector::Store<Node>>,
    services: Vec<reflector::Store<ServiceView>>,
    endpoint_slices: Vec<reflector::Store<EndpointSliceView>>,
    disruption_budgets: Vec<reflector::Store<PodDisruptionBudget>>,
}

fn collect<K: Resource + Clone>(stores: &[reflector::Store<K>]) -> Vec<Arc<K>>
where
    K::DynamicType: std::hash::Hash + Eq + Clone,
{
    stores.iter().flat_map(|s| s.state()).collect()
}

impl Stores {
    /// Everything currently known.
    pub fn objects(&self) -> Objects {
        Objects {
            deployments: collect(&self.deployments),
            autoscalers: collect(&self.autoscalers),
            pods: self.pods.iter().flat_map(PodStore::pods).collect(),
            nodes: collect(&self.nodes),
            services: collect(&self.services),
            endpoint_slices: collect(&self.endpoint_slices),
            disruption_budgets: collect(&self.disruption_budgets),
        }
    }

    /// The namespaces that hold workloads (for per-namespace metrics queries).
    pub fn workload_namespaces(&self) -> Vec<String> {
        let mut out: Vec<String> = collect(&self.deployments).iter().filter_map(|d| d.namespace()).collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Drops what Paydeck never shows before an object is kept, so tens of thousands of them
/// stay small in memory. Of `managedFields` only each manager's name is kept, with the
/// fields it owns of those a scaling change writes ([`Trim::SCALING`]): who else writes the
/// object ([`crate::cluster::snapshot::owners_of`]).
pub trait Trim: Resource {
    /// The fields of `spec` a scaling change writes (none: no manager is asked about).
    const SCALING: &'static [&'static str] = &[];

    fn trim(&mut self) {
        let meta = self.meta_mut();
        keep_managers_only(meta, Self::SCALING);
        if let Some(a) = meta.annotations.as_mut() {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
            a.remove("deployment.kubernetes.io/revision");
        }
    }
}

impl Trim for DeploymentView {
    const SCALING: &'static [&'static str] = &["replicas"];
}
impl Trim for HorizontalPodAutoscaler {
    const SCALING: &'static [&'static str] = &["minReplicas", "maxReplicas", "metrics", "behavior"];
}
impl Trim for Node {}
impl Trim for ServiceView {}
impl Trim for PodDisruptionBudget {}

/// Each field manager's name, once, and of the fields it owns (the bulk of the entry) only
/// those of `scaling` under `spec` (`fieldsV1` then `{"f:spec": {"f:maxReplicas": {}, …}}`).
fn keep_managers_only(
    meta: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    scaling: &[&str],
) {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};
    let Some(entries) = meta.managed_fields.take() else { return };
    let mut kept: Vec<ManagedFieldsEntry> = Vec::new();
    for entry in entries {
        let owned: serde_json::Map<String, serde_json::Value> = scaling
            .iter()
            .map(|field| format!("f:{field}"))
            .filter(|f| entry.fields_v1.as_ref().is_some_and(|v| v.0["f:spec"].get(f).is_some()))
            .map(|f| (f, serde_json::json!({})))
            .collect();
        let owned = (!owned.is_empty()).then(|| FieldsV1(serde_json::json!({ "f:spec": owned })));
        match kept.iter_mut().find(|k| k.manager == entry.manager) {
            Some(k) if k.fields_v1.is_none() => k.fields_v1 = owned,
            Some(_) => {}
            None if entry.manager.is_some() => kept.push(ManagedFieldsEntry {
                manager: entry.manager,
                fields_v1: owned,
                ..Default::default()
            }),
            None => {}
        }
    }
    meta.managed_fields = (!kept.is_empty()).then_some(kept);
}

/// A slice's labels name its Service; nothing else of its metadata is read.
impl Trim for EndpointSliceView {
    fn trim(&mut self) {
        let meta = &mut self.metadata;
        meta.managed_fields = None;
        meta.annotations = None;
        meta.owner_references = None;
        meta.generate_name = None;
    }
}

/// Where one watch's events go: kube-rs's reflector store, trimmed, for most kinds; Paydeck's
/// own compact store for pods, which are most of the objects.
trait Sink<K>: Send + 'static {
    fn apply(&mut self, event: watcher::Event<K>);
}

impl<K> Sink<K> for reflector::store::Writer<K>
where
    K: Trim + Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    fn apply(&mut self, event: watcher::Event<K>) {
        self.apply_watcher_event(&event.modify(K::trim));
    }
}

impl Sink<PodView> for PodStore {
    fn apply(&mut self, event: watcher::Event<PodView>) {
        PodStore::apply(self, event);
    }
}

/// A reflector store and its writer, for [`spawn_watchers`].
fn reflector_store<K>() -> (reflector::Store<K>, reflector::store::Writer<K>)
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    reflector::store()
}

/// A pod store, read and written through clones.
fn pod_store() -> (PodStore, PodStore) {
    let store = PodStore::default();
    (store.clone(), store)
}

/// Starts one watcher per scope for a namespaced kind; `store` makes each one's store.
fn watch_namespaced<K, R, S: Sink<K>>(
    client: &Client,
    scope: &Scope,
    selector: bool,
    kind: &'static str,
    state: &mut WatchState,
    changed: &Arc<Notify>,
    store: fn() -> (R, S),
) -> Vec<R>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + Debug
        + DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let apis: Vec<Api<K>> = if scope.namespaces.is_empty() {
        vec![Api::all(client.clone())]
    } else {
        scope.namespaces.iter().map(|ns| Api::namespaced(client.clone(), ns)).collect()
    };
    let config = match (&scope.label_selector, selector) {
        (Some(sel), true) => watcher::Config::default().labels(sel),
        _ => watcher::Config::default(),
    };
    spawn_watchers(apis, config, kind, state, changed, store)
}

fn spawn_watchers<K, R, S: Sink<K>>(
    apis: Vec<Api<K>>,
    config: watcher::Config,
    kind: &'static str,
    state: &mut WatchState,
    changed: &Arc<Notify>,
    store: fn() -> (R, S),
) -> Vec<R>
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    let label = KindLabel { kind: kind.to_string() };
    let kind_state = Arc::new(KindState {
        scopes: apis.len() as u64,
        events: state.events.get_or_create(&label).clone(),
        restarts: state.restarts.get_or_create(&label).clone(),
        ..KindState::default()
    });
    state.kinds.insert(kind, kind_state.clone());
    apis.into_iter()
        .map(|api| {
            let (reader, mut sink) = store();
            let probe_api = api.clone();
            let config = config.clone().timeout(WATCH_SECONDS);
            let watch = move |strategy: InitialList| {
                let config = match strategy {
                    InitialList::Streamed => config.clone().streaming_lists(),
                    InitialList::Paged => config.clone(),
                };
                watcher(api.clone(), config).backoff(super::backoff::WatchBackoff::new()).boxed()
            };
            let (kind_state, changed) = (kind_state.clone(), changed.clone());
            let span = tracing::info_span!("watch", kind);
            tokio::spawn(tracing::Instrument::instrument(
                async move {
                    let mut strategy = InitialList::Streamed;
                    let mut stream = watch(strategy);
                    let mut seen_init_done = false;
                    let mut inits_before_done = 0;
                    while let Some(event) = stream.next().await {
                        if strategy == InitialList::Streamed
                            && !seen_init_done
                            && streaming_unsupported(&event, &mut inits_before_done)
                        {
                            tracing::info!(
                                kind,
                                "the API server does not stream lists (sendInitialEvents); listing in pages"
                            );
                            strategy = InitialList::Paged;
                            stream = watch(strategy);
                            continue;
                        }
                        match event {
                            Ok(event) => {
                                kind_state.events.inc();
                                *kind_state.last_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
                                let first_init_done =
                                    matches!(event, watcher::Event::InitDone) && !seen_init_done;
                                if matches!(event, watcher::Event::Init) && seen_init_done {
                                    kind_state.restarts.inc();
                                    tracing::info!(kind, "relisting (watch restarted)");
                                }
                                sink.apply(event);
                                if first_init_done {
                                    seen_init_done = true;
                                    kind_state.synced_scopes.fetch_add(1, Ordering::SeqCst);
                                }
                                changed.notify_one();
                            }
                            Err(e) => {
                                let message = describe(kind, &e);
                                tracing::warn!(kind, "{message}");
                                let transient = is_transient(&e);
                                // A stalled watch timed out on a server that still answers
                                // other requests: not unreachable, and not over until the
                                // kind's watches work again.
                                let unreachable = !transient
                                    && !matches!(
                                        &e,
                                        watcher::Error::InitialListFailed(kube::Error::Api(_))
                                            | watcher::Error::WatchStartFailed(kube::Error::Api(_))
                                            | watcher::Error::WatchFailed(kube::Error::Api(_))
                                            | watcher::Error::WatchError(_)
                                    );
                                let problem = WatchProblem {
                                    message,
                                    unreachable,
                                    transient,
                                    at: std::time::Instant::now(),
                                };
                                *kind_state.last_error.lock().unwrap_or_else(|e| e.into_inner()) =
                                    Some(problem);
                                changed.notify_one();
                                // A watch resumed after the error yields nothing for a quiet
                                // kind, so a probe says when the kind is served again.
                                if (transient || unreachable)
                                    && !kind_state.probing.swap(true, Ordering::SeqCst)
                                {
                                    tokio::spawn(probe_until_served(
                                        probe_api.clone(),
                                        kind_state.clone(),
                                        changed.clone(),
                                    ));
                                }
                            }
                        }
                    }
                },
                span,
            ));
            reader
        })
        .collect()
}

/// How a watch gets the objects that exist when it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InitialList {
    /// One watch request streams them as events and marks their end with a bookmark
    /// (`sendInitialEvents`): the API server sends while Paydeck reads, with no round trip
    /// per page, so a first sync takes little more than the download.
    Streamed,
    /// A paged LIST (500 a page), then a watch from its version: what every API server serves.
    Paged,
}

/// Whether a streamed first list's `event` shows the API server cannot stream lists. One
/// without the WatchList feature refuses the parameters (`422 Invalid`, or `400`); one older
/// than streaming lists ignores them and sends the objects with no end mark, so its watch ends
/// and starts over (a second `Init`, counted in `inits`) without ever being done.
fn streaming_unsupported(
    event: &Result<watcher::Event<impl Sized>, watcher::Error>,
    inits: &mut u32,
) -> bool {
    match event {
        Err(watcher::Error::WatchStartFailed(kube::Error::Api(s))) => s.code == 422 || s.code == 400,
        Ok(watcher::Event::Init) => {
            *inits += 1;
            *inits > 1
        }
        _ => false,
    }
}

/// Whether the API server answered a watch or list with 429 (too many requests) or a 5xx
/// (overloaded or restarting), or a watch went silent past the client's limit (stalled):
/// worth retrying, and over once the kind is served again.
fn is_transient(e: &watcher::Error) -> bool {
    match e {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => s.code == 429 || s.code >= 500,
        watcher::Error::WatchError(s) => s.code == 429 || s.code >= 500,
        watcher::Error::WatchFailed(err) => timed_out(err),
        _ => false,
    }
}

/// Whether an error comes from a read that timed out (somewhere down its chain of causes).
fn timed_out(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut) {
            return true;
        }
        cause = e.source();
    }
    false
}

/// Whether the kind is served again: a list answers, and a one-second watch from its
/// version runs to its end (a stalled API server lists but never ends a watch).
async fn served<K>(api: &Api<K>) -> bool
where
    K: Resource + Clone + Debug + DeserializeOwned,
{
    let check = async {
        let list = api.list_metadata(&kube::api::ListParams::default().limit(1)).await.ok()?;
        let version = list.metadata.resource_version.unwrap_or_default();
        let params = kube::api::WatchParams::default().timeout(1);
        let mut events = api.watch_metadata(&params, &version).await.ok()?.boxed();
        while let Some(event) = events.next().await {
            event.ok()?;
        }
        Some(())
    };
    matches!(tokio::time::timeout(std::time::Duration::from_secs(5), check).await, Ok(Some(())))
}

/// After a 429, a 5xx or a stalled watch, checks every second whether the kind is served
/// again, then clears its error. A watch that starts again after such an error yields no
/// event until something changes, so without this a quiet kind (nodes, budgets) would show
/// the error for as long as nothing changed.
async fn probe_until_served<K>(api: Api<K>, kind_state: Arc<KindState>, changed: Arc<Notify>)
where
    K: Resource + Clone + Debug + DeserializeOwned,
{
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        if served(&api).await {
            break;
        }
    }
    {
        let mut last = kind_state.last_error.lock().unwrap_or_else(|e| e.into_inner());
        if last.as_ref().is_some_and(|p| p.transient || p.unreachable) {
            *last = None;
        }
    }
    kind_state.probing.store(false, Ordering::SeqCst);
    changed.notify_one();
}

/// A watch error in words an operator can act on: which resource, which verb, what happened.
fn describe(kind: &str, e: &watcher::Error) -> String {
    match e {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s))
            if s.code == 403 =>
        {
            format!("cannot list/watch {kind}: forbidden ({})", s.message)
        }
        watcher::Error::InitialListFailed(err) => format!("cannot list {kind}: {err}"),
        watcher::Error::WatchStartFailed(err) | watcher::Error::WatchFailed(err) => {
            format!("watch of {kind} failed: {err}")
        }
        other => format!("watch of {kind}: {other}"),
    }
}

/// Starts every watcher; returns the stores and their shared state.
pub fn start(client: &Client, scope: &Scope, changed: &Arc<Notify>) -> (Stores, Arc<WatchState>) {
    let mut state = WatchState::default();
    let nodes = spawn_watchers(
        vec![Api::<Node>::all(client.clone())],
        watcher::Config::default(),
        "nodes",
        &mut state,
        changed,
        reflector_store,
    );
    let stores = Stores {
        deployments: watch_namespaced(
            client,
            scope,
            true,
            "deployments",
            &mut state,
            changed,
            reflector_store,
        ),
        autoscalers: watch_namespaced(
            client,
            scope,
            false,
            "horizontalpodautoscalers",
            &mut state,
            changed,
            reflector_store,
        ),
        pods: watch_namespaced(client, scope, true, "pods", &mut state, changed, pod_store),
        nodes,
        services: watch_namespaced(client, scope, false, "services", &mut state, changed, reflector_store),
        endpoint_slices: watch_namespaced(
            client,
            scope,
            false,
            "endpointslices",
            &mut state,
            changed,
            reflector_store,
        ),
        disruption_budgets: watch_namespaced(
            client,
            scope,
            false,
            "poddisruptionbudgets",
            &mut state,
            changed,
            reflector_store,
        ),
    };
    (stores, Arc::new(state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimming_keeps_each_manager_once_with_the_scaling_fields_it_owns() {
        let mut hpa: HorizontalPodAutoscaler = serde_json::from_value(serde_json::json!({
            "metadata": { "name": "api", "managedFields": [
                { "manager": "kubectl-client-side-apply", "operation": "Update", "fieldsType": "FieldsV1",
                  "fieldsV1": { "f:metadata": { "f:labels": {} }, "f:spec": { "f:maxReplicas": {}, "f:scaleTargetRef": {} } } },
                { "manager": "kubectl-label", "operation": "Update", "fieldsType": "FieldsV1",
                  "fieldsV1": { "f:metadata": { "f:labels": { "f:team": {} } } } },
                { "manager": "kube-controller-manager", "operation": "Update", "subresource": "status", "fieldsType": "FieldsV1",
                  "fieldsV1": { "f:status": {} } },
                { "manager": "kubectl-label", "operation": "Apply", "fieldsType": "FieldsV1",
                  "fieldsV1": { "f:spec": { "f:behavior": {} } } }
            ] },
            "spec": { "maxReplicas": 3, "scaleTargetRef": { "kind": "Deployment", "name": "api" } }
        }))
        .unwrap();
        hpa.trim();
        let kept: Vec<(Option<String>, Option<serde_json::Value>)> = hpa
            .metadata
            .managed_fields
            .unwrap()
            .into_iter()
            .map(|m| (m.manager, m.fields_v1.map(|f| f.0)))
            .collect();
        assert_eq!(
            kept,
            [
                (
                    Some("kubectl-client-side-apply".into()),
                    Some(serde_json::json!({ "f:spec": { "f:maxReplicas": {} } }))
                ),
                (Some("kubectl-label".into()), Some(serde_json::json!({ "f:spec": { "f:behavior": {} } }))),
                (Some("kube-controller-manager".into()), None),
            ]
        );
    }

    fn kind(scopes: u64, synced: u64) -> Arc<KindState> {
        Arc::new(KindState { scopes, synced_scopes: AtomicU64::new(synced), ..KindState::default() })
    }

    #[test]
    fn streaming_lists_are_given_up_when_refused_or_ignored_and_not_for_other_errors() {
        let refused = |code: u16| -> Result<watcher::Event<()>, watcher::Error> {
            Err(watcher::Error::WatchStartFailed(kube::Error::Api(
                kube::core::Status::failure("refused", "Invalid").with_code(code).boxed(),
            )))
        };
        let mut inits = 0;
        assert!(streaming_unsupported(&refused(422), &mut inits), "without the WatchList feature");
        assert!(streaming_unsupported(&refused(400), &mut inits));
        for code in [403, 429, 500, 503] {
            assert!(!streaming_unsupported(&refused(code), &mut inits), "{code} is retried as it is");
        }
        // An API server that ignores the parameters sends objects without an end mark; its
        // watch ends and the watcher starts over.
        assert!(!streaming_unsupported(&Ok(watcher::Event::<()>::Init), &mut inits), "the first start");
        assert!(!streaming_unsupported(&Ok(watcher::Event::InitApply(())), &mut inits));
        assert!(
            streaming_unsupported(&Ok(watcher::Event::<()>::Init), &mut inits),
            "started over, never done"
        );
    }

    #[test]
    fn the_first_lists_are_over_when_every_kind_listed_or_one_reports_a_problem() {
        let mut state = WatchState::default();
        state.kinds.insert("pods", kind(2, 1));
        state.kinds.insert("poddisruptionbudgets", kind(1, 0));
        assert!(!state.first_lists_over(), "one namespace of pods and the budgets still listing");

        // A forbidden kind never lists: what is visible should show rather than wait.
        *state.kinds["poddisruptionbudgets"].last_error.lock().unwrap() = Some(WatchProblem {
            message: "cannot list/watch poddisruptionbudgets: forbidden".into(),
            unreachable: false,
            transient: false,
            at: std::time::Instant::now(),
        });
        assert!(state.first_lists_over());
        assert!(!state.synced());

        *state.kinds["poddisruptionbudgets"].last_error.lock().unwrap() = None;
        state.kinds["poddisruptionbudgets"].synced_scopes.store(1, Ordering::SeqCst);
        state.kinds["pods"].synced_scopes.store(2, Ordering::SeqCst);
        assert!(state.first_lists_over() && state.synced());
    }
}
