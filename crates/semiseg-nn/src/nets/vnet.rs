//! The V-Net of UA-MT / MC-Net (methods.md §0.3) and MC-Net+'s multi-decoder form.
//!
//! Encoder: five stages of 3³ conv + BN + ReLU (1, 2, 3, 3, 3 convs; 16 → 256 channels),
//! separated by 2³ stride-2 convs; `Dropout3d(0.5)` on the deepest features while training.
//! Decoder: four ×2 up-steps, each added (not concatenated) to the encoder's feature of that
//! scale, stages of 3, 3, 2, 1 convs, `Dropout3d(0.5)` on the last features while training, and
//! a 1³ conv to the class logits. Each decoder up-samples its own way (MC-Net+'s `up_type`):
//! transposed conv, trilinear + conv, or nearest + conv. With one decoder of the first kind
//! this is the plain V-Net (9,448,866 parameters at 16 filters); with three, MC-Net+.
//! Volumes are `[N, C, H, W, D]` as in the reference code (112 × 112 × 80 on LA).

use crate::blocks::{dropout3d, upsample_nearest2x, upsample_trilinear2x, ConvBnRelu3d, ConvBnRelu3dConfig};
use crate::kernels::{batch_norm_act, conv3d_bn_act, conv3d_module, conv_transpose3d_module};
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv3d, Conv3dConfig, ConvTranspose3d, ConvTranspose3dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig3d};
use crate::pytorch::{vnet_part_key, Source};
use burn::prelude::*;

/// Dropout3d probability of the reference's training builds (`has_dropout=True`).
const DROPOUT: f64 = 0.5;

/// How a decoder doubles the resolution (MC-Net+'s `up_type`).
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum UpKind {
    /// `ConvTranspose3d(k = 2, s = 2)` (type 0, the plain V-Net).
    Transposed,
    /// Trilinear ×2 (align_corners) then a 3³ conv (type 1).
    Trilinear,
    /// Nearest ×2 then a 3³ conv (type 2).
    Nearest,
}

impl UpKind {
    /// MC-Net+'s numbering: 0, 1, 2.
    pub fn from_index(i: usize) -> Option<Self> {
        [Self::Transposed, Self::Trilinear, Self::Nearest].get(i).copied()
    }
}

/// `n` convolutions at one scale (`ConvBlock` of the reference).
#[derive(Module, Debug)]
pub struct Stage {
    convs: Vec<ConvBnRelu3d>,
}

impl Stage {
    fn new(n: usize, in_channels: usize, out_channels: usize, device: &Device) -> Self {
        let convs = (0..n).map(|i| ConvBnRelu3dConfig::same(if i == 0 { in_channels } else { out_channels }, out_channels).init(device)).collect();
        Self { convs }
    }

    fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        self.convs.iter().fold(x, |x, c| c.forward(x))
    }
}

/// A ×2 up-step followed by BN + ReLU.
#[derive(Module, Debug)]
pub struct UpStep {
    transposed: Option<ConvTranspose3d>,
    conv: Option<Conv3d>,
    norm: BatchNorm,
    /// With `conv`: nearest (true) or trilinear (false) resampling before it.
    nearest: bool,
}

impl UpStep {
    fn new(kind: UpKind, in_channels: usize, out_channels: usize, device: &Device) -> Self {
        let norm = BatchNormConfig::new(out_channels).init(device);
        let conv = || Conv3dConfig::new([in_channels, out_channels], [3; 3]).with_padding(PaddingConfig3d::Explicit(1, 1, 1)).init(device);
        match kind {
            UpKind::Transposed => Self {
                transposed: Some(ConvTranspose3dConfig::new([in_channels, out_channels], [2; 3]).with_stride([2; 3]).init(device)),
                conv: None,
                norm,
                nearest: false,
            },
            UpKind::Trilinear => Self { transposed: None, conv: Some(conv()), norm, nearest: false },
            UpKind::Nearest => Self { transposed: None, conv: Some(conv()), norm, nearest: true },
        }
    }

    fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        match (&self.transposed, &self.conv) {
            (Some(t), _) => batch_norm_act(&self.norm, conv_transpose3d_module(t, x), 0.0),
            (None, Some(c)) => conv3d_bn_act(c, &self.norm, if self.nearest { upsample_nearest2x(x) } else { upsample_trilinear2x(x) }, 0.0),
            (None, None) => unreachable!("an up-step has a transposed or a plain conv"),
        }
    }
}

/// The five-scale encoder.
#[derive(Module, Debug)]
pub struct VEncoder {
    block_one: Stage,
    one_dw: ConvBnRelu3d,
    block_two: Stage,
    two_dw: ConvBnRelu3d,
    block_three: Stage,
    three_dw: ConvBnRelu3d,
    block_four: Stage,
    four_dw: ConvBnRelu3d,
    block_five: Stage,
    dropout: bool,
}

