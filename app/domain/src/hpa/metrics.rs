//! Stage one: from pod metrics to a raw recommendation, as the controller's
//! `GetResourceReplicas` computes it — in its integer arithmetic: each pod's usage as the
//! metrics client reads it (a container's CPU rounded up to whole millicores, summed per
//! pod), the utilisation a whole percentage (`Σ usage × 100 / Σ requests`, truncated), and
//! only then a ratio. Summing exact values instead moves a ratio across the tolerance: 1.10
//! read as 1.09 keeps a count the controller changes.

/// The controller's default tolerance: ratios within 10 % of 1.0 cause no scaling.
pub const DEFAULT_TOLERANCE: f64 = 0.1;

/// How a pod counts towards the utilisation average.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodReadiness {
    /// Not scheduled or not started: ignored entirely.
    Pending,
    /// Running but not (yet) Ready: counted as 0 % on a scale-up, ignored otherwise.
    Unready,
    /// Running and Ready: its metric counts as measured.
    Ready,
    /// Failed or being deleted: ignored entirely.
    Gone,
}

/// One pod's view for one resource metric, in whole units of the controller's counting:
/// millicores for CPU (each container rounded up, as `Quantity.MilliValue()` does), bytes
/// for memory (the controller's milli-bytes, a thousandth: the same ratios).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodSample {
    pub readiness: PodReadiness,
    /// `None` when the metrics API has no sample for the pod.
    pub usage: Option<i64>,
    /// The pod's summed container requests for the resource.
    pub request: i64,
}

/// Why no recommendation could be computed (the HPA's `ScalingActive=False` reasons).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricError {
    NoPods,
    NoMetrics,
    MissingRequest,
}

impl std::fmt::Display for MetricError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MetricError::NoPods => "no pods returned by selector while calculating replica count",
            MetricError::NoMetrics => "did not receive metrics for targeted pods (pods might be unready)",
            MetricError::MissingRequest => "missing request for resource on one or more pods",
        })
    }
}

/// A raw recommendation for one metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricRecommendation {
    pub replicas: i32,
    /// Average utilisation of the pods with metrics, in percent of their requests.
    pub utilization_percent: i32,
}

/// `Σ usage × 100 / Σ request` over `samples` as a whole percentage (the controller's
/// `GetResourceUtilizationRatio`), and its ratio to `target`.
fn utilization_ratio(samples: &[(i64, i64)], target_percent: i32) -> (f64, i32) {
    let usage: i128 = samples.iter().map(|(u, _)| i128::from(*u)).sum();
    let request: i128 = samples.iter().map(|(_, r)| i128::from(*r)).sum();
    let utilization = i32::try_from(usage * 100 / request).unwrap_or(i32::MAX);
    (f64::from(utilization) / f64::from(target_percent), utilization)
}

fn within(ratio: f64, tolerance: f64) -> bool {
    (1.0 - ratio).abs() <= tolerance
}

/// The replicas a resource utilisation target asks for (the controller's `GetResourceReplicas`).
pub fn replicas_for_utilization(
    current_replicas: i32,
    pods: &[PodSample],
    target_percent: i32,
    tolerance: f64,
) -> Result<MetricRecommendation, MetricError> {
    if pods.is_empty() {
        return Err(MetricError::NoPods);
    }
    let mut measured = Vec::new();
    let (mut missing, mut unready) = (Vec::new(), Vec::new());
    for pod in pods {
        match (pod.readiness, pod.usage) {
            (PodReadiness::Pending | PodReadiness::Gone, _) => {}
            (_, None) => missing.push(pod.request),
            (PodReadiness::Unready, Some(_)) => unready.push(pod.request),
            (PodReadiness::Ready, Some(usage)) => measured.push((usage, pod.request)),
        }
    }
    if measured.is_empty() {
        return Err(MetricError::NoMetrics);
    }
    if measured.iter().map(|(_, r)| *r).chain(missing.iter().copied()).any(|r| r <= 0) {
        return Err(MetricError::MissingRequest);
    }
    let ready_count = measured.len() as f64;
    let (ratio, utilization) = utilization_ratio(&measured, target_percent);
    let recommend = |replicas| Ok(MetricRecommendation { replicas, utilization_percent: utilization });

    let scale_up_with_unready = !unready.is_empty() && ratio > 1.0;
    if !scale_up_with_unready && missing.is_empty() {
        if within(ratio, tolerance) {
            return recommend(current_replicas);
        }
        return recommend((ratio * ready_count).ceil() as i32);
    }

    // Fill the gaps conservatively: a scale-down assumes missing pods use all they request,
    // a scale-up assumes they (and unready pods) use nothing.
    for request in missing {
        measured.push((if ratio < 1.0 { request } else { 0 }, request));
    }
    if scale_up_with_unready {
        measured.extend(unready.into_iter().map(|request| (0, request)));
    }
    let (new_ratio, _) = utilization_ratio(&measured, target_percent);
    let reverses = (ratio > 1.0 && new_ratio < 1.0) || (ratio < 1.0 && new_ratio > 1.0);
    if within(new_ratio, tolerance) || reverses {
        return recommend(current_replicas);
    }
    let replicas = (new_ratio * measured.len() as f64).ceil() as i32;
    if (new_ratio < 1.0 && replicas > current_replicas) || (new_ratio > 1.0 && replicas < current_replicas) {
        return recommend(current_replicas);
    }
    recommend(replicas)
}
