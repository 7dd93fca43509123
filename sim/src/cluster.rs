//! A running simulated cluster: the store, the model and the clock behind one lock, the
//! background loop that moves it through time, and the HTTP server in front of it.

use std::{
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use crate::{
    clock::{Clock, Millis, wall_now},
    model::Model,
    store::Store,
    topology::Topology,
    traffic::FlashSale,
};

/// Which platform to simulate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// About ten payment services in three namespaces.
    Demo,
    /// 1,000 Deployments and HPAs with 10,000 pods: one cluster of a fleet, for benchmarks.
    Regional,
    /// 2,000 Deployments and HPAs with 20,000 pods, for benchmarks.
    Large,
    /// 10,000 Deployments and HPAs with 100,000 pods on 500 nodes, for fleet-scale benchmarks.
    Huge,
}

impl Profile {
    pub fn topology(self) -> Topology {
        match self {
            Profile::Demo => Topology::demo(),
            Profile::Regional => Topology::regional(),
            Profile::Large => Topology::large(),
            Profile::Huge => Topology::huge(),
        }
    }
}

/// How to start a cluster.
#[derive(Clone, Debug)]
pub struct Options {
    pub profile: Profile,
    pub seed: u64,
    /// Simulated seconds per real second; `None` for a clock only tests move.
    pub speed: Option<f64>,
    /// Simulated time at start (Unix ms); the wall clock when `None`.
    pub start: Option<Millis>,
    pub sale: FlashSale,
    /// Changes kept per type for watches to resume from.
    pub watch_history: usize,
    /// Whether a cluster autoscaler adds nodes (up to the profile's maximum) when pods
    /// cannot be scheduled.
    pub cluster_autoscaler: bool,
    /// Simulated milliseconds per step of the model (1,000). A generated past may step
    /// coarser: demand is a function of time, and the controllers keep their own periods.
    pub step_ms: Millis,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            profile: Profile::Demo,
            seed: 1,
            speed: Some(1.0),
            start: None,
            sale: FlashSale::default(),
            watch_history: 10_000,
            cluster_autoscaler: true,
            step_ms: 1000,
        }
    }
}

/// Everything the simulated cluster is.
pub struct World {
    pub store: Store,
    pub model: Model,
    pub clock: Clock,
}

impl World {
    /// Brings the model up to the clock.
    pub fn catch_up(&mut self) {
        let now = self.clock.now();
        self.model.advance_to(&mut self.store, now);
    }
}

/// A handle on a simulated cluster; cheap to clone.
#[derive(Clone)]
pub struct Cluster {
    world: Arc<Mutex<World>>,
    /// Milliseconds every write waits, after it is applied, before it is answered.
    write_delay_ms: Arc<AtomicU64>,
    /// Whether watches may stream the initial list (`sendInitialEvents`), as API servers with
    /// the WatchList feature do.
    streaming_lists: Arc<AtomicBool>,
    /// Streamed lists served, for tests of the clients that ask for them.
    lists_streamed: Arc<AtomicU64>,
    faults: crate::faults::Faults,
    /// Whether this cluster's RBAC is restricted (see [`crate::auth::Rbac`]).
    restricted: Arc<AtomicBool>,
}

impl Cluster {
    pub fn new(options: &Options) -> Self {
        let start = options.start.unwrap_or_else(wall_now);
        let clock = match options.speed {
            Some(speed) => Clock::real(start, speed),
            None => Clock::manual(start),
        };
        let mut store = Store::new(options.watch_history);
        let mut model =
            Model::install(&options.profile.topology(), &mut store, options.seed, options.sale, start);
        model.set_step(options.step_ms);
        model.set_cluster_autoscaler(options.cluster_autoscaler);
        Cluster {
            world: Arc::new(Mutex::new(World { store, model, clock })),
            write_delay_ms: Arc::default(),
            streaming_lists: Arc::new(AtomicBool::new(true)),
            lists_streamed: Arc::default(),
            faults: crate::faults::Faults::default(),
            restricted: Arc::default(),
        }
    }

    /// Fault injection: every write (create, update, patch, delete) is applied at once but
    /// answered only after `delay`, as from an API server under load. Tests use it to cut a
    /// client off between a change and its answer.
    pub fn set_write_delay(&self, delay: Duration) {
        self.write_delay_ms.store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    /// The HPAGeneration feature gate of Kubernetes 1.37 (off by default, and absent before):
    /// on, HPAs get a `metadata.generation` that counts their spec changes; off, they have
    /// none, as on every released cluster up to 1.36.
    pub fn set_hpa_generation(&self, on: bool) {
        self.lock().store.set_hpa_generation(on);
    }

    /// Fault injection: the switch for errors, hangs, stalled watches and a missing metrics
    /// API (see [`crate::faults`]).
    pub fn faults(&self) -> &crate::faults::Faults {
        &self.faults
    }

    /// The RBAC requests are authorised by from now on.
    pub fn set_rbac(&self, rbac: crate::auth::Rbac) {
        self.restricted.store(rbac == crate::auth::Rbac::Restricted, Ordering::SeqCst);
    }

    pub fn rbac(&self) -> crate::auth::Rbac {
        if self.restricted.load(Ordering::SeqCst) {
            crate::auth::Rbac::Restricted
        } else {
            crate::auth::Rbac::Standard
        }
    }

    /// Whether watches may stream the initial list. Off, a watch asking for it is refused with
    /// `422 Invalid`, as by an API server without the WatchList feature.
    pub fn set_streaming_lists(&self, on: bool) {
        self.streaming_lists.store(on, Ordering::Relaxed);
    }

    pub fn streaming_lists(&self) -> bool {
        self.streaming_lists.load(Ordering::Relaxed)
    }

    /// How many watches have streamed their initial list so far.
    pub fn lists_streamed(&self) -> u64 {
        self.lists_streamed.load(Ordering::Relaxed)
    }

    pub(crate) fn count_streamed_list(&self) {
        self.lists_streamed.fetch_add(1, Ordering::Relaxed);
    }

    /// How long writes wait before they are answered.
    pub fn write_delay(&self) -> Duration {
        Duration::from_millis(self.write_delay_ms.load(Ordering::Relaxed))
    }

    /// Exclusive access to the world (held briefly; never across an await).
    pub fn lock(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves a manual clock forward by `by`, running every controller on the way.
    pub fn advance(&self, by: Duration) {
        let mut world = self.lock();
        world.clock.advance(by.as_millis() as Millis);
        world.catch_up();
    }

    /// Steps the cluster's clock by `by_ms` (negative: back), as a corrected clock steps;
    /// the model goes on from the new time. A step forward is caught up at the next tick.
    pub fn step_clock(&self, by_ms: i64) {
        let mut world = self.lock();
        world.clock.step(by_ms);
        let now = world.clock.now();
        world.model.clock_stepped_to(now);
    }

    /// Simulated time now.
    pub fn now(&self) -> Millis {
        self.lock().clock.now()
    }

    /// Keeps a real-time cluster moving: steps the model as the clock runs.
    pub fn spawn_ticker(&self) -> tokio::task::JoinHandle<()> {
        let cluster = self.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_millis(250));
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                interval.tick().await;
                let c = cluster.clone();
                // Stepping thousands of pods is CPU work: keep it off the async workers.
                let started = std::time::Instant::now();
                let _ = tokio::task::spawn_blocking(move || c.lock().catch_up()).await;
                // At fleet scale a step holds the world for most of a tick; leave the API
                // server at least as long with it, or requests queue behind the lock.
                tokio::time::sleep(started.elapsed()).await;
            }
        })
    }
}
