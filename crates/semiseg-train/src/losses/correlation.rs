//! CAML's omni-correlation consistency (methods.md §3.2 step 4–5): each model's unlabeled voxel
//! features are correlated with a memory of labeled features, `C_m = softmax_k(u_m · Mᵀ / τ)`
//! (no L2 normalisation, as the reference), and model V's correlations are pulled towards
//! model A's: `−(1/R) Σ_r Σ_k C_a[r, k] · log(C_v[r, k] + 1e-8)`. Both sides carry gradients.

use super::sums::total;
use burn::prelude::*;
use burn::tensor::activation::softmax;

/// The loss from unlabeled features of models V and A (`[R, F]`, the same rows) and the memory
/// `[K, F]` (detached by the caller), at temperature τ (0.1 in CAML).
pub fn omni_correlation(features_v: Tensor<2>, features_a: Tensor<2>, memory: Tensor<2>, temperature: f64) -> Tensor<1> {
    omni_correlation_with(features_v, features_a, memory, temperature, false, false)
}

/// [`omni_correlation`] with the two fixes of the reference's quirks as options: L2-normalised
/// rows (`normalize`) and model A's correlations as a fixed target (`detach_target`).
pub fn omni_correlation_with(features_v: Tensor<2>, features_a: Tensor<2>, memory: Tensor<2>, temperature: f64, normalize: bool, detach_target: bool) -> Tensor<1> {
    let rows = features_v.dims()[0];
    let unit = |x: Tensor<2>| if normalize { x.clone() / x.powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12) } else { x };
    let memory = unit(memory);
    let correlate = |u: Tensor<2>| softmax(unit(u).matmul(memory.clone().transpose()) / temperature, 1);
    let (c_v, c_a) = (correlate(features_v), correlate(features_a));
    let c_a = if detach_target { c_a.detach() } else { c_a };
    -total(c_a * (c_v + 1e-8).log()) / rows as f64
}