impl VEncoder {
    /// An encoder of `filters` base channels (16 in every paper), with the training-time
    /// dropout on its deepest features when `dropout`.
    pub fn new(in_channels: usize, filters: usize, dropout: bool, device: &Device) -> Self {
        let f = filters;
        Self {
            block_one: Stage::new(1, in_channels, f, device),
            one_dw: ConvBnRelu3dConfig::down(f, 2 * f).init(device),
            block_two: Stage::new(2, 2 * f, 2 * f, device),
            two_dw: ConvBnRelu3dConfig::down(2 * f, 4 * f).init(device),
            block_three: Stage::new(3, 4 * f, 4 * f, device),
            three_dw: ConvBnRelu3dConfig::down(4 * f, 8 * f).init(device),
            block_four: Stage::new(3, 8 * f, 8 * f, device),
            four_dw: ConvBnRelu3dConfig::down(8 * f, 16 * f).init(device),
            block_five: Stage::new(3, 16 * f, 16 * f, device),
            dropout,
        }
    }

    /// The features of the five scales, finest first.
    pub fn forward(&self, x: Tensor<5>) -> [Tensor<5>; 5] {
        self.forward_with(x, |x4| x4)
    }

    /// [`VEncoder::forward`], with `after_four` applied to the fourth scale's features before
    /// they go deeper (CAML's cross-sample attention sits there).
    pub fn forward_with(&self, x: Tensor<5>, after_four: impl FnOnce(Tensor<5>) -> Tensor<5>) -> [Tensor<5>; 5] {
        let x1 = self.block_one.forward(x);
        let x2 = self.block_two.forward(self.one_dw.forward(x1.clone()));
        let x3 = self.block_three.forward(self.two_dw.forward(x2.clone()));
        let x4 = after_four(self.block_four.forward(self.three_dw.forward(x3.clone())));
        let x5 = self.block_five.forward(self.four_dw.forward(x4.clone()));
        let x5 = if self.dropout { dropout3d(x5, DROPOUT) } else { x5 };
        [x1, x2, x3, x4, x5]
    }
}

/// One decoder: class logits and the last features (the embedding CAML projects).
#[derive(Module, Debug)]
pub struct VDecoder {
    five_up: UpStep,
    block_six: Stage,
    six_up: UpStep,
    block_seven: Stage,
    seven_up: UpStep,
    block_eight: Stage,
    eight_up: UpStep,
    block_nine: Stage,
    out_conv: Conv3d,
    dropout: bool,
}

impl VDecoder {
    /// A decoder for an encoder of `filters` base channels.
    pub fn new(kind: UpKind, filters: usize, classes: usize, dropout: bool, device: &Device) -> Self {
        let f = filters;
        Self {
            five_up: UpStep::new(kind, 16 * f, 8 * f, device),
            block_six: Stage::new(3, 8 * f, 8 * f, device),
            six_up: UpStep::new(kind, 8 * f, 4 * f, device),
            block_seven: Stage::new(3, 4 * f, 4 * f, device),
            seven_up: UpStep::new(kind, 4 * f, 2 * f, device),
            block_eight: Stage::new(2, 2 * f, 2 * f, device),
            eight_up: UpStep::new(kind, 2 * f, f, device),
            block_nine: Stage::new(1, f, f, device),
            out_conv: Conv3dConfig::new([f, classes], [1; 3]).init(device),
            dropout,
        }
    }

    /// `(logits [N, classes, …], features [N, filters, …])` at the input's resolution.
    pub fn forward(&self, features: [Tensor<5>; 5]) -> (Tensor<5>, Tensor<5>) {
        let [x1, x2, x3, x4, x5] = features;
        let x = self.block_six.forward(self.five_up.forward(x5) + x4);
        let x = self.block_seven.forward(self.six_up.forward(x) + x3);
        let x = self.block_eight.forward(self.seven_up.forward(x) + x2);
        let x9 = self.block_nine.forward(self.eight_up.forward(x) + x1);
        let x9 = if self.dropout { dropout3d(x9, DROPOUT) } else { x9 };
        (conv3d_module(&self.out_conv, x9.clone()), x9)
    }
}

/// Configuration of a [`VNet`].
#[derive(Config, Debug)]
pub struct VNetConfig {
    /// Input channels (1 for LA MRI).
    #[config(default = 1)]
    pub in_channels: usize,
    /// Output classes.
    #[config(default = 2)]
    pub classes: usize,
    /// Base channels.
    #[config(default = 16)]
    pub filters: usize,
    /// One decoder per entry: `[0]` the V-Net, `[0, 1]` MC-Net, `[0, 1, 2]` MC-Net+ (see
    /// [`UpKind::from_index`]).
    #[config(default = "vec![0]")]
    pub up_types: Vec<usize>,
    /// The training-time `Dropout3d(0.5)` of the reference's train builds.
    #[config(default = true)]
    pub dropout: bool,
}

/// A shared encoder and one or more decoders.
#[derive(Module, Debug)]
pub struct VNet {
    encoder: VEncoder,
    decoders: Vec<VDecoder>,
}

