//! The recommendations themselves: one function per kind, each returning `None` when the
//! recording gives no reason to change.

use super::{
    Confidence, Effect, Evidence, GIB, MIN_RECORDED_MS, Recommendation, Room, Sizing, SizingKind,
    SizingOptions, cpu_quantity, memory_quantity, round_cpu, round_memory,
};
use crate::{
    dto::Workload,
    rules::{finding::Proposal, history::SATURATED_MINUTES},
    stats::{fit_line, percentile},
    whatif::{self, Figures, HpaConfig, Options, Series},
};

const WEEK_MS: f64 = 7.0 * 86_400_000.0;
/// A request is recommended lower only when the new one is below this share of the current
/// one: smaller changes are not worth a rollout.
const WORTH_LOWERING: f64 = 0.7;
/// A minimum is only judged when the HPA spent at least this share of the time at it.
const AT_MIN_SHARE: f64 = 0.25;

/// What the recording covers, computed once.
#[derive(Clone)]
struct Recorded<'a> {
    series: &'a Series,
    /// Steps with ready pods and CPU recorded.
    steps: Vec<usize>,
    days: f64,
    gaps: f64,
    /// Scales a figure over the recording to a week.
    per_week: f64,
    mean_ready: f64,
    confidence: Confidence,
}

impl<'a> Recorded<'a> {
    fn of(series: &'a Series) -> Recorded<'a> {
        let steps: Vec<usize> = (0..series.len())
            .filter(|&i| series.ready[i].is_some_and(|r| r > 0) && series.cpu[i].is_some())
            .collect();
        let recorded_ms = steps.len() as f64 * series.step_ms as f64;
        let span = match (steps.first(), steps.last()) {
            (Some(a), Some(b)) => (b - a + 1) as f64 * series.step_ms as f64,
            _ => 0.0,
        };
        let days = recorded_ms / 86_400_000.0;
        let gaps = if span > 0.0 { 1.0 - recorded_ms / span } else { 0.0 };
        let mean_ready = steps.iter().map(|&i| f64::from(series.ready[i].unwrap_or(0))).sum::<f64>()
            / steps.len().max(1) as f64;
        Recorded {
            series,
            days,
            gaps,
            per_week: if recorded_ms > 0.0 { WEEK_MS / recorded_ms } else { 0.0 },
            mean_ready,
            confidence: Confidence::of(days, gaps),
            steps,
        }
    }

    fn ready(&self, i: usize) -> f64 {
        f64::from(self.series.ready[i].unwrap_or(0))
    }

    /// `value(i)` at every recorded step where it is known.
    fn values(&self, value: impl Fn(usize) -> Option<f64>) -> Vec<f64> {
        self.steps.iter().filter_map(|&i| value(i)).collect()
    }

    fn evidence(&self, measure: &str, mut values: Vec<f64>) -> Evidence {
        let percentiles = [50u8, 95, 99, 100]
            .into_iter()
            .filter_map(|p| percentile(&mut values, f64::from(p) / 100.0).map(|v| (p, v)))
            .collect();
        Evidence { measure: measure.into(), percentiles, days_covered: self.days, gaps: self.gaps }
    }

    fn recommendation(
        &self,
        kind: SizingKind,
        current: f64,
        recommended: f64,
        reason: String,
        evidence: Evidence,
    ) -> Recommendation {
        Recommendation {
            kind,
            current,
            recommended,
            limit: None,
            reason,
            evidence,
            confidence: self.confidence,
            effect: Effect::default(),
            capacity: None,
            proposal: None,
            backtest: None,
        }
    }
}

/// The right-sizing of `w` over `series`, with `room` on the nodes for a higher maximum.
pub fn recommend(w: &Workload, series: &Series, options: &SizingOptions, room: &Room) -> Sizing {
    let rec = Recorded::of(series);
    if (rec.steps.len() as i64) * series.step_ms < MIN_RECORDED_MS {
        return Sizing {
            days_covered: rec.days,
            withheld: Some(format!(
                "only {:.0} h recorded: right-sizing waits for a full day, so that the daily peak is in it",
                rec.days * 24.0
            )),
            ..Sizing::default()
        };
    }
    let hpa = w.autoscaler.as_ref();
    let cpu_target = hpa.and_then(|a| a.cpu_target_percent);
    let memory_target = hpa.and_then(|a| a.memory_target_percent);
    let mut notes = Vec::new();
    let mut out = Vec::new();
    if let (Some(a), Some(target)) = (hpa, cpu_target) {
        let current = HpaConfig::of(a);
        let target = f64::from(target) / 100.0;
        out.extend(maximum(w, &rec, &current, target, options, room));
        out.extend(minimum(w, &rec, &current, target, options));
        notes.push(format!(
            "No CPU request is recommended: the HPA scales on CPU at {:.0} % of it, so a lower request only makes the HPA add pods (and a later recommendation lower it again). The HPA's minimum and maximum are what move cost and risk.",
            target * 100.0
        ));
    } else {
        out.extend(request(w, &rec, SizingKind::CpuRequest, options));
    }
    if memory_target.is_some() {
        notes.push("No memory request is recommended: the HPA scales on memory.".into());
    } else {
        out.extend(request(w, &rec, SizingKind::MemoryRequest, options));
    }
    if hpa.is_none() {
        out.extend(replicas(w, &rec, options));
    }
    Sizing {
        days_covered: rec.days,
        confidence: Some(rec.confidence),
        withheld: None,
        recommendations: out,
        notes,
    }
}

/// Utilisation of the request at step `i`, as a share (1.0 = using all it requests).
fn utilisation(rec: &Recorded, i: usize) -> Option<f64> {
    let s = rec.series;
    let cpu = f64::from(s.cpu[i]?);
    (s.cpu_request_per_pod > 0.0 && rec.ready(i) > 0.0).then(|| cpu / (rec.ready(i) * s.cpu_request_per_pod))
}

/// Replays `proposal` against `current` and fills the effect and the one-line backtest.
fn replayed(
    rec: &Recorded,
    current: &HpaConfig,
    mut r: Recommendation,
    proposal: Proposal,
) -> Recommendation {
    let b = whatif::backtest(
        rec.series,
        rec.series.span_ms(),
        current,
        &proposal.applied_to(current),
        &Options::default(),
    );
    let (now, next): (&Figures, &Figures) = (&b.current, &b.proposed);
    // The backtest's figures cover its recorded steps: scaled from those to a week.
    let per_week = if b.covered_ms > 0 { WEEK_MS / b.covered_ms as f64 } else { 0.0 };
    let rec = &Recorded { per_week, ..rec.clone() };
    r.effect = Effect {
        core_hours_per_week: (next.core_hours - now.core_hours) * rec.per_week,
        gib_hours_per_week: (next.replica_hours - now.replica_hours) * rec.series.memory_request_per_pod
            / GIB
            * rec.per_week,
        saturated_minutes_avoided_per_week: (now.above_target_minutes - next.above_target_minutes)
            * rec.per_week,
    };
    r.backtest = Some(whatif::summary(&b));
    r.proposal = Some(proposal);
    r
}

/// RS2: a maximum that held the recorded peak at the target with headroom, when the HPA sat
/// at its maximum above the target.
fn maximum(
    w: &Workload,
    rec: &Recorded,
    current: &HpaConfig,
    target: f64,
    options: &SizingOptions,
    room: &Room,
) -> Option<Recommendation> {
    let s = rec.series;
    let max = current.max_replicas;
    let step_minutes = s.step_ms as f64 / 60_000.0;
    let saturated = rec
        .steps
        .iter()
        .filter(|&&i| {
            s.desired[i].is_some_and(|d| i32::from(d) >= max)
                && utilisation(rec, i).is_some_and(|u| u > target)
        })
        .count() as f64
        * step_minutes;
    if saturated < SATURATED_MINUTES || s.cpu_request_per_pod <= 0.0 {
        return None;
    }
    let demand = rec.values(|i| s.cpu[i].map(f64::from));
    let peak = demand.iter().copied().fold(0.0, f64::max);
    let needed = (peak * (1.0 + options.headroom) / (target * s.cpu_request_per_pod)).ceil() as i32;
    if needed <= max {
        return None;
    }
    let more = f64::from(needed - max);
    let (cpu, memory) = (more * s.cpu_request_per_pod, more * s.memory_request_per_pod);
    let nodes = room.nodes_for(cpu, memory);
    let capacity = if nodes == 0 {
        format!(
            "the nodes have room for the {} more pods at the peak ({} CPU, {} memory requested)",
            needed - max,
            cpu_quantity(cpu),
            memory_quantity(memory)
        )
    } else {
        format!(
            "the {} more pods request {} CPU and {} memory, more than the nodes have free: a cluster autoscaler would add {nodes} node{} like the current ones",
            needed - max,
            cpu_quantity(cpu),
            memory_quantity(memory),
            if nodes == 1 { "" } else { "s" }
        )
    };
    let reason = format!(
        "{} sat at its maximum of {max} above its {:.0} % target for {saturated:.0} min in {:.1} days; the recorded peak of {:.2} cores needs {needed} pods at the target with {:.0} % headroom",
        w.name,
        target * 100.0,
        rec.days,
        peak,
        options.headroom * 100.0
    );
    let r = rec.recommendation(
        SizingKind::Maximum,
        f64::from(max),
        f64::from(needed),
        reason,
        rec.evidence("workload CPU use, cores", demand),
    );
    let r = Recommendation { capacity: Some(capacity), ..r };
    Some(replayed(rec, current, r, Proposal { max_replicas: Some(needed), ..Proposal::default() }))
}

/// RS1: a lower minimum, when the load at the minimum fits fewer pods at the target.
fn minimum(
    w: &Workload,
    rec: &Recorded,
    current: &HpaConfig,
    target: f64,
    options: &SizingOptions,
) -> Option<Recommendation> {
    let s = rec.series;
    let min = current.min_replicas;
    let floor = if w.critical { 2 } else { 1 };
    if min <= floor || s.cpu_request_per_pod <= 0.0 {
        return None;
    }
    let at_min: Vec<usize> =
        rec.steps.iter().copied().filter(|&i| s.desired[i].is_some_and(|d| i32::from(d) <= min)).collect();
    let share = at_min.len() as f64 / rec.steps.len().max(1) as f64;
    if share < AT_MIN_SHARE {
        return None;
    }
    let mut demand: Vec<f64> = at_min.iter().filter_map(|&i| s.cpu[i].map(f64::from)).collect();
    let p = percentile(&mut demand, options.cpu_percentile)?;
    let enough = ((p * (1.0 + options.headroom) / (target * s.cpu_request_per_pod)).ceil() as i32).max(floor);
    if enough >= min {
        return None;
    }
    let reason = format!(
        "{} spent {:.0} % of {:.1} days at its minimum of {min}; there the {:.0}th percentile of its CPU use ({p:.2} cores) fits {enough} pods at the {:.0} % target with {:.0} % headroom",
        w.name,
        share * 100.0,
        rec.days,
        options.cpu_percentile * 100.0,
        target * 100.0,
        options.headroom * 100.0
    );
    let r = rec.recommendation(
        SizingKind::Minimum,
        f64::from(min),
        f64::from(enough),
        reason,
        rec.evidence("workload CPU use at the minimum, cores", demand),
    );
    Some(replayed(rec, current, r, Proposal { min_replicas: Some(enough), ..Proposal::default() }))
}

/// How a request of one resource is read from the recording and written.
struct Resource<'a> {
    current: f64,
    used: &'a [Option<f32>],
    share: f64,
    ratio: f64,
    round: fn(f64) -> f64,
    quantity: fn(f64) -> String,
    measure: &'static str,
}

