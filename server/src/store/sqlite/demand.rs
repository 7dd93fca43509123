//! Reading demand back from SQLite: the readings and scales of a window, assembled at the
//! controller's syncs by [`crate::history::demand`].

use crate::store::decode;
use domain::whatif::Series;

use super::History;
use crate::history::demand::{self, Reading, STALE_MS};

impl History {
    /// `namespace/name`'s demand at the controller's syncs from `from_ms` to `to_ms`: at each,
    /// the latest reading taken by then (unless stale: a gap) and the replica count the
    /// controller had set by then (its latest recorded scale; before any, the count seen with
    /// the reading). `phase_hint_ms`: the HPA's `lastScaleTime`, for the syncs' phase when no
    /// scale was recorded. `requests`: each pod's (cores, bytes). `None` when nothing was
    /// ever recorded for the workload.
    pub async fn demand(
        &self,
        namespace: &str,
        name: &str,
        (from_ms, to_ms): (i64, i64),
        requests: (f64, f64),
        phase_hint_ms: Option<i64>,
    ) -> sqlx::Result<Option<Series>> {
        let Some(id) = self.find_workload(namespace, name).await? else { return Ok(None) };
        let rows: Vec<Reading> = sqlx::query(
            "SELECT at_s, cpu_m, memory_mib, rate_c, ready, desired FROM demand \
             WHERE workload_id = ? AND at_s >= ? AND at_s < ? ORDER BY at_s",
        )
        .bind(id)
        .bind((from_ms - STALE_MS).div_euclid(1000))
        .bind(to_ms.div_euclid(1000) + 1)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(decode::reading)
        .collect();
        let scales = |sql: &'static str| {
            sqlx::query(sql).bind(id).bind(from_ms.div_euclid(1000)).bind(to_ms.div_euclid(1000) + 1)
        };
        let decisions: Vec<(i64, i64)> = scales(
            "SELECT at_s, replicas FROM scale_decisions WHERE workload_id = ? AND at_s >= ? AND at_s < ? ORDER BY at_s",
        )
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(decode::decision)
        .collect();
        // The count the window starts with: the last scale before it.
        let before: Option<(i64, i64)> = sqlx::query(
            "SELECT at_s, replicas FROM scale_decisions WHERE workload_id = ? AND at_s < ? ORDER BY at_s DESC LIMIT 1",
        )
        .bind(id)
        .bind(from_ms.div_euclid(1000))
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(decode::decision);
        Ok(Some(demand::at_syncs(&rows, decisions, before, (from_ms, to_ms), requests, phase_hint_ms)))
    }
}
