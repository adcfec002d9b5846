//! All metrics of one binary prediction against one binary ground truth.

use crate::convention::{Convention, EmptyCase};
use crate::error::MetricError;
use crate::overlap::Confusion;
use crate::percentile::percentile;
use crate::surface::{surface_distances, SurfaceDistances};
use ndarray::ArrayViewD;
use serde::Serialize;

/// Metrics of one binary case. Distances are in the units of the spacing used.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BinaryMetrics {
    /// Dice similarity coefficient.
    pub dice: f64,
    /// Jaccard index (IoU).
    pub jaccard: f64,
    /// Precision (positive predictive value).
    pub precision: f64,
    /// Recall (sensitivity).
    pub recall: f64,
    /// 95th-percentile Hausdorff distance.
    pub hd95: f64,
    /// Maximum (100th-percentile) Hausdorff distance.
    pub hd: f64,
    /// Average surface distance, prediction → ground truth.
    pub asd: f64,
    /// Average symmetric surface distance.
    pub assd: f64,
    /// Normalised surface Dice at the tolerance given.
    pub nsd: f64,
    /// Pixel accuracy `(tp + tn) / all`, whatever the convention.
    pub accuracy: f64,
    /// Mean absolute error of the binary prediction, `(fp + fn) / all` (the polyp benchmarks'
    /// MAE of a thresholded map; `1 − accuracy`).
    pub mae: f64,
    /// Which masks were empty.
    pub empty: EmptyCase,
    /// Foreground voxels of the prediction.
    pub pred_voxels: usize,
    /// Foreground voxels of the ground truth.
    pub gt_voxels: usize,
}

/// Computes every metric of `pred` against `gt` (same shape, 2-D or 3-D).
///
/// `spacing` has one entry per dimension; `nsd_tolerance` is in the same units.
pub fn binary_metrics(
    pred: ArrayViewD<bool>,
    gt: ArrayViewD<bool>,
    spacing: &[f64],
    convention: Convention,
    nsd_tolerance: f64,
) -> Result<BinaryMetrics, MetricError> {
    binary_metrics_in_box(pred, gt, 0, spacing, convention, nsd_tolerance)
}

/// [`binary_metrics`] of two masks cropped to a box outside which both are background:
/// `outside` counts the background voxels left out (they only add to the true negatives).
/// Surfaces and distances are those of the whole masks, since the box edge only borders
/// background.
pub fn binary_metrics_in_box(
    pred: ArrayViewD<bool>,
    gt: ArrayViewD<bool>,
    outside: usize,
    spacing: &[f64],
    convention: Convention,
    nsd_tolerance: f64,
) -> Result<BinaryMetrics, MetricError> {
    let mut c = Confusion::count(&pred, &gt)?;
    c.tn += outside;
    let empty = EmptyCase::from_counts(c.pred_size(), c.gt_size());
    let mut m = BinaryMetrics {
        dice: 0.0,
        jaccard: 0.0,
        precision: 0.0,
        recall: 0.0,
        hd95: 0.0,
        hd: 0.0,
        asd: 0.0,
        assd: 0.0,
        nsd: 0.0,
        accuracy: c.accuracy(),
        mae: 1.0 - c.accuracy(),
        empty,
        pred_voxels: c.pred_size(),
        gt_voxels: c.gt_size(),
    };
    if convention == Convention::Medpy && matches!(empty, EmptyCase::Pred | EmptyCase::Both) {
        // UA-MT / SSL4MIS `calculate_metric_percase`: an empty prediction scores 0 everywhere.
        return Ok(m);
    }
    let d = surface_distances(pred, gt, spacing)?;
    let nan = f64::NAN;
    match convention {
        Convention::Medpy => {
            m.dice = c.dice(0.0);
            m.jaccard = c.jaccard(0.0);
            m.precision = c.precision(0.0);
            m.recall = c.recall(nan); // numpy 0/0 in medpy.recall
            // an empty truth: medpy raises "does not contain any binary object", undefined
            medpy_distances(&d, empty, &mut m);
        }
        Convention::Smoothed => {
            m.jaccard = (c.tp as f64 + 1e-5) / ((c.tp + c.fp + c.fn_) as f64 + 1e-5);
            m.dice = 2.0 * m.jaccard / (1.0 + m.jaccard);
            m.recall = c.tp as f64 / (c.gt_size() as f64 + 1e-6);
            m.precision = c.tp as f64 / (c.pred_size() as f64 + 1e-6);
            medpy_distances(&d, empty, &mut m);
        }
        Convention::Monai => {
            // DiceMetric / MeanIoU with ignore_empty=True; ConfusionMatrixMetric gives 0/0 = NaN.
            let gt_empty = c.gt_size() == 0;
            m.dice = if gt_empty { nan } else { c.dice(nan) };
            m.jaccard = if gt_empty { nan } else { c.jaccard(nan) };
            m.precision = c.precision(nan);
            m.recall = c.recall(nan);
            if empty == EmptyCase::Both {
                (m.hd95, m.hd, m.asd, m.assd) = (nan, nan, nan, nan);
            } else {
                // An empty side has no surface: the other side's distances are all infinite.
                let p2g = if d.pred_to_gt.is_empty() { vec![f64::INFINITY; d.gt_to_pred.len()] } else { d.pred_to_gt.clone() };
                let g2p = if d.gt_to_pred.is_empty() { vec![f64::INFINITY; d.pred_to_gt.len()] } else { d.gt_to_pred.clone() };
                m.hd95 = percentile(&mut p2g.clone(), 95.0).max(percentile(&mut g2p.clone(), 95.0));
                m.hd = max(&p2g).max(max(&g2p));
                m.asd = mean(&p2g);
                m.assd = mean(&[p2g.as_slice(), g2p.as_slice()].concat());
            }
        }
    }
    m.nsd = surface_dice(&d.pred_to_gt, &d.gt_to_pred, nsd_tolerance);
    if convention == Convention::Monai && empty == EmptyCase::Both {
        m.nsd = nan;
    }
    Ok(m)
}

/// medpy's HD95 and HD (pooled directions), ASD (pred → gt) and ASSD; NaN unless both masks
/// have foreground.
fn medpy_distances(d: &SurfaceDistances, empty: EmptyCase, m: &mut BinaryMetrics) {
    if empty != EmptyCase::Neither {
        (m.hd95, m.hd, m.asd, m.assd) = (f64::NAN, f64::NAN, f64::NAN, f64::NAN);
        return;
    }
    let mut pooled = [d.pred_to_gt.as_slice(), d.gt_to_pred.as_slice()].concat();
    m.hd95 = percentile(&mut pooled, 95.0);
    m.hd = max(&d.pred_to_gt).max(max(&d.gt_to_pred));
    m.asd = mean(&d.pred_to_gt);
    m.assd = mean(&pooled);
}

/// Fraction of surface voxels of both masks within `tol` of the other surface (MONAI's
/// `compute_surface_dice` without sub-voxel areas). An empty side contributes no voxels and puts
/// the other side out of tolerance.
fn surface_dice(p2g: &[f64], g2p: &[f64], tol: f64) -> f64 {
    let total = p2g.len() + g2p.len();
    if total == 0 {
        return f64::NAN;
    }
    let within = p2g.iter().chain(g2p).filter(|&&d| d <= tol).count();
    within as f64 / total as f64
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}
