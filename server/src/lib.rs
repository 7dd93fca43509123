//! The Paydeck server: configuration, HTTP serving and (as the product grows) cluster
//! watching, history and scaling edits. `main.rs` only wires these modules together.

pub mod advisor;
pub mod assembly;
pub mod audit;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod edits;
pub mod fleet;
pub mod history;
pub mod http;
pub mod identity;
pub mod leader;
pub mod limiter;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod notify;
pub mod plans;
pub mod runtime;
pub mod site;
pub mod store;
pub mod whatif;
