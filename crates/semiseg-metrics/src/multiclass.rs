//! Per-class metrics of label maps: each foreground class is scored as a binary mask.

use crate::binary::{binary_metrics, binary_metrics_in_box, BinaryMetrics};
use crate::convention::Convention;
use crate::error::MetricError;
use ndarray::{ArrayD, ArrayViewD, IxDyn, Slice};
use serde::Serialize;

/// Metrics of one foreground class of one case.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClassMetrics {
    /// The label value.
    pub class: u8,
    /// Its binary metrics.
    #[serde(flatten)]
    pub metrics: BinaryMetrics,
}

/// The foreground classes (non-zero values) present in either label map, ascending.
pub fn present_classes(pred: &ArrayViewD<u8>, gt: &ArrayViewD<u8>) -> Vec<u8> {
    let mut seen = [false; 256];
    for map in [pred, gt] {
        match map.as_slice_memory_order() {
            Some(values) => values.iter().for_each(|&v| seen[v as usize] = true),
            None => map.iter().for_each(|&v| seen[v as usize] = true),
        }
    }
    (1..=255u8).filter(|&v| seen[v as usize]).collect()
}

/// Half-open bounding box, per axis, of the voxels equal to `class` in either map (same shape,
/// standard layout), or `None` when neither has one.
fn class_bbox(pred: &[u8], gt: &[u8], shape: &[usize], class: u8) -> Option<Vec<(usize, usize)>> {
    let row = *shape.last().expect("at least one axis");
    let mut lo = vec![usize::MAX; shape.len()];
    let mut hi = vec![0; shape.len()];
    for (r, (p, g)) in pred.chunks_exact(row).zip(gt.chunks_exact(row)).enumerate() {
        let hit = |k: &usize| p[*k] == class || g[*k] == class;
        let Some(first) = (0..row).find(hit) else { continue };
        let last = (first..row).rev().find(hit).expect("first is a hit");
        // the row's index along each leading axis
        let mut rest = r;
        for a in (0..shape.len() - 1).rev() {
            let i = rest % shape[a];
            rest /= shape[a];
            lo[a] = lo[a].min(i);
            hi[a] = hi[a].max(i + 1);
        }
        let a = shape.len() - 1;
        lo[a] = lo[a].min(first);
        hi[a] = hi[a].max(last + 1);
    }
    (lo[0] != usize::MAX).then(|| lo.into_iter().zip(hi).collect())
}

/// The voxels of `map` inside `bbox` that equal `class`.
fn crop_class(map: &ArrayViewD<u8>, bbox: &[(usize, usize)], class: u8) -> ArrayD<bool> {
    map.slice_each_axis(|ax| {
        let (a, b) = bbox[ax.axis.index()];
        Slice::from(a..b)
    })
    .mapv(|v| v == class)
}

/// Scores each of `classes` (label values) of `pred` against `gt`. Each class is scored inside
/// the bounding box of its voxels in either map (all that surfaces and overlaps depend on), so
/// the work follows the structure's size rather than the volume's.
pub fn class_metrics(
    pred: ArrayViewD<u8>,
    gt: ArrayViewD<u8>,
    classes: &[u8],
    spacing: &[f64],
    convention: Convention,
    nsd_tolerance: f64,
) -> Result<Vec<ClassMetrics>, MetricError> {
    if pred.shape() != gt.shape() {
        return Err(MetricError::ShapeMismatch { pred: pred.shape().to_vec(), gt: gt.shape().to_vec() });
    }
    // Maps stored first-axis-fastest (NIfTI's order) are scored with their axes reversed: the
    // metrics do not depend on the axis order once the spacing follows, and no copy is made.
    let fortran = |m: &ArrayViewD<u8>| !m.is_standard_layout() && m.t().is_standard_layout();
    let (pred, gt, spacing) = if fortran(&pred) && fortran(&gt) {
        (pred.reversed_axes(), gt.reversed_axes(), spacing.iter().rev().copied().collect::<Vec<_>>())
    } else {
        (pred, gt, spacing.to_vec())
    };
    let spacing = spacing.as_slice();
    let (p, g) = (pred.as_standard_layout(), gt.as_standard_layout());
    let (ps, gs) = (p.as_slice().expect("standard layout"), g.as_slice().expect("standard layout"));
    classes
        .iter()
        .map(|&class| {
            let metrics = match class_bbox(ps, gs, pred.shape(), class) {
                Some(bbox) => {
                    let (pc, gc) = (crop_class(&p.view(), &bbox, class), crop_class(&g.view(), &bbox, class));
                    binary_metrics_in_box(pc.view(), gc.view(), ps.len() - pc.len(), spacing, convention, nsd_tolerance)?
                }
                None => {
                    let empty = ArrayD::from_elem(IxDyn(&vec![1; pred.ndim()]), false);
                    binary_metrics_in_box(empty.view(), empty.view(), ps.len() - 1, spacing, convention, nsd_tolerance)?
                }
            };
            Ok(ClassMetrics { class, metrics })
        })
        .collect()
}

