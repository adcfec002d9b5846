//! A trained network seen from inference: images in, class probabilities out. Multi-class nets
//! end in a softmax; the one-logit binary nets of MGCC and CLCC end in a sigmoid, returned as the
//! two classes `[1 − p, p]` so every caller handles both alike. The 3-D nets (V-Net family)
//! take windows of a volume; callers ask [`Segmenter::is_volumetric`] which entry to use.

use super::{Caml, FbaNet, Mgcc, ProjUNet, UNet, VNet};
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
    /// V-Net (UA-MT; MC-Net+ with several decoders): the first decoder, softmax.
    VNet(VNet),
    /// CAML: model V, softmax.
    Caml(Caml),
    /// FBA-Net: the first decoder, softmax.
    FbaNet(FbaNet),
}

impl Segmenter {
    /// Class probabilities.
    ///
    /// # Shapes
    /// `[N, in, H, W]` → `[N, K, H, W]` (K = 2 for the one-logit nets)
    ///
    /// # Panics
    /// On a 3-D network (see [`Segmenter::volume_probabilities`]).
    pub fn probabilities(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Segmenter::UNet(net) => softmax(net.forward(x), 1),
            Segmenter::ProjUNet(net) => two_class(net.forward(x)),
            Segmenter::Mgcc(net) => two_class(net.forward(x)),
            _ => panic!("a 3-D network segments volumes: call volume_probabilities"),
        }
    }

    /// Class probabilities of volume windows.
    ///
    /// # Shapes
    /// `[N, in, H, W, D]` → `[N, K, H, W, D]`
    ///
    /// # Panics
    /// On a 2-D network (see [`Segmenter::probabilities`]).
    pub fn volume_probabilities(&self, x: Tensor<5>) -> Tensor<5> {
        match self {
            Segmenter::VNet(net) => softmax(net.forward(x), 1),
            Segmenter::Caml(net) => softmax(net.forward(x), 1),
            Segmenter::FbaNet(net) => softmax(net.forward(x), 1),
            _ => panic!("a 2-D network segments planes: call probabilities"),
        }
    }

    /// Whether the network takes volumes (V-Net family) rather than planes.
    pub fn is_volumetric(&self) -> bool {
        matches!(self, Segmenter::VNet(_) | Segmenter::Caml(_) | Segmenter::FbaNet(_))
    }
}

impl From<VNet> for Segmenter {
    fn from(net: VNet) -> Self {
        Segmenter::VNet(net)
    }
}

impl From<Caml> for Segmenter {
    fn from(net: Caml) -> Self {
        Segmenter::Caml(net)
    }
}

impl From<FbaNet> for Segmenter {
    fn from(net: FbaNet) -> Self {
        Segmenter::FbaNet(net)
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
