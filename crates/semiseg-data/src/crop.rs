//! Cropping raw volumes to the region around the structure, as UA-MT's LA preprocessing does,
//! or leak-free.
//!
//! UA-MT's `la_heart_processing.py` (used by every LA paper since, and by the shipped LA data)
//! crops each volume in its first two axes to the bounding box of **its own label**, grown to at
//! least 112 × 112 plus a random margin of 10–19 voxels per side; depth is kept. For test cases
//! that box is placed by the ground truth the model is then scored against: the crop tells the
//! network where the atrium is. [`Crop::LabelBox`] reproduces it (for comparability with the
//! papers), [`Crop::TrainingPrior`] is the leak-free alternative: one box size and one relative
//! position for every case, learned from the training labels only.

use crate::error::DataError;
use crate::sample::{Geometry, Image, LabelMap};
use ndarray::{s, Array3};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// UA-MT's minimum crop size in the first two axes.
pub const UA_MT_SIZE: [usize; 2] = [112, 112];

/// A half-open voxel box `start..end` per axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropBox {
    /// First voxel per axis.
    pub start: [usize; 3],
    /// One past the last voxel per axis.
    pub end: [usize; 3],
}

impl CropBox {
    /// Its size per axis.
    pub fn size(&self) -> [usize; 3] {
        [0, 1, 2].map(|a| self.end[a] - self.start[a])
    }
}

/// How each case's box is chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Crop {
    /// UA-MT's box around the case's own label (needs every label, test cases' too).
    LabelBox {
        /// Minimum size in the first two axes (UA-MT: 112 × 112).
        size: [usize; 2],
        /// Seeds the random margins (combined with the case id, so each case's box is
        /// reproducible on its own).
        seed: u64,
    },
    /// The same box for every case, from the training labels only ([`TrainingPrior::learn`]).
    TrainingPrior(TrainingPrior),
}

/// Where the structure sits in the training volumes: a box size in voxels (first two axes) and
/// its centre as a fraction of each axis.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingPrior {
    /// Box size in the first two axes.
    pub size: [usize; 2],
    /// Mean centre of the training labels' boxes, as a fraction of the volume per axis.
    pub centre: [f64; 2],
}

/// Half-open bounding box of the nonzero voxels, or `None` for an empty label.
pub fn label_bounds(label: &Array3<u8>) -> Option<([usize; 3], [usize; 3])> {
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    for ((i, j, k), &v) in label.indexed_iter() {
        if v != 0 {
            for (a, x) in [i, j, k].into_iter().enumerate() {
                lo[a] = lo[a].min(x);
                hi[a] = hi[a].max(x + 1);
            }
        }
    }
    (lo[0] != usize::MAX).then_some((lo, hi))
}

/// Why no prior could be learned: no labels (`None`), or the label at this 0-based position is
/// empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoPrior(pub Option<usize>);

impl TrainingPrior {
    /// The box covering every training label with `margin` voxels on each side (at least
    /// `min_size`), centred on the training labels' mean relative centre.
    pub fn learn<'a>(labels: impl IntoIterator<Item = &'a LabelMap>, min_size: [usize; 2], margin: usize) -> Result<Self, NoPrior> {
        let (mut size, mut centre, mut n) = (min_size, [0.0; 2], 0usize);
        for (i, label) in labels.into_iter().enumerate() {
            let (lo, hi) = label_bounds(&label.data).ok_or(NoPrior(Some(i)))?;
            let shape = label.data.shape();
            for a in 0..2 {
                size[a] = size[a].max(hi[a] - lo[a] + 2 * margin);
                centre[a] += (lo[a] + hi[a]) as f64 / 2.0 / shape[a] as f64;
            }
            n += 1;
        }
        if n == 0 {
            return Err(NoPrior(None));
        }
        Ok(Self { size, centre: centre.map(|c| c / n as f64) })
    }
}

/// [`TrainingPrior::learn`] from the labels of `split` of `dataset` (read in parallel); errors
/// name the file.
pub fn learn_from_split(dataset: &crate::layout::Dataset, split: &str, min_size: [usize; 2], margin: usize) -> Result<TrainingPrior, DataError> {
    use rayon::prelude::*;
    let cases = dataset.splits.get(split).filter(|c| !c.is_empty()).ok_or_else(|| DataError::invalid(&dataset.root, format!("no {split:?} split to learn the crop from")))?;
    let labels: Vec<LabelMap> = cases
        .par_iter()
        .map(|c| c.read_label()?.ok_or_else(|| DataError::invalid(&c.images[0], "training case without a label: the crop is learned from training labels")))
        .collect::<Result<_, _>>()?;
    TrainingPrior::learn(&labels, min_size, margin).map_err(|e| match e {
        NoPrior(Some(i)) => DataError::invalid(cases[i].label.as_ref().unwrap_or(&cases[i].images[0]), "empty training label: it cannot place the crop"),
        NoPrior(None) => DataError::invalid(&dataset.root, format!("no labels in the {split:?} split to learn the crop from")),
    })
}

