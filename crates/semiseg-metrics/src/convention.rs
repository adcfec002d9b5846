//! Metric conventions and the empty-mask policy that comes with each.
//!
//! | case | `medpy` (UA-MT / SSL4MIS code) | `monai` (`monai.metrics`) |
//! |---|---|---|
//! | HD95 | 95th percentile of pred→gt ∪ gt→pred distances | max of the two directed 95th percentiles |
//! | ASD | mean pred→gt | mean pred→gt |
//! | ASSD | mean of pred→gt ∪ gt→pred (medpy ≥ 0.5; 0.4 averaged the two ASDs) | mean of pred→gt ∪ gt→pred |
//! | prediction empty | every metric 0 (`calculate_metric_percase`) | Dice/Jaccard/recall 0, precision NaN, HD/ASD/ASSD ∞, HD95 NaN (`torch.quantile` of infinities), NSD 0; NaN throughout if the truth is empty too |
//! | truth empty, prediction not | Dice/Jaccard/precision 0, recall NaN, distances NaN (medpy raises), NSD 0 | Dice/Jaccard/recall NaN, precision 0, HD/ASD/ASSD ∞, HD95 NaN, NSD 0 |
//!
//! `smoothed` is the per-image scoring of the CMU-Net / MGCC test code (methods.md §1.5), for
//! comparing with those papers: IoU `(tp + 1e-5) / (|P ∪ G| + 1e-5)` (so 1 when both masks are
//! empty, as for a normal BUSI image predicted empty), Dice `2·IoU / (1 + IoU)`, recall
//! `tp / (tp + fn + 1e-6)`, precision `tp / (tp + fp + 1e-6)`; distances as medpy when both masks
//! have foreground, NaN otherwise. (That code also compares against `GT == max(GT)`, which turns
//! an empty mask into an all-foreground one for recall, precision and accuracy; that accident is
//! not reproduced: an empty mask stays empty.)
//!
//! NSD (normalised surface Dice, Nikolov et al. 2021) is the fraction of both surfaces within the
//! tolerance of the other; medpy has none, so both conventions use MONAI's `compute_surface_dice`.
//! Summaries skip NaN and report how many were skipped.

use crate::error::MetricError;
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// Which ecosystem's metric definitions to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Convention {
    /// `medpy.metric.binary` as called by UA-MT / SSL4MIS (the SSL literature).
    #[default]
    Medpy,
    /// `monai.metrics` (HausdorffDistanceMetric, SurfaceDistanceMetric, DiceMetric, ...).
    Monai,
    /// The smoothed per-image formulas of the CMU-Net / MGCC code (BUSI papers).
    Smoothed,
}

/// Which of the two masks of a case are empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyCase {
    /// Both masks have foreground.
    Neither,
    /// The prediction is empty, the ground truth is not.
    Pred,
    /// The ground truth is empty, the prediction is not.
    Gt,
    /// Both are empty.
    Both,
}

impl EmptyCase {
    /// Classifies a case from its foreground voxel counts.
    pub fn from_counts(pred: usize, gt: usize) -> Self {
        match (pred == 0, gt == 0) {
            (false, false) => Self::Neither,
            (true, false) => Self::Pred,
            (false, true) => Self::Gt,
            (true, true) => Self::Both,
        }
    }
}

impl Convention {
    /// The accepted names (config values, `--convention`).
    pub const NAMES: [&'static str; 3] = ["medpy", "monai", "smoothed"];
}

impl fmt::Display for Convention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Medpy => "medpy",
            Self::Monai => "monai",
            Self::Smoothed => "smoothed",
        })
    }
}

impl FromStr for Convention {
    type Err = MetricError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "medpy" => Ok(Self::Medpy),
            "monai" => Ok(Self::Monai),
            "smoothed" => Ok(Self::Smoothed),
            _ => Err(MetricError::UnknownConvention(s.to_string())),
        }
    }
}
