//! Loss functions. This file: the SSL4MIS family, as `code/utils/losses.py` defines them
//! (tensors are `[N, K, …]` logits or probabilities, 2-D or 3-D; targets are one-hot).
//! [`binary`]: one-logit losses (BCE, Dice, CLCC's structure loss); [`contrast`]: PatchNCE;
//! [`mutual`]: the MC-Net / CAML / FBA-Net terms (foreground soft Dice, sharpening, mutual
//! consistency); [`fba`]: FBA-Net's SimMax / SimMin; [`correlation`]: CAML's omni-correlation;
//! [`sums`]: sums over millions of voxels that keep their digits.

pub mod binary;
pub mod contrast;
pub mod correlation;
pub mod fba;
pub mod mutual;
pub mod sums;

use burn::prelude::*;
use burn::tensor::activation::{log_softmax, softmax};
use sums::{average, row_totals, total};

/// Cross-entropy averaged over every pixel (`nn.CrossEntropyLoss()`), from logits and one-hot
/// targets `[N, K, …]` (2-D or 3-D).
pub fn cross_entropy<const D: usize>(logits: Tensor<D>, one_hot: Tensor<D>) -> Tensor<1> {
    let pixels = logits.shape().num_elements() / logits.dims()[1];
    -total(log_softmax(logits, 1) * one_hot).div_scalar(pixels as f64)
}

/// SSL4MIS `DiceLoss(K)` on probabilities: per class `1 − (2Σpy + ε)/(Σp² + Σy² + ε)`, ε = 1e-5,
/// averaged over all K classes (background included), each summed over the whole batch.
pub fn dice_loss<const D: usize>(probs: Tensor<D>, one_hot: Tensor<D>) -> Tensor<1> {
    let k = probs.dims()[1];
    let per_class = |t: Tensor<D>| row_totals(t.swap_dims(0, 1).reshape([k as i32, -1]));
    let inter = per_class(probs.clone() * one_hot.clone());
    let z = per_class(probs.clone() * probs);
    let y = per_class(one_hot.clone() * one_hot);
    let eps = 1e-5;
    let dice = (inter * 2.0 + eps) / (z + y + eps);
    (dice.neg() + 1.0).mean()
}

/// `0.5 · (CE + Dice)`, the supervised loss of the SSL4MIS scripts.
pub fn ce_dice<const D: usize>(logits: Tensor<D>, one_hot: Tensor<D>) -> Tensor<1> {
    let probs = softmax(logits.clone(), 1);
    (cross_entropy(logits, one_hot.clone()) + dice_loss(probs, one_hot)) * 0.5
}

/// UA-MT's supervised loss (`train_LA.py`): `0.5·(CE + Dice_fg)`, the Dice on the foreground
/// probabilities only, with squares and ε = 1e-5 (`losses.dice_loss`), over the whole batch.
/// Two classes.
pub fn ce_foreground_dice<const D: usize>(logits: Tensor<D>, one_hot: Tensor<D>) -> Tensor<1> {
    let p = softmax(logits.clone(), 1).narrow(1, 1, 1);
    let y = one_hot.clone().narrow(1, 1, 1);
    let eps = 1e-5;
    let inter = total(p.clone() * y.clone());
    let dice = (inter * 2.0 + eps) / (total(p.powi_scalar(2)) + total(y.powi_scalar(2)) + eps);
    (cross_entropy(logits, one_hot) + dice.neg() + 1.0) * 0.5
}

/// Mean squared difference of two tensors.
pub fn mse<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<1> {
    average((a - b).powi_scalar(2))
}

/// One-hot `[N, K, H, W]` of class indices `[N, H, W]` (host data), as a float tensor.
pub fn one_hot(labels: &[u8], n: usize, k: usize, h: usize, w: usize, device: &Device) -> Tensor<4> {
    one_hot_nd(labels, n, k, &[h, w], device)
}

/// One-hot `[N, K, ...size]` of class indices `[N, ...size]` (host data; `size` has `D − 2`
/// sides), as a float tensor. Indices ≥ K get no class.
pub fn one_hot_nd<const D: usize>(labels: &[u8], n: usize, k: usize, size: &[usize], device: &Device) -> Tensor<D> {
    assert_eq!(size.len() + 2, D, "one-hot of rank {D} needs {} spatial sides", D - 2);
    let voxels: usize = size.iter().product();
    let mut data = vec![0f32; n * k * voxels];
    for b in 0..n {
        for p in 0..voxels {
            let c = labels[b * voxels + p] as usize;
            if c < k {
                data[(b * k + c) * voxels + p] = 1.0;
            }
        }
    }
    let shape: Vec<usize> = [n, k].iter().chain(size).copied().collect();
    Tensor::from_data(burn::tensor::TensorData::new(data, shape), device)
}
