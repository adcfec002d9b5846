//! The 3-D operations Burn 0.22 lacks, written from the 2-D ones (burn-notes §1): trilinear and
//! nearest ×2 up-sampling, channel dropout (`Dropout3d`) and 2×2×2 max-pooling. Volumes are
//! `[N, C, A, B, C']` with any order of the spatial axes (the V-Net code uses H × W × D).

use crate::draws::{draw, Purpose};
use crate::kernels::{max_pool2x2, resize_bilinear_aligned};
use burn::prelude::*;
use burn::tensor::Distribution;

/// Trilinear ×2 up-sampling on the `align_corners = true` grid (PyTorch's
/// `Upsample(scale_factor=2, mode="trilinear", align_corners=True)`): bilinear over the last two
/// axes, then linear over the first one (a bilinear pass whose second axis keeps its size, which
/// on that grid is the identity).
pub fn upsample_trilinear2x(x: Tensor<5>) -> Tensor<5> {
    let [n, c, a, b, d] = x.dims();
    let y = resize_bilinear_aligned(x.reshape([n, c * a, b, d]), [2 * b, 2 * d]);
    let z = resize_bilinear_aligned(y.reshape([n * c, 1, a, 4 * b * d]), [2 * a, 4 * b * d]);
    z.reshape([n, c, 2 * a, 2 * b, 2 * d])
}

/// Nearest ×2 up-sampling (PyTorch's `Upsample(scale_factor=2, mode="nearest")`): every voxel
/// becomes a 2×2×2 block.
pub fn upsample_nearest2x(x: Tensor<5>) -> Tensor<5> {
    let [n, c, a, b, d] = x.dims();
    x.reshape([n * c, a, 1, b, 1, d, 1]).expand([n * c, a, 2, b, 2, d, 2]).reshape([n, c, 2 * a, 2 * b, 2 * d])
}

/// Channel dropout (PyTorch's `Dropout3d(p)`) during training: each `(sample, channel)` volume
/// is zeroed with probability `p`, the kept ones scaled by `1 / (1 − p)`. The identity outside
/// training (a device without autodiff), as `nn.Dropout3d` in `eval()` mode.
pub fn dropout3d(x: Tensor<5>, p: f64) -> Tensor<5> {
    if !x.device().is_autodiff() || p == 0.0 {
        return x;
    }
    let [n, c, ..] = x.dims();
    let keep = draw(Purpose::Dropout, [n, c, 1, 1, 1], Distribution::Bernoulli(1.0 - p), &x.device());
    x * (keep / (1.0 - p))
}

/// 2×2×2 max-pooling with stride 2 (PyTorch's `MaxPool3d(2)`, even sizes): the 2-D kernel over
/// the last two axes, then pairs along the first.
pub fn max_pool3d_2x(x: Tensor<5>) -> Tensor<5> {
    let [n, c, a, b, d] = x.dims();
    let y = max_pool2x2(x.reshape([n, c * a, b, d])); // [n, c·a, b/2, d/2]
    let (b2, d2) = (b / 2, d / 2);
    y.reshape([n * c, a / 2, 2, b2 * d2]).max_dim(2).reshape([n, c, a / 2, b2, d2])
}