/// Every decoder's output.
#[derive(Debug, Clone)]
pub struct VNetOutput {
    /// Class logits per decoder, `[N, classes, H, W, D]`.
    pub logits: Vec<Tensor<5>>,
    /// Last decoder features per decoder, `[N, filters, H, W, D]`.
    pub features: Vec<Tensor<5>>,
}

impl VNetConfig {
    /// Builds the network (PyTorch's default initialisation, as the reference).
    pub fn init(&self, device: &Device) -> VNet {
        assert!(!self.up_types.is_empty(), "a V-Net needs at least one decoder");
        let decoders = self
            .up_types
            .iter()
            .map(|&t| {
                let kind = UpKind::from_index(t).unwrap_or_else(|| panic!("up type {t}: expected 0, 1 or 2"));
                VDecoder::new(kind, self.filters, self.classes, self.dropout, device)
            })
            .collect();
        VNet { encoder: VEncoder::new(self.in_channels, self.filters, self.dropout, device), decoders }
    }
}

impl VNet {
    /// Logits and features of every decoder.
    pub fn forward_all(&self, x: Tensor<5>) -> VNetOutput {
        let features = self.encoder.forward(x);
        let (logits, features) = self.decoders.iter().map(|d| d.forward(features.clone())).unzip();
        VNetOutput { logits, features }
    }

    /// The first decoder's logits, the one every paper evaluates.
    ///
    /// # Shapes
    /// `[N, in, H, W, D]` → `[N, classes, H, W, D]` (sides divisible by 16)
    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        self.decoders[0].forward(self.encoder.forward(x)).0
    }

    /// Number of decoders.
    pub fn decoders(&self) -> usize {
        self.decoders.len()
    }

    /// Where each parameter is in a state dict of MC-Net+'s layout (`encoder`, `decoder1`,
    /// `decoder2`, ... as the reference repositories' `VNet` and `MCNet3d_v2`), given the up
    /// type of each decoder, for [`crate::pytorch`].
    pub fn pytorch_source(path: &str, up_types: &[usize]) -> Option<Source> {
        let s: Vec<&str> = path.splitn(3, '.').collect();
        match s.as_slice() {
            ["encoder", a, b] => vnet_part_key(&format!("{a}.{b}"), false).map(|k| Source::plain(format!("encoder.{k}"))),
            ["decoders", d, rest] => {
                let d: usize = d.parse().ok()?;
                vnet_part_key(rest, *up_types.get(d)? == 0).map(|k| Source::plain(format!("decoder{}.{k}", d + 1)))
            }
            _ => None,
        }
    }

    /// Where each parameter of a one-decoder V-Net is in a state dict of UA-MT's flat layout
    /// (`networks/vnet.py`: `block_one.conv.0.weight`, …, `out_conv.weight`, no `encoder` or
    /// `decoder1` prefix).
    pub fn pytorch_source_flat(path: &str, up_types: &[usize]) -> Option<Source> {
        let s: Vec<&str> = path.splitn(3, '.').collect();
        match s.as_slice() {
            ["encoder", a, b] => vnet_part_key(&format!("{a}.{b}"), false).map(Source::plain),
            ["decoders", "0", rest] => vnet_part_key(rest, *up_types.first()? == 0).map(Source::plain),
            _ => None,
        }
    }
}

/// Whether a V-Net state dict is in UA-MT's flat layout (see [`VNet::pytorch_source_flat`]).
pub fn is_flat_vnet_state(keys: impl IntoIterator<Item = impl AsRef<str>>) -> bool {
    keys.into_iter().any(|k| k.as_ref().starts_with("block_one."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::trainable_params;

    #[test]
    fn parameter_counts_match_the_reference() {
        let device = Device::flex();
        // methods.md §0.3 and torch_bench.py: encoder 7,376,896; decoder type 0 2,071,970,
        // types 1 and 2 2,898,850
        assert_eq!(trainable_params(&VNetConfig::new().init(&device)), 9_448_866);
        let mcnet_plus = VNetConfig::new().with_up_types(vec![0, 1, 2]).init(&device);
        assert_eq!(trainable_params(&mcnet_plus), 7_376_896 + 2_071_970 + 2 * 2_898_850);
        assert_eq!(trainable_params(&mcnet_plus.encoder), 7_376_896);
    }

    #[test]
    fn every_decoder_returns_logits_and_features_at_the_input_size() {
        let device = Device::flex().autodiff();
        let net = VNetConfig::new().with_filters(2).with_up_types(vec![0, 1, 2]).init(&device);
        let x = Tensor::<5>::random([2, 1, 16, 32, 16], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let out = net.forward_all(x.clone());
        assert_eq!(out.logits.len(), 3);
        for (l, f) in out.logits.iter().zip(&out.features) {
            assert_eq!(l.dims(), [2, 2, 16, 32, 16]);
            assert_eq!(f.dims(), [2, 2, 16, 32, 16]);
        }
        assert_eq!(net.forward(x).dims(), [2, 2, 16, 32, 16]);
    }
}
