//! A simulated payment cluster that speaks the Kubernetes API.
//!
//! Not a mock: a small Kubernetes-compatible API server ([`api`], [`store`], [`auth`]) in
//! front of a model of a payment platform ([`topology`], [`traffic`], [`model`]) whose HPA
//! controller follows the documented algorithm ([`hpa`]). Paydeck talks to it with kube-rs
//! over HTTP exactly as it talks to a real cluster; `kubectl` works against it too.
//!
//! The pure parts (HPA arithmetic, traffic shape, quantities) take time as an argument and
//! do no I/O; the HPA arithmetic, quantities and label selectors are the domain's
//! (`app/domain`), shared with the dashboard, which replays history through the same HPA.

pub mod api;
pub mod auth;
pub mod clock;
pub mod cluster;
pub mod defaults;
pub mod faults;
pub mod managed_fields;
pub mod model;
pub mod resources;
pub mod selector;
pub mod server;
pub mod status;
pub mod store;
pub mod tls;
pub mod topology;
pub mod traffic;
pub mod validation;

pub use cluster::{Cluster, Options, Profile};
pub use faults::{Fault, Faults};
pub use server::{RunningServer, kubeconfig};
