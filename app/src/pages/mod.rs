//! One module per page.

pub mod advisor;
mod audit;
mod calendar;
mod cluster_panel;
pub mod cluster_picker;
mod fleet;
mod lazy;
mod not_found;
mod notifications;
mod overview;
mod plan;
mod planner;
mod service;
pub mod services;
pub mod sizing;

pub use advisor::{AdvisorPage, FindingText, severity_class};
pub use audit::AuditPage;
pub use calendar::{CalendarPage, PlansPage};
pub use cluster_picker::ClusterPicker;
pub use fleet::FleetPage;
pub use lazy::{
    AdvisorRoute, AuditRoute, FleetRoute, NotificationsRoute, PlannerRoute, PlansRoute, ServiceRoute,
};
pub use not_found::NotFoundPage;
pub use notifications::NotificationsPage;
pub use overview::OverviewPage;
pub use plan::PlanPage;
pub use planner::PlannerPage;
pub use service::ServicePage;
pub use services::ServicesPage;
