//! Voxel-overlap counts of a binary prediction against a binary ground truth.

use crate::error::MetricError;
use ndarray::{ArrayViewD, Zip};

/// True/false positive and negative voxel counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Confusion {
    /// Foreground in both.
    pub tp: usize,
    /// Foreground in the prediction only.
    pub fp: usize,
    /// Foreground in the ground truth only.
    pub fn_: usize,
    /// Background in both.
    pub tn: usize,
}

impl Confusion {
    /// Counts the four cases voxel by voxel.
    pub fn count(pred: &ArrayViewD<bool>, gt: &ArrayViewD<bool>) -> Result<Self, MetricError> {
        if pred.shape() != gt.shape() {
            return Err(MetricError::ShapeMismatch { pred: pred.shape().to_vec(), gt: gt.shape().to_vec() });
        }
        let mut c = Self::default();
        Zip::from(pred).and(gt).for_each(|&p, &g| match (p, g) {
            (true, true) => c.tp += 1,
            (true, false) => c.fp += 1,
            (false, true) => c.fn_ += 1,
            (false, false) => c.tn += 1,
        });
        Ok(c)
    }

    /// Foreground voxels of the prediction.
    pub fn pred_size(&self) -> usize {
        self.tp + self.fp
    }

    /// Foreground voxels of the ground truth.
    pub fn gt_size(&self) -> usize {
        self.tp + self.fn_
    }

    /// `2|A∩B| / (|A| + |B|)`, or `empty` when both are empty.
    pub fn dice(&self, empty: f64) -> f64 {
        ratio(2 * self.tp, self.pred_size() + self.gt_size(), empty)
    }

    /// `|A∩B| / |A∪B|`, or `empty` when both are empty.
    pub fn jaccard(&self, empty: f64) -> f64 {
        ratio(self.tp, self.tp + self.fp + self.fn_, empty)
    }

    /// `tp / (tp + fp)`, or `empty` when the prediction is empty.
    pub fn precision(&self, empty: f64) -> f64 {
        ratio(self.tp, self.tp + self.fp, empty)
    }

    /// `tp / (tp + fn)` (sensitivity), or `empty` when the ground truth is empty.
    pub fn recall(&self, empty: f64) -> f64 {
        ratio(self.tp, self.tp + self.fn_, empty)
    }

    /// `tn / (tn + fp)`, or `empty` when there is no background in the ground truth.
    pub fn specificity(&self, empty: f64) -> f64 {
        ratio(self.tn, self.tn + self.fp, empty)
    }

    /// `(tp + tn) / all`.
    pub fn accuracy(&self) -> f64 {
        ratio(self.tp + self.tn, self.tp + self.tn + self.fp + self.fn_, f64::NAN)
    }
}

fn ratio(num: usize, den: usize, empty: f64) -> f64 {
    if den == 0 {
        empty
    } else {
        num as f64 / den as f64
    }
}
