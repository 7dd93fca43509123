//! The demand series behind the what-if: what the HPA controller saw and did at each of its
//! syncs over a window, assembled from the metrics readings recorded at the time each was
//! taken (`demand`) and the scales the controller made (`scale_decisions`, at its
//! `lastScaleTime`). The syncs are placed where the controller's own fall (its scales show
//! their phase), so what each one read does not depend on when Paydeck sampled.

use domain::whatif::Series;

/// Bytes in a MiB (memory is recorded in whole MiB).
pub(crate) const MIB: f64 = 1_048_576.0;

/// The HPA controller's sync period (`--horizontal-pod-autoscaler-sync-period`, default).
pub const SYNC_MS: i64 = 15_000;

/// How old a reading may be and still be the one the controller read at a sync:
/// metrics-server takes one every 15 s, so a reading older than three of its periods means
/// the readings stopped reaching Paydeck (Paydeck, the API server or metrics-server was down).
pub(crate) const STALE_MS: i64 = 45_000;

/// One recorded reading, as a store holds it: millicores, MiB and centi-requests per second.
pub(crate) struct Reading {
    pub at_ms: i64,
    pub cpu_m: Option<i64>,
    pub memory_mib: Option<i64>,
    pub rate_c: Option<i64>,
    pub ready: i64,
    pub desired: i64,
}

/// Where in its period the controller syncs: the phase its recorded scales fall on (the
/// median, as their times are whole seconds), else `hint` (its `lastScaleTime` now), else 0.
fn sync_phase(decisions: &[(i64, i64)], hint: Option<i64>) -> i64 {
    let mut phases: Vec<i64> = decisions.iter().map(|(at, _)| at.rem_euclid(SYNC_MS)).collect();
    if phases.is_empty() {
        return hint.map_or(0, |h| h.rem_euclid(SYNC_MS));
    }
    phases.sort_unstable();
    phases[phases.len() / 2]
}

/// A workload's demand at the controller's syncs from `from_ms` to `to_ms`, from its recorded
/// `readings` and the scales the controller made in the window (`decisions`, oldest first;
/// `before`: the last one before it): at each sync, the latest reading taken by then (unless
/// stale: a gap) and the replica count the controller had set by then (its latest scale;
/// before any, the count seen with the reading). `phase_hint_ms`: the HPA's
/// `lastScaleTime`, for the syncs' phase when no scale was recorded. `requests`: each pod's
/// (cores, bytes).
pub(crate) fn at_syncs(
    readings: &[Reading],
    mut decisions: Vec<(i64, i64)>,
    before: Option<(i64, i64)>,
    (from_ms, to_ms): (i64, i64),
    requests: (f64, f64),
    phase_hint_ms: Option<i64>,
) -> Series {
    let phase = sync_phase(&decisions, phase_hint_ms);
    decisions.splice(0..0, before);
    let first = from_ms + (phase - from_ms).rem_euclid(SYNC_MS);
    let steps = if to_ms >= first { ((to_ms - first) / SYNC_MS + 1) as usize } else { 0 };
    let mut series = Series {
        from_ms: first,
        step_ms: SYNC_MS,
        resolution: "metrics readings at the HPA controller's 15 s syncs".into(),
        cpu_request_per_pod: requests.0,
        memory_request_per_pod: requests.1,
        cpu: vec![None; steps],
        memory: vec![None; steps],
        rate: vec![None; steps],
        ready: vec![None; steps],
        desired: vec![None; steps],
    };
    let (mut row, mut scale) = (None::<&Reading>, None::<i64>);
    let (mut rows_at, mut scales_at) = (readings.iter().peekable(), decisions.iter().peekable());
    for i in 0..steps {
        let t = series.at(i);
        while let Some(r) = rows_at.next_if(|r| r.at_ms <= t) {
            row = Some(r);
        }
        while let Some((_, replicas)) = scales_at.next_if(|(at, _)| *at <= t) {
            scale = Some(*replicas);
        }
        let Some(r) = row.filter(|r| t - r.at_ms <= STALE_MS) else { continue };
        series.cpu[i] = r.cpu_m.map(|m| m as f32 / 1000.0);
        series.memory[i] = r.memory_mib.map(|m| (m as f64 * MIB) as f32);
        series.rate[i] = r.rate_c.map(|c| c as f32 / 100.0);
        series.ready[i] = u16::try_from(r.ready).ok();
        series.desired[i] = u16::try_from(scale.unwrap_or(r.desired)).ok();
    }
    series
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_syncs_fall_where_the_controllers_scales_do() {
        assert_eq!(sync_phase(&[], None), 0);
        assert_eq!(sync_phase(&[], Some(1_795_683_604_000)), 4_000);
        let scales = [(999_994_000, 3), (1_000_009_000, 4), (1_000_039_000, 5), (1_000_099_000, 4)];
        assert_eq!(sync_phase(&scales, Some(0)), 4_000, "the scales win over the hint");
    }
}
