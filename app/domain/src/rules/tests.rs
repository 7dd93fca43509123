use super::*;
use crate::{
    dto::{
        Autoscaler, ContainerResources, DisruptionBudget, Placement, PodCounts, Replicas, ResourceFigures,
        Workload,
    },
    whatif::Series,
};

/// A well-run critical service: three replicas over three nodes, a budget, probes, limits.
fn good() -> Workload {
    Workload {
        namespace: "pay".into(),
        name: "ledger".into(),
        critical: true,
        replicas: Replicas { desired: 3, ready: 3, updated: 3, available: 3 },
        containers: vec![ContainerResources {
            name: "ledger".into(),
            cpu_request: Some(0.5),
            cpu_limit: Some(1.0),
            memory_request: Some(512e6),
            memory_limit: Some(1024e6),
            readiness_probe: true,
        }],
        cpu: ResourceFigures { requests: 1.5, limits: Some(3.0), usage: Some(0.6) },
        memory: ResourceFigures { requests: 1536e6, limits: Some(3072e6), usage: Some(900e6) },
        pods: PodCounts { total: 3, ready: 3, ..Default::default() },
        disruption_budget: Some(DisruptionBudget {
            name: "ledger".into(),
            min_available: Some("2".into()),
            max_unavailable: None,
            disruptions_allowed: 1,
        }),
        placement: Placement { nodes: 3, spread: true },
        ..Default::default()
    }
}

fn ids(found: &[RuleFinding]) -> Vec<RuleId> {
    found.iter().filter(|f| f.waived.is_none()).map(|f| f.rule).collect()
}

fn live(w: &Workload) -> Vec<RuleId> {
    ids(&live::evaluate(w))
}

#[test]
fn the_catalogue_is_complete_in_id_order_with_unique_codes() {
    for (i, r) in CATALOGUE.iter().enumerate() {
        assert_eq!(r.code, format!("{:?}", r.id), "the code is the ID");
        assert_eq!(RuleId::parse(&r.code.to_lowercase()), Some(r.id));
        assert!(!r.why.is_empty() && !r.fix.is_empty() && !r.title.is_empty());
        if i > 0 {
            assert!(CATALOGUE[i - 1].id < r.id);
        }
    }
    assert_eq!(serde_json::to_string(&RuleId::PD204).unwrap(), "\"PD204\"");
    assert_eq!(RuleId::parse("PD999"), None);
}

#[test]
fn a_well_run_service_breaks_no_live_rule() {
    assert_eq!(live(&good()), []);
}

#[test]
fn availability_rules_fire_on_what_they_name() {
    let mut w = good();
    w.replicas.desired = 1;
    w.pods.total = 1;
    assert!(live(&w).contains(&RuleId::PD101), "one replica of a critical service");

    let mut w = good();
    w.autoscaler = Some(Autoscaler { min_replicas: 1, max_replicas: 10, ..Default::default() });
    assert_eq!(live(&w), [RuleId::PD101], "an HPA that may go to one");

    let mut w = good();
    w.disruption_budget = None;
    assert_eq!(live(&w), [RuleId::PD102]);

    let mut w = good();
    w.disruption_budget.as_mut().unwrap().min_available = Some("3".into());
    assert_eq!(live(&w), [RuleId::PD103], "minAvailable = replicas");
    w.disruption_budget.as_mut().unwrap().min_available = Some("100%".into());
    assert_eq!(live(&w), [RuleId::PD103]);
    let mut w = good();
    w.disruption_budget = Some(DisruptionBudget { max_unavailable: Some("0".into()), ..Default::default() });
    assert_eq!(live(&w), [RuleId::PD103], "maxUnavailable 0");

    let mut w = good();
    w.placement.nodes = 1;
    assert_eq!(live(&w), [RuleId::PD104]);
    w.pods.total = 1;
    w.replicas.desired = 2;
    assert!(!live(&w).contains(&RuleId::PD104), "one running pod is on one node by definition");

    let mut w = good();
    w.placement.spread = false;
    assert_eq!(live(&w), [RuleId::PD105]);
    w.critical = false;
    assert_eq!(live(&w), [], "spread is asked of critical services only");

    let mut w = good();
    w.critical = false;
    w.replicas.desired = 1;
    w.disruption_budget = None;
    assert_eq!(live(&w), [RuleId::PD106]);
    w.autoscaler = Some(Autoscaler { min_replicas: 1, max_replicas: 4, ..Default::default() });
    assert_eq!(live(&w), [], "an HPA may add replicas");
}