/// RS3 and RS4: the request of a resource no HPA scales on, from the per-pod percentile
/// plus headroom, and a limit in a fixed ratio to it; only when it differs enough from the
/// current one.
fn request(
    w: &Workload,
    rec: &Recorded,
    kind: SizingKind,
    options: &SizingOptions,
) -> Option<Recommendation> {
    let s = rec.series;
    let r = match kind {
        SizingKind::CpuRequest => Resource {
            current: s.cpu_request_per_pod,
            used: &s.cpu,
            share: options.cpu_percentile,
            ratio: options.cpu_limit_ratio,
            round: round_cpu,
            quantity: cpu_quantity,
            measure: "per-pod CPU use, cores",
        },
        _ => Resource {
            current: s.memory_request_per_pod,
            used: &s.memory,
            share: options.memory_percentile,
            ratio: options.memory_limit_ratio,
            round: round_memory,
            quantity: memory_quantity,
            measure: "per-pod memory use, bytes",
        },
    };
    let Resource { current, used, share, ratio, round, quantity, measure } = r;
    let mut per_pod = rec.values(|i| used[i].map(|u| f64::from(u) / rec.ready(i)));
    let p = percentile(&mut per_pod, share)?;
    let recommended = round(p * (1.0 + options.headroom));
    // Lower when it saves enough to be worth a rollout; higher only when use itself is
    // above the request (headroom alone is no reason to grow one).
    if !(current <= 0.0 || recommended < WORTH_LOWERING * current || p > current) {
        return None;
    }
    let reason = format!(
        "{}'s pods use {} at the {:.0}th percentile over {:.1} days and request {}; {} covers it with {:.0} % headroom",
        w.name,
        quantity(p),
        share * 100.0,
        rec.days,
        quantity(current),
        quantity(recommended),
        options.headroom * 100.0
    );
    let mut r = rec.recommendation(kind, current, recommended, reason, rec.evidence(measure, per_pod));
    r.limit = Some(round(recommended * ratio));
    let added = (recommended - current) * rec.mean_ready * 168.0;
    match kind {
        SizingKind::CpuRequest => r.effect.core_hours_per_week = added,
        _ => r.effect.gib_hours_per_week = added / GIB,
    }
    Some(r)
}

