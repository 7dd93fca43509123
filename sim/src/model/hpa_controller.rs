//! The HPA controller: every 15 s, metrics to a recommendation to a replica count, as
//! `kube-controller-manager` does it (the arithmetic is the domain's).

use domain::hpa::{self, Autoscaler, PodReadiness, PodSample, spec::BehaviorSpec};
use serde_json::{Value, json};

use super::*;
use crate::{
    clock::{Millis, rfc3339},
    resources::{DEPLOYMENTS, HPAS},
    store::{Key, Store},
};

impl Model {
    pub(super) fn run_hpa_controller(&mut self, store: &mut Store, now: Millis) {
        // Handles, not copies: an HPA is copied only when its status is written.
        let hpas: Vec<(Key, crate::store::Object)> =
            store.list(&HPAS, None, None).map(|(k, v)| (k.clone(), v.clone())).collect();
        for (hk, hpa_obj) in hpas {
            self.sync_hpa(store, now, &hk, &hpa_obj);
        }
    }

    pub(super) fn sync_hpa(&mut self, store: &mut Store, now: Millis, hk: &Key, hpa_obj: &Value) {
        let spec = &hpa_obj["spec"];
        let target = spec["scaleTargetRef"]["name"].as_str().unwrap_or_default().to_string();
        let min = spec["minReplicas"].as_i64().unwrap_or(1) as i32;
        let max = spec["maxReplicas"].as_i64().unwrap_or(1) as i32;
        let behavior = BehaviorSpec::resolve_optional(BehaviorSpec::from_json(&spec["behavior"]).as_ref());
        let dk = key(&hk.0, &target);
        let Some(view) = self.deployments.get(&dk).cloned() else {
            let mut hpa_obj = hpa_obj.clone();
            hpa_obj["status"]["conditions"] = json!([condition(
                "AbleToScale",
                false,
                "FailedGetScale",
                &format!(
                    "the HPA controller was unable to get the target's current scale: deployments/scale.apps \"{target}\" not found"
                ),
                now
            )]);
            let _ = store.replace(&HPAS, hpa_obj, None);
            return;
        };
        let current = view.replicas;
        let mut conditions = Vec::new();
        let mut current_metrics = Vec::new();
        let mut utilisation_by_metric = Vec::new();

        let desired = if current == 0 && min != 0 {
            conditions.push(condition(
                "ScalingActive",
                false,
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
                now,
            ));
            0
        } else if let Some(clamped) = hpa::clamp_out_of_range(current, min, max) {
            conditions.push(condition(
                "ScalingActive",
                true,
                "ValidMetricFound",
                "the HPA was able to successfully calculate a replica count",
                now,
            ));
            clamped
        } else {
            let mut best: Option<i32> = None;
            let mut failure = None;
            for metric in spec["metrics"].as_array().into_iter().flatten() {
                let resource = metric["resource"]["name"].as_str().unwrap_or("cpu");
                let Some(target_pct) = metric["resource"]["target"]["averageUtilization"].as_i64() else {
                    continue;
                };
                // What the metrics API serves (metrics-server's last scrape), read as the
                // controller's metrics client reads it: each container's figure in whole
                // units, rounded up, summed per pod.
                let containers = view.template["spec"]["containers"].as_array().map_or(1, Vec::len).max(1);
                let samples: Vec<PodSample> = self
                    .pods_of(&dk)
                    .map(|(k, p)| {
                        let readiness = match (p.running_since, p.ready_since) {
                            (None, _) => PodReadiness::Pending,
                            (Some(_), None) => PodReadiness::Unready,
                            (Some(_), Some(_)) => PodReadiness::Ready,
                        };
                        let each = containers as f64;
                        let usage = self.metrics.reading(&k).map(|r| {
                            let per_container = if resource == "memory" {
                                domain::quantity::memory_bytes_as_read(r.memory_bytes / each)
                            } else {
                                domain::quantity::cpu_millis_as_read(r.cpu_cores / each)
                            };
                            per_container * containers as i64
                        });
                        let request = if resource == "memory" { p.memory_request } else { p.cpu_request_m };
                        PodSample { readiness, usage, request }
                    })
                    .collect();
                match hpa::replicas_for_utilization(
                    current,
                    &samples,
                    target_pct as i32,
                    hpa::DEFAULT_TOLERANCE,
                ) {
                    Ok(rec) => {
                        best = Some(best.map_or(rec.replicas, |b| b.max(rec.replicas)));
                        utilisation_by_metric.push((resource.to_string(), rec.utilization_percent));
                        let measured: Vec<i64> = samples.iter().filter_map(|s| s.usage).collect();
                        let average = measured.iter().sum::<i64>() / measured.len().max(1) as i64;
                        let average_value = if resource == "memory" {
                            domain::quantity::format_memory_ki(average as f64)
                        } else {
                            format!("{average}m")
                        };
                        current_metrics.push(json!({ "type": "Resource", "resource": { "name": resource,
                            "current": { "averageUtilization": rec.utilization_percent, "averageValue": average_value } } }));
                    }
                    Err(e) => failure = Some(e),
                }
            }
            match (best, failure) {
                (Some(b), _) => {
                    conditions.push(condition("ScalingActive", true, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)", now));
                    let decision = self
                        .autoscalers
                        .entry(hk.clone())
                        .or_insert_with(|| Autoscaler::new(now, current))
                        .normalize(now, current, b, min, max, &behavior);
                    let able = if decision.stabilized != b {
                        condition(
                            "AbleToScale",
                            true,
                            if decision.stabilized < b { "ScaleUpStabilized" } else { "ScaleDownStabilized" },
                            "recent recommendations were higher than current one, applying the highest recent recommendation",
                            now,
                        )
                    } else {
                        condition(
                            "AbleToScale",
                            true,
                            "ReadyForNewScale",
                            "recommended size matches current size",
                            now,
                        )
                    };
                    conditions.insert(0, able);
                    conditions.push(condition(
                        "ScalingLimited",
                        decision.replicas != decision.stabilized,
                        decision.limit.reason(),
                        decision.limit.message(),
                        now,
                    ));
                    decision.replicas
                }
                (None, Some(e)) => {
                    conditions.push(condition(
                        "ScalingActive",
                        false,
                        "FailedGetResourceMetric",
                        &e.to_string(),
                        now,
                    ));
                    current
                }
                (None, None) => current,
            }
        };

        let previous_status = &hpa_obj["status"];
        let mut status = json!({
            "currentReplicas": current,
            "desiredReplicas": desired,
            "currentMetrics": current_metrics,
            "conditions": keep_transition_times(conditions, &previous_status["conditions"]),
        });
        if let Some(t) = previous_status.get("lastScaleTime") {
            status["lastScaleTime"] = t.clone();
        }
        if desired != current && !(current == 0 && min != 0) {
            self.scale_deployment(store, &dk, desired);
            self.autoscalers
                .entry(hk.clone())
                .or_insert_with(|| Autoscaler::new(now, current))
                .record_scale(now, current, desired, &behavior);
            status["lastScaleTime"] = json!(rfc3339(now));
            let reason = utilisation_by_metric
                .iter()
                .map(|(r, u)| {
                    format!(
                        "{r} resource utilization (percentage of request) {}",
                        if desired > current {
                            format!("above target ({u}%)")
                        } else {
                            format!("below target ({u}%)")
                        }
                    )
                })
                .next()
                .unwrap_or_else(|| "Current number of replicas out of range".to_string());
            self.event(
                store,
                now,
                &hk.0,
                ("HorizontalPodAutoscaler", &hk.1),
                "Normal",
                "SuccessfulRescale",
                &format!("New size: {desired}; reason: {reason}"),
                "horizontal-pod-autoscaler",
            );
        }
        if let Some(stored) = store.get(&HPAS, &hk.0, &hk.1)
            && stored["status"] != status
        {
            let mut next = hpa_obj.clone();
            next["status"] = status;
            let _ = store.replace(&HPAS, next, None);
        }
    }

    pub(super) fn scale_deployment(&mut self, store: &mut Store, dk: &Key, replicas: i32) {
        let Some(current) = store.get(&DEPLOYMENTS, &dk.0, &dk.1) else { return };
        let mut next = (*current).clone();
        next["spec"]["replicas"] = json!(replicas);
        let _ = store.replace(&DEPLOYMENTS, next, None);
    }
}
