//! HTTP: the server's shared state, the router (pages, server functions, probes, static
//! files), its middleware, and the listening loop ([`serve`]). Assembled by
//! [`crate::assembly`].

pub mod api;
pub mod clusters;
pub mod error;
pub mod findings;
pub mod guard;
pub mod health;
mod identify;
pub mod live;
pub mod metrics;
pub mod notifications;
pub mod openapi;
pub mod planner;
pub mod plans;
pub mod scaling;
pub mod scope;
pub mod security;
pub mod serve;
pub mod sizing;
pub mod traffic;
pub mod whatif;

use std::{sync::Arc, time::Duration};

use app::{App, backend::Backend, shell};
use axum::{
    Router,
    extract::{FromRef, Request},
    http::StatusCode,
    middleware,
    routing::{any, get},
};
use leptos::{config::LeptosOptions, prelude::provide_context};
use leptos_axum::{AxumRouteListing, LeptosRoutes, file_and_error_handler_with_context, generate_route_list};
use tower_http::{
    compression::CompressionLayer,
    timeout::TimeoutLayer,
    trace::{DefaultOnFailure, TraceLayer},
};

use crate::{
    cluster::ClusterView,
    history::sampler::SamplerStats,
    identity::{
        Asking, Bounds, ProxyTrust,
        token_review::{ReviewSettings, TokenReviewer},
    },
};
use guard::{Places, Refusals};
use health::Readiness;
use traffic::TrafficMeter;

pub use crate::config::Protection;

