//! A trained network seen from inference: images in, class probabilities out. Multi-class nets
//! end in a softmax; the one-logit binary nets of MGCC and CLCC end in a sigmoid, returned as the
//! two classes `[1 − p, p]` so every caller handles both alike.

use super::{Mgcc, ProjUNet, UNet};
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, softmax};

/// A network ready for prediction (evaluation mode).
#[derive(Debug, Clone)]
pub enum Segmenter {
    /// SSL4MIS UNet: `classes` logits, softmax.
    UNet(UNet),
    /// CLCC ProjUNet: one logit, sigmoid.
    ProjUNet(ProjUNet),
    /// MGCC main path: one logit, sigmoid.
    Mgcc(Mgcc),
}

impl Segmenter {
    /// Class probabilities.
    ///
    /// # Shapes
    /// `[N, in, H, W]` → `[N, K, H, W]` (K = 2 for the one-logit nets)
    pub fn probabilities(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Segmenter::UNet(net) => softmax(net.forward(x), 1),
            Segmenter::ProjUNet(net) => two_class(net.forward(x)),
            Segmenter::Mgcc(net) => two_class(net.forward(x)),
        }
    }
}

impl From<UNet> for Segmenter {
    fn from(net: UNet) -> Self {
        Segmenter::UNet(net)
    }
}

impl From<ProjUNet> for Segmenter {
    fn from(net: ProjUNet) -> Self {
        Segmenter::ProjUNet(net)
    }
}

impl From<Mgcc> for Segmenter {
    fn from(net: Mgcc) -> Self {
        Segmenter::Mgcc(net)
    }
}

/// `[N, 1, H, W]` logits → `[N, 2, H, W]` probabilities `[1 − σ, σ]`.
pub fn two_class(logit: Tensor<4>) -> Tensor<4> {
    let p = sigmoid(logit);
    Tensor::cat(vec![p.clone().neg() + 1.0, p], 1)
}