/// The box of one case of spatial `shape`: the label is used by [`Crop::LabelBox`] only.
pub fn crop_box(crop: &Crop, case_id: &str, shape: [usize; 3], label: Option<&LabelMap>) -> Result<CropBox, String> {
    let mut b = CropBox { start: [0; 3], end: shape };
    match crop {
        Crop::LabelBox { size, seed } => {
            let label = label.ok_or("UA-MT's crop needs the case's label, and there is none")?;
            let (lo, hi) = label_bounds(&label.data).ok_or("UA-MT's crop needs a label with foreground; this one is empty")?;
            let mut rng = StdRng::seed_from_u64(seed ^ fnv1a(case_id));
            for a in 0..2 {
                // la_heart_processing.py: pad to the size, then a random 10–19 margin each side
                let pad = size[a].saturating_sub(hi[a] - lo[a]) / 2;
                b.start[a] = lo[a].saturating_sub(rng.random_range(10..20) + pad);
                b.end[a] = (hi[a] + rng.random_range(10..20) + pad).min(shape[a]);
            }
        }
        Crop::TrainingPrior(prior) => {
            for a in 0..2 {
                let size = prior.size[a].min(shape[a]);
                let centre = prior.centre[a] * shape[a] as f64;
                let start = (centre - size as f64 / 2.0).round().clamp(0.0, (shape[a] - size) as f64) as usize;
                b.start[a] = start;
                b.end[a] = start + size;
            }
        }
    }
    Ok(b)
}

/// FNV-1a of a case id: a stable per-case seed offset.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

/// The geometry of a crop starting at voxel `start`: same spacing and axes, origin moved to
/// where that voxel was (sform, and qform offsets, updated in a kept NIfTI header).
fn cropped_geometry(g: &Geometry, start: [usize; 3]) -> Geometry {
    let mut affine = g.affine;
    let shift: [f64; 3] = [0, 1, 2].map(|r| (0..3).map(|c| g.affine[r][c] * start[c] as f64).sum());
    for r in 0..3 {
        affine[r][3] += shift[r];
    }
    let header = g.nifti_header.as_ref().map(|h| {
        let mut h = h.clone();
        if h.sform_code > 0 {
            h.srow_x = affine[0].map(|v| v as f32);
            h.srow_y = affine[1].map(|v| v as f32);
            h.srow_z = affine[2].map(|v| v as f32);
        }
        if h.qform_code > 0 {
            // the qform's own rotation and spacing moved by the same voxel offset
            let q = crate::io::nifti_io::affine(&nifti::NiftiHeader { sform_code: 0, ..(*h).clone() }, g.spacing);
            let q_shift: [f64; 3] = [0, 1, 2].map(|r| (0..3).map(|c| q[r][c] * start[c] as f64).sum());
            h.quatern_x += q_shift[0] as f32;
            h.quatern_y += q_shift[1] as f32;
            h.quatern_z += q_shift[2] as f32;
        }
        h
    });
    Geometry { spacing: g.spacing, affine, nifti_header: header }
}

/// The image inside `b`, its geometry moved with it.
pub fn crop_image(img: &Image, b: &CropBox) -> Image {
    let data = img.data.slice(s![.., b.start[0]..b.end[0], b.start[1]..b.end[1], b.start[2]..b.end[2]]).to_owned();
    Image { data, spatial_dims: img.spatial_dims, geometry: cropped_geometry(&img.geometry, b.start) }
}

