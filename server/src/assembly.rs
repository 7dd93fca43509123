//! The server assembled in one place: from the checked [`Settings`] to a serving process.
//!
//! What a server offers is described by one value, [`Parts`], whose shape says what depends
//! on what: edits need an audit log, which lives in the store, so they are part of
//! [`Recording`]; right-sizing is set before the advisor starts on recorded history. No order
//! of calls can switch a feature off without saying so.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use leptos::config::LeptosOptions;

use crate::{
    audit::{AuditLog, AuditSettings},
    clock::WallClock,
    cluster::{self, ClusterView},
    config::{Config, Settings},
    fleet::{Fleet, Member},
    http::{Protection, ServerState, router, serve},
    identity::{Bounds, ProxyTrust, token_review::ReviewSettings},
    site,
    store::{Fence, Store},
};

/// Everything a server is made of.
pub struct Parts {
    pub leptos: LeptosOptions,
    pub request_timeout: Duration,
    pub cluster: ClusterView,
    pub identity: Identity,
    pub protection: Protection,
    /// Right-sizing's percentile and headroom.
    pub sizing: domain::sizing::SizingOptions,
    /// Whether requests without an identity may read the audit log.
    pub anonymous_audit_reads: bool,
    /// The bounds scaling changes, and the advisor's proposals, are checked against.
    pub limits: app::scaling::validate::Limits,
    /// What is recorded, and the edits that rely on it; `None`: live figures only.
    pub recording: Option<Recording>,
    /// Replicas elect one leader to record; `None`: this process is the only one.
    pub election: Option<crate::leader::Election>,
    /// Who approves scheduled plans.
    pub plan_approval: domain::plan::Approval,
    /// The time plans' windows are read in: the cluster's.
    pub plan_clock: crate::plans::runner::Clock,
    /// What is told, and to whom (needs a store: the outbox is there).
    pub notifications: Option<crate::notify::config::NotifyConfig>,
}

/// Whose word the server takes, and within which bounds.
pub struct Identity {
    pub trust: ProxyTrust,
    pub bounds: Bounds,
    /// Bearer tokens are checked with this cluster client (TokenReview).
    pub token_reviews: Option<(kube::Client, ReviewSettings)>,
    /// Refuse requests without an identity (`--anonymous refuse`).
    pub require_identity: bool,
    /// Turns every edit off.
    pub read_only: bool,
    /// On the simulated cluster only: the users the identity switcher offers.
    pub demo_users: Vec<(String, String)>,
}

impl Default for Identity {
    /// No proxy believed, no tokens checked, anonymous requests read.
    fn default() -> Self {
        Identity {
            trust: ProxyTrust::none(),
            bounds: Bounds::default(),
            token_reviews: None,
            require_identity: false,
            read_only: false,
            demo_users: Vec::new(),
        }
    }
}

/// A store the server records history in, sampled every `sample_interval`.
pub struct Recording {
    pub store: Store,
    pub sample_interval: Duration,
    /// Scaling edits, audited in the same store; `None`: no edits are offered.
    pub edits: Option<Editing>,
}

/// Edits sent with `config` (impersonating the user), audited as `audit` says.
pub struct Editing {
    pub config: kube::Config,
    pub audit: AuditSettings,
}

impl Parts {
    /// A server showing `cluster` live, with every other part at its default and nothing
    /// recorded.
    pub fn new(leptos: LeptosOptions, request_timeout: Duration, cluster: ClusterView) -> Parts {
        Parts {
            leptos,
            request_timeout,
            cluster,
            identity: Identity::default(),
            protection: Protection::default(),
            sizing: Default::default(),
            anonymous_audit_reads: false,
            limits: Default::default(),
            recording: None,
            election: None,
            plan_approval: Default::default(),
            plan_clock: crate::plans::runner::own_clock(),
            notifications: None,
        }
    }
}

