//! The terms MC-Net, CAML and FBA-Net share (methods.md §3.2, §4.3): a foreground soft Dice
//! without squares, sharpening, and the mutual consistency between decoders (MC-Net+).

use super::sums::{average, total};
use burn::prelude::*;

/// `1 − (2 Σ p·y + ε) / (Σ p + Σ y + ε)` over the whole labeled sub-batch, `p` the foreground
/// probabilities and `y` the foreground mask (same shape), ε = 1e-8 (CAML's and FBA-Net's
/// `dice_loss`; SSL4MIS's `DiceLoss` squares `p` and `y` and averages over classes instead).
pub fn foreground_soft_dice<const D: usize>(p: Tensor<D>, y: Tensor<D>) -> Tensor<1> {
    let eps = 1e-8;
    let inter = total(p.clone() * y.clone());
    let dice = (inter * 2.0 + eps) / (total(p) + total(y) + eps);
    dice.neg() + 1.0
}

/// `p^{1/T} / (p^{1/T} + (1 − p)^{1/T})` (MC-Net's sharpening, T = 0.1 in every paper here).
pub fn sharpen<const D: usize>(p: Tensor<D>, temperature: f64) -> Tensor<D> {
    let a = p.clone().powf_scalar(1.0 / temperature);
    let b = (p.neg() + 1.0).powf_scalar(1.0 / temperature);
    a.clone() / (a + b)
}

/// `Σ_{i ≠ j} MSE(p_i, sharpen(p_j))` over every ordered pair of the decoders' probabilities
/// (2 terms for two decoders, 6 for three). Nothing is detached: the sharpened targets carry
/// gradients too, as the reference.
pub fn mutual_consistency<const D: usize>(probs: &[Tensor<D>], temperature: f64) -> Tensor<1> {
    let sharp: Vec<Tensor<D>> = probs.iter().map(|p| sharpen(p.clone(), temperature)).collect();
    let mut total: Option<Tensor<1>> = None;
    for (i, p) in probs.iter().enumerate() {
        for (j, s) in sharp.iter().enumerate() {
            if i != j {
                let term = average((p.clone() - s.clone()).powi_scalar(2));
                total = Some(match total {
                    Some(t) => t + term,
                    None => term,
                });
            }
        }
    }
    total.expect("at least two decoders")
}