/// The label map inside `b`, its geometry moved with it.
pub fn crop_label(label: &LabelMap, b: &CropBox) -> LabelMap {
    let data = label.data.slice(s![b.start[0]..b.end[0], b.start[1]..b.end[1], b.start[2]..b.end[2]]).to_owned();
    LabelMap { data, spatial_dims: label.spatial_dims, geometry: cropped_geometry(&label.geometry, b.start) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array4;

    fn blob(shape: [usize; 3], lo: [usize; 3], hi: [usize; 3]) -> LabelMap {
        let data = Array3::from_shape_fn(shape, |(i, j, k)| (i >= lo[0] && i < hi[0] && j >= lo[1] && j < hi[1] && k >= lo[2] && k < hi[2]) as u8);
        LabelMap { data, spatial_dims: 3, geometry: Geometry::from_spacing([0.625, 0.625, 2.5]) }
    }

    #[test]
    fn ua_mt_box_holds_the_label_with_its_margins_and_keeps_depth() {
        let label = blob([300, 280, 40], [100, 120, 10], [150, 170, 30]);
        let crop = Crop::LabelBox { size: UA_MT_SIZE, seed: 1 };
        let b = crop_box(&crop, "case1", [300, 280, 40], Some(&label)).unwrap();
        assert_eq!((b.start[2], b.end[2]), (0, 40), "depth is not cropped");
        for a in 0..2 {
            let pad = (112 - 50) / 2;
            let (before, after) = ([100, 120][a] - b.start[a], b.end[a] - [150, 170][a]);
            assert!((pad + 10..pad + 20).contains(&before) && (pad + 10..pad + 20).contains(&after), "axis {a}: {b:?}");
        }
        assert_eq!(b, crop_box(&crop, "case1", [300, 280, 40], Some(&label)).unwrap(), "reproducible");
        assert!(crop_box(&crop, "case1", [300, 280, 40], None).unwrap_err().contains("needs the case's label"));
        let empty = blob([30, 30, 4], [0; 3], [0; 3]);
        assert!(crop_box(&crop, "e", [30, 30, 4], Some(&empty)).unwrap_err().contains("empty"));
    }

    #[test]
    fn the_training_prior_places_every_case_without_its_label() {
        let train = [blob([200, 200, 20], [80, 90, 5], [120, 130, 15]), blob([220, 200, 20], [100, 70, 5], [130, 110, 15])];
        let prior = TrainingPrior::learn(&train, UA_MT_SIZE, 20).unwrap();
        assert_eq!(prior.size, [112, 112], "40 + 2·20 < 112");
        let crop = Crop::TrainingPrior(prior.clone());
        let b = crop_box(&crop, "test1", [200, 200, 20], None).unwrap();
        assert_eq!(b.size(), [112, 112, 20]);
        // centre: mean of (100/200, 115/220) and (110/200, 90/200) relative positions
        let c0 = (0.5 + 115.0 / 220.0) / 2.0 * 200.0;
        assert!((b.start[0] as f64 + 56.0 - c0).abs() <= 1.0, "{b:?} vs centre {c0}");
        // a small volume: the box shrinks to it
        assert_eq!(crop_box(&crop, "small", [90, 300, 8], None).unwrap().size(), [90, 112, 8]);
        let big = [blob([300, 300, 8], [10, 10, 0], [250, 60, 8])];
        assert_eq!(TrainingPrior::learn(&big, UA_MT_SIZE, 20).unwrap().size, [280, 112]);
        assert_eq!(TrainingPrior::learn(&[], UA_MT_SIZE, 20), Err(NoPrior(None)));
        let with_empty = [train[0].clone(), blob([30, 30, 4], [0; 3], [0; 3])];
        assert_eq!(TrainingPrior::learn(&with_empty, UA_MT_SIZE, 20), Err(NoPrior(Some(1))));
    }

    #[test]
    fn a_crop_keeps_every_voxel_where_it_was_in_the_world() {
        let mut g = Geometry::from_spacing([0.5, 0.7, 2.0]);
        g.affine[0][3] = -40.0;
        g.affine[2][3] = 12.0;
        let img = Image { data: Array4::from_shape_fn((1, 20, 18, 6), |(_, i, j, k)| (i * 100 + j * 10 + k) as f32), spatial_dims: 3, geometry: g.clone() };
        let b = CropBox { start: [4, 3, 0], end: [14, 15, 6] };
        let c = crop_image(&img, &b);
        assert_eq!(c.data[[0, 0, 0, 0]], 430.0);
        let world = |g: &Geometry, v: [f64; 3]| [0, 1, 2].map(|r| (0..3).map(|a| g.affine[r][a] * v[a]).sum::<f64>() + g.affine[r][3]);
        assert_eq!(world(&c.geometry, [0.0, 0.0, 0.0]), world(&g, [4.0, 3.0, 0.0]));
        assert_eq!(world(&c.geometry, [2.0, 5.0, 1.0]), world(&g, [6.0, 8.0, 1.0]));
    }
}