/// Builds the server's state from its parts, starting what runs beside the requests (the
/// sampler, the advisor's sweeps, the audit log's retention).
pub async fn assemble(parts: Parts) -> anyhow::Result<ServerState> {
    let Parts {
        leptos,
        request_timeout,
        cluster,
        identity,
        protection,
        sizing,
        anonymous_audit_reads,
        limits,
        recording,
        election,
        plan_approval,
        plan_clock,
        notifications,
    } = parts;
    // Sizing and limits first: the advisor, started with the history, uses both.
    let mut state = ServerState::new(leptos, request_timeout, cluster)
        .with_sizing(sizing)
        .with_limits(limits)
        .with_identity(identity.trust, identity.read_only)
        .with_identity_bounds(identity.bounds)
        .requiring_identity(identity.require_identity)
        .with_demo_users(identity.demo_users)
        .with_protection(protection)
        .with_anonymous_audit_reads(anonymous_audit_reads);
    if let Some((client, settings)) = identity.token_reviews {
        state = state.with_token_reviews(client, settings);
    }
    let fence = election.as_ref().map_or_else(Fence::unfenced, |e| Fence::elected(&e.lease));
    state = state.with_fence(fence.clone());
    // The primary cluster is the fleet's first member; `run` adds the others.
    let name = recording.as_ref().map_or(crate::history::DEFAULT_CLUSTER, |r| r.store.history.cluster());
    let primary = Member::watching(name, name, state.cluster.clone(), WallClock::default());
    state = state.named(name).with_fleet(Fleet::new(vec![primary]));
    if let Some(Recording { store, sample_interval, edits }) = recording {
        state = state.with_history(store.history.clone(), sample_interval);
        let (audited, audit_store) = (edits.is_some(), store.audit.clone());
        if let Some(Editing { config, audit: settings }) = edits {
            let audit = AuditLog::open(store.audit, &settings);
            state = state.with_edits(config, store.history.clone(), audit.clone(), settings).await;
            let plans = Arc::new(crate::plans::Plans::new(store.plans.clone(), audit, plan_approval));
            state = state.with_plans(plans.clone(), plan_clock.clone());
            // Every cluster's editor, read each round: the fleet's members join after this.
            let fleet = state.clone();
            crate::plans::runner::start(
                plans,
                move || fleet.every_cluster().into_iter().filter_map(|s| s.editor).collect(),
                fence.clone(),
                plan_clock.clone(),
                state.stopping.clone(),
            );
        }
        if let Some(config) = notifications {
            let told =
                Arc::new(crate::notify::Notifications::new(config, store.outbox.clone(), fence.clone()));
            // Every cluster of the fleet, read each look: the fleet's members join after this.
            let fleet = state.clone();
            let primary = state.cluster_name.clone();
            told.start(
                audited.then_some(audit_store),
                &primary,
                move || {
                    fleet
                        .every_cluster()
                        .iter()
                        .enumerate()
                        .map(|(i, s)| crate::notify::watch::ClusterLook::of(s, i == 0))
                        .collect()
                },
                plan_clock.clone(),
                state.stopping.clone(),
            )?;
            state.notifications = Some(told);
        }
        if let Some(election) = election {
            let audit = state.audit.clone();
            crate::leader::start(
                election,
                store.history,
                fence,
                state.leader.clone(),
                move || settle_left_open(audit.clone()),
                state.stopping.clone(),
            );
        }
    } else if notifications.is_some() {
        anyhow::bail!("--notifications needs a store (--db): undelivered messages are kept there");
    } else if election.is_some() {
        tracing::warn!("--leader-elect without a store: there is nothing only a leader does");
    }
    Ok(state)
}

/// How old an edit's intent must be before a new leader settles it as `unknown`: an edit on
/// its way through another replica records its outcome well within this.
const INTENT_GRACE_MS: i64 = 120_000;

/// On becoming leader: settles the edits stopped replicas left open (see
/// [`AuditLog::settle_intents_before`]).
fn settle_left_open(audit: Option<std::sync::Arc<AuditLog>>) {
    let Some(audit) = audit else { return };
    tokio::spawn(async move {
        let now = crate::clock::unix_ms();
        match audit.settle_intents_before(now - INTENT_GRACE_MS, now).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                "audit: {n} edit(s) were sent by a replica that stopped before it recorded their outcome; marked unknown"
            ),
            Err(e) => tracing::error!("audit: cannot settle edits left open by stopped replicas: {e}"),
        }
    });
}

