//! Load: each service's share of the traffic, and what it costs each pod in CPU and memory.

use std::collections::HashMap;

use super::*;
use crate::{clock::Millis, store::Key};

impl Model {
    pub(super) fn compute_usage(&mut self, now: Millis) {
        let mut usage = HashMap::with_capacity(self.pods.len());
        let secs = now as f64 / 1000.0;
        for (dk, view) in &self.deployments {
            let pods: Vec<(Key, &PodSim)> = self.pods_of(dk).collect();
            let ready = pods.iter().filter(|(_, p)| p.ready_since.is_some()).count();
            let spec = self.services.get(dk);
            let stream = self.streams.get(dk).copied().unwrap_or(0);
            let rate = spec.map_or(0.0, |s| traffic::rate(s.peak_rps, secs, self.seed, stream, &self.sale));
            let per_pod = if ready == 0 { 0.0 } else { rate / ready as f64 };
            for (k, p) in pods {
                if p.running_since.is_none() {
                    continue;
                }
                let serving = p.ready_since.is_some();
                let rps = if serving { per_pod } else { 0.0 };
                let wobble = 1.0 + traffic::noise(self.seed, stream * 7919 + hash_str(&k.1), secs, 0.04);
                let (idle, cost, base_mib, per_rps_mib) = spec.map_or((5.0, 0.0, 32.0, 0.0), |s| {
                    (s.idle_cpu_m, s.cpu_per_request_m, s.base_memory_mib, s.memory_per_rps_mib)
                });
                let mut cpu_m = (idle + cost * rps) * wobble;
                if let Some(limit) = view.cpu_limit_m {
                    cpu_m = cpu_m.min(limit as f64);
                }
                let memory_mib = (base_mib + per_rps_mib * rps) * (1.0 + (wobble - 1.0) * 0.25);
                usage.insert(
                    k,
                    Usage {
                        cpu_cores: cpu_m / 1000.0,
                        memory_bytes: memory_mib * 1_048_576.0,
                        requests_per_sec: rps,
                    },
                );
            }
        }
        self.usage = usage;
    }
}
