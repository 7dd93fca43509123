//! History: what is recorded of each workload over time — its figures at every sampling
//! moment, its metrics readings and scale decisions (what the what-if replays), its events —
//! and how a range of it is asked for. Written by the [`sampler`] into the store
//! ([`crate::store`]), read back through it ([`query`]).

pub mod demand;
pub mod events;
pub mod observed;
pub mod query;
pub mod range;
pub mod sampler;
mod steps;

/// The SQLite store, by the name history had before it had several stores.
pub use crate::store::sqlite::History;
pub use steps::{Decision, Figures, PastEvent, ReadingRow, Steps};

use std::time::Duration;

/// The rollup resolutions, finest first.
pub const FIVE_MINUTES: i64 = 300_000;
pub const ONE_HOUR: i64 = 3_600_000;

/// How long each kind of data is kept.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub raw: Duration,
    pub five_minutes: Duration,
    pub hourly: Duration,
    /// The demand series the what-if replays (full resolution, narrow rows).
    pub demand: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            raw: Duration::from_secs(48 * 3600),
            five_minutes: Duration::from_secs(7 * 86_400),
            hourly: Duration::from_secs(400 * 86_400),
            demand: Duration::from_secs(14 * 86_400),
        }
    }
}

/// The cluster name of a single-cluster install that names none.
pub const DEFAULT_CLUSTER: &str = "default";

/// The longest cluster name kept, in characters (a DNS name's length).
pub const MAX_CLUSTER_NAME: usize = 253;

/// A cluster name as rows are keyed by: 1 to [`MAX_CLUSTER_NAME`] characters, none of them
/// a control character or a space. Kubeconfig context names (`arn:aws:eks:…/prod`,
/// `gke_project_zone_name`) are names.
pub fn check_cluster_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_CLUSTER_NAME {
        return Err(format!("a cluster name has 1 to {MAX_CLUSTER_NAME} characters, got {chars}"));
    }
    if let Some(c) = name.chars().find(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!("a cluster name has no spaces or control characters, got {c:?} in {name:?}"));
    }
    Ok(())
}
