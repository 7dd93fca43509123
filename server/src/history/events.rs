//! The events a change of a workload makes (a scale, a rollout, an HPA change), marked on
//! its charts: found by comparing two observations of it, live or in a generated past.

use app::dto::Workload;

/// What changed between two observations of a workload, as event `(kind, message)`s.
pub fn changes(before: &Workload, after: &Workload) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if before.generation != after.generation && before.replicas.desired == after.replicas.desired {
        out.push((
            "rollout",
            format!("Deployment spec changed (generation {} → {})", before.generation, after.generation),
        ));
    }
    if before.replicas.desired != after.replicas.desired {
        let by = match &after.autoscaler {
            Some(a) if a.desired_replicas == after.replicas.desired => format!(" by HPA {}", a.name),
            _ => String::new(),
        };
        out.push(("scale", format!("replicas {} → {}{by}", before.replicas.desired, after.replicas.desired)));
    }
    match (&before.autoscaler, &after.autoscaler) {
        (Some(a), Some(b)) => {
            let mut parts = Vec::new();
            if a.min_replicas != b.min_replicas {
                parts.push(format!("min {} → {}", a.min_replicas, b.min_replicas));
            }
            if a.max_replicas != b.max_replicas {
                parts.push(format!("max {} → {}", a.max_replicas, b.max_replicas));
            }
            if a.cpu_target_percent != b.cpu_target_percent {
                let show = |t: Option<i32>| t.map_or("none".to_string(), |t| format!("{t} %"));
                parts.push(format!(
                    "CPU target {} → {}",
                    show(a.cpu_target_percent),
                    show(b.cpu_target_percent)
                ));
            }
            if a.behavior != b.behavior {
                parts.push("behavior changed".to_string());
            }
            if !parts.is_empty() {
                out.push(("hpa", format!("HPA {}: {}", b.name, parts.join(", "))));
            }
        }
        (None, Some(b)) => out
            .push(("hpa", format!("HPA {} added ({}–{} replicas)", b.name, b.min_replicas, b.max_replicas))),
        (Some(a), None) => out.push(("hpa", format!("HPA {} removed", a.name))),
        (None, None) => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::dto::{Autoscaler, Replicas};

    fn workload(replicas: i32, hpa: Option<(i32, i32)>) -> Workload {
        Workload {
            replicas: Replicas { desired: replicas, ..Default::default() },
            autoscaler: hpa.map(|(min, max)| Autoscaler {
                name: "w".into(),
                min_replicas: min,
                max_replicas: max,
                desired_replicas: replicas,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_spec_change_without_a_scale_is_a_rollout() {
        let before = Workload { generation: 4, ..workload(3, None) };
        let after = Workload { generation: 5, ..workload(3, None) };
        assert_eq!(
            changes(&before, &after),
            vec![("rollout", "Deployment spec changed (generation 4 → 5)".to_string())]
        );
        let scaled = Workload { generation: 5, ..workload(4, None) };
        assert_eq!(changes(&before, &scaled)[0].0, "scale", "a scale bumps the generation but is no rollout");
    }

    #[test]
    fn scale_and_hpa_changes_become_events() {
        let c = changes(&workload(3, Some((2, 10))), &workload(5, Some((2, 12))));
        assert_eq!(
            c,
            vec![("scale", "replicas 3 → 5 by HPA w".to_string()), ("hpa", "HPA w: max 10 → 12".to_string())]
        );
        assert!(changes(&workload(3, None), &workload(3, None)).is_empty());
        assert_eq!(
            changes(&workload(3, None), &workload(3, Some((1, 4))))[0].1,
            "HPA w added (1–4 replicas)"
        );
    }
}
