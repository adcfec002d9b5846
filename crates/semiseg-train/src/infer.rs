//! Prediction of whole images and volumes. A 2-D network segments each plane (a 2-D image, or
//! every slice of a volume along D2), prepared as in training, resized to the patch, in
//! batches, and its class probabilities resized back (as SSL4MIS `test_single_volume`, which
//! zooms slices to 256² and back). A 3-D network segments the prepared volume by sliding
//! windows (UA-MT's `test_single_case`, see `sliding_window`).

use crate::config::Config;
use crate::data::augment::{resize_image, Interp};
use crate::data::prepare_image;
use crate::data::volumes::prepare_volume;
use crate::sliding_window::{sliding_window, Blend, Windows};
use burn::prelude::*;
use burn::tensor::TensorData;
use ndarray::{Array3, Array4, Axis};
use semiseg_data::{Image, LabelMap};
use semiseg_nn::nets::Segmenter;

/// Planes segmented per forward pass.
const PLANES_PER_BATCH: usize = 8;

/// Class probabilities `[K, D0, D1, D2]` of an image.
pub fn predict_probabilities(net: &Segmenter, image: &Image, cfg: &Config, device: &Device) -> Result<Array4<f32>, String> {
    if net.is_volumetric() {
        return predict_volume_probabilities(net, image, cfg, device);
    }
    let [h, w, _] = image.spatial_shape();
    predict_probabilities_at(net, image, cfg, device, [h, w])
}

/// Class probabilities of a volume with a 3-D network: windows of `data.patch` every
/// `eval.stride`, blended as `eval.blend` says, `eval.window_batch` windows per pass.
pub fn predict_volume_probabilities(net: &Segmenter, image: &Image, cfg: &Config, device: &Device) -> Result<Array4<f32>, String> {
    if image.spatial_dims != 3 {
        return Err(format!("a 3-D network segments volumes; this image is 2-D ({})", image.shape_string()));
    }
    let volume = prepare_volume(image.data.clone(), &cfg.data)?;
    let patch = cfg.data.patch3();
    let windows = Windows { patch, stride: [cfg.eval.stride[0], cfg.eval.stride[1], cfg.eval.stride[2]] };
    let blend = Blend::from_name(&cfg.eval.blend).unwrap_or(Blend::Average);
    let channels = volume.shape()[0];
    sliding_window(volume.view(), windows, blend, cfg.eval.window_batch, |input, n| -> Result<_, String> {
        let x = Tensor::<5>::from_data(TensorData::new(input, [n, channels, patch[0], patch[1], patch[2]]), device);
        let probs = net.volume_probabilities(x);
        let k = probs.dims()[1];
        Ok((probs.into_data().try_into_vec::<f32>().map_err(|e| format!("{e:?}"))?, k))
    })
}

/// Class probabilities with every plane resized to `[h, w]` (the image's own size, or the
/// network's for `eval.resolution = "network"`). Fails on an image whose channels the config
/// does not convert.
pub fn predict_probabilities_at(net: &Segmenter, image: &Image, cfg: &Config, device: &Device, [h, w]: [usize; 2]) -> Result<Array4<f32>, String> {
    let cfg = &cfg.data;
    let planes = prepare_image(image, cfg)?;
    let depth = image.spatial_shape()[2];
    let [ph, pw] = cfg.patch2();
    let interp = Interp::of(cfg);
    let mut out: Option<Array4<f32>> = None;
    for (chunk_index, chunk) in planes.chunks(PLANES_PER_BATCH).enumerate() {
        let c = chunk[0].shape()[0];
        let mut data: Vec<f32> = Vec::with_capacity(chunk.len() * c * ph * pw);
        for p in chunk {
            data.extend(resize_image(p, ph, pw, interp).iter());
        }
        let x = Tensor::<4>::from_data(TensorData::new(data, [chunk.len(), c, ph, pw]), device);
        let probs = net.probabilities(x);
        let k = probs.dims()[1];
        let host = probs.into_data();
        let host = host.as_slice::<f32>().expect("f32 probabilities");
        let all = out.get_or_insert_with(|| Array4::zeros((k, h, w, depth)));
        for (i, plane) in host.chunks(k * ph * pw).enumerate() {
            let p = Array3::from_shape_vec((k, ph, pw), plane.to_vec()).expect("shape");
            let back = resize_image(&p, h, w, interp);
            all.index_axis_mut(Axis(3), chunk_index * PLANES_PER_BATCH + i).assign(&back);
        }
    }
    Ok(out.expect("an image has at least one plane"))
}

/// How probabilities become labels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// The most probable class (for two classes: foreground when p > 0.5).
    Argmax,
    /// Two classes: foreground when p ≥ this (CLCC's legacy logit ≥ 0.5 is p ≥ σ(0.5)).
    AtLeast(f32),
}

impl Decision {
    /// The decision the config asks for.
    pub fn of(cfg: &Config) -> Self {
        if cfg.eval.logit_threshold {
            Decision::AtLeast(1.0 / (1.0 + (-0.5f32).exp()))
        } else {
            Decision::Argmax
        }
    }
}

/// The label map of probabilities, with the image's geometry.
pub fn to_label_map(probs: &Array4<f32>, image: &Image, decision: Decision) -> LabelMap {
    let data = match decision {
        Decision::AtLeast(t) if probs.shape()[0] == 2 => probs.index_axis(Axis(0), 1).mapv(|p| u8::from(p >= t)),
        _ => probs.map_axis(Axis(0), |p| p.iter().enumerate().fold((0usize, f32::NEG_INFINITY), |best, (i, &v)| if v > best.1 { (i, v) } else { best }).0 as u8),
    };
    LabelMap { data, spatial_dims: image.spatial_dims, geometry: image.geometry.clone() }
}

/// Segments an image: label map and probabilities.
pub fn predict(net: &Segmenter, image: &Image, cfg: &Config, device: &Device) -> Result<(LabelMap, Array4<f32>), String> {
    let probs = predict_probabilities(net, image, cfg, device)?;
    Ok((to_label_map(&probs, image, Decision::of(cfg)), probs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array4;
    use semiseg_data::Image;

    #[test]
    fn legacy_logit_threshold_needs_p_at_least_sigmoid_half() {
        // foreground probabilities 0.55, 0.62, 0.63 in one row
        let fg = [0.55f32, 0.62, 0.63];
        let probs = Array4::from_shape_fn((2, 1, 3, 1), |(k, _, x, _)| if k == 1 { fg[x] } else { 1.0 - fg[x] });
        let image = Image { data: Array4::zeros((1, 1, 3, 1)), spatial_dims: 2, geometry: semiseg_data::Geometry::unit() };
        let labels = |d| to_label_map(&probs, &image, d).data.iter().copied().collect::<Vec<u8>>();
        assert_eq!(labels(Decision::Argmax), [1, 1, 1]);
        let mut cfg = Config::default();
        cfg.eval.logit_threshold = true;
        assert_eq!(labels(Decision::of(&cfg)), [0, 0, 1], "logit >= 0.5 is p >= 0.6225");
    }
}
