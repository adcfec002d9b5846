//! The autoencoder's loss (medfusion `VAE.rec_loss` + KL, methods.md §1.1), for images in
//! [−1, 1]: at full size and at the deep-supervision size, `Σ(|x̂ − x| + (1 − SSIM))/N` with
//! the per-image `1 − SSIM` (on `[0, 1]`, x̂ clamped) counted at every element as medfusion's
//! broadcast sum does, plus `1e-6 · KL`. medfusion also adds LPIPS, a perceptual distance from a
//! pretrained VGG/AlexNet; no such weights can be had here, so that term is left out.

use super::ssim::ssim_per_image;
use burn::prelude::*;

/// Weight of the KL term.
pub const KL_WEIGHT: f64 = 1e-6;

/// `Σ(|x̂ − x|) / N + C·H·W · Σ_b (1 − SSIM_b) / N` of one output level.
pub fn reconstruction_loss(pred: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
    let [n, c, h, w] = pred.dims();
    let l1 = (pred.clone() - target.clone()).abs().sum();
    let ssim = ssim_per_image(((pred + 1.0) / 2.0).clamp(0.0, 1.0), (target + 1.0) / 2.0, 1.0);
    let dissimilarity = (ssim.neg() + 1.0).sum() * (c * h * w) as f64;
    (l1 + dissimilarity) / n as f64
}

/// `nearest-exact` down-sampling by 2 (`F.interpolate(mode='nearest-exact')` picks pixel 2i+1).
pub fn halve_nearest_exact(x: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    x.reshape([n, c, h / 2, 2, w / 2, 2]).narrow(3, 1, 1).narrow(5, 1, 1).reshape([n, c, h / 2, w / 2])
}

/// The whole loss: both levels plus the weighted KL.
pub fn vae_loss(image: Tensor<4>, deep: Tensor<4>, kl: Tensor<1>, target: Tensor<4>) -> Tensor<1> {
    reconstruction_loss(image, target.clone()) + reconstruction_loss(deep, halve_nearest_exact(target)) + kl * KL_WEIGHT
}