#[test]
fn a_synced_deployment_whose_replicas_an_hpa_sets_is_found() {
    use crate::owners::{Marks, owners_of};
    let argo = std::collections::BTreeMap::from([(
        "argocd.argoproj.io/tracking-id".to_string(),
        "payments:apps/Deployment:pay/ledger".to_string(),
    )]);
    let mut w = good();
    w.owners = owners_of(Marks { annotations: Some(&argo), ..Marks::default() });
    assert_eq!(live(&w), [], "no HPA: the repository's count is the count");
    w.autoscaler =
        Some(Autoscaler { name: "ledger".into(), min_replicas: 3, max_replicas: 12, ..Default::default() });
    let found = super::live::evaluate(&w);
    assert_eq!(ids(&found), [RuleId::PD107]);
    assert!(
        found[0].message.starts_with("Argo CD application payments syncs this Deployment and the HPA ledger")
    );
    // Helm sets what it installs once per upgrade, not on a loop.
    let helm =
        std::collections::BTreeMap::from([("meta.helm.sh/release-name".to_string(), "ledger".to_string())]);
    w.owners = owners_of(Marks { annotations: Some(&helm), ..Marks::default() });
    assert_eq!(live(&w), []);
}

#[test]
fn resource_rules_fire_on_what_they_name() {
    let mut w = good();
    w.containers[0].readiness_probe = false;
    let found = live::evaluate(&w);
    assert_eq!(ids(&found), [RuleId::PD201]);
    assert!(found[0].message.contains("ledger"));

    let mut w = good();
    w.containers[0].memory_request = None;
    assert_eq!(live(&w), [RuleId::PD202]);

    let mut w = good();
    w.containers[0].memory_limit = None;
    w.memory.limits = None;
    let found = live::evaluate(&w);
    assert_eq!(ids(&found), [RuleId::PD203]);
    assert_eq!(found[0].message, "no limit on ledger (memory)");

    let mut w = good();
    w.memory.usage = Some(0.95 * 3072e6);
    assert_eq!(live(&w), [RuleId::PD204]);

    let mut w = good();
    w.cpu.usage = Some(2.7);
    assert_eq!(live(&w), [RuleId::PD205]);
    w.cpu.usage = None;
    assert_eq!(live(&w), [], "no figures, no judgement");
}

#[test]
fn waivers_mark_findings_without_hiding_them() {
    let mut w = good();
    w.containers[0].readiness_probe = false;
    w.placement.spread = false;
    w.waivers = Waivers::parse(Some("pd201, PD999 PD201"), Some(" batch worker, no traffic "));
    assert_eq!(w.waivers.rules, [RuleId::PD201]);
    assert_eq!(w.waivers.unknown, ["PD999"]);
    let found = live::evaluate(&w);
    assert_eq!(found.len(), 2, "the waived finding is kept");
    assert_eq!((found[0].rule, found[0].waived.as_deref()), (RuleId::PD105, None), "unwaived first");
    assert_eq!(
        (found[1].rule, found[1].waived.as_deref()),
        (RuleId::PD201, Some("batch worker, no traffic"))
    );
    assert_eq!(Waivers::parse(Some("PD105"), None).reason, None);
}

/// A recorded day at 15-s steps: demand `cpu(minute of day)` in cores, replicas as the
/// recording set them, pods requesting `request` cores.
fn day(request: f64, cpu: impl Fn(f64) -> f64, replicas: impl Fn(f64) -> u16) -> Series {
    let steps = 5_760;
    let minute = |i: usize| i as f64 / 4.0;
    Series {
        from_ms: 0,
        step_ms: 15_000,
        resolution: "15 s samples".into(),
        cpu_request_per_pod: request,
        memory_request_per_pod: 0.0,
        cpu: (0..steps).map(|i| Some(cpu(minute(i)) as f32)).collect(),
        memory: vec![Some(0.0); steps],
        rate: vec![Some(0.0); steps],
        ready: (0..steps).map(|i| Some(replicas(minute(i)))).collect(),
        desired: (0..steps).map(|i| Some(replicas(minute(i)))).collect(),
    }
}

fn with_hpa(min: i32, max: i32, target: i32) -> Workload {
    Workload {
        autoscaler: Some(Autoscaler {
            min_replicas: min,
            max_replicas: max,
            cpu_target_percent: Some(target),
            ..Default::default()
        }),
        ..good()
    }
}

fn recorded(w: &Workload, s: &Series) -> Vec<RuleId> {
    ids(&history::evaluate(w, s))
}

