//! The few statistics the advisor needs: percentiles and a straight-line fit.

/// The value below which `share` of `values` fall (nearest rank; `values` sorted in place).
pub fn percentile(values: &mut [f64], share: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[((values.len() - 1) as f64 * share.clamp(0.0, 1.0)).round() as usize])
}

/// `y = intercept + slope · x`, fitted by least squares, with the root-mean-square error of
/// the fitted points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Line {
    pub intercept: f64,
    pub slope: f64,
    pub rmse: f64,
    pub points: usize,
    /// The mean of the fitted `x`.
    pub mean_x: f64,
    /// The standard error of the slope (how far it may be off, one sigma).
    pub slope_error: f64,
}

impl Line {
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// The least-squares line through `points`; `None` for fewer than three points or when every
/// `x` is the same (no slope can be told).
pub fn fit_line(points: &[(f64, f64)]) -> Option<Line> {
    let n = points.len();
    if n < 3 {
        return None;
    }
    let (sx, sy) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n as f64, sy / n as f64);
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for (x, y) in points {
        sxx += (x - mx) * (x - mx);
        sxy += (x - mx) * (y - my);
    }
    if sxx <= f64::EPSILON * n as f64 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let sse: f64 = points.iter().map(|(x, y)| (y - (intercept + slope * x)).powi(2)).sum();
    let slope_error = (sse / (n - 2) as f64 / sxx).sqrt();
    Some(Line { intercept, slope, rmse: (sse / n as f64).sqrt(), points: n, mean_x: mx, slope_error })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 0.95), Some(95.0));
        assert_eq!(percentile(&mut v, 0.0), Some(1.0));
        assert_eq!(percentile(&mut v, 1.0), Some(100.0));
        assert_eq!(percentile(&mut [], 0.5), None);
    }

    #[test]
    fn line_recovers_known_parameters() {
        let points: Vec<(f64, f64)> = (0..50).map(|i| (f64::from(i), 3.0 + 0.5 * f64::from(i))).collect();
        let l = fit_line(&points).unwrap();
        assert!((l.intercept - 3.0).abs() < 1e-9 && (l.slope - 0.5).abs() < 1e-9 && l.rmse < 1e-9);
        assert_eq!(fit_line(&[(1.0, 1.0), (1.0, 2.0), (1.0, 3.0)]), None, "no spread in x");
        assert_eq!(fit_line(&[(1.0, 1.0), (2.0, 2.0)]), None, "too few points");
    }
}
