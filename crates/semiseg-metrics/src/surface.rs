//! Surface voxels and the distances between two surfaces.
//!
//! The surface of a mask is the mask minus its binary erosion with the connectivity-1
//! structuring element, voxels outside the array counting as background: exactly
//! `mask ^ scipy.ndimage.binary_erosion(mask, generate_binary_structure(ndim, 1))`, which both
//! medpy and MONAI use. Work is restricted to the bounding box of the union of both masks;
//! every surface voxel lies inside it, so the distances are unchanged.

use crate::edt::squared_edt_at;
use crate::error::MetricError;
use ndarray::{s, Array3, ArrayView3, ArrayViewD, Ix2, Ix3};

/// Distances between the surfaces of a prediction and a ground truth.
#[derive(Debug, Clone, Default)]
pub struct SurfaceDistances {
    /// For every prediction surface voxel, the distance to the nearest ground-truth surface voxel.
    pub pred_to_gt: Vec<f64>,
    /// For every ground-truth surface voxel, the distance to the nearest prediction surface voxel.
    pub gt_to_pred: Vec<f64>,
}

/// A mask viewed as 3-D, with the axes that take part in erosion and distances.
pub(crate) struct Mask3<'a> {
    pub view: ArrayView3<'a, bool>,
    pub spacing: [f64; 3],
    /// A 2-D mask becomes `[1, H, W]` with axis 0 inactive.
    pub active: [bool; 3],
}

/// Views a 2-D or 3-D mask as 3-D, checking the spacing.
pub(crate) fn as_mask3<'a>(mask: &'a ArrayViewD<'a, bool>, spacing: &[f64]) -> Result<Mask3<'a>, MetricError> {
    let ndim = mask.ndim();
    if spacing.len() != ndim || spacing.iter().any(|s| !(*s > 0.0 && s.is_finite())) {
        return Err(MetricError::Spacing { spacing: spacing.to_vec(), ndim });
    }
    match ndim {
        2 => {
            let v = mask.view().into_dimensionality::<Ix2>().expect("ndim checked");
            Ok(Mask3 { view: v.insert_axis(ndarray::Axis(0)), spacing: [1.0, spacing[0], spacing[1]], active: [false, true, true] })
        }
        3 => {
            let v = mask.view().into_dimensionality::<Ix3>().expect("ndim checked");
            Ok(Mask3 { view: v, spacing: [spacing[0], spacing[1], spacing[2]], active: [true; 3] })
        }
        n => Err(MetricError::Dimensionality(n)),
    }
}

/// Half-open bounding box of the `true` voxels of either mask, or `None` when both are empty.
fn union_bbox(a: &ArrayView3<bool>, b: &ArrayView3<bool>) -> Option<[(usize, usize); 3]> {
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    for (i, (pa, pb)) in a.outer_iter().zip(b.outer_iter()).enumerate() {
        for (j, (la, lb)) in pa.outer_iter().zip(pb.outer_iter()).enumerate() {
            let hit = |k: &usize| la[*k] || lb[*k];
            let n = la.len();
            let Some(first) = (0..n).find(hit) else { continue };
            let last = (0..n).rev().find(hit).expect("first exists");
            lo = [lo[0].min(i), lo[1].min(j), lo[2].min(first)];
            hi = [hi[0].max(i + 1), hi[1].max(j + 1), hi[2].max(last + 1)];
        }
    }
    (lo[0] != usize::MAX).then(|| [(lo[0], hi[0]), (lo[1], hi[1]), (lo[2], hi[2])])
}

/// Surface voxels: foreground voxels with a background (or out-of-array) face neighbour along an
/// active axis. Row by row, so that the neighbour tests run over whole slices.
pub(crate) fn surface(mask: &ArrayView3<bool>, active: [bool; 3]) -> Array3<bool> {
    let mask = mask.as_standard_layout();
    let m = mask.as_slice().expect("standard layout");
    let (n0, n1, n2) = mask.dim();
    let mut out = vec![false; m.len()];
    let row_at = |i: usize, j: usize| &m[(i * n1 + j) * n2..][..n2];
    for (r, out_row) in out.chunks_exact_mut(n2.max(1)).enumerate().take(n0 * n1) {
        let (i, j) = (r / n1, r % n1);
        let row = row_at(i, j);
        let on_edge = (active[0] && (i == 0 || i + 1 == n0)) || (active[1] && (j == 0 || j + 1 == n1));
        if on_edge {
            out_row.copy_from_slice(row);
            continue;
        }
        // an inactive axis contributes the row itself, which never marks a voxel
        let (before0, after0) = if active[0] { (row_at(i - 1, j), row_at(i + 1, j)) } else { (row, row) };
        let (before1, after1) = if active[1] { (row_at(i, j - 1), row_at(i, j + 1)) } else { (row, row) };
        for k in 0..n2 {
            out_row[k] = row[k] & !(before0[k] & after0[k] & before1[k] & after1[k]);
        }
        if active[2] {
            for k in 0..n2 {
                out_row[k] |= row[k] & (k == 0 || k + 1 == n2 || !row[k - 1] || !row[k + 1]);
            }
        }
    }
    Array3::from_shape_vec((n0, n1, n2), out).expect("same size")
}

