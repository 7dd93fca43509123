//! The demand series behind the what-if: every sample's CPU, memory, request rate and
//! replicas in a narrow row (written beside the sample), kept (default) 14 days, read back
//! as fixed steps.

use domain::whatif::Series;
use sqlx::Row;

use super::History;

pub(super) const MIB: f64 = 1_048_576.0;

impl History {
    /// `namespace/name`'s demand from `from_ms` for `steps` steps of `step_ms` (each step takes
    /// the sample recorded in it; none: a gap), with the pods' requests as given. `None` when
    /// nothing was ever recorded for the workload.
    pub async fn demand(
        &self,
        namespace: &str,
        name: &str,
        from_ms: i64,
        steps: usize,
        step_ms: i64,
        requests: (f64, f64),
    ) -> sqlx::Result<Option<Series>> {
        let Some(id) = self.find_workload(namespace, name).await? else { return Ok(None) };
        let to_ms = from_ms + steps as i64 * step_ms;
        let rows = sqlx::query(
            "SELECT at_s, cpu_m, memory_mib, rate_c, ready, desired FROM demand \
             WHERE workload_id = ? AND at_s >= ? AND at_s < ? ORDER BY at_s",
        )
        .bind(id)
        .bind(from_ms.div_euclid(1000))
        .bind(to_ms.div_euclid(1000))
        .fetch_all(self.pool())
        .await?;
        let mut series = Series {
            from_ms,
            step_ms,
            resolution: format!("{} s samples", step_ms / 1000),
            cpu_request_per_pod: requests.0,
            memory_request_per_pod: requests.1,
            cpu: vec![None; steps],
            memory: vec![None; steps],
            rate: vec![None; steps],
            ready: vec![None; steps],
            desired: vec![None; steps],
        };
        for r in &rows {
            let at_ms = r.get::<i64, _>(0) * 1000;
            let slot = (at_ms - from_ms).div_euclid(step_ms);
            let Ok(i) = usize::try_from(slot) else { continue };
            if i >= steps {
                continue;
            }
            series.cpu[i] = r.get::<Option<i64>, _>(1).map(|m| m as f32 / 1000.0);
            series.memory[i] = r.get::<Option<i64>, _>(2).map(|m| (m as f64 * MIB) as f32);
            series.rate[i] = r.get::<Option<i64>, _>(3).map(|c| c as f32 / 100.0);
            series.ready[i] = u16::try_from(r.get::<i64, _>(4)).ok();
            series.desired[i] = u16::try_from(r.get::<i64, _>(5)).ok();
        }
        Ok(Some(series))
    }
}
