//! Prediction of whole images and volumes with a 2-D network: each plane (a 2-D image, or every
//! slice of a volume along D2) is prepared as in training, resized to the patch, segmented in
//! batches, and its class probabilities resized back (as SSL4MIS `test_single_volume`, which
//! zooms slices to 256² and back).

use crate::config::DataConfig;
use crate::data::augment::{resize_image, Interp};
use crate::data::prepare_image;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use burn::tensor::TensorData;
use ndarray::{Array3, Array4, Axis};
use semiseg_data::{Image, LabelMap};
use semiseg_nn::nets::UNet;

/// Planes segmented per forward pass.
const PLANES_PER_BATCH: usize = 8;

/// Class probabilities `[K, D0, D1, D2]` of an image.
pub fn predict_probabilities(net: &UNet, image: &Image, cfg: &DataConfig, device: &Device) -> Array4<f32> {
    let planes = prepare_image(image, cfg);
    let [h, w, depth] = image.spatial_shape();
    let [ph, pw] = cfg.patch;
    let interp = if cfg.image_interp == "bilinear" { Interp::Bilinear } else { Interp::Nearest };
    let mut out: Option<Array4<f32>> = None;
    for (chunk_index, chunk) in planes.chunks(PLANES_PER_BATCH).enumerate() {
        let c = chunk[0].shape()[0];
        let mut data: Vec<f32> = Vec::with_capacity(chunk.len() * c * ph * pw);
        for p in chunk {
            data.extend(resize_image(p, ph, pw, interp).iter());
        }
        let x = Tensor::<4>::from_data(TensorData::new(data, [chunk.len(), c, ph, pw]), device);
        let probs = softmax(net.forward(x), 1);
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
    out.expect("an image has at least one plane")
}

/// The argmax label map of probabilities, with the image's geometry.
pub fn to_label_map(probs: &Array4<f32>, image: &Image) -> LabelMap {
    let data = probs.map_axis(Axis(0), |p| p.iter().enumerate().fold((0usize, f32::NEG_INFINITY), |best, (i, &v)| if v > best.1 { (i, v) } else { best }).0 as u8);
    LabelMap { data, spatial_dims: image.spatial_dims, geometry: image.geometry.clone() }
}

/// Segments an image: label map and probabilities.
pub fn predict(net: &UNet, image: &Image, cfg: &DataConfig, device: &Device) -> (LabelMap, Array4<f32>) {
    let probs = predict_probabilities(net, image, cfg, device);
    (to_label_map(&probs, image), probs)
}
