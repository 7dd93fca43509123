//! How a window went, measured on what was recorded in it (not replayed): the minutes the
//! traffic asked more CPU than the ready pods request, and the replica-hours spent — for the
//! window with the plan and the same window a week before.

use crate::{plan::Measured, whatif::Series};

/// `series` measured step by step.
pub fn measure(series: &Series) -> Measured {
    let mut m = Measured::default();
    let step_minutes = series.step_ms as f64 / 60_000.0;
    for i in 0..series.len() {
        let (Some(cpu), Some(ready)) = (series.cpu[i], series.ready[i]) else { continue };
        m.recorded_minutes += step_minutes;
        m.replica_hours += f64::from(ready) * step_minutes / 60.0;
        if f64::from(cpu) > f64::from(ready) * series.cpu_request_per_pod {
            m.overloaded_minutes += step_minutes;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_measured_on_what_was_recorded() {
        // An hour of 15-s steps: 3 pods of 1 core; 4 cores asked for the first 10 minutes.
        let steps = 240;
        let series = Series {
            from_ms: 0,
            step_ms: 15_000,
            resolution: "15 s samples".into(),
            cpu_request_per_pod: 1.0,
            memory_request_per_pod: 1.0,
            cpu: (0..steps).map(|i| Some(if i < 40 { 4.0 } else { 2.0 })).collect(),
            memory: vec![None; steps],
            rate: vec![None; steps],
            ready: (0..steps).map(|i| if i % 60 == 59 { None } else { Some(3) }).collect(),
            desired: vec![Some(3); steps],
        };
        let m = measure(&series);
        assert_eq!(m.overloaded_minutes, 10.0);
        // Four steps were not recorded: 59 minutes of 3 replicas.
        assert_eq!(m.recorded_minutes, 59.0);
        assert!((m.replica_hours - 2.95).abs() < 1e-9, "{m:?}");
    }
}
