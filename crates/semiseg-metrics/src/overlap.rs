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
        // three branch-free sums; the other counts follow from them
        let (mut both, mut in_pred, mut in_gt) = (0usize, 0usize, 0usize);
        match (pred.as_slice_memory_order(), gt.as_slice_memory_order()) {
            (Some(p), Some(g)) if pred.strides() == gt.strides() => {
                for (&p, &g) in p.iter().zip(g) {
                    both += (p & g) as usize;
                    in_pred += p as usize;
                    in_gt += g as usize;
                }
            }
            _ => Zip::from(pred).and(gt).for_each(|&p, &g| {
                both += (p & g) as usize;
                in_pred += p as usize;
                in_gt += g as usize;
            }),
        }
        Ok(Self { tp: both, fp: in_pred - both, fn_: in_gt - both, tn: pred.len() - in_pred - in_gt + both })
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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array3, ShapeBuilder};

    #[test]
    fn counts_agree_for_contiguous_and_mixed_layouts() {
        let p = Array3::from_shape_fn((3, 4, 5), |(a, b, c)| (a + 2 * b + c) % 3 == 0);
        let g = Array3::from_shape_fn((3, 4, 5), |(a, b, c)| (a * b + c) % 2 == 0);
        let by_hand = |p: &Array3<bool>, g: &Array3<bool>| {
            let both = p.iter().zip(g).filter(|(&x, &y)| x && y).count();
            let fp = p.iter().zip(g).filter(|(&x, &y)| x && !y).count();
            let fn_ = p.iter().zip(g).filter(|(&x, &y)| !x && y).count();
            Confusion { tp: both, fp, fn_, tn: p.len() - both - fp - fn_ }
        };
        let want = by_hand(&p, &g);
        assert_eq!(Confusion::count(&p.view().into_dyn(), &g.view().into_dyn()).unwrap(), want);
        // the same values stored column-major on one side only
        let mut gf = Array3::from_elem((3, 4, 5).f(), false);
        gf.assign(&g);
        assert_eq!(Confusion::count(&p.view().into_dyn(), &gf.view().into_dyn()).unwrap(), want);
    }
}
