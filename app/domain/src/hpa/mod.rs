//! The HorizontalPodAutoscaler's arithmetic, as the Kubernetes controller does it, and its
//! spec as Kubernetes writes it ([`spec`]).
//!
//! Pure code: no I/O, time passed in as milliseconds. The simulator runs it against its pods,
//! and the dashboard can replay recorded history through a proposed configuration with it.
//!
//! Two stages, as in `kube-controller-manager`:
//! 1. [`replicas_for_utilization`]: from pod metrics to a raw recommendation
//!    (`desired = ⌈ready × utilisation / target⌉`, tolerance, missing and not-ready pods).
//! 2. [`Autoscaler::normalize`]: clamp to min/max, stabilisation windows and rate policies
//!    (`behavior`). An HPA without `behavior` gets the documented defaults.

mod behavior;
mod metrics;
mod normalize;
pub mod spec;

pub use behavior::{Behavior, Policy, PolicyKind, ScalingRules, SelectPolicy};
pub use metrics::{
    DEFAULT_TOLERANCE, MetricError, MetricRecommendation, PodReadiness, PodSample, replicas_for_utilization,
};
pub use normalize::{Autoscaler, Decision, Limit, clamp_out_of_range};

#[cfg(test)]
mod tests;
