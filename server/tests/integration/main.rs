//! The server's integration tests, one module per concern. They are one test crate rather than
//! one per file: every crate links the whole server and compiles the shared helpers again, so
//! seventeen of them took several times as long to build as this one does.
//!
//! Run one module with `cargo test --release -p paydeck --test integration edits::`.

mod support;

mod advisor;
mod audit;
mod audit_stores;
mod chart;
mod client_limits;
mod cluster;
mod conventions;
mod docs;
mod edits;
mod failover;
mod faults;
mod fleet;
mod floods;
mod history;
mod http;
mod identity;
mod in_cluster;
mod limits;
mod manifests;
mod notifications;
mod openapi;
mod owners;
mod pages;
mod plan_faults;
mod plans;
mod postgres;
mod shutdown;
mod sim_history;
mod sizing;
mod stores;
mod upgrade;
mod whatif;
