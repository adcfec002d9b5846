//! FBA-Net / FBA-Net+ (methods.md §4.1–4.2): the MC-Net+ V-Net (one shared encoder; one decoder
//! for FBA-Net, three with up types 0, 1, 2 for FBA-Net+) and, per decoder, a contrast head that
//! turns the decoder's logits into a foreground and a background embedding. The head contrasts
//! activation maps, not features (as the reference): `A = σ(BN(conv_{k3 s2}(logits)))`, then
//! `z_f = ReLU(W_f · vec(A) / N)` and `z_b = ReLU(W_b · vec(1 − A) / N)` with `N` the voxels of
//! `A`, so the two linear layers have `N` inputs and depend on the patch size. At 112×112×80
//! and `dim` 128: 111,585,422 parameters for FBA-Net+, 96.3 M of them in those layers.

use super::vnet::{VNet, VNetConfig};
use crate::kernels::conv3d_bn_act;
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv3d, Conv3dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig3d};
use crate::pytorch::{linear_or_norm, vnet_part_key, Source};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};

/// Configuration of a [`FbaNet`].
#[derive(Config, Debug)]
pub struct FbaNetConfig {
    /// Training patch `[H, W, D]` (the contrast heads' input size depends on it).
    pub patch: [usize; 3],
    /// Input channels.
    #[config(default = 1)]
    pub in_channels: usize,
    /// Output classes.
    #[config(default = 2)]
    pub classes: usize,
    /// Base channels.
    #[config(default = 16)]
    pub filters: usize,
    /// Decoders: 3 for FBA-Net+ (up types 0, 1, 2), 1 for FBA-Net.
    #[config(default = 3)]
    pub decoders: usize,
    /// Width of the foreground and background embeddings (`--dim`).
    #[config(default = 128)]
    pub dim: usize,
    /// The V-Net's training-time `Dropout3d(0.5)`.
    #[config(default = true)]
    pub dropout: bool,
}

/// One decoder's foreground/background embedding head (`ContraModule`).
#[derive(Module, Debug)]
pub struct ContrastHead {
    conv: Conv3d,
    norm: BatchNorm,
    foreground: Linear,
    background: Linear,
}

impl ContrastHead {
    fn new(classes: usize, voxels: usize, dim: usize, device: &Device) -> Self {
        Self {
            conv: Conv3dConfig::new([classes, 1], [3; 3]).with_stride([2; 3]).with_padding(PaddingConfig3d::Explicit(1, 1, 1)).with_bias(false).init(device),
            norm: BatchNormConfig::new(1).init(device),
            foreground: LinearConfig::new(voxels, dim).init(device),
            background: LinearConfig::new(voxels, dim).init(device),
        }
    }

    /// `(z_f, z_b)`, each `[N, dim]`, from logits `[N, classes, H, W, D]`.
    pub fn forward(&self, logits: Tensor<5>) -> (Tensor<2>, Tensor<2>) {
        let a = sigmoid(conv3d_bn_act(&self.conv, &self.norm, logits, 1.0));
        let [n, _, h, w, d] = a.dims();
        let voxels = (h * w * d) as f64;
        let a = a.reshape([n, h * w * d]);
        let background = (a.clone().neg() + 1.0) / voxels;
        (relu(self.foreground.forward(a / voxels)), relu(self.background.forward(background)))
    }
}

/// The V-Net and one contrast head per decoder.
#[derive(Module, Debug)]
pub struct FbaNet {
    vnet: VNet,
    contrast: Vec<ContrastHead>,
}

/// Every decoder's logits and embeddings.
#[derive(Debug, Clone)]
pub struct FbaNetOutput {
    /// Logits per decoder, `[N, classes, H, W, D]`.
    pub logits: Vec<Tensor<5>>,
    /// Foreground embeddings per decoder, `[N, dim]`.
    pub foreground: Vec<Tensor<2>>,
    /// Background embeddings per decoder, `[N, dim]`.
    pub background: Vec<Tensor<2>>,
}