/// Binds the configured address and serves until SIGINT or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let exe = std::env::current_exe().ok();
    let root = site::resolve_root(config.site_root.as_deref(), exe.as_deref());
    if let Err(problem) = site::check(&root) {
        tracing::warn!("{problem}; pages will render but not come alive in the browser");
    }

    // Everything the flags say is checked before anything starts.
    let Settings { source, fleet, trust, audit, notifications } = config.validate()?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (--listen / PAYDECK_LISTEN)", config.listen))?;
    let addr = listener.local_addr()?;

    let connected = cluster::connect(&source).await?;
    tracing::info!("watching {}", connected.description);
    let reviews = connected.client.clone();
    let leases = connected.client.clone();
    let view =
        cluster::start(connected.client, connected.description, &config.scope(), config.metrics_interval());
    let cluster_name = match (&config.cluster_name, fleet.as_deref()) {
        (_, Some([first, ..])) => first.name.clone(),
        (Some(name), _) => name.clone(),
        _ => {
            crate::history::check_cluster_name(&connected.name).map_err(|e| {
                anyhow::anyhow!(
                    "the kubeconfig context {:?} cannot name the cluster's history ({e}): set --cluster-name (PAYDECK_CLUSTER_NAME)",
                    connected.name
                )
            })?;
            connected.name.clone()
        }
    };
    let location = config.store_location();
    let store = crate::store::open(location, config.retention(), config.db_max_size, &cluster_name).await?;
    tracing::info!("history of cluster {cluster_name} in {location}");
    if let (Some(span), cluster::Source::Sim { profile, seed, .. }) = (config.sim_history, &source)
        && !store.history.has_samples().await?
    {
        println!("Recording {} s of simulated history first (--sim-history)…", span.as_secs());
        let started = std::time::Instant::now();
        let samples =
            cluster::simulated::record_history(store.history.as_ref(), *profile, *seed, span).await?;
        tracing::info!(samples, seconds = started.elapsed().as_secs_f64(), "simulated history recorded");
    }
    let election = config.leader_elect.then(|| crate::leader::Election {
        leases: kube::Api::namespaced(leases, &config.lease_namespace()),
        lease: config.lease_name.clone(),
        identity: config.leader_identity.clone().unwrap_or_else(crate::leader::default_identity),
        duration: Duration::from_secs(config.lease_duration),
    });
    if let Some(e) = &election {
        tracing::info!(lease = %e.lease, identity = %e.identity, "electing a leader among replicas");
        if matches!(location, crate::store::Location::Sqlite(_)) {
            tracing::warn!(
                "--leader-elect with a SQLite file: replicas on other nodes cannot share it; use PostgreSQL"
            );
        }
    }
    let state = assemble(Parts {
        election,
        identity: Identity {
            trust,
            bounds: config.identity_bounds(),
            token_reviews: Some((reviews, config.token_reviews())),
            require_identity: config.anonymous == crate::config::Anonymous::Refuse,
            read_only: config.read_only,
            demo_users: connected.demo_users.clone(),
        },
        protection: config.protection(),
        sizing: config.sizing(),
        anonymous_audit_reads: config.anonymous_audit_reads(),
        limits: config.limits(),
        plan_approval: config.plans.into(),
        notifications,
        recording: Some(Recording {
            store,
            sample_interval: config.sample_interval(),
            edits: Some(Editing { config: connected.config.clone(), audit }),
        }),
        ..Parts::new(site::leptos_options(&root, addr), config.request_timeout(), view.clone())
    })
    .await?;
    let mut members = state.fleet.members().to_vec();
    if let Some(first) = fleet.as_deref().and_then(<[_]>::first) {
        members[0].display_name = first.display_name.clone();
    }
    let mut state = state;
    let primary_history = state.history.clone().context("the store is open")?;
    for entry in fleet.iter().flatten().skip(1) {
        let (member, connected) = watch_member(&config, entry).await?;
        let history = primary_history.for_cluster(&entry.name);
        state =
            state.with_member(&entry.name, member.view.clone(), history, connected.client, connected.config);
        members.push(member);
    }
    // `--sim-clusters`: more simulated clusters beside the first, each its own fleet member.
    let mut simulators = Vec::new();
    if let cluster::Source::Sim { profile, seed, speed, start_ms, kubeconfig_out } = &source
        && config.sim_clusters > 1
    {
        members[0].display_name = "Simulated cluster 1".into();
        for i in 2..=u64::from(config.sim_clusters) {
            let out = kubeconfig_out.with_file_name(format!("sim-{i}.kubeconfig"));
            let seed = seed + i - 1;
            let connected = cluster::simulated::start(*profile, seed, *speed, *start_ms, &out).await?;
            let name = format!("{cluster_name}-{i}");
            let view = cluster::start(
                connected.client.clone(),
                connected.description,
                &config.scope(),
                config.metrics_interval(),
            );
            let history = primary_history.for_cluster(&name);
            if let Some(span) = config.sim_history
                && !history.has_samples().await?
            {
                println!(
                    "Recording {} s of simulated history for {name} first (--sim-history)…",
                    span.as_secs()
                );
                cluster::simulated::record_history(history.as_ref(), *profile, seed, span).await?;
            }
            state =
                state.with_member(&name, view.clone(), history, connected.client, connected.config.clone());
            members.push(Member::watching(
                &name,
                &format!("Simulated cluster {i}"),
                view,
                WallClock::default(),
            ));
            simulators.push(connected.simulator);
        }
    }
    if members.len() > 1 {
        tracing::info!(clusters = members.len(), "watching a fleet");
    }
    let state = state.with_fleet(Fleet::new(members));
    state.readiness.wait_for("cluster sync");
    let readiness = state.readiness.clone();
    tokio::spawn(async move {
        view.synced().await;
        readiness.done("cluster sync");
        tracing::info!("cluster synced");
    });
    // Keeps the simulated cluster (if any) serving for as long as Paydeck runs.
    let simulator = connected.simulator;

    tracing::info!(site_root = %root.display(), "serving on http://{addr}");
    println!("Paydeck is serving on http://{addr}");
    let stopping = state.clone();
    let finishing = state.clone();
    if let Some(probe_addr) = config.probe_listen {
        let probes = tokio::net::TcpListener::bind(probe_addr).await.with_context(|| {
            format!("cannot listen on {probe_addr} (--probe-listen / PAYDECK_PROBE_LISTEN)")
        })?;
        tracing::info!("probes on http://{probe_addr}");
        let limits =
            serve::ConnectionLimits { max_connections: 64, ..serve::ConnectionLimits::of(&state.protection) };
        let (router, closed) = (serve::probes(state.readiness.clone()), state.closed.clone());
        tokio::spawn(serve::serve(probes, router, limits, closed, std::future::pending()));
    }
    let limits = serve::ConnectionLimits::of(&state.protection);
    match crate::runtime::raise_open_files_limit() {
        Ok(files) if (files as usize) < limits.max_connections + 256 => tracing::warn!(
            "the open-file limit is {files}: fewer than --max-connections ({}) and the descriptors Paydeck needs besides; connections beyond it will fail",
            limits.max_connections
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot read or raise the open-file limit: {e}"),
    }
    serve::serve(listener, router(state.clone()), limits, state.closed.clone(), async move {
        shutdown_signal().await;
        stopping.begin_shutdown();
    })
    .await;
    finishing.finish().await;
    tracing::info!("stopped");
    // The simulated cluster ends with the process; stopping it earlier would only make the
    // watchers, still running until then, report it unreachable.
    std::mem::forget(simulator);
    std::mem::forget(simulators);
    Ok(())
}

/// Connects to one more cluster of the fleet and opens its history: its watches start now,
/// each on its own tasks, so nothing it does (or fails to do) holds the others up.
async fn watch_member(
    config: &Config,
    entry: &crate::fleet::clusters::ClusterEntry,
) -> anyhow::Result<(Member, cluster::Connected)> {
    let connected =
        cluster::connect(&entry.source()).await.with_context(|| format!("cluster {}", entry.name))?;
    tracing::info!(cluster = %entry.name, "watching {}", connected.description);
    let view = cluster::start(
        connected.client.clone(),
        connected.description.clone(),
        &config.scope(),
        config.metrics_interval(),
    );
    Ok((Member::watching(&entry.name, &entry.display_name, view, WallClock::default()), connected))
}

/// Resolves on Ctrl-C or SIGTERM (what Kubernetes sends before it kills a pod).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down: finishing in-flight requests");
}
