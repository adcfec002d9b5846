//! SSIM as `pytorch_msssim.ssim` computes it (Wang et al. 2004): an 11-tap Gaussian window
//! (σ 1.5) applied separably without padding, K = (0.01, 0.03), the map averaged per channel,
//! negative channel values clamped to 0 (`nonnegative_ssim`), then averaged over channels.

use burn::prelude::*;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::TensorData;

const WINDOW: usize = 11;
const SIGMA: f64 = 1.5;

/// The normalised 1-D Gaussian window.
fn gaussian_window() -> Vec<f32> {
    let g: Vec<f64> = (0..WINDOW).map(|i| i as f64 - (WINDOW / 2) as f64).map(|c| (-(c * c) / (2.0 * SIGMA * SIGMA)).exp()).collect();
    let sum: f64 = g.iter().sum();
    g.iter().map(|v| (v / sum) as f32).collect()
}

/// Depthwise valid Gaussian blur along H then W (an axis shorter than the window is skipped).
fn blur(x: Tensor<4>) -> Tensor<4> {
    let [_, c, h, w] = x.dims();
    let device = x.device();
    let taps: Vec<f32> = (0..c).flat_map(|_| gaussian_window()).collect();
    let mut out = x;
    if h >= WINDOW {
        let k = Tensor::<4>::from_data(TensorData::new(taps.clone(), [c, 1, WINDOW, 1]), &device);
        out = conv2d(out, k, None, ConvOptions::new([1, 1], [0, 0], [1, 1], c));
    }
    if w >= WINDOW {
        let k = Tensor::<4>::from_data(TensorData::new(taps, [c, 1, 1, WINDOW]), &device);
        out = conv2d(out, k, None, ConvOptions::new([1, 1], [0, 0], [1, 1], c));
    }
    out
}

/// SSIM of each image pair, `[N]`, for images with values in `[0, data_range]`.
pub fn ssim_per_image(x: Tensor<4>, y: Tensor<4>, data_range: f64) -> Tensor<1> {
    let [n, c, _, _] = x.dims();
    let (c1, c2) = ((0.01 * data_range).powi(2), (0.03 * data_range).powi(2));
    let (mu1, mu2) = (blur(x.clone()), blur(y.clone()));
    let (mu1_sq, mu2_sq, mu12) = (mu1.clone().powi_scalar(2), mu2.clone().powi_scalar(2), mu1 * mu2);
    let s1 = blur(x.clone() * x.clone()) - mu1_sq.clone();
    let s2 = blur(y.clone() * y.clone()) - mu2_sq.clone();
    let s12 = blur(x * y) - mu12.clone();
    let cs = (s12 * 2.0 + c2) / (s1 + s2 + c2);
    let map = (mu12 * 2.0 + c1) / (mu1_sq + mu2_sq + c1) * cs;
    let per_channel = map.reshape([n as i32, c as i32, -1]).mean_dim(2).reshape([n, c]).clamp_min(0.0);
    per_channel.mean_dim(1).reshape([n])
}
