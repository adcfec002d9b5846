//! Cases → 2-D samples: channels fixed, intensities scaled, volumes cut into slices along D2
//! (ACDC in the SSL4MIS 2-D protocol trains on slices and is evaluated per volume).

use crate::config::DataConfig;
use ndarray::{s, Array2, Array3, Axis};
use rayon::prelude::*;
use semiseg_data::layout::Case;
use semiseg_data::sample::zscore_in_place;
use semiseg_data::{DataError, Image, LabelMap};

/// One 2-D training sample.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Case id (`<id>_slice_<k>` for slices of a volume).
    pub id: String,
    /// `[C, H, W]`, channels and intensity as configured.
    pub image: Array3<f32>,
    /// `[H, W]` class indices, when the label is used.
    pub label: Option<Array2<u8>>,
}

const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// The plane `[C, H, W]` with `data.channels` channels, converted only as
/// `data.channel_conversion` allows: `grey_rgb` (grey repeated to RGB, RGB averaged to grey),
/// `mean` (any count averaged to one), `first` (the first `data.channels` kept), `none`.
/// Anything else is an error that gives both counts (the caller adds the file).
fn fix_channels(plane: Array3<f32>, cfg: &DataConfig) -> Result<Array3<f32>, String> {
    let (have, want) = (plane.shape()[0], cfg.channels);
    let mode = cfg.channel_conversion.as_str();
    Ok(match (have, want, mode) {
        (a, b, _) if a == b => plane,
        (1, 3, "grey_rgb") => ndarray::concatenate(Axis(0), &[plane.view(), plane.view(), plane.view()]).expect("same shape"),
        (3, 1, "grey_rgb") | (_, 1, "mean") => plane.mean_axis(Axis(0)).expect("channels").insert_axis(Axis(0)),
        (a, b, "first") if a > b => plane.slice(s![..b, .., ..]).to_owned(),
        _ => {
            return Err(format!(
                "the image has {have} channel(s) but data.channels = {want}, and data.channel_conversion = \"{mode}\" does not convert {have} to {want} \
                 (\"grey_rgb\": 1 <-> 3 only; \"mean\": average to 1; \"first\": keep the first {want})"
            ))
        }
    })
}

/// Fixes the channel count and scales intensities of one 2-D plane `[C, H, W]`.
pub fn prepare_plane(plane: Array3<f32>, cfg: &DataConfig) -> Result<Array3<f32>, String> {
    let mut x = fix_channels(plane, cfg)?;
    match cfg.normalize.as_str() {
        "divide255" => x.mapv_inplace(|v| v / 255.0),
        "zscore" => zscore_in_place(&mut x),
        "imagenet" | "imagenet_div255" => {
            // MGCC's loader divides the normalised image by 255 once more (methods.md §1.4).
            let again = if cfg.normalize == "imagenet_div255" { 255.0 } else { 1.0 };
            for (ch, mut plane) in x.axis_iter_mut(Axis(0)).enumerate() {
                let (m, s) = (IMAGENET_MEAN[ch % 3], IMAGENET_STD[ch % 3]);
                plane.mapv_inplace(|v| (v / 255.0 - m) / s / again);
            }
        }
        _ => {}
    }
    Ok(x)
}

/// The 2-D planes of an image (`[C, H, W]` each), prepared.
pub fn prepare_image(image: &Image, cfg: &DataConfig) -> Result<Vec<Array3<f32>>, String> {
    (0..image.spatial_shape()[2]).map(|k| prepare_plane(image.data.index_axis(Axis(3), k).to_owned(), cfg)).collect()
}

/// A case's image, and its label when `with_labels` (a labeled case without a label file, or a
/// label of another shape than the image, is an error naming the file).
pub fn read_case(case: &Case, with_labels: bool) -> Result<(Image, Option<LabelMap>), DataError> {
    let image = case.read_image()?;
    if !with_labels {
        return Ok((image, None));
    }
    let label = case.read_label()?.ok_or_else(|| DataError::invalid(&case.images[0], "labeled case without a label file"))?;
    if label.spatial_shape() != image.spatial_shape() {
        return Err(DataError::invalid(case.label.as_ref().expect("read"), format!("label shape {} differs from image {}", label.shape_string(), image.shape_string())));
    }
    Ok((image, Some(label)))
}

/// Reads `cases` into 2-D samples (labels only if `with_labels`), in case order, slices in order.
pub fn load_samples(cases: &[Case], cfg: &DataConfig, with_labels: bool) -> Result<Vec<Sample>, DataError> {
    let per_case: Result<Vec<Vec<Sample>>, DataError> = cases
        .par_iter()
        .map(|case| {
            let (image, label) = read_case(case, with_labels)?;
            let planes = prepare_image(&image, cfg).map_err(|e| DataError::invalid(&case.images[0], e))?;
            let many = planes.len() > 1;
            Ok(planes
                .into_iter()
                .enumerate()
                .map(|(k, img)| Sample {
                    id: if many { format!("{}_slice_{k}", case.id) } else { case.id.clone() },
                    image: img,
                    label: label.as_ref().map(|l| l.data.index_axis(Axis(2), k).to_owned()),
                })
                .collect())
        })
        .collect();
    Ok(per_case?.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(channels: usize, conversion: &str) -> DataConfig {
        DataConfig { channels, channel_conversion: conversion.into(), ..Default::default() }
    }

    #[test]
    fn channels_convert_only_as_configured() {
        let plane = |c: usize| Array3::from_shape_fn((c, 2, 2), |(k, _, _)| k as f32);
        assert_eq!(prepare_plane(plane(1), &cfg(3, "grey_rgb")).unwrap().shape(), [3, 2, 2]);
        assert_eq!(prepare_plane(plane(3), &cfg(1, "grey_rgb")).unwrap()[[0, 0, 0]], 1.0, "RGB averaged");
        for (have, want, mode) in [(2, 3, "grey_rgb"), (4, 1, "grey_rgb"), (4, 3, "grey_rgb"), (1, 3, "none"), (2, 3, "first")] {
            let e = prepare_plane(plane(have), &cfg(want, mode)).unwrap_err();
            assert!(e.contains(&format!("{have} channel(s)")) && e.contains(&format!("data.channels = {want}")), "{e}");
        }
        assert_eq!(prepare_plane(plane(4), &cfg(1, "mean")).unwrap()[[0, 0, 0]], 1.5);
        assert_eq!(prepare_plane(plane(4), &cfg(3, "first")).unwrap().shape(), [3, 2, 2]);
    }
}
