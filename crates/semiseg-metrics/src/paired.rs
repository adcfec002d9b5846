//! Paired comparison of two methods case by case: the mean difference with its 95 % confidence
//! interval (Student t), and the two-sided Wilcoxon signed-rank test as SciPy's
//! `scipy.stats.wilcoxon` computes it by default (zero differences dropped, ties given average
//! ranks; the exact null distribution of those ranks up to 50 non-zero differences, the normal
//! approximation with the tie correction and no continuity correction above).

use serde::Serialize;

/// The comparison of paired values `a[i]` and `b[i]` (differences `a − b`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairedComparison {
    /// Pairs compared.
    pub n: usize,
    /// Mean of `a − b`.
    pub mean_difference: f64,
    /// Sample standard deviation (n − 1) of `a − b`.
    pub std_difference: f64,
    /// 95 % confidence interval of the mean difference (Student t, n − 1 degrees of freedom).
    pub ci95: [f64; 2],
    /// Wilcoxon statistic: the smaller of the positive and negative rank sums.
    pub wilcoxon_statistic: f64,
    /// Two-sided p value of the Wilcoxon signed-rank test.
    pub p_value: f64,
    /// Whether `p_value` comes from the exact null distribution (else the normal approximation).
    pub exact: bool,
}

/// Compares paired samples (same length, at least two pairs).
pub fn compare_paired(a: &[f64], b: &[f64]) -> Result<PairedComparison, String> {
    if a.len() != b.len() || a.len() < 2 {
        return Err(format!("paired samples need the same length, at least 2 (got {} and {})", a.len(), b.len()));
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    if d.iter().any(|v| !v.is_finite()) {
        return Err("a difference is not finite (NaN or infinite metric values)".into());
    }
    let n = d.len();
    let (mean, std) = mean_and_sample_std(&d);
    let half = student_t_quantile(0.975, (n - 1) as f64) * std / (n as f64).sqrt();
    let (statistic, p_value, exact) = wilcoxon(&d);
    Ok(PairedComparison { n, mean_difference: mean, std_difference: std, ci95: [mean - half, mean + half], wilcoxon_statistic: statistic, p_value, exact })
}

/// Mean and sample standard deviation (n − 1) of `values` (NaN standard deviation for fewer
/// than two values).
pub fn mean_and_sample_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = if values.len() > 1 { (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { f64::NAN };
    (mean, std)
}

/// `(min(R+, R−), two-sided p, exact)` of the differences `d`.
fn wilcoxon(d: &[f64]) -> (f64, f64, bool) {
    let nonzero: Vec<f64> = d.iter().copied().filter(|v| *v != 0.0).collect();
    let n = nonzero.len();
    if n == 0 {
        return (0.0, 1.0, true);
    }
    let ranks = average_ranks(&nonzero.iter().map(|v| v.abs()).collect::<Vec<_>>());
    let plus: f64 = nonzero.iter().zip(&ranks).filter(|(v, _)| **v > 0.0).map(|(_, r)| r).sum();
    let total = (n * (n + 1)) as f64 / 2.0;
    let statistic = plus.min(total - plus);
    if n <= 50 {
        // null: each rank is added to R+ with probability 1/2; doubled ranks are integers
        let doubled: Vec<usize> = ranks.iter().map(|r| (2.0 * r).round() as usize).collect();
        let max: usize = doubled.iter().sum();
        let mut ways = vec![0f64; max + 1];
        ways[0] = 1.0;
        for &r in &doubled {
            for s in (r..=max).rev() {
                ways[s] += ways[s - r];
            }
        }
        let limit = (2.0 * statistic).round() as usize;
        let below: f64 = ways[..=limit].iter().sum();
        let p = (2.0 * below / 2f64.powi(n as i32)).min(1.0);
        return (statistic, p, true);
    }
    let mut variance = (n * (n + 1) * (2 * n + 1)) as f64;
    for t in tie_sizes(&nonzero.iter().map(|v| v.abs()).collect::<Vec<_>>()) {
        variance -= 0.5 * (t * (t * t - 1.0));
    }
    let z = (statistic - total / 2.0) / (variance / 24.0).sqrt();
    (statistic, (2.0 * normal_sf(z.abs())).min(1.0), false)
}

/// Ranks 1..n of `values`, ties sharing their average rank.
fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + 1 + end) as f64 / 2.0;
        order[start..end].iter().for_each(|&i| ranks[i] = rank);
        start = end;
    }
    ranks
}

