use super::*;
use crate::{
    dto::{Autoscaler, ContainerResources, Replicas, Workload},
    whatif::Series,
};

const MIB_F: f64 = 1024.0 * 1024.0;
const STEP_MS: i64 = 60_000;

/// A workload with one container requesting `cpu` cores and `memory_mib`.
fn workload(replicas: i32, cpu: f64, memory_mib: f64, hpa: Option<(i32, i32, i32)>) -> Workload {
    Workload {
        namespace: "pay".into(),
        name: "svc".into(),
        replicas: Replicas { desired: replicas, ready: replicas, updated: replicas, available: replicas },
        containers: vec![ContainerResources {
            name: "svc".into(),
            cpu_request: Some(cpu),
            cpu_limit: Some(cpu * 2.0),
            memory_request: Some(memory_mib * MIB_F),
            memory_limit: Some(memory_mib * MIB_F * 2.0),
            readiness_probe: true,
        }],
        autoscaler: hpa.map(|(min, max, target)| Autoscaler {
            min_replicas: min,
            max_replicas: max,
            cpu_target_percent: Some(target),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `hours` of one-minute steps; `at(hour)` gives (total CPU, total memory MiB, rate, pods).
fn recorded(w: &Workload, hours: f64, at: impl Fn(f64) -> (f64, f64, f64, u16)) -> Series {
    let n = (hours * 60.0) as usize;
    let mut s = Series {
        from_ms: 0,
        step_ms: STEP_MS,
        resolution: "1 min".into(),
        cpu_request_per_pod: w.containers[0].cpu_request.unwrap(),
        memory_request_per_pod: w.containers[0].memory_request.unwrap(),
        ..Series::default()
    };
    for i in 0..n {
        let (cpu, mem, rate, pods) = at(i as f64 / 60.0);
        s.cpu.push(Some(cpu as f32));
        s.memory.push(Some((mem * MIB_F) as f32));
        s.rate.push(Some(rate as f32));
        s.ready.push(Some(pods));
        s.desired.push(Some(pods));
    }
    s
}

fn kinds(s: &Sizing) -> Vec<SizingKind> {
    s.recommendations.iter().map(|r| r.kind).collect()
}

fn find(s: &Sizing, kind: SizingKind) -> &Recommendation {
    s.recommendations.iter().find(|r| r.kind == kind).unwrap_or_else(|| panic!("no {kind}: {s:#?}"))
}

#[test]
fn too_little_data_recommends_nothing_and_says_why() {
    let w = workload(3, 2.0, 512.0, None);
    let s = recommend(
        &w,
        &recorded(&w, 12.0, |_| (0.3, 600.0, 100.0, 3)),
        &SizingOptions::default(),
        &Room::default(),
    );
    assert_eq!(s.recommendations, []);
    assert!(s.withheld.as_deref().unwrap().contains("only 12 h recorded"), "{s:?}");
    assert_eq!(s.confidence, None);
}

#[test]
fn a_flat_load_far_below_its_requests_gets_lower_requests_with_savings() {
    // Three pods request 2 cores and 512 MiB each and use 0.1 cores and 200 MiB, for a week.
    let w = workload(3, 2.0, 512.0, None);
    let s = recommend(
        &w,
        &recorded(&w, 168.0, |_| (0.3, 600.0, 100.0, 3)),
        &SizingOptions::default(),
        &Room::default(),
    );
    assert_eq!(s.confidence, Some(Confidence::High));
    let cpu = find(&s, SizingKind::CpuRequest);
    // 0.1 × 1.15 = 0.115, rounded up to 5 m.
    assert!((cpu.recommended - 0.115).abs() < 1e-9, "{cpu:?}");
    assert!((cpu.limit.unwrap() - 0.23).abs() < 1e-9);
    assert_eq!(cpu.evidence.percentiles[1].0, 95);
    assert!((cpu.evidence.days_covered - 7.0).abs() < 0.01 && cpu.evidence.gaps == 0.0);
    // (0.115 − 2) cores × 3 pods × 168 h.
    assert!((cpu.effect.core_hours_per_week - (0.115 - 2.0) * 3.0 * 168.0).abs() < 0.01);
    assert_eq!(cpu.change(), "2 → 115m");
    assert_eq!(cpu.manifest().unwrap(), "resources:\n  requests:\n    cpu: 115m\n  limits:\n    cpu: 230m");
    let mem = find(&s, SizingKind::MemoryRequest);
    // 200 MiB × 1.15 = 230 MiB, up to 240 MiB; limit 300 MiB → 304 MiB.
    assert_eq!(
        (memory_quantity(mem.recommended), memory_quantity(mem.limit.unwrap())),
        ("240Mi".into(), "304Mi".into())
    );
    assert!(mem.effect.gib_hours_per_week < 0.0);
    assert!(!kinds(&s).contains(&SizingKind::Replicas), "cool pods need no more replicas");
}

#[test]
fn requests_close_to_use_are_left_alone() {
    let w = workload(3, 0.12, 256.0, None);
    let s = recommend(
        &w,
        &recorded(&w, 48.0, |_| (0.3, 600.0, 100.0, 3)),
        &SizingOptions::default(),
        &Room::default(),
    );
    assert_eq!(kinds(&s), [], "0.115 is within 70 % of 0.12; 240 MiB of 256 MiB");
    // Use just under the request: the headroom alone does not grow it.
    let w = workload(3, 0.105, 210.0, None);
    let s = recommend(
        &w,
        &recorded(&w, 48.0, |_| (0.3, 600.0, 100.0, 3)),
        &SizingOptions::default(),
        &Room::default(),
    );
    assert_eq!(kinds(&s), []);
    // Use above it does.
    let w = workload(3, 0.05, 128.0, None);
    let s = recommend(
        &w,
        &recorded(&w, 48.0, |_| (0.3, 600.0, 100.0, 3)),
        &SizingOptions::default(),
        &Room::default(),
    );
    assert_eq!(kinds(&s), [SizingKind::CpuRequest, SizingKind::MemoryRequest]);
    assert!(s.recommendations.iter().all(|r| r.recommended > r.current));
    assert_eq!(s.confidence, Some(Confidence::Low), "two days");
}

/// A daily wave of CPU demand from 0.3 to 4.8 cores; the HPA (max 4, 60 % of 1 core) follows
/// it up to its maximum and sits there, above its target, every evening.
fn saturated_wave(w: &Workload, days: f64) -> Series {
    recorded(w, days * 24.0, |h| {
        let cpu = 2.55 + 2.25 * (2.0 * std::f64::consts::PI * h / 24.0).sin();
        let pods = (cpu / 0.6).ceil().clamp(2.0, 4.0) as u16;
        (cpu, 300.0 * f64::from(pods), cpu * 400.0, pods)
    })
}

#[test]
fn a_saturated_hpa_gets_a_maximum_that_holds_the_peak_and_no_cpu_request() {
    let w = workload(2, 1.0, 512.0, Some((2, 4, 60)));
    let room = Room {
        free_cpu: 2.0,
        free_memory: 64.0 * 1024.0 * MIB_F,
        node_cpu: 8.0,
        node_memory: 32.0 * 1024.0 * MIB_F,
    };
    let s = recommend(&w, &saturated_wave(&w, 3.0), &SizingOptions::default(), &room);
    assert_eq!(s.confidence, Some(Confidence::Medium));
    let max = find(&s, SizingKind::Maximum);
    // 4.8 cores × 1.15 / (0.6 × 1 core) = 9.2 → 10.
    assert_eq!((max.current, max.recommended), (4.0, 10.0));
    assert_eq!(max.proposal, Some(crate::rules::Proposal { max_replicas: Some(10), ..Default::default() }));
    assert!(max.effect.saturated_minutes_avoided_per_week > 60.0, "{:?}", max.effect);
    assert!(max.effect.core_hours_per_week > 0.0, "more pods at the peak cost cores");
    assert!(max.backtest.as_deref().unwrap().starts_with("backtested on 3 d recorded of the last 3 d"));
    // Six more pods request 6 cores; 2 are free, an 8-core node covers the rest.
    assert!(max.capacity.as_deref().unwrap().contains("would add 1 node "), "{:?}", max.capacity);
    assert!(
        !kinds(&s).contains(&SizingKind::CpuRequest),
        "the HPA scales on CPU: no request from utilisation"
    );
    assert!(s.notes[0].contains("scales on CPU"));
}

#[test]
fn an_hpa_that_idles_at_a_high_minimum_gets_a_lower_one() {
    // Flat 0.6 cores across a minimum of 6 pods requesting 0.5 each: 20 % against a 70 % target.
    let w = workload(6, 0.5, 512.0, Some((6, 12, 70)));
    let s = recommend(
        &w,
        &recorded(&w, 48.0, |_| (0.6, 1200.0, 50.0, 6)),
        &SizingOptions::default(),
        &Room::default(),
    );
    let min = find(&s, SizingKind::Minimum);
    // 0.6 × 1.15 / 0.35 = 1.97 → 2.
    assert_eq!((min.current, min.recommended), (6.0, 2.0));
    assert!(min.effect.core_hours_per_week < 0.0, "{:?}", min.effect);
    assert!(!kinds(&s).contains(&SizingKind::Maximum));
}

#[test]
fn hot_pods_without_an_hpa_get_replicas_from_load_per_pod() {
    // One pod requesting 0.1 cores; it uses 20 m idle plus 0.2 m per req/s; the rate swings
    // between 100 and 300 req/s. At 70 % of its request it carries 250 req/s.
    let w = workload(1, 0.1, 256.0, None);
    let series = recorded(&w, 48.0, |h| {
        let rate = 200.0 + 100.0 * (2.0 * std::f64::consts::PI * h / 24.0).sin();
        (0.02 + 0.0002 * rate, 150.0, rate, 1)
    });
    let s = recommend(&w, &series, &SizingOptions::default(), &Room::default());
    let r = find(&s, SizingKind::Replicas);
    // 300 × 1.15 / 250 = 1.38 → 2.
    assert_eq!((r.current, r.recommended), (1.0, 2.0));
    assert_eq!(r.proposal, Some(crate::rules::Proposal { replicas: Some(2), ..Default::default() }));
    assert!(r.reason.contains("carries about 250 req/s"), "{}", r.reason);
}

#[test]
fn confidence_follows_days_and_gaps() {
    assert_eq!(Confidence::of(7.0, 0.0), Confidence::High);
    assert_eq!(Confidence::of(7.0, 0.2), Confidence::Medium);
    assert_eq!(Confidence::of(3.0, 0.3), Confidence::Low);
    assert_eq!(Confidence::of(1.0, 0.0), Confidence::Low);
}

#[test]
fn quantities_read_as_manifests_write_them() {
    assert_eq!(cpu_quantity(2.0), "2");
    assert_eq!(cpu_quantity(0.115), "115m");
    assert_eq!(memory_quantity(2.0 * 1024.0 * MIB_F), "2Gi");
    assert_eq!(memory_quantity(384.0 * MIB_F), "384Mi");
    assert_eq!(round_cpu(0.0001), 0.01);
    assert_eq!(round_memory(1.0), 32.0 * MIB_F);
}
