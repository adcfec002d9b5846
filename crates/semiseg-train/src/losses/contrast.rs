//! CLCC's cross-level contrastive loss: PatchNCE (CUT, Park et al. 2020) between the projection
//! grid of the full image (queries) and the projections of its patches (keys).

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use burn::tensor::TensorData;

/// Logit given to a query's own key in the negative matrix (it is already the positive).
const SELF_NEGATIVE: f32 = -10.0;

/// `x / max(‖x‖₁, 1e-12)` along the last axis (`F.normalize(p=1)`; CLCC normalises with L1).
fn l1_normalize(x: Tensor<3>) -> Tensor<3> {
    let norm = x.clone().abs().sum_dim(2).clamp_min(1e-12);
    x / norm
}

/// PatchNCE with negatives from the same image only.
///
/// `queries`: `[B, D, G, G]` full-image projections; `keys`: `[B·G², D, 1, 1]` patch projections in
/// `b·G² + i·G + j` order (detached by the caller's choice). For each image and cell `i` the
/// logits are `[q_i·k_i, q_i·k_1 .. q_i·k_{G²}] / τ` with `q_i·k_i` replaced by −10 among the
/// negatives; the loss is the cross-entropy with target 0, averaged over `B·G²`.
pub fn patch_nce(queries: Tensor<4>, keys: Tensor<4>, temperature: f64) -> Tensor<1> {
    let [b, d, gh, gw] = queries.dims();
    let cells = gh * gw;
    let q = l1_normalize(queries.reshape([b, d, cells]).swap_dims(1, 2));
    let k = l1_normalize(keys.reshape([b, cells, d]));
    let pos = (q.clone() * k.clone()).sum_dim(2); // [B, G², 1]
    let eye: Vec<bool> = (0..cells * cells).map(|i| i / cells == i % cells).collect();
    let eye = Tensor::<3, Bool>::from_data(TensorData::new(eye, [1, cells, cells]), &q.device()).expand([b, cells, cells]);
    let neg = q.matmul(k.swap_dims(1, 2)).mask_fill(eye, SELF_NEGATIVE);
    let logits = Tensor::cat(vec![pos, neg], 2).reshape([b * cells, cells + 1]) / temperature;
    log_softmax(logits, 1).narrow(1, 0, 1).mean().neg()
}
