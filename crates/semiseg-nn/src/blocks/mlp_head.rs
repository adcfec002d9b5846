//! The projection and prediction heads of CAML (methods.md §3.1): `Linear → BN1d → ReLU →
//! Linear`, applied to rows of voxel features.

use crate::kernels::batch_norm_act;
use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::prelude::*;

/// `Linear(in → out) → BatchNorm1d → ReLU → Linear(out → out)`.
#[derive(Module, Debug)]
pub struct MlpHead {
    first: Linear,
    norm: BatchNorm,
    second: Linear,
}

impl MlpHead {
    /// A head from `in_features` to `out_features` (PyTorch's default initialisation).
    pub fn new(in_features: usize, out_features: usize, device: &Device) -> Self {
        Self {
            first: LinearConfig::new(in_features, out_features).init(device),
            norm: BatchNormConfig::new(out_features).init(device),
            second: LinearConfig::new(out_features, out_features).init(device),
        }
    }

    /// # Shapes
    /// `[R, in]` → `[R, out]` (batch statistics over the `R` rows while training)
    pub fn forward(&self, rows: Tensor<2>) -> Tensor<2> {
        self.second.forward(batch_norm_act(&self.norm, self.first.forward(rows), 0.0))
    }
}
