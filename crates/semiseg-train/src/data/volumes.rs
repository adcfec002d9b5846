//! Cases → 3-D samples for the V-Net family: whole volumes `[C, H, W, D]` with their label,
//! channels and intensities prepared as the 2-D planes are, and the batch of iteration `t`
//! (UA-MT's RandomRotFlip + RandomCrop, or the crop alone).

use super::augment3d::{random_crop, random_rot_flip};
use super::loader::Batch;
use super::prepare::{prepare_plane, read_case};
use super::sampler::{derive_seed, TwoStreamSampler};
use crate::config::DataConfig;
use ndarray::{Array, Array3, Array4, Dimension};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rayon::prelude::*;
use semiseg_data::layout::Case;
use semiseg_data::DataError;

/// One 3-D training sample.
#[derive(Debug, Clone)]
pub struct VolumeSample {
    /// Case id.
    pub id: String,
    /// `[C, H, W, D]`, channels and intensity as configured.
    pub image: Array4<f32>,
    /// `[H, W, D]` class indices, when the label is used.
    pub label: Option<Array3<u8>>,
}

/// Fixes the channel count and scales the intensities of a volume `[C, H, W, D]` as a whole
/// (UA-MT z-scores whole volumes), as [`prepare_plane`] does for a plane.
pub fn prepare_volume(volume: Array4<f32>, cfg: &DataConfig) -> Result<Array4<f32>, String> {
    let (c, h, w, d) = volume.dim();
    let prepared = prepare_plane(standard(volume).into_shape_with_order((c, h, w * d)).expect("contiguous volume"), cfg)?;
    let channels = prepared.shape()[0];
    Ok(standard(prepared).into_shape_with_order((channels, h, w, d)).expect("same voxels"))
}

/// `a` in row-major order, copied only when it is not already.
fn standard<D: Dimension>(a: Array<f32, D>) -> Array<f32, D> {
    if a.is_standard_layout() { a } else { a.as_standard_layout().into_owned() }
}

/// Reads `cases` into volumes (labels only if `with_labels`), in case order. A 2-D image, a
/// label of another shape, or a labeled case without a label is refused with the file named.
pub fn load_volumes(cases: &[Case], cfg: &DataConfig, with_labels: bool) -> Result<Vec<VolumeSample>, DataError> {
    cases
        .par_iter()
        .map(|case| {
            let (image, label) = read_case(case, with_labels)?;
            if image.spatial_dims != 3 {
                return Err(DataError::invalid(&case.images[0], format!("a 3-D network needs volumes; this image is 2-D ({})", image.shape_string())));
            }
            let image = prepare_volume(image.data, cfg).map_err(|e| DataError::invalid(&case.images[0], e))?;
            Ok(VolumeSample { id: case.id.clone(), image, label: label.map(|l| l.data) })
        })
        .collect()
}

/// The batch of iteration `t`: labeled volumes first, each rotated and flipped (`rot_flip_crop`)
/// and cropped to the patch, unlabeled ones the same without labels.
pub fn build_volume_batch(t: usize, labeled: &[VolumeSample], unlabeled: &[VolumeSample], sampler: &TwoStreamSampler, cfg: &DataConfig, seed: u64) -> Batch {
    let (li, ui) = sampler.batch(t);
    let mut rng = StdRng::seed_from_u64(derive_seed(seed, 3, t as u64));
    let patch = cfg.patch3();
    let voxels: usize = patch.iter().product();
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    let mut channels = cfg.channels;
    let picks = li.iter().map(|&i| &labeled[i]).chain(ui.iter().map(|&i| &unlabeled[i]));
    for (k, s) in picks.enumerate() {
        let label = if k < li.len() { s.label.as_ref().map(|l| l.view()) } else { None };
        let (image, label) = if cfg.augment == "rot_flip_crop" {
            let (img, lab) = random_rot_flip(s.image.view(), label, &mut rng);
            random_crop(img.view(), lab.as_ref().map(|l| l.view()), patch, &mut rng)
        } else {
            random_crop(s.image.view(), label, patch, &mut rng)
        };
        channels = image.shape()[0];
        images.extend(image.iter());
        match label {
            Some(l) => labels.extend(l.iter()),
            None => labels.extend(std::iter::repeat_n(0u8, voxels)),
        }
    }
    Batch { iteration: t, images, labels, batch: li.len() + ui.len(), labeled: li.len(), labeled_indices: li, channels, size: patch.to_vec() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(id: &str, shape: (usize, usize, usize)) -> VolumeSample {
        let image = Array4::from_shape_fn((1, shape.0, shape.1, shape.2), |(_, i, j, k)| (i * 100 + j * 10 + k) as f32);
        let label = Array3::from_shape_fn(shape, |(i, j, k)| u8::from((i + j + k) % 3 == 0));
        VolumeSample { id: id.into(), image, label: Some(label) }
    }

    #[test]
    fn batches_are_patches_labeled_first_and_pure_functions_of_the_iteration() {
        let labeled = vec![volume("a", (20, 18, 12)), volume("b", (17, 20, 10))];
        let unlabeled = vec![volume("u", (16, 16, 8))];
        let sampler = TwoStreamSampler::new(2, 1, 1, 1, 7).unwrap();
        let cfg = DataConfig { patch: vec![16, 16, 8], augment: "rot_flip_crop".into(), ..Default::default() };
        let b = build_volume_batch(3, &labeled, &unlabeled, &sampler, &cfg, 7);
        assert_eq!((b.batch, b.labeled, b.channels, b.size.clone()), (2, 1, 1, vec![16, 16, 8]));
        assert_eq!(b.images.len(), 2 * 16 * 16 * 8);
        assert!(b.labels[..16 * 16 * 8].contains(&1), "the labeled crop carries its label");
        assert!(b.labels[16 * 16 * 8..].iter().all(|&v| v == 0), "no label for the unlabeled sample");
        let again = build_volume_batch(3, &labeled, &unlabeled, &sampler, &cfg, 7);
        assert_eq!((b.images, b.labels), (again.images, again.labels));
    }

    #[test]
    fn crop_keeps_label_and_image_aligned() {
        // the label marks where the image value is a multiple of 3 in i + j + k: after any
        // rotation, flip and crop the two must still agree voxel by voxel
        let s = volume("a", (20, 18, 12));
        let sampler = TwoStreamSampler::new(1, 0, 1, 0, 1).unwrap();
        let cfg = DataConfig { patch: vec![16, 16, 8], augment: "rot_flip_crop".into(), ..Default::default() };
        for t in 0..8 {
            let b = build_volume_batch(t, std::slice::from_ref(&s), &[], &sampler, &cfg, 1);
            for (&v, &l) in b.images.iter().zip(&b.labels) {
                let (i, j, k) = ((v as usize) / 100, (v as usize / 10) % 10, v as usize % 10);
                assert_eq!(l, u8::from((i + j + k) % 3 == 0));
            }
        }
    }
}
