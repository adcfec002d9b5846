//! Feature perturbations of CCT (Ouali et al., CVPR 2020) as SSL4MIS implements them
//! (`HiLab-git/SSL4MIS:code/networks/unet.py`), reused by MGCC's auxiliary decoders.

use burn::prelude::*;
use burn::tensor::Distribution;

/// Which perturbation an auxiliary decoder sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perturbation {
    /// `x + x ⊙ n`, `n ~ U(−0.3, 0.3)` of shape `C×H×W`, shared by the batch.
    FeatureNoise,
    /// Element-wise dropout `p = 0.3`, active even at evaluation (`F.dropout` default).
    Dropout,
    /// Zero the most activated region: channel mean `a`, threshold `max(a)·u`, `u ~ U(0.7, 0.9)`.
    FeatureDropout,
}

impl Perturbation {
    /// Applies the perturbation to one feature map.
    pub fn apply(self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Self::FeatureNoise => feature_noise(x),
            Self::Dropout => always_dropout(x, 0.3),
            Self::FeatureDropout => feature_dropout(x),
        }
    }
}

/// `x + x ⊙ n` with one noise tensor `[1, C, H, W]` drawn from U(−0.3, 0.3).
pub fn feature_noise(x: Tensor<4>) -> Tensor<4> {
    let [_, c, h, w] = x.dims();
    let n = Tensor::<4>::random([1, c, h, w], Distribution::Uniform(-0.3, 0.3), &x.device());
    x.clone() + x * n
}

/// Inverted dropout with probability `p`, whatever the module mode.
pub fn always_dropout(x: Tensor<4>, p: f64) -> Tensor<4> {
    let keep = Tensor::<4>::random(x.dims(), Distribution::Bernoulli(1.0 - p), &x.device());
    x * keep / (1.0 - p)
}

/// Drops the region whose channel-mean activation exceeds `max · u`, `u ~ U(0.7, 0.9)` drawn
/// once per call (the maximum is per sample).
pub fn feature_dropout(x: Tensor<4>) -> Tensor<4> {
    let [n, _, h, w] = x.dims();
    let device = x.device();
    let attention = x.clone().mean_dim(1); // [N, 1, H, W]
    let max = attention.clone().reshape([n, h * w]).max_dim(1).reshape([n, 1, 1, 1]);
    let u = Tensor::<1>::random([1], Distribution::Uniform(0.7, 0.9), &device).reshape([1, 1, 1, 1]);
    let keep = attention.lower(max * u).float();
    x * keep
}
