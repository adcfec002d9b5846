//! Losses of one-logit binary networks (MGCC, CLCC): logits `[N, 1, H, W]`, targets in {0, 1}.

use super::sums::{average, row_totals};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::AvgPoolOptions;

/// Element-wise binary cross-entropy with logits, in the stable form
/// `max(x, 0) − x·y + log(1 + e^−|x|)` (`F.binary_cross_entropy_with_logits`).
pub fn bce_with_logits_map(logits: Tensor<4>, target: Tensor<4>) -> Tensor<4> {
    let softplus_neg_abs = logits.clone().abs().neg().exp().log1p();
    relu(logits.clone()) - logits * target + softplus_neg_abs
}

/// Soft Dice on sigmoid probabilities with sums per image, `1 − mean_b (2Σpy + s)/(Σp + Σy + s)`
/// (CLCC uses s = 1, MGCC s = 1e-5).
pub fn dice_per_image(logits: Tensor<4>, target: Tensor<4>, smooth: f64) -> Tensor<1> {
    let n = logits.dims()[0];
    let p = sigmoid(logits);
    let per_image = |t: Tensor<4>| row_totals(t.reshape([n as i32, -1]));
    let inter = per_image(p.clone() * target.clone());
    let dice = (inter * 2.0 + smooth) / (per_image(p) + per_image(target) + smooth);
    dice.neg().mean() + 1.0
}

/// The boundary weights of the PraNet structure loss, `1 + 5·|avgpool31(y) − y|` (zero padding
/// counted, as `F.avg_pool2d(y, 31, 1, 15)`).
pub fn boundary_weights(target: Tensor<4>) -> Tensor<4> {
    let pooled = avg_pool2d(target.clone(), AvgPoolOptions::new([31, 31]).with_stride([1, 1]).with_padding([15, 15]));
    (pooled - target).abs() * 5.0 + 1.0
}

/// CLCC's supervised "structure" loss, BCE + Dice.
///
/// The reference calls the BCE with the legacy `reduce='none'`, which PyTorch reads as a mean, so
/// its boundary weighting has no effect: `weighted = false` reproduces that (plain mean BCE);
/// `weighted = true` applies the weights as PraNet intended,
/// `mean_b Σ(w·bce)/Σw`.
pub fn structure_loss(logits: Tensor<4>, target: Tensor<4>, weighted: bool) -> Tensor<1> {
    let bce = bce_with_logits_map(logits.clone(), target.clone());
    let bce = if weighted {
        let n = logits.dims()[0];
        let w = boundary_weights(target.clone());
        let per_image = |t: Tensor<4>| row_totals(t.reshape([n as i32, -1]));
        (per_image(bce * w.clone()) / per_image(w)).mean()
    } else {
        average(bce)
    };
    bce + dice_per_image(logits, target, 1.0)
}