impl FbaNetConfig {
    /// Builds the network.
    pub fn init(&self, device: &Device) -> FbaNet {
        assert!((1..=3).contains(&self.decoders), "FBA-Net has 1 to 3 decoders, not {}", self.decoders);
        let up_types = (0..self.decoders).collect();
        let vnet = VNetConfig::new()
            .with_in_channels(self.in_channels)
            .with_classes(self.classes)
            .with_filters(self.filters)
            .with_up_types(up_types)
            .with_dropout(self.dropout)
            .init(device);
        // the k3 s2 p1 convolution halves each side, rounding up
        let voxels = self.patch.iter().map(|s| s.div_ceil(2)).product();
        let contrast = (0..self.decoders).map(|_| ContrastHead::new(self.classes, voxels, self.dim, device)).collect();
        FbaNet { vnet, contrast }
    }
}

impl FbaNet {
    /// Where each parameter is in a state dict of the reference's `FBAnet` (`encoder`,
    /// `decoder{1,2,3}` of up types 0, 1, 2, each with `cm.activation_head`, `cm.bn_head`,
    /// `f_mlp.0`, `b_mlp.0`), for [`crate::pytorch`].
    pub fn pytorch_source(path: &str) -> Option<Source> {
        Self::pytorch_source_of(path, false)
    }

    /// [`FbaNet::pytorch_source`] for single-decoder FBA-Net (`train_fba.py` at commit
    /// `6a10956`), whose one decoder is `decoder` rather than `decoder1`.
    pub fn pytorch_source_single(path: &str) -> Option<Source> {
        Self::pytorch_source_of(path, true)
    }

    fn pytorch_source_of(path: &str, single: bool) -> Option<Source> {
        let decoder_key = |d: &str| -> Option<String> {
            let d: usize = d.parse().ok()?;
            if single {
                (d == 0).then(|| "decoder".to_string())
            } else {
                Some(format!("decoder{}", d + 1))
            }
        };
        let s: Vec<&str> = path.splitn(4, '.').collect();
        match s.as_slice() {
            ["vnet", "encoder", rest @ ..] => vnet_part_key(&rest.join("."), false).map(|k| Source::plain(format!("encoder.{k}"))),
            ["vnet", "decoders", d, rest] => {
                let decoder = decoder_key(d)?;
                vnet_part_key(rest, *d == "0").map(|k| Source::plain(format!("{decoder}.{k}")))
            }
            ["contrast", d, layer, p] => {
                let decoder = decoder_key(d)?;
                match *layer {
                    "conv" => Some(Source::plain(format!("{decoder}.cm.activation_head.{p}"))),
                    "norm" => Some(linear_or_norm(&format!("{decoder}.cm.bn_head"), p, false)),
                    "foreground" => Some(linear_or_norm(&format!("{decoder}.f_mlp.0"), p, true)),
                    "background" => Some(linear_or_norm(&format!("{decoder}.b_mlp.0"), p, true)),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Logits and embeddings of every decoder (training).
    pub fn forward_all(&self, x: Tensor<5>) -> FbaNetOutput {
        let logits = self.vnet.forward_all(x).logits;
        let (foreground, background) = logits.iter().zip(&self.contrast).map(|(o, head)| head.forward(o.clone())).unzip();
        FbaNetOutput { logits, foreground, background }
    }

    /// The first decoder's logits, the reference's inference path.
    ///
    /// # Shapes
    /// `[N, in, H, W, D]` → `[N, classes, H, W, D]`
    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        self.vnet.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::trainable_params;

    #[test]
    fn parameter_counts_match_the_reference() {
        // built lazily: 111 M parameters take a moment
        let device = Device::flex();
        assert_eq!(trainable_params(&FbaNetConfig::new([112, 112, 80]).init(&device)), 111_585_422);
        // one decoder (the FBA-Net rows): methods.md's "41.6 M"
        let single = trainable_params(&FbaNetConfig::new([112, 112, 80]).with_decoders(1).init(&device));
        assert_eq!(single, 7_376_896 + 2_071_970 + 54 + 2 + 2 * (125_440 * 128 + 128));
    }
}
