//! Paydeck's domain: the pure core the server, the browser and the simulator share.
//!
//! No UI, no Kubernetes client, no I/O: quantities, label selectors, the HPA spec and its
//! arithmetic, the workload figures (the data types exchanged) and the findings drawn from
//! them, the governance rules and their catalogue, right-sizing and the peak capacity planner,
//! the workloads list's sorting and paging, the live feed's message, the rules a scaling
//! change must pass, and the ports the server implements for the pages. Everything here
//! compiles for the server and for WebAssembly.

pub mod dto;
pub mod findings;
pub mod fleet;
pub mod hpa;
pub mod live;
pub mod notifications;
pub mod owners;
pub mod plan;
pub mod planner;
#[cfg(feature = "plans")]
pub mod plans;
pub mod ports;
pub mod quantity;
pub mod query;
pub mod rules;
pub mod scaling;
pub mod selector;
pub mod sizing;
pub mod stats;
pub mod strict;
pub mod whatif;
