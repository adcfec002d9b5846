//! What a user checks before training: layout, counts, shapes, spacing, intensities, label
//! values, foreground fraction, and every problem found, each with its file.
//!
//! Unlike a checker that stops at the first failure, every case is read (in parallel) and every
//! problem is listed; the caller decides the exit status from [`InspectReport::has_errors`].

use crate::layout::{Case, Dataset, LayoutKind, Problem, Severity};
use crate::sample::{Image, LabelMap};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

/// What was read of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseInfo {
    /// Case id.
    pub id: String,
    /// Image file (first channel).
    pub image: PathBuf,
    /// Spatial shape, e.g. `256x256` or `175x132x88`.
    pub shape: String,
    /// Number of channels.
    pub channels: usize,
    /// Voxel spacing along D0, D1, D2.
    pub spacing: [f64; 3],
    /// Minimum and maximum intensity.
    pub intensity: (f32, f32),
    /// Distinct label values, if labeled.
    pub label_values: Option<Vec<u8>>,
    /// Fraction of non-background voxels, if labeled.
    pub foreground_fraction: Option<f64>,
}

/// Per-split counts.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SplitCount {
    /// Cases in the split.
    pub cases: usize,
    /// Of which have a label file.
    pub labeled: usize,
}

/// The full inspection result.
#[derive(Debug, Clone, Serialize)]
pub struct InspectReport {
    /// The dataset folder.
    pub root: PathBuf,
    /// Its layout.
    pub layout: LayoutKind,
    /// Case counts per split.
    pub splits: BTreeMap<String, SplitCount>,
    /// Every case that could be read.
    pub cases: Vec<CaseInfo>,
    /// Every problem, errors first.
    pub problems: Vec<Problem>,
}

impl InspectReport {
    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
    }

    /// A summary for people.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "dataset   {}", self.root.display());
        let _ = writeln!(s, "layout    {:?}", self.layout);
        for (name, c) in &self.splits {
            let _ = writeln!(s, "split     {name:<14} {:>5} cases, {:>5} labeled", c.cases, c.labeled);
        }
        if !self.cases.is_empty() {
            let shapes: BTreeSet<&str> = self.cases.iter().map(|c| c.shape.as_str()).collect();
            let shown: Vec<&str> = shapes.iter().take(6).copied().collect();
            let more = if shapes.len() > 6 { format!(" (+{} more)", shapes.len() - 6) } else { String::new() };
            let _ = writeln!(s, "shapes    {} distinct: {}{more}", shapes.len(), shown.join(", "));
            let channels: BTreeSet<usize> = self.cases.iter().map(|c| c.channels).collect();
            let _ = writeln!(s, "channels  {channels:?}");
            for axis in 0..3 {
                let (lo, hi) = range(self.cases.iter().map(|c| c.spacing[axis]));
                let _ = writeln!(s, "spacing{axis}  {lo:.4} .. {hi:.4}");
            }
            let (lo, _) = range(self.cases.iter().map(|c| c.intensity.0 as f64));
            let (_, hi) = range(self.cases.iter().map(|c| c.intensity.1 as f64));
            let _ = writeln!(s, "intensity {lo} .. {hi}");
            let values: BTreeSet<u8> = self.cases.iter().filter_map(|c| c.label_values.as_ref()).flatten().copied().collect();
            let _ = writeln!(s, "labels    values {values:?}");
            let fg: Vec<f64> = self.cases.iter().filter_map(|c| c.foreground_fraction).collect();
            if !fg.is_empty() {
                let (lo, hi) = range(fg.iter().copied());
                let mean = fg.iter().sum::<f64>() / fg.len() as f64;
                let _ = writeln!(s, "foreground fraction mean {mean:.4}, min {lo:.4}, max {hi:.4}");
            }
        }
        let errors = self.problems.iter().filter(|p| p.severity == Severity::Error).count();
        let _ = writeln!(s, "problems  {errors} errors, {} warnings", self.problems.len() - errors);
        for p in self.problems.iter().filter(|p| p.severity == Severity::Error) {
            let _ = writeln!(s, "  error   {}: {}", p.path.display(), p.message);
        }
        // Warnings repeat (every normal BUSI case has an empty mask): one line per message.
        let mut warnings: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for p in self.problems.iter().filter(|p| p.severity == Severity::Warning) {
            warnings.entry(&p.message).or_default().push(p.path.display().to_string());
        }
        for (message, paths) in warnings {
            match paths.as_slice() {
                [one] => {
                    let _ = writeln!(s, "  warning {one}: {message}");
                }
                many => {
                    let shown = many.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
                    let _ = writeln!(s, "  warning {message}: {} files ({shown}{})", many.len(), if many.len() > 3 { ", ..." } else { "" });
                }
            }
        }
        s
    }
}

fn range(v: impl Iterator<Item = f64>) -> (f64, f64) {
    v.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)))
}