/// Metrics of a class absent from both masks of a case: they depend only on the convention
/// (all 0 for medpy, NaN for MONAI), so no mask needs to be read again to fill the row.
pub fn absent_class(class: u8, ndim: usize, convention: Convention, nsd_tolerance: f64) -> Result<ClassMetrics, MetricError> {
    let empty = ndarray::ArrayD::from_elem(ndarray::IxDyn(&vec![1; ndim]), false);
    let metrics = binary_metrics(empty.view(), empty.view(), &vec![1.0; ndim], convention, nsd_tolerance)?;
    Ok(ClassMetrics { class, metrics })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array3, ShapeBuilder};

    fn close(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-12 * a.abs().max(1.0)
    }

    #[test]
    fn boxed_and_reversed_scoring_equals_whole_volume_scoring() {
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        let shape = (11, 13, 9);
        // blobs of classes 1 and 2 in a corner region, class 3 absent from the prediction
        let gt = Array3::from_shape_fn(shape, |(a, b, c)| if a > 2 && a < 8 && b > 3 && c < 6 { 1 + u8::from(b > 8) } else if a == 10 && b == 12 { 3 } else { 0 });
        let pred = Array3::from_shape_fn(shape, |(a, b, c)| if next() % 9 == 0 { 0 } else if a > 3 && a < 9 && b > 2 && c < 7 { 1 + u8::from(b > 9) } else { 0 });
        let spacing = [0.8, 1.1, 2.5];
        let classes = [1, 2, 3, 4];
        let got = class_metrics(pred.view().into_dyn(), gt.view().into_dyn(), &classes, &spacing, Convention::Medpy, 1.0).unwrap();
        // the same maps stored first-axis-fastest, as NIfTI files are
        let mut pred_f = Array3::zeros(shape.f());
        pred_f.assign(&pred);
        let mut gt_f = Array3::zeros(shape.f());
        gt_f.assign(&gt);
        let got_f = class_metrics(pred_f.view().into_dyn(), gt_f.view().into_dyn(), &classes, &spacing, Convention::Medpy, 1.0).unwrap();
        for ((m, mf), &class) in got.iter().zip(&got_f).zip(&classes) {
            let want = binary_metrics(pred.mapv(|v| v == class).view().into_dyn(), gt.mapv(|v| v == class).view().into_dyn(), &spacing, Convention::Medpy, 1.0).unwrap();
            for (label, got) in [("boxed", m.metrics), ("reversed", mf.metrics)] {
                let pairs = [(got.dice, want.dice), (got.jaccard, want.jaccard), (got.hd95, want.hd95), (got.hd, want.hd), (got.asd, want.asd), (got.assd, want.assd), (got.nsd, want.nsd), (got.accuracy, want.accuracy), (got.recall, want.recall)];
                assert!(pairs.iter().all(|&(a, b)| close(a, b)), "class {class}, {label}: {got:?} vs {want:?}");
            }
        }
        assert_eq!(present_classes(&pred.view().into_dyn(), &gt_f.view().into_dyn()), [1, 2, 3]);
    }
}
