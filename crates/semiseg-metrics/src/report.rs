//! Per-case tables and their summary (mean ± std per class and overall), as CSV and JSON.
//!
//! Aggregation follows the field: every (case, class) is scored, a case's value is the mean over
//! its classes, and the overall value is the mean over cases. NaN values are skipped and counted
//! (MONAI's `not_nans`); infinities are kept and make the mean infinite. Standard deviations are
//! population (`ddof = 0`, numpy's default).

use crate::multiclass::ClassMetrics;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Names of the metrics in table order.
pub const METRIC_NAMES: [&str; 11] = ["dice", "jaccard", "precision", "recall", "hd95", "hd", "asd", "assd", "nsd", "accuracy", "mae"];

/// The metric values of a [`ClassMetrics`] in [`METRIC_NAMES`] order.
pub fn values(m: &ClassMetrics) -> [f64; 11] {
    let b = &m.metrics;
    [b.dice, b.jaccard, b.precision, b.recall, b.hd95, b.hd, b.asd, b.assd, b.nsd, b.accuracy, b.mae]
}

/// One case with its per-class metrics.
#[derive(Debug, Clone, Serialize)]
pub struct CaseRow {
    /// Case identifier (file stem).
    pub case: String,
    /// Metrics of each foreground class.
    pub classes: Vec<ClassMetrics>,
}

/// Mean, standard deviation and counts of one metric. In JSON, non-finite numbers are the
/// strings `"nan"`, `"inf"` (JSON has no literal for them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MetricSummary {
    /// Mean over non-NaN values.
    #[serde(serialize_with = "number_or_string")]
    pub mean: f64,
    /// Population standard deviation over non-NaN values.
    #[serde(serialize_with = "number_or_string")]
    pub std: f64,
    /// Values used.
    pub n: usize,
    /// NaN values skipped.
    pub n_nan: usize,
}

impl MetricSummary {
    /// Summarises `values`, skipping NaN.
    pub fn of(values: &[f64]) -> Self {
        let kept: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        let n = kept.len();
        let mean = if n == 0 { f64::NAN } else { kept.iter().sum::<f64>() / n as f64 };
        let std = if n == 0 || mean.is_infinite() {
            f64::NAN
        } else {
            (kept.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt()
        };
        Self { mean, std, n, n_nan: values.len() - n }
    }
}

/// Summary of a metrics run.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Per class, per metric.
    pub per_class: BTreeMap<u8, BTreeMap<&'static str, MetricSummary>>,
    /// Per metric, over cases of their class means.
    pub overall: BTreeMap<&'static str, MetricSummary>,
    /// Number of cases.
    pub cases: usize,
}

impl Summary {
    /// Aggregates the rows.
    pub fn of(rows: &[CaseRow]) -> Self {
        let mut per_class_vals: BTreeMap<u8, Vec<[f64; 11]>> = BTreeMap::new();
        let mut case_means: Vec<[f64; 11]> = Vec::new();
        for row in rows {
            let mut acc = [(0.0f64, 0usize); 11];
            for c in &row.classes {
                let v = values(c);
                per_class_vals.entry(c.class).or_default().push(v);
                for (a, x) in acc.iter_mut().zip(v) {
                    if !x.is_nan() {
                        a.0 += x;
                        a.1 += 1;
                    }
                }
            }
            if !row.classes.is_empty() {
                case_means.push(acc.map(|(s, n)| if n == 0 { f64::NAN } else { s / n as f64 }));
            }
        }
        let summarise = |vals: &[[f64; 11]]| {
            METRIC_NAMES
                .iter()
                .enumerate()
                .map(|(i, &name)| (name, MetricSummary::of(&vals.iter().map(|v| v[i]).collect::<Vec<_>>())))
                .collect::<BTreeMap<_, _>>()
        };
        Self {
            per_class: per_class_vals.iter().map(|(&c, v)| (c, summarise(v))).collect(),
            overall: summarise(&case_means),
            cases: rows.len(),
        }
    }

    /// Human-readable table: one line per class and one overall, `mean ± std`.
    pub fn to_text(&self) -> String {
        let shown = ["dice", "jaccard", "hd95", "asd", "assd", "nsd", "precision", "recall"];
        let mut s = format!("{:<8}", "class");
        for name in shown {
            let _ = write!(s, " {:>17}", name);
        }
        s.push('\n');
        let mut line = |label: String, m: &BTreeMap<&'static str, MetricSummary>| {
            let _ = write!(s, "{label:<8}");
            for name in shown {
                let v = m[name];
                let _ = write!(s, " {:>17}", format!("{:.4} ± {:.4}", v.mean, v.std));
            }
            s.push('\n');
        };
        for (c, m) in &self.per_class {
            line(c.to_string(), m);
        }
        line("mean".into(), &self.overall);
        s
    }
}

/// The per-case CSV: `case,class,dice,jaccard,precision,recall,hd95,hd,asd,assd,nsd,pred_voxels,gt_voxels,empty`.
pub fn to_csv(rows: &[CaseRow]) -> String {
    let mut s = format!("case,class,{},pred_voxels,gt_voxels,empty\n", METRIC_NAMES.join(","));
    for row in rows {
        for c in &row.classes {
            let _ = write!(s, "{},{}", csv_field(&row.case), c.class);
            for v in values(c) {
                let _ = write!(s, ",{}", fmt_num(v));
            }
            let empty = serde_json::to_value(c.metrics.empty).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            let _ = writeln!(s, ",{},{},{}", c.metrics.pred_voxels, c.metrics.gt_voxels, empty);
        }
    }
    s
}

fn number_or_string<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else {
        s.serialize_str(&fmt_num(*v))
    }
}

/// Numbers as Python prints them for non-finite values (`nan`, `inf`), full precision otherwise.
fn fmt_num(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{v}")
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