/// An evening peak: 1 core all day, 8 cores from 18:00 to 20:00.
fn evening(m: f64) -> f64 {
    if (1080.0..1200.0).contains(&m) { 8.0 } else { 1.0 }
}

#[test]
fn an_hpa_at_its_maximum_through_the_peak_is_saturated_and_told_what_would_hold_it() {
    let w = with_hpa(2, 4, 60);
    // Four pods of 1 core at 8 cores: 200 % for two hours.
    let s = day(1.0, evening, |m| if (1080.0..1200.0).contains(&m) { 4 } else { 2 });
    let found = history::evaluate(&w, &s);
    let pd301 = found.iter().find(|f| f.rule == RuleId::PD301).expect("saturated");
    assert!(pd301.message.contains("for 120 min of the last 1 d"), "{}", pd301.message);
    assert!(pd301.message.contains("about 14 replicas"), "8 cores at 60 % of 1 core: {}", pd301.message);
    // The same peak within a maximum of 20: the HPA had room.
    let s = day(1.0, evening, |m| if (1080.0..1200.0).contains(&m) { 14 } else { 2 });
    assert!(!recorded(&with_hpa(2, 20, 60), &s).contains(&RuleId::PD301));
}

#[test]
fn a_minimum_that_idles_all_day_is_found_and_one_that_works_is_not() {
    // Six pods of 1 core held at the minimum, using 0.6 cores in all: 10 % against 70 %.
    let s = day(1.0, |_| 0.6, |_| 6);
    let found = history::evaluate(&with_hpa(6, 12, 70), &s);
    let pd302 = found.iter().find(|f| f.rule == RuleId::PD302).expect("idle minimum");
    assert!(pd302.message.contains("2 would have carried"), "critical keeps two: {}", pd302.message);
    // At the minimum but busy (60 % against 70 %).
    let busy = day(1.0, |_| 3.6, |_| 6);
    assert!(!recorded(&with_hpa(6, 12, 70), &busy).contains(&RuleId::PD302));
    // A minimum of two on a critical service is the floor.
    let s = day(1.0, |_| 0.1, |_| 2);
    assert!(!recorded(&with_hpa(2, 12, 70), &s).contains(&RuleId::PD302));
}

#[test]
fn a_target_too_high_for_a_recorded_surge_is_found() {
    // The demand doubles within a minute at 12:00; limits are 1.2 × the request.
    let surge = |m: f64| if m >= 720.0 { 4.0 } else { 2.0 };
    let mut w = with_hpa(2, 20, 90);
    w.containers[0].cpu_limit = Some(1.2);
    let s = day(1.0, surge, |m| if m >= 721.0 { 5 } else { 3 });
    let found = history::evaluate(&w, &s);
    let pd303 = found.iter().find(|f| f.rule == RuleId::PD303).expect("overrun");
    assert!(pd303.message.contains("2.0×"), "{}", pd303.message);
    // With limits at 2 × the request, 90 % × 2 = 180 % stays under 200 %.
    w.containers[0].cpu_limit = Some(2.0);
    assert!(!recorded(&w, &s).contains(&RuleId::PD303));
}

#[test]
fn cpu_requested_far_above_use_is_found_without_a_cpu_hpa() {
    let mut w = good();
    w.autoscaler = None;
    // Three pods requesting 2 cores each, using 0.6 cores in all.
    let s = day(2.0, |_| 0.6, |_| 3);
    let found = history::evaluate(&w, &s);
    assert_eq!(ids(&found), [RuleId::PD206]);
    assert!(found[0].message.contains("use 0.20 at the 95th percentile"), "{}", found[0].message);
    assert!(recorded(&w, &day(2.0, |_| 3.0, |_| 3)).is_empty(), "half the request is in use");
}

#[test]
fn too_little_recording_judges_nothing() {
    let w = with_hpa(2, 4, 60);
    let mut s = day(1.0, |_| 8.0, |_| 4);
    // Five hours recorded, the rest a gap.
    for i in 1_200..s.len() {
        s.desired[i] = None;
        s.ready[i] = None;
        s.cpu[i] = None;
    }
    assert!(history::evaluate(&w, &s).is_empty());
    assert_eq!(history::span_label(history::recorded_ms(&s)), "5 h");
}

#[test]
fn history_findings_honour_waivers() {
    let mut w = with_hpa(2, 4, 60);
    w.waivers = Waivers::parse(Some("PD301"), Some("CHG-77: capacity booked for Q1"));
    let s = day(1.0, evening, |m| if (1080.0..1200.0).contains(&m) { 4 } else { 2 });
    let found = history::evaluate(&w, &s);
    let pd301 = found.iter().find(|f| f.rule == RuleId::PD301).unwrap();
    assert_eq!(pd301.waived.as_deref(), Some("CHG-77: capacity booked for Q1"));
}