/// Binary erosion with the connectivity-1 element, outside the array counting as background
/// (`scipy.ndimage.binary_erosion(mask, generate_binary_structure(ndim, 1))`). 2-D or 3-D.
pub fn erode(mask: &ArrayViewD<bool>) -> Result<ndarray::ArrayD<bool>, MetricError> {
    let m = as_mask3(mask, &vec![1.0; mask.ndim()])?;
    let border = surface(&m.view, m.active);
    let eroded = ndarray::Zip::from(&m.view).and(&border).map_collect(|&v, &b| v && !b);
    Ok(eroded.into_shape_with_order(mask.shape()).expect("same number of elements").into_dyn())
}

/// Distances from the voxels of `from` to the nearest voxel of `to` (empty `to` gives infinity).
fn directed(from: &Array3<bool>, to: &Array3<bool>, spacing: [f64; 3]) -> Vec<f64> {
    if !from.iter().any(|&v| v) {
        return Vec::new();
    }
    squared_edt_at(to.view(), from.view(), spacing).into_iter().map(f64::sqrt).collect()
}

/// Surface distances in both directions between a prediction and a ground truth.
///
/// `spacing` has one entry per mask dimension. Empty masks give empty distance lists on their
/// side and infinite distances on the other side.
pub fn surface_distances(pred: ArrayViewD<bool>, gt: ArrayViewD<bool>, spacing: &[f64]) -> Result<SurfaceDistances, MetricError> {
    if pred.shape() != gt.shape() {
        return Err(MetricError::ShapeMismatch { pred: pred.shape().to_vec(), gt: gt.shape().to_vec() });
    }
    let p = as_mask3(&pred, spacing)?;
    let g = as_mask3(&gt, spacing)?;
    let Some(bb) = union_bbox(&p.view, &g.view) else {
        return Ok(SurfaceDistances::default());
    };
    // views: `surface` copies them only when they are not contiguous (a box short of the array)
    let bbox = s![bb[0].0..bb[0].1, bb[1].0..bb[1].1, bb[2].0..bb[2].1];
    // Beyond the union's bounding box both masks are background, so treating the box edge as the
    // array edge leaves every surface voxel unchanged.
    let (pc, gc) = (p.view.slice(bbox), g.view.slice(bbox));
    let (ps, gs) = (surface(&pc, p.active), surface(&gc, p.active));
    let (pred_to_gt, gt_to_pred) = rayon::join(|| directed(&ps, &gs, p.spacing), || directed(&gs, &ps, p.spacing));
    Ok(SurfaceDistances { pred_to_gt, gt_to_pred })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, Array3, ArrayD, IxDyn};

    #[test]
    fn filled_square_surface_is_its_ring() {
        let mut m = Array2::from_elem((7, 7), false);
        m.slice_mut(s![1..6, 1..6]).fill(true);
        let s3 = surface(&m.view().insert_axis(ndarray::Axis(0)), [false, true, true]);
        assert_eq!(s3.iter().filter(|&&v| v).count(), 16);
    }

    /// The definition: foreground with a background or out-of-array face neighbour.
    fn surface_by_definition(m: &Array3<bool>, active: [bool; 3]) -> Array3<bool> {
        let dims = m.dim();
        let dims = [dims.0, dims.1, dims.2];
        Array3::from_shape_fn(m.dim(), |(i, j, k)| {
            let at = [i, j, k];
            m[at] && (0..3).filter(|&a| active[a]).any(|a| {
                let (mut lo, mut hi) = (at, at);
                if at[a] == 0 || at[a] + 1 == dims[a] {
                    return true;
                }
                lo[a] -= 1;
                hi[a] += 1;
                !m[lo] || !m[hi]
            })
        })
    }

    #[test]
    fn surface_follows_its_definition_for_every_active_set() {
        let m = Array3::from_shape_fn((5, 6, 7), |(a, b, c)| (a * 3 + b * 5 + c * 7) % 11 < 8);
        for active in [[true; 3], [false, true, true], [true, false, true], [true, true, false]] {
            assert_eq!(surface(&m.view(), active), surface_by_definition(&m, active), "{active:?}");
        }
    }

    #[test]
    fn shifted_square_distances_are_the_shift() {
        let mut a = ArrayD::from_elem(IxDyn(&[10, 10]), false);
        let mut b = a.clone();
        a.slice_mut(s![2..5, 2..5]).fill(true);
        b.slice_mut(s![2..5, 4..7]).fill(true);
        let d = surface_distances(a.view(), b.view(), &[1.0, 2.0]).unwrap();
        assert_eq!(d.pred_to_gt.len(), 8);
        assert!(d.pred_to_gt.iter().all(|&x| x == 0.0 || x == 2.0 || x == 4.0));
    }

    #[test]
    fn wrong_spacing_is_an_error() {
        let a = ArrayD::from_elem(IxDyn(&[4, 4]), true);
        assert!(matches!(surface_distances(a.view(), a.view(), &[1.0]), Err(MetricError::Spacing { .. })));
        assert!(matches!(surface_distances(a.view(), a.view(), &[1.0, 0.0]), Err(MetricError::Spacing { .. })));
    }
}
