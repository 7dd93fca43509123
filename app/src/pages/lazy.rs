//! Pages compiled into WebAssembly chunks of their own: the service page (charts, the edit
//! panel and its what-if) and the pages most visits never open.
//!
//! Built with `cargo leptos build --split`, the code reachable only from a `view` below (the
//! page, its server-function calls, the result types it reads) leaves the first download and is
//! fetched when the page is first shown: on a click in the browser, or while hydrating when the
//! page itself was the one loaded. On the server they render like any other page.
//!
//! `data` is empty: each page starts its own requests, which it keys by its URL.

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use super::{AdvisorPage, AuditPage, FleetPage, NotificationsPage, PlannerPage, PlansPage, ServicePage};

/// `/services/:namespace/:name`: one service's figures, charts, edit panel and what-if.
pub struct ServiceRoute;

#[lazy_route]
impl LazyRoute for ServiceRoute {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let ServiceRoute = this;
        view! { <ServicePage /> }.into_any()
    }
}

/// `/advisor`: the governance findings and right-sizing.
pub struct AdvisorRoute;

#[lazy_route]
impl LazyRoute for AdvisorRoute {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let AdvisorRoute = this;
        view! { <AdvisorPage /> }.into_any()
    }
}

/// `/planner`: the peak capacity planner.
pub struct PlannerRoute;

#[lazy_route]
impl LazyRoute for PlannerRoute {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let PlannerRoute = this;
        view! { <PlannerPage /> }.into_any()
    }
}

/// `/audit`: the audit log.
pub struct AuditRoute;

#[lazy_route]
impl LazyRoute for AuditRoute {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let AuditRoute = this;
        view! { <AuditPage /> }.into_any()
    }
}

/// `/fleet`: every cluster side by side.
pub struct FleetRoute;

#[lazy_route]
impl LazyRoute for FleetRoute {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let FleetRoute = this;
        view! { <FleetPage /> }.into_any()
    }
}

/// `/plans` and `/plans/:id`: the fleet's plan windows over the coming week, or one plan with
/// its backtest, decisions and history. One route (an optional segment): every route adds its
/// share of the router's matching code to the entry module.
pub struct PlansRoute;

#[lazy_route]
impl LazyRoute for PlansRoute {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let PlansRoute = this;
        view! { <PlansPage /> }.into_any()
    }
}

/// `/settings/notifications`: the sinks and their deliveries.
pub struct NotificationsRoute;

#[lazy_route]
impl LazyRoute for NotificationsRoute {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let NotificationsRoute = this;
        view! { <NotificationsPage /> }.into_any()
    }
}