/// What the handlers share.
#[derive(Clone)]
pub struct ServerState {
    pub leptos: LeptosOptions,
    pub readiness: Readiness,
    pub traffic: Arc<TrafficMeter>,
    pub request_timeout: Duration,
    pub cluster: ClusterView,
    /// The history store, when this server records one.
    pub history: Option<Arc<dyn crate::store::HistoryStore>>,
    pub sampler: Arc<SamplerStats>,
    pub sample_interval: Duration,
    /// Turns true when the server is stopping: long-lived responses (the live feed) end, so
    /// a graceful shutdown does not wait for browser tabs to close.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    stop: Arc<tokio::sync::watch::Sender<bool>>,
    /// Whose identity to believe, within which bounds, and whether edits are off.
    pub asking: Asking,
    /// Scaling edits, when this server keeps an audit log.
    pub editor: Option<Arc<crate::edits::Editor>>,
    pub audit: Option<Arc<crate::audit::AuditLog>>,
    /// Scheduled plans, when edits are on (they are audited in the same log).
    pub plans: Option<Arc<crate::plans::Plans>>,
    /// The time plans' windows are read in: the cluster's.
    pub plan_clock: crate::plans::runner::Clock,
    /// Whether requests without an identity may read the audit log.
    pub audit_anonymous_reads: bool,
    pub protection: Protection,
    /// The bounds scaling changes (and proposed ones) are checked against.
    pub limits: app::scaling::validate::Limits,
    pub live_slots: Arc<Places>,
    pub concurrency: Arc<tokio::sync::Semaphore>,
    /// Requests in progress per client.
    pub client_requests: Arc<Places>,
    /// Backtests started, per client.
    pub backtests: Arc<crate::limiter::Limiter>,
    /// Audit log reads, per client.
    pub audit_reads: Arc<crate::limiter::Limiter>,
    pub refusals: Arc<Refusals>,
    /// Connections closed by the listener's limits.
    pub closed: Arc<serve::Closed>,
    /// The governance rules: live, and on recorded history when there is one.
    pub advisor: crate::advisor::Advisor,
    /// What is told, and to whom; `None`: no notifications file.
    pub notifications: Option<Arc<crate::notify::Notifications>>,
    /// The term this replica writes under when replicas elect a leader (else unfenced).
    pub fence: crate::store::Fence,
    /// The election's figures (all zero without one).
    pub leader: Arc<crate::leader::LeaderStats>,
    /// Every cluster watched, the primary (`cluster`) first.
    pub fleet: crate::fleet::Fleet,
    /// The name of the cluster this state serves (`cluster`, `history`, `advisor`, `editor`).
    pub cluster_name: String,
    /// The fleet's other clusters, each served through the same handlers
    /// ([`ServerState::in_cluster`]).
    scopes: Arc<std::sync::RwLock<Vec<scope::Scope>>>,
    /// The history samplers (the primary's first), awaited at shutdown so their last batches
    /// are written.
    sampler_tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl ServerState {
    pub fn new(leptos: LeptosOptions, request_timeout: Duration, cluster: ClusterView) -> Self {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        Self {
            leptos,
            advisor: crate::advisor::Advisor::new(cluster.clone()),
            notifications: None,
            readiness: Readiness::default(),
            traffic: Arc::new(TrafficMeter::default()),
            request_timeout,
            cluster,
            history: None,
            sampler: Arc::default(),
            sample_interval: Duration::from_secs(15),
            stopping: stop_rx,
            stop: Arc::new(stop_tx),
            asking: Asking::default(),
            fence: crate::store::Fence::unfenced(),
            leader: Arc::default(),
            fleet: Default::default(),
            cluster_name: crate::history::DEFAULT_CLUSTER.to_string(),
            scopes: Arc::default(),
            sampler_tasks: Arc::default(),
            editor: None,
            audit: None,
            plans: None,
            plan_clock: crate::plans::runner::own_clock(),
            audit_anonymous_reads: false,
            live_slots: Arc::new(Places::new(16, 2_000)),
            concurrency: Arc::new(tokio::sync::Semaphore::new(512)),
            client_requests: Arc::new(Places::new(64, usize::MAX)),
            backtests: Arc::new(crate::limiter::Limiter::new(30, Duration::from_secs(60))),
            audit_reads: Arc::new(crate::limiter::Limiter::new(120, Duration::from_secs(60))),
            closed: Arc::default(),
            protection: Protection::default(),
            limits: Default::default(),
            refusals: Arc::default(),
        }
    }

    /// Offers scaling edits, sent to the cluster with `config` impersonating the user and
    /// recorded in `audit`, kept as `settings` say; events of them go to `history`.
    pub(crate) async fn with_edits(
        mut self,
        config: kube::Config,
        history: Arc<dyn crate::store::HistoryStore>,
        audit: Arc<crate::audit::AuditLog>,
        settings: crate::audit::AuditSettings,
    ) -> Self {
        if let Some(retention) = settings.refusal_retention {
            crate::audit::retention::start(audit.clone(), retention, self.stopping.clone());
        }
        // With several replicas another may have an edit on its way: the leader settles
        // what is left open, once it is old enough (see `crate::leader`).
        if !self.fence.is_elected() {
            match audit.settle_dangling_intents(crate::clock::unix_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(
                    "audit: {n} edit(s) were sent before the last stop without their outcome recorded; marked unknown"
                ),
                Err(e) => tracing::error!("audit: cannot settle edits left open by the last stop: {e}"),
            }
        }
        let editor = crate::edits::Editor::new(
            config,
            self.cluster.clone(),
            history,
            audit.clone(),
            self.limits,
            self.asking.read_only,
        )
        .in_cluster(&self.cluster_name)
        .with_whatif(self.whatif());
        self.editor = Some(Arc::new(editor));
        self.audit = Some(audit);
        self
    }

    /// Scheduled plans, on every cluster of the fleet.
    pub(crate) fn with_plans(
        mut self,
        plans: Arc<crate::plans::Plans>,
        clock: crate::plans::runner::Clock,
    ) -> Self {
        self.plans = Some(plans);
        self.plan_clock = clock;
        self
    }

    /// After the last request: lets the sampler write its last batch, then closes the
    /// database. Gives up on the sampler after 10 s (Kubernetes kills the pod at 30).
    pub async fn finish(&self) {
        self.begin_shutdown();
        let tasks = std::mem::take(&mut *self.sampler_tasks.lock().unwrap_or_else(|e| e.into_inner()));
        if tokio::time::timeout(Duration::from_secs(10), futures::future::join_all(tasks)).await.is_err() {
            tracing::warn!("history: the last samples were not written within 10 s");
        }
        if let Some(history) = &self.history {
            history.close().await;
        }
    }

    /// Believes identity headers as `trust` says; `read_only` turns every edit off.
    pub(crate) fn with_identity(mut self, trust: ProxyTrust, read_only: bool) -> Self {
        self.asking.trust = Arc::new(trust);
        self.asking.read_only = read_only;
        self
    }

    /// Acts as people only within `bounds`.
    pub(crate) fn with_identity_bounds(mut self, bounds: Bounds) -> Self {
        self.asking.bounds = Arc::new(bounds);
        self
    }

    /// Believes bearer tokens the cluster vouches for (TokenReview with `client`).
    pub(crate) fn with_token_reviews(mut self, client: kube::Client, settings: ReviewSettings) -> Self {
        self.asking.tokens = Some(Arc::new(TokenReviewer::new(client, settings)));
        self
    }

    /// Refuses requests without an identity (`--anonymous refuse`).
    pub(crate) fn requiring_identity(mut self, require: bool) -> Self {
        self.asking.require_identity = require;
        self
    }

    /// On the simulated cluster: lets the identity switcher choose one of its demo users.
    pub(crate) fn with_demo_users(mut self, users: Vec<(String, String)>) -> Self {
        self.asking.demo_users = Arc::new(users);
        self
    }

    /// Caps live feeds, concurrent requests, backtests, audit reads and the time a client has
    /// for headers and bodies.
    pub(crate) fn with_protection(mut self, protection: Protection) -> Self {
        let minute = Duration::from_secs(60);
        self.live_slots = Arc::new(Places::new(protection.live_per_client, protection.live_total));
        self.concurrency = Arc::new(tokio::sync::Semaphore::new(protection.max_concurrent_requests));
        self.client_requests = Arc::new(Places::new(protection.requests_per_client, usize::MAX));
        self.backtests = Arc::new(crate::limiter::Limiter::new(protection.backtests_per_minute, minute));
        self.audit_reads = Arc::new(crate::limiter::Limiter::new(protection.audit_reads_per_minute, minute));
        self.protection = protection;
        self
    }

    /// Lets requests without an identity read the audit log (the demo), or not (default).
    pub(crate) fn with_anonymous_audit_reads(mut self, allowed: bool) -> Self {
        self.audit_anonymous_reads = allowed;
        self
    }

    /// Ends the live feeds; in-flight requests finish.
    pub fn begin_shutdown(&self) {
        self.stop.send_replace(true);
    }

    /// The bounds scaling changes and proposals are checked against.
    pub(crate) fn with_limits(mut self, limits: app::scaling::validate::Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Right-sizing tuned by `options` (before [`ServerState::with_history`] starts the
    /// advisor).
    pub(crate) fn with_sizing(mut self, options: domain::sizing::SizingOptions) -> Self {
        self.advisor = self.advisor.clone().with_sizing(options);
        self
    }

    /// Writes what only the leader writes under `fence` (before [`ServerState::with_history`]).
    pub(crate) fn with_fence(mut self, fence: crate::store::Fence) -> Self {
        self.fence = fence;
        self
    }

    /// Records history in `history`, sampling every `interval` (when it leads, under an
    /// election).
    pub(crate) fn with_history(
        mut self,
        history: Arc<dyn crate::store::HistoryStore>,
        interval: Duration,
    ) -> Self {
        history.set_fence(self.fence.clone());
        let task = crate::history::sampler::start(
            history.clone(),
            self.cluster.clone(),
            interval,
            self.sampler.clone(),
            crate::clock::WallClock::default(),
            self.fence.clone(),
            self.stopping.clone(),
        );
        self.sampler_tasks.lock().unwrap_or_else(|e| e.into_inner()).push(task);
        self.history = Some(history);
        self.sample_interval = interval;
        if let Some(whatif) = self.whatif() {
            self.advisor = self.advisor.clone().with_history(whatif);
            self.advisor.start(crate::advisor::SWEEP_INTERVAL, self.stopping.clone());
        }
        self
    }

    /// Serves and records another cluster of the fleet, `name`, watched through `view`: its
    /// history in `history` (under the same fence and until the same shutdown as the
    /// primary's), its own advisor, and — when this server edits — edits sent to it with
    /// `config` as the user, audited in the one chain; bearer tokens sent for it are checked
    /// by it through `client`.
    pub(crate) fn with_member(
        self,
        name: &str,
        view: ClusterView,
        history: Arc<dyn crate::store::HistoryStore>,
        client: kube::Client,
        config: kube::Config,
    ) -> Self {
        history.set_fence(self.fence.clone());
        let sampler = Arc::<SamplerStats>::default();
        let task = crate::history::sampler::start(
            history.clone(),
            view.clone(),
            self.sample_interval,
            sampler.clone(),
            crate::clock::WallClock::default(),
            self.fence.clone(),
            self.stopping.clone(),
        );
        self.sampler_tasks.lock().unwrap_or_else(|e| e.into_inner()).push(task);
        let whatif = crate::whatif::WhatIf {
            history: history.clone(),
            cluster: view.clone(),
            sample_interval: self.sample_interval,
            limits: self.limits,
        };
        let advisor = crate::advisor::Advisor::new(view.clone())
            .with_sizing(self.advisor.sizing_options())
            .with_history(whatif.clone());
        advisor.start(crate::advisor::SWEEP_INTERVAL, self.stopping.clone());
        let editor = self.audit.clone().map(|audit| {
            let editor = crate::edits::Editor::new(
                config,
                view.clone(),
                history.clone(),
                audit,
                self.limits,
                self.asking.read_only,
            )
            .in_cluster(name)
            .with_whatif(Some(whatif));
            Arc::new(editor)
        });
        let tokens = self
            .asking
            .tokens
            .as_ref()
            .map(|primary| Arc::new(TokenReviewer::new(client, primary.settings().clone())));
        self.scopes.write().unwrap_or_else(|e| e.into_inner()).push(scope::Scope {
            name: name.to_string(),
            cluster: view,
            history: Some(history),
            sampler,
            advisor,
            editor,
            tokens,
        });
        self
    }

    /// This state narrowed to the fleet's cluster `name` (itself for its own name); `None`
    /// for a cluster Paydeck does not watch.
    pub fn in_cluster(&self, name: &str) -> Option<ServerState> {
        if name == self.cluster_name {
            return Some(self.clone());
        }
        let scopes = self.scopes.read().unwrap_or_else(|e| e.into_inner());
        let scope = scopes.iter().find(|s| s.name == name)?.clone();
        Some(ServerState {
            cluster_name: scope.name,
            cluster: scope.cluster,
            history: scope.history,
            sampler: scope.sampler,
            advisor: scope.advisor,
            editor: scope.editor,
            ..self.clone()
        })
    }

    /// Every cluster's state, this one first.
    pub fn every_cluster(&self) -> Vec<ServerState> {
        let names: Vec<String> =
            self.scopes.read().unwrap_or_else(|e| e.into_inner()).iter().map(|s| s.name.clone()).collect();
        std::iter::once(self.clone()).chain(names.iter().filter_map(|n| self.in_cluster(n))).collect()
    }

    /// The token reviewers of the fleet's other clusters, by name.
    pub fn member_token_reviewers(&self) -> Vec<(String, Arc<TokenReviewer>)> {
        let scopes = self.scopes.read().unwrap_or_else(|e| e.into_inner());
        scopes.iter().filter_map(|s| Some((s.name.clone(), s.tokens.clone()?))).collect()
    }

    /// Serves the cluster the fleet names `name` (before [`ServerState::with_edits`]).
    pub(crate) fn named(mut self, name: &str) -> Self {
        self.cluster_name = name.to_string();
        self
    }

    /// The clusters watched, the primary first.
    pub(crate) fn with_fleet(mut self, fleet: crate::fleet::Fleet) -> Self {
        self.fleet = fleet;
        self
    }

    /// Replays over this server's history, when it records one.
    pub fn whatif(&self) -> Option<crate::whatif::WhatIf> {
        Some(crate::whatif::WhatIf {
            history: self.history.clone()?,
            cluster: self.cluster.clone(),
            sample_interval: self.sample_interval,
            limits: self.limits,
        })
    }

    /// The notifications as a person asks for them, read like the audit log.
    pub fn notification_desk(&self) -> crate::notify::NotificationDesk {
        crate::notify::NotificationDesk {
            told: self.notifications.clone(),
            anonymous_reads: self.audit_anonymous_reads,
            cluster: self.cluster_name.clone(),
            clock: self.plan_clock.clone(),
        }
    }

    /// The backend the app's server functions use.
    fn backend(&self) -> Backend {
        Backend {
            cluster_name: self.cluster_name.clone(),
            cluster: Arc::new(self.cluster.clone()),
            history: self.history.clone().map(|store| -> Arc<dyn domain::ports::HistorySource> {
                Arc::new(crate::history::query::HistoryService {
                    store,
                    sample_interval_ms: self.sample_interval.as_millis() as i64,
                })
            }),
            edits: match (&self.editor, &self.audit) {
                (Some(editor), Some(audit)) => Some(Arc::new(crate::edits::EditService {
                    editor: editor.clone(),
                    audit: audit.clone(),
                    anonymous_reads: self.audit_anonymous_reads,
                })),
                _ => None,
            },
            whatif: self.whatif().map(|w| -> Arc<dyn domain::ports::WhatIfSource> { Arc::new(w) }),
            advisor: Arc::new(self.advisor.clone()),
            fleet: Arc::new(self.fleet.clone()),
            plans: match (&self.plans, &self.editor) {
                (Some(plans), Some(editor)) => Some(Arc::new(crate::plans::desk::PlanDesk {
                    plans: plans.clone(),
                    editor: editor.clone(),
                    clock: self.plan_clock.clone(),
                })),
                _ => None,
            },
            // Only where a file is set: the page says how to set one up otherwise.
            notifications: self.notifications.is_some().then(
                || -> Arc<dyn domain::ports::NotificationSource> { Arc::new(self.notification_desk()) },
            ),
        }
    }
}

impl FromRef<ServerState> for LeptosOptions {
    fn from_ref(state: &ServerState) -> Self {
        state.leptos.clone()
    }
}

impl FromRef<ServerState> for Readiness {
    fn from_ref(state: &ServerState) -> Self {
        state.readiness.clone()
    }
}

/// The page routes, generated once per process. Generating them runs the app with resource
/// loading suppressed for the whole process (leptos_server's `SuppressResourceLoad`): a page
/// another server in the same process began to render in that moment would wait for its data
/// forever. Production builds one router; the tests build many, side by side.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Every route, with tracing, timeout, compression, request counting, identity, the guards
/// and — outermost, so refusals by any middleware carry them too — security headers.
pub fn router(state: ServerState) -> Router {
    let backends =
        app::backend::Backends(Arc::new(state.every_cluster().iter().map(ServerState::backend).collect()));
    let provide_backend = move || provide_context(backends.clone());
    let server_fns = {
        let provide_backend = provide_backend.clone();
        move |request: Request| leptos_axum::handle_server_fns_with_context(provide_backend.clone(), request)
    };
    let page_shell = {
        let options = state.leptos.clone();
        move || shell(options.clone())
    };

    let provide_backend_for_errors = provide_backend.clone();
    let routes = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics).with_state((state.clone(), metrics::Metrics::of(&state))))
        .route(&format!("{}/{{*fn_name}}", app::SERVER_FN_PREFIX), any(server_fns))
        .leptos_routes_with_context(&state, page_routes(), provide_backend, page_shell)
        .merge(api::routes().into_router())
        // The not-found page has the same shell as every page, banner included.
        .fallback(file_and_error_handler_with_context::<ServerState, _>(provide_backend_for_errors, shell))
        .with_state(state.clone());

    // Outermost last: a cross-site write is refused before an identity is looked up, and a
    // body is read only for someone the server has placed.
    let guarded = routes
        .layer(middleware::from_fn_with_state(
            guard::AuditReads {
                limiter: state.audit_reads.clone(),
                per_minute: state.protection.audit_reads_per_minute,
                refusals: state.refusals.clone(),
            },
            guard::limit_audit_reads,
        ))
        .layer(middleware::from_fn_with_state(
            guard::BodyLimits { refusals: state.refusals.clone(), deadline: state.protection.body_timeout },
            guard::limit_bodies,
        ))
        .layer(middleware::from_fn_with_state(
            Asking {
                primary: state.cluster_name.clone(),
                member_tokens: Arc::new(state.member_token_reviewers()),
                ..state.asking.clone()
            },
            identify::identify,
        ))
        .layer(middleware::from_fn(security::same_origin_writes))
        .layer(middleware::from_fn_with_state(
            guard::Concurrency {
                total: state.concurrency.clone(),
                per_client: state.client_requests.clone(),
                trust: state.asking.trust.clone(),
                refusals: state.refusals.clone(),
            },
            guard::limit_concurrency,
        ))
        .layer(middleware::from_fn_with_state(state.traffic.clone(), traffic::count_requests))
        .layer(CompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.request_timeout));
    security::apply(guarded)
        // Failed requests are logged where they fail, with their reason; a 503 from /readyz
        // while the cluster syncs is expected and must not read as an error.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        user = tracing::field::Empty,
                    )
                })
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
}
