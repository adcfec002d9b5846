//! Percentiles with numpy's default (`linear`) interpolation, as `np.percentile` and
//! `torch.quantile` compute them.

/// The `q`-th percentile (0–100) of `values`; NaN for an empty slice. Reorders `values`.
pub fn percentile(values: &mut [f64], q: f64) -> f64 {
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let rank = q / 100.0 * (n - 1) as f64;
    let lo = rank.floor() as usize;
    let frac = rank - lo as f64;
    let cmp = |a: &f64, b: &f64| a.total_cmp(b);
    let (_, lo_val, upper) = values.select_nth_unstable_by(lo, cmp);
    let lo_val = *lo_val;
    if frac == 0.0 || upper.is_empty() {
        return lo_val;
    }
    let hi_val = upper.iter().copied().fold(f64::INFINITY, f64::min);
    // numpy's and torch's lerp (so [inf, inf] gives inf - inf = NaN there and here):: a + (b - a) * t, switched to b - (b - a) * (1 - t) for t >= 0.5.
    let diff = hi_val - lo_val;
    if frac >= 0.5 {
        hi_val - diff * (1.0 - frac)
    } else {
        lo_val + diff * frac
    }
}

/// The median as Python's `statistics.median` gives it (the mean of the two middle values for
/// an even count); NaN for an empty slice.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::{median, percentile};

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn matches_numpy_linear() {
        // np.percentile([1, 2, 3, 4, 10], 95) == 8.8; np.percentile([3, 1, 2], 50) == 2.0
        assert!((percentile(&mut [10.0, 2.0, 4.0, 1.0, 3.0], 95.0) - 8.8).abs() < 1e-12);
        assert_eq!(percentile(&mut [3.0, 1.0, 2.0], 50.0), 2.0);
        assert_eq!(percentile(&mut [5.0], 95.0), 5.0);
        assert!(percentile(&mut [], 95.0).is_nan());
    }

    #[test]
    fn all_infinite_is_nan_as_in_numpy() {
        // np.percentile([inf, inf, inf], 95) -> nan (RuntimeWarning: invalid value)
        assert!(percentile(&mut [f64::INFINITY; 3], 95.0).is_nan());
    }
}
