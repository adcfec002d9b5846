//! Loss functions. This file: the SSL4MIS family, as `code/utils/losses.py` defines them
//! (tensors are `[N, K, H, W]` logits or probabilities; targets are one-hot `[N, K, H, W]`).
//! [`binary`]: one-logit losses (BCE, Dice, CLCC's structure loss); [`contrast`]: PatchNCE.

pub mod binary;
pub mod contrast;

use burn::prelude::*;
use burn::tensor::activation::{log_softmax, softmax};

/// Cross-entropy averaged over every pixel (`nn.CrossEntropyLoss()`), from logits and one-hot targets.
pub fn cross_entropy(logits: Tensor<4>, one_hot: Tensor<4>) -> Tensor<1> {
    let [n, _, h, w] = logits.dims();
    -(log_softmax(logits, 1) * one_hot).sum().div_scalar((n * h * w) as f64)
}

/// SSL4MIS `DiceLoss(K)` on probabilities: per class `1 − (2Σpy + ε)/(Σp² + Σy² + ε)`, ε = 1e-5,
/// averaged over all K classes (background included), each summed over the whole batch.
pub fn dice_loss(probs: Tensor<4>, one_hot: Tensor<4>) -> Tensor<1> {
    let k = probs.dims()[1];
    let per_class = |t: Tensor<4>| t.swap_dims(0, 1).reshape([k as i32, -1]).sum_dim(1).reshape([k]);
    let inter = per_class(probs.clone() * one_hot.clone());
    let z = per_class(probs.clone() * probs);
    let y = per_class(one_hot.clone() * one_hot);
    let eps = 1e-5;
    let dice = (inter * 2.0 + eps) / (z + y + eps);
    (dice.neg() + 1.0).mean()
}

/// `0.5 · (CE + Dice)`, the supervised loss of the SSL4MIS 2-D scripts.
pub fn ce_dice(logits: Tensor<4>, one_hot: Tensor<4>) -> Tensor<1> {
    let probs = softmax(logits.clone(), 1);
    (cross_entropy(logits, one_hot.clone()) + dice_loss(probs, one_hot)) * 0.5
}

/// Mean squared difference of two tensors.
pub fn mse(a: Tensor<4>, b: Tensor<4>) -> Tensor<1> {
    (a - b).powi_scalar(2).mean()
}

/// One-hot `[N, K, H, W]` of class indices `[N, H, W]` (host data), as a float tensor.
pub fn one_hot(labels: &[u8], n: usize, k: usize, h: usize, w: usize, device: &Device) -> Tensor<4> {
    let mut data = vec![0f32; n * k * h * w];
    for b in 0..n {
        for p in 0..h * w {
            let c = labels[b * h * w + p] as usize;
            if c < k {
                data[(b * k + c) * h * w + p] = 1.0;
            }
        }
    }
    Tensor::from_data(burn::tensor::TensorData::new(data, [n, k, h, w]), device)
}
