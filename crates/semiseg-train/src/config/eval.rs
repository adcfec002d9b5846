//! `[eval]`: metric convention, checkpoint selection and sliding windows.

use super::check::one_of;
use super::ConfigError;
use serde::{Deserialize, Serialize};

/// How the `eval.select_by` metric reads in messages and plots (`jaccard` → `Jaccard`, else `Dice`).
pub fn select_by_label(metric: &str) -> &'static str {
    if metric == "jaccard" { "Jaccard" } else { "Dice" }
}
/// Evaluation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// `medpy`, `monai` or `smoothed` (the CMU-Net / MGCC formulas, see semiseg-metrics).
    pub convention: String,
    /// Report the test split with the best-on-validation checkpoint as well as the last one.
    pub test_best: bool,
    /// Where to score: `original` (the label file's grid and spacing) or `network` (the
    /// prediction at `data.patch` against the label resized there, pixels; MGCC/CLCC §1.5/§2.5).
    pub resolution: String,
    /// Legacy (CLCC test script): threshold a one-logit net's raw logit at 0.5, i.e. probability
    /// σ(0.5) ≈ 0.622, instead of the probability at 0.5.
    pub logit_threshold: bool,
    /// Validation metric that picks the `best` checkpoint: `dice` (SSL4MIS, CLCC) or `jaccard`
    /// (MGCC keeps its best validation IoU).
    pub select_by: String,
    /// Distance units of HD95 / ASD: `header` (the label file's spacing) or `voxels` (spacing
    /// ignored, as UA-MT's, CAML's and FBA-Net's medpy calls).
    pub units: String,
    /// 3-D networks: sliding-window stride `[H, W, D]` (UA-MT: 18 × 18 × 4).
    pub stride: Vec<usize>,
    /// 3-D networks: `average` the overlapping windows (UA-MT) or weight them by a Gaussian
    /// centred on each window: `gaussian_monai` (or `gaussian`; centre `(n − 1)/2`) or
    /// `gaussian_nnunet` (centre `n // 2`); see `sliding_window`.
    pub blend: String,
    /// 3-D networks: windows per forward pass.
    pub window_batch: usize,
}
impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            convention: "medpy".into(),
            test_best: true,
            resolution: "original".into(),
            logit_threshold: false,
            select_by: "dice".into(),
            units: "header".into(),
            stride: vec![18, 18, 4],
            blend: "average".into(),
            window_batch: 1,
        }
    }
}
impl EvalConfig {
    /// Checks the values that need no other section (strides and windows are checked for 3-D
    /// networks only).
    pub fn check(&self) -> Result<(), ConfigError> {
        one_of("eval.blend", &self.blend, &["average", "gaussian", "gaussian_monai", "gaussian_nnunet"])?;
        one_of("eval.units", &self.units, &["header", "voxels"])?;
        one_of("eval.convention", &self.convention, &semiseg_metrics::Convention::NAMES)?;
        one_of("eval.resolution", &self.resolution, &["original", "network"])?;
        one_of("eval.select_by", &self.select_by, &["dice", "jaccard"])?;
        Ok(())
    }
}