/// RS5: more replicas for a Deployment without an HPA whose pods would run past the sizing
/// utilisation at the recorded peak. Per-pod CPU is fitted against load per pod (L = T/N):
/// `cpu = idle + cost · L`; one pod carries `(utilisation · request − idle) / cost` req/s.
fn replicas(w: &Workload, rec: &Recorded, options: &SizingOptions) -> Option<Recommendation> {
    let s = rec.series;
    let request = s.cpu_request_per_pod;
    let points: Vec<(f64, f64)> = rec
        .steps
        .iter()
        .filter_map(|&i| {
            let (rate, cpu) = (f64::from(s.rate[i]?), f64::from(s.cpu[i]?));
            let n = rec.ready(i);
            (rate > 0.0).then(|| (rate / n, cpu / n))
        })
        .collect();
    let line = fit_line(&points)?;
    if request <= 0.0 || line.slope <= 0.0 {
        return None;
    }
    let per_pod_capacity = (options.utilisation * request - line.intercept) / line.slope;
    if per_pod_capacity <= 0.0 {
        return None;
    }
    let peak = rec.values(|i| s.rate[i].map(f64::from)).into_iter().fold(0.0, f64::max);
    let floor = if w.critical { 2 } else { 1 };
    let needed = ((peak * (1.0 + options.headroom) / per_pod_capacity).ceil() as i32).max(floor);
    let current = w.replicas.desired;
    if needed <= current {
        return None;
    }
    let reason = format!(
        "{}'s recorded peak of {peak:.0} req/s over {:.1} days, with {:.0} % headroom, needs {needed} pods: one pod carries about {per_pod_capacity:.0} req/s at {:.0} % of its {} request (fitted: {} idle + {:.2} millicores per req/s, error {})",
        w.name,
        rec.days,
        options.headroom * 100.0,
        options.utilisation * 100.0,
        cpu_quantity(request),
        cpu_quantity(line.intercept.max(0.0)),
        line.slope * 1000.0,
        cpu_quantity(line.rmse)
    );
    let loads = points.iter().map(|(l, _)| *l).collect();
    let mut r = rec.recommendation(
        SizingKind::Replicas,
        f64::from(current),
        f64::from(needed),
        reason,
        rec.evidence("load per pod L = T/N, req/s", loads),
    );
    let more = f64::from(needed - current);
    r.effect.core_hours_per_week = more * request * 168.0;
    r.effect.gib_hours_per_week = more * s.memory_request_per_pod * 168.0 / GIB;
    r.proposal = Some(Proposal { replicas: Some(needed), ..Proposal::default() });
    Some(r)
}