#[test]
fn findings_that_a_scaling_change_addresses_carry_it() {
    let w = with_hpa(2, 4, 60);
    let s = day(1.0, evening, |m| if (1080.0..1200.0).contains(&m) { 4 } else { 2 });
    let pd301 = history::evaluate(&w, &s).into_iter().find(|f| f.rule == RuleId::PD301).unwrap();
    assert_eq!(pd301.proposal, Some(Proposal { max_replicas: Some(14), ..Default::default() }));
    let replayed = pd301.backtest.as_deref().expect("the proposal carries its replay");
    assert!(replayed.starts_with("backtested on 24 h recorded of the last 24 h: overloaded "), "{replayed}");
    assert!(replayed.contains(" → 0 min"), "a maximum of 14 holds the peak: {replayed}");

    let idle = history::evaluate(&with_hpa(6, 12, 70), &day(1.0, |_| 0.6, |_| 6));
    assert_eq!(idle[0].proposal, Some(Proposal { min_replicas: Some(2), ..Default::default() }));

    let mut w = with_hpa(2, 20, 90);
    w.containers[0].cpu_limit = Some(1.2);
    let surge = day(1.0, |m| if m >= 720.0 { 4.0 } else { 2.0 }, |m| if m >= 721.0 { 5 } else { 3 });
    let pd303 = history::evaluate(&w, &surge).into_iter().find(|f| f.rule == RuleId::PD303).unwrap();
    assert_eq!(pd303.proposal, Some(Proposal { cpu_target: Some(60), ..Default::default() }), "120 % ÷ 2");

    let mut one = good();
    one.replicas.desired = 1;
    assert_eq!(live::evaluate(&one)[0].proposal, Some(Proposal { replicas: Some(2), ..Default::default() }));
    // Rules a scaling change cannot fix propose nothing.
    one.replicas.desired = 3;
    one.containers[0].readiness_probe = false;
    assert_eq!(live::evaluate(&one)[0].proposal, None);
}

#[test]
fn a_proposal_travels_in_a_url_and_fills_the_form() {
    let p = Proposal { max_replicas: Some(14), cpu_target: Some(55), ..Default::default() };
    let q = p.query(Origin::Rule(RuleId::PD301));
    assert_eq!(q, "propose=PD301&max=14&target=55");
    let params: std::collections::HashMap<String, String> =
        q.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect();
    let back = Proposal::from_query(|k| params.get(k).cloned()).unwrap();
    assert_eq!(back, (Origin::Rule(RuleId::PD301), p.clone()));
    // Junk is ignored, not trusted: the form validates whatever it is given.
    let junk = |k: &str| match k {
        "propose" => Some("PD301".to_string()),
        "max" => Some("lots".to_string()),
        _ => None,
    };
    assert_eq!(Proposal::from_query(junk), None);
    assert_eq!(Proposal::from_query(|k| (k == "max").then(|| "3".to_string())), None, "no rule, no proposal");

    let w = with_hpa(2, 4, 60);
    let mut form = crate::scaling::ScalingForm::current(&w);
    p.apply(Origin::Rule(RuleId::PD301), &mut form);
    let a = form.autoscaler.as_ref().unwrap();
    assert_eq!((a.min_replicas.as_str(), a.max_replicas.as_str(), a.cpu_target.as_str()), ("2", "14", "55"));
    assert_eq!(form.reason, "PD301 HPA saturated at its maximum during peaks (advisor)");
}

#[test]
fn right_sizing_and_the_planner_propose_by_their_own_codes() {
    use crate::sizing::SizingKind;
    for origin in [Origin::Sizing(SizingKind::Maximum), Origin::Sizing(SizingKind::Replicas), Origin::Planner]
    {
        assert_eq!(Origin::parse(&origin.code()), Some(origin));
    }
    assert_eq!(Origin::parse("rs2"), Some(Origin::Sizing(SizingKind::Maximum)));
    assert_eq!(Origin::parse("RS9"), None);
    let p = Proposal { max_replicas: Some(9), ..Default::default() };
    assert_eq!(p.query(Origin::Planner), "propose=PLAN&max=9");
    let mut form = crate::scaling::ScalingForm::current(&with_hpa(2, 4, 60));
    p.apply(Origin::Sizing(SizingKind::Maximum), &mut form);
    assert_eq!(form.reason, "RS2 HPA maximum (advisor)");
}
