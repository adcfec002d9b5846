//! Feature perturbations of CCT (Ouali et al., CVPR 2020) as SSL4MIS implements them
//! (`HiLab-git/SSL4MIS:code/networks/unet.py`), reused by MGCC's auxiliary decoders.

use crate::draws::{draw, Purpose};
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
    /// Applies the perturbation to one feature map (feature noise shared by the batch, as the
    /// reference).
    pub fn apply(self, x: Tensor<4>) -> Tensor<4> {
        self.apply_with(x, true)
    }

    /// [`Perturbation::apply`], with feature noise shared by the batch or drawn per sample.
    pub fn apply_with(self, x: Tensor<4>, shared_noise: bool) -> Tensor<4> {
        match self {
            Self::FeatureNoise => feature_noise(x, shared_noise),
            Self::Dropout => always_dropout(x, 0.3),
            Self::FeatureDropout => feature_dropout(x),
        }
    }
}

/// `x + x ⊙ n`, `n ~ U(−0.3, 0.3)`: one `[1, C, H, W]` draw for the batch (`shared`, the SSL4MIS
/// and MGCC code), or one per sample.
pub fn feature_noise(x: Tensor<4>, shared: bool) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let noise = draw(Purpose::FeatureNoise, [if shared { 1 } else { n }, c, h, w], Distribution::Uniform(-0.3, 0.3), &x.device());
    x.clone() + x * noise
}

/// Inverted dropout with probability `p`, whatever the module mode.
pub fn always_dropout(x: Tensor<4>, p: f64) -> Tensor<4> {
    let keep = draw(Purpose::AuxDropout, x.dims(), Distribution::Bernoulli(1.0 - p), &x.device());
    x * keep / (1.0 - p)
}

/// Drops the region whose channel-mean activation exceeds `max · u`, `u ~ U(0.7, 0.9)` drawn
/// once per call (the maximum is per sample).
pub fn feature_dropout(x: Tensor<4>) -> Tensor<4> {
    let [n, _, h, w] = x.dims();
    let device = x.device();
    let attention = x.clone().mean_dim(1); // [N, 1, H, W]
    let max = attention.clone().reshape([n, h * w]).max_dim(1).reshape([n, 1, 1, 1]);
    let u = draw::<1>(Purpose::FeatureDropout, [1], Distribution::Uniform(0.7, 0.9), &device).reshape([1, 1, 1, 1]);
    let keep = attention.lower(max * u).float();
    x * keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_noise_shared_or_per_sample() {
        let device = Device::flex();
        let x = Tensor::<4>::ones([2, 3, 4, 4], &device);
        let same = |y: Tensor<4>| y.clone().narrow(0, 0, 1).equal(y.narrow(0, 1, 1)).all().into_scalar::<bool>();
        assert!(same(feature_noise(x.clone(), true)), "one draw for the batch");
        assert!(!same(feature_noise(x.clone(), false)), "one draw per sample");
        let y = feature_noise(x, false);
        assert!(y.clone().greater_equal_elem(0.7).all().into_scalar::<bool>() && y.lower_equal_elem(1.3).all().into_scalar::<bool>());
    }
}
