//! The plans as one cluster's pages ask for them (`domain::ports::PlanSource`): the same
//! calls as the API's, with errors in the words a form shows.

use std::sync::Arc;

use app::dto::Viewer;
use domain::{
    plan::{
        CalendarWindow, Plan, PlanAction, PlanMoveRequest, PlanProposal, PlanRefusal, PlanRequest, PlanView,
    },
    ports::BoxFuture,
};

use super::{PlanError, Plans, view_of};
use crate::edits::Editor;

/// One cluster's plans.
pub struct PlanDesk {
    pub plans: Arc<Plans>,
    pub editor: Arc<Editor>,
    /// The cluster's time (the windows' now).
    pub clock: super::runner::Clock,
}

fn refusal(e: PlanError) -> PlanRefusal {
    match e {
        PlanError::Invalid(errors) => {
            PlanRefusal { message: "nothing was changed: correct the fields marked".into(), errors }
        }
        other => PlanRefusal { message: other.to_string(), errors: vec![] },
    }
}

impl domain::ports::PlanSource for PlanDesk {
    fn plans<'a>(
        &'a self,
        workload: Option<(&'a str, &'a str)>,
    ) -> BoxFuture<'a, Result<Vec<PlanView>, String>> {
        Box::pin(async move {
            let now = (self.clock)();
            let plans = self.plans.list(self.editor.cluster_name()).await.map_err(|e| e.to_string())?;
            Ok(plans
                .into_iter()
                .filter(|p| workload.is_none_or(|(ns, name)| p.namespace == ns && p.name == name))
                .map(|p| view_of(p, now))
                .collect())
        })
    }

    fn plan(&self, id: i64) -> BoxFuture<'_, Result<PlanView, String>> {
        Box::pin(async move {
            let plan = self.plans.get(self.editor.cluster_name(), id).await.map_err(|e| e.to_string())?;
            Ok(view_of(plan, (self.clock)()))
        })
    }

    fn draft<'a>(
        &'a self,
        viewer: &'a Viewer,
        namespace: &'a str,
        name: &'a str,
        request: PlanRequest,
    ) -> BoxFuture<'a, Result<Plan, PlanRefusal>> {
        Box::pin(async move {
            self.plans
                .draft(&self.editor, viewer, namespace, name, request, crate::clock::unix_ms())
                .await
                .map_err(refusal)
        })
    }

    fn act<'a>(
        &'a self,
        viewer: &'a Viewer,
        id: i64,
        action: PlanAction,
        request: PlanMoveRequest,
    ) -> BoxFuture<'a, Result<Plan, PlanRefusal>> {
        Box::pin(async move {
            self.plans
                .act(&self.editor, viewer, id, action, request, crate::clock::unix_ms())
                .await
                .map_err(refusal)
        })
    }

    fn propose<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        time_zone: &'a str,
    ) -> BoxFuture<'a, Result<PlanProposal, PlanRefusal>> {
        Box::pin(async move {
            super::backtest::propose(&self.editor, namespace, name, time_zone, crate::clock::unix_ms())
                .await
                .map_err(refusal)
        })
    }

    fn calendar(&self, days: i64) -> BoxFuture<'_, Result<Vec<CalendarWindow>, String>> {
        Box::pin(async move {
            let now = (self.clock)();
            self.plans.calendar(now, now + days.clamp(1, 31) * 86_400_000).await.map_err(|e| e.to_string())
        })
    }
}
