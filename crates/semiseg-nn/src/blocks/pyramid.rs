//! The encoder pattern of UNet-style networks: a block per level, 2×2 max-pooling between levels.

use burn::prelude::*;
use crate::kernels::max_pool2x2;

/// Runs `levels` blocks, level `i > 0` on the max-pooled output of level `i − 1`; returns every
/// level's output (full resolution first).
pub fn encode_pyramid(x: Tensor<4>, levels: usize, block: impl Fn(usize, Tensor<4>) -> Tensor<4>) -> Vec<Tensor<4>> {
    let mut feats: Vec<Tensor<4>> = Vec::with_capacity(levels);
    for i in 0..levels {
        let input = match feats.last() {
            None => x.clone(),
            Some(prev) => max_pool2x2(prev.clone()),
        };
        feats.push(block(i, input));
    }
    feats
}