/// Sizes of the groups of equal values (groups of one included; they add nothing).
fn tie_sizes(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.chunk_by(|x, y| x == y).map(|g| g.len() as f64).collect()
}

/// `P(Z > z)` of the standard normal: `erfc(z / √2) / 2`.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function, `erfc(x) = Q(1/2, x²)` for `x ≥ 0` through the regularised
/// incomplete gamma function (series below `a + 1`, continued fraction above), accurate to
/// about 1e-15 relative.
fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    let (a, t) = (0.5, x * x);
    let ln_gamma_a = 0.5 * std::f64::consts::PI.ln();
    if t < a + 1.0 {
        // series for P(a, t)
        let (mut sum, mut term, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..500 {
            ap += 1.0;
            term *= t / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        1.0 - sum * (-t + a * t.ln() - ln_gamma_a).exp()
    } else {
        // Lentz's continued fraction for Q(a, t)
        let tiny = 1e-300;
        let mut b = t + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut dd = 1.0 / b;
        let mut h = dd;
        for i in 1..500 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            dd = an * dd + b;
            if dd.abs() < tiny {
                dd = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            dd = 1.0 / dd;
            let delta = dd * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (-t + a * t.ln() - ln_gamma_a).exp() * h
    }
}

/// `ln Γ(x)`, x > 0 (Lanczos, g = 7, 9 terms; about 1e-15 relative).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let sum = C.iter().enumerate().skip(1).fold(C[0], |s, (i, c)| s + c / (x + i as f64));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularised incomplete beta function `I_x(a, b)` (continued fraction, Lentz).
fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - incomplete_beta(1.0 - x, b, a);
    }
    let tiny = 1e-300;
    let (mut c, mut dd) = (1.0, 1.0 - (a + b) * x / (a + 1.0));
    if dd.abs() < tiny {
        dd = tiny;
    }
    dd = 1.0 / dd;
    let mut h = dd;
    for m in 1..500 {
        let m = m as f64;
        for numerator in [m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)), -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0))] {
            dd = 1.0 + numerator * dd;
            if dd.abs() < tiny {
                dd = tiny;
            }
            c = 1.0 + numerator / c;
            if c.abs() < tiny {
                c = tiny;
            }
            dd = 1.0 / dd;
            h *= dd * c;
        }
        if (dd * c - 1.0).abs() < 1e-16 {
            break;
        }
    }
    front * h / a
}