/// Reads one case and lists its problems (`channels`: the count the dataset declares).
fn inspect_case(case: &Case, channels: Option<usize>) -> (Option<CaseInfo>, Vec<Problem>) {
    let mut problems = Vec::new();
    let image = match case.read_image() {
        Ok(i) => i,
        Err(e) => return (None, vec![Problem::error(&case.images[0], format!("unreadable image: {e}"))]),
    };
    let label = match case.read_label() {
        Ok(l) => l,
        Err(e) => {
            problems.push(Problem::error(case.label.clone().unwrap_or_default(), format!("unreadable label: {e}")));
            None
        }
    };
    let info = describe(case, &image, label.as_ref());
    if let Some(n) = channels.filter(|&n| n != image.channels()) {
        let hint = if case.images.len() == 1 && image.channels() > 1 { " (a 4-D file where a 3-D one was expected?)" } else { "" };
        problems.push(Problem::error(&case.images[0], format!("image has {} channels but dataset.json declares {n}{hint}", image.channels())));
    }
    if image.data.iter().any(|v| !v.is_finite()) {
        problems.push(Problem::error(&case.images[0], "image has NaN or infinite values"));
    }
    if let (Some(l), Some(path)) = (&label, &case.label) {
        if l.spatial_shape() != image.spatial_shape() || l.spatial_dims != image.spatial_dims {
            problems.push(Problem::error(path, format!("label shape {} differs from image shape {} ({})", l.shape_string(), image.shape_string(), case.images[0].display())));
        }
        let (a, b) = (l.geometry.spacing, image.geometry.spacing);
        if a.iter().zip(b).any(|(x, y)| (x - y).abs() > 1e-4 * x.abs().max(1.0)) {
            problems.push(Problem::error(path, format!("label spacing {a:?} differs from image spacing {b:?}")));
        }
        if l.data.iter().all(|&v| v == 0) {
            problems.push(Problem::warning(path, "mask is empty (all background)"));
        }
    }
    (Some(info), problems)
}

fn describe(case: &Case, image: &Image, label: Option<&LabelMap>) -> CaseInfo {
    let (lo, hi) = image.data.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    CaseInfo {
        id: case.id.clone(),
        image: case.images[0].clone(),
        shape: image.shape_string(),
        channels: image.channels(),
        spacing: image.geometry.spacing,
        intensity: (lo, hi),
        label_values: label.map(LabelMap::values),
        foreground_fraction: label.map(LabelMap::foreground_fraction),
    }
}

/// Reads every case of every split once and reports. `tick` is called after each case (for a
/// progress bar).
pub fn inspect(dataset: &Dataset, tick: &(dyn Fn() + Sync)) -> InspectReport {
    let mut unique: Vec<&Case> = Vec::new();
    let mut seen = BTreeSet::new();
    for case in dataset.splits.values().flatten() {
        if seen.insert(&case.images) {
            unique.push(case);
        }
    }
    let results: Vec<_> = unique
        .par_iter()
        .map(|c| {
            let r = inspect_case(c, dataset.declared_channels);
            tick();
            r
        })
        .collect();
    let mut cases = Vec::new();
    let mut problems = dataset.problems.clone();
    for (info, p) in results {
        cases.extend(info);
        problems.extend(p);
    }
    problems.extend(label_value_problems(dataset, &cases));
    problems.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.path.cmp(&b.path)));
    let splits = dataset
        .splits
        .iter()
        .map(|(k, v)| (k.clone(), SplitCount { cases: v.len(), labeled: v.iter().filter(|c| c.label.is_some()).count() }))
        .collect();
    InspectReport { root: dataset.root.clone(), layout: dataset.kind, splits, cases, problems }
}

/// Label values that do not belong: outside the declared labels; without declared labels,
/// values that no other mask has (among three or more), and non-binary masks in a dataset whose
/// masks are (at least 90 %) binary.
fn label_value_problems(dataset: &Dataset, cases: &[CaseInfo]) -> Vec<Problem> {
    let labeled: Vec<(&CaseInfo, &Vec<u8>)> = cases.iter().filter_map(|c| c.label_values.as_ref().map(|v| (c, v))).collect();
    let label_path = |c: &CaseInfo| {
        dataset.splits.values().flatten().find(|k| k.images[0] == c.image).and_then(|k| k.label.clone()).unwrap_or_else(|| c.image.clone())
    };
    if let Some(declared) = &dataset.declared_labels {
        return labeled
            .iter()
            .filter_map(|(c, v)| {
                let bad: Vec<u8> = v.iter().copied().filter(|x| !declared.contains_key(x)).collect();
                (!bad.is_empty()).then(|| Problem::error(label_path(c), format!("label values {bad:?} are not declared in dataset.json (declared: {:?})", declared.keys().collect::<Vec<_>>())))
            })
            .collect();
    }
    let mut masks_with = [0usize; 256];
    for (_, v) in &labeled {
        for &x in v.iter() {
            masks_with[x as usize] += 1;
        }
    }
    let binary = labeled.iter().filter(|(_, v)| v.iter().all(|&x| x <= 1)).count();
    let mostly_binary = !labeled.is_empty() && binary * 10 >= labeled.len() * 9;
    labeled
        .iter()
        .filter_map(|(c, v)| {
            let unique: Vec<u8> = v.iter().copied().filter(|&x| masks_with[x as usize] == 1).collect();
            if mostly_binary && v.iter().any(|&x| x > 1) {
                Some(Problem::error(label_path(c), format!("non-binary mask values {v:?} in a binary dataset")))
            } else if labeled.len() >= 3 && !unique.is_empty() {
                let others: Vec<u8> = (0..=255u8).filter(|&x| masks_with[x as usize] > usize::from(v.contains(&x))).collect();
                Some(Problem::error(label_path(c), format!("mask values {unique:?} occur in no other mask (mask values {v:?}; the other masks use {others:?})")))
            } else {
                None
            }
        })
        .collect()
}