/// `P(T ≤ t)` of Student's t with `df` degrees of freedom.
fn student_t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * incomplete_beta(df / (df + t * t), df / 2.0, 0.5);
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// The `q` quantile of Student's t (bisection on the CDF, to machine precision).
pub fn student_t_quantile(q: f64, df: f64) -> f64 {
    let (mut lo, mut hi) = (-1e4, 1e4);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_cdf(mid, df) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) {
        assert!((got - want).abs() <= rel * want.abs(), "{got} vs {want}");
    }

    #[test]
    fn t_quantiles_and_normal_tail_match_scipy() {
        // scipy.stats.t.ppf(0.975, df), scipy.stats.norm.sf(z) (SciPy 1.17.1)
        for (df, want) in [(1.0, 12.706204736174694), (2.0, 4.302652729749462), (5.0, 2.5705818356363146), (19.0, 2.0930240544083087), (99.0, 1.9842169515864174)] {
            close(student_t_quantile(0.975, df), want, 1e-9);
        }
        for (z, want) in [(0.5, 0.3085375387259869), (1.96, 0.024997895148220435), (3.0, 0.0013498980316300933)] {
            close(normal_sf(z), want, 1e-12);
        }
    }

    #[test]
    fn wilcoxon_matches_scipy_exact_with_ties_and_approximate() {
        // scipy.stats.wilcoxon(a, b) with its defaults (SciPy 1.17.1)
        let a = [0.81, 0.75, 0.9, 0.62, 0.7, 0.88, 0.79, 0.85, 0.66, 0.73];
        let b = [0.78, 0.77, 0.85, 0.55, 0.69, 0.80, 0.81, 0.79, 0.60, 0.74];
        let c = compare_paired(&a, &b).unwrap();
        assert_eq!((c.wilcoxon_statistic, c.exact), (8.5, true));
        close(c.p_value, 0.0546875, 1e-12);
        // a zero difference (dropped) and tied ranks: the exact null of the average ranks
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
        let b = [1.5, 2.0, 2.0, 5.0, 4.0, 5.0, 8.0, 7.0, 8.0, 9.0, 10.0, 13.0];
        let c = compare_paired(&a, &b).unwrap();
        assert_eq!(c.wilcoxon_statistic, 20.5);
        close(c.p_value, 0.34375, 1e-12);
        // more than 50 pairs: normal approximation
        let (a, b) = sixty_pairs();
        let c = compare_paired(&a, &b).unwrap();
        assert_eq!((c.wilcoxon_statistic, c.exact), (465.0, false));
        close(c.p_value, 0.0009239298185665981, 1e-6);
    }

    #[test]
    fn confidence_interval_is_mean_plus_minus_t_times_standard_error() {
        let a = [0.9, 0.8, 0.85, 0.7];
        let b = [0.8, 0.75, 0.9, 0.6];
        let c = compare_paired(&a, &b).unwrap();
        let d = [0.1, 0.05, -0.05, 0.1];
        let mean = d.iter().sum::<f64>() / 4.0;
        let sd = (d.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 3.0).sqrt();
        let half = 3.1824463052837078 * sd / 2.0; // t.ppf(0.975, 3)
        close(c.ci95[0], mean - half, 1e-9);
        close(c.ci95[1], mean + half, 1e-9);
        assert!(compare_paired(&a, &b[..3]).is_err());
        assert!(compare_paired(&[f64::NAN, 1.0], &[0.0, 1.0]).is_err());
    }

    /// The 60 pairs of the SciPy check (`numpy.random.default_rng(0)`: a ~ N(0.8, 0.1),
    /// b = a − N(0.02, 0.05)), rounded to 6 decimals.
    fn sixty_pairs() -> (Vec<f64>, Vec<f64>) {
        let a = [
            0.812573, 0.78679, 0.864042, 0.81049, 0.746433, 0.83616, 0.9304, 0.894708, 0.729626, 0.673458, 0.737673, 0.804133, 0.567497, 0.778121, 0.675409,
            0.726773, 0.745574, 0.76837, 0.841163, 0.904251, 0.787147, 0.936646, 0.733481, 0.835151, 0.890347, 0.809401, 0.72565, 0.707827, 0.754227, 0.82202,
            0.699038, 0.779082, 0.784077, 0.854085, 0.821466, 0.835537, 0.734617, 0.787039, 0.878398, 0.949343, 0.674093, 0.951392, 0.934588, 0.878131, 0.826446,
            0.768608, 0.945802, 0.996026, 0.980163, 0.93151, 0.835738, 0.679168, 0.799555, 0.865647, 0.671164, 0.839512, 0.842986, 0.869604, 0.681588, 0.73383,
        ];
        let b = [
            0.814395, 0.82528, 0.757074, 0.815286, 0.709985, 0.829088, 0.831226, 0.80869, 0.677959, 0.763633, 0.715071, 0.749948, 0.497299, 0.789016, 0.564308,
            0.772795, 0.758651, 0.701617, 0.81871, 0.784132, 0.757721, 0.948306, 0.732359, 0.869708, 0.934231, 0.757881, 0.676592, 0.6231, 0.771958, 0.717564,
            0.693408, 0.680362, 0.785717, 0.870859, 0.788977, 0.763965, 0.706567, 0.796315, 0.925459, 0.999419, 0.628959, 0.881907, 0.922802, 0.911849, 0.762793,
            0.812627, 0.961455, 0.944975, 1.072671, 0.892192, 0.84482, 0.653704, 0.78334, 0.835542, 0.616455, 0.857431, 0.751937, 0.8133, 0.619402, 0.655587,
        ];
        (a.to_vec(), b.to_vec())
    }
}
