//! The SSL4MIS 2-D UNet (`HiLab-git/SSL4MIS:code/networks/unet.py`), the backbone of the
//! SSL4MIS baselines (supervised, mean teacher, UA-MT, CPS) and, with three perturbed auxiliary
//! decoders, of CCT.
//!
//! Features 16/32/64/128/256 (times `width`). Block: [conv3×3 → BN → LeakyReLU(0.01)] ×2 with
//! dropout 0.05/0.1/0.2/0.3/0.5 between the two convs in the encoder and none in the decoder;
//! max-pool 2 down; up = conv1×1 → bilinear ×2 (align_corners) → cat[skip, up] → block; output
//! conv3×3 to `classes` logits. 1 → 2 classes at width 1 has 1,813,474 parameters, as PyTorch.

use crate::blocks::{encode_pyramid, ConvBnAct, ConvBnActConfig, Perturbation};
use crate::kernels::{conv2d_module, resize_bilinear_aligned};
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use crate::draws::dropout;
use crate::pytorch::{conv_pair_key, Source};
use burn::nn::{Dropout, DropoutConfig, PaddingConfig2d};
use burn::prelude::*;

/// Configuration of a [`UNet`].
#[derive(Config, Debug)]
pub struct UNetConfig {
    /// Input channels.
    #[config(default = 1)]
    pub in_channels: usize,
    /// Output classes (logits).
    #[config(default = 2)]
    pub classes: usize,
    /// Width multiplier of the 16–256 feature widths.
    #[config(default = 1.0)]
    pub width: f64,
    /// Number of CCT auxiliary decoders (0, or up to 3: feature noise, dropout, feature dropout).
    #[config(default = 0)]
    pub aux_decoders: usize,
    /// The encoder's training-time dropout (SSL4MIS's 0.05-0.5); off for a deterministic step.
    #[config(default = true)]
    pub dropout: bool,
}

/// [conv → BN → LeakyReLU] → dropout → [conv → BN → LeakyReLU].
#[derive(Module, Debug)]
struct Block {
    a: ConvBnAct,
    drop: Dropout,
    b: ConvBnAct,
}

impl Block {
    fn new(cin: usize, cout: usize, p: f64, device: &Device) -> Self {
        Self {
            a: ConvBnActConfig::new(cin, cout).init(device),
            drop: DropoutConfig::new(p).init(),
            b: ConvBnActConfig::new(cout, cout).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.b.forward(dropout(self.a.forward(x), self.drop.prob))
    }
}

/// conv1×1 → bilinear ×2 → cat[skip, up] → block.
#[derive(Module, Debug)]
struct Up {
    reduce: Conv2d,
    block: Block,
}

impl Up {
    fn forward(&self, x: Tensor<4>, skip: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = skip.dims();
        let up = resize_bilinear_aligned(conv2d_module(&self.reduce, x), [h, w]);
        self.block.forward(Tensor::cat(vec![skip, up], 1))
    }
}

/// The decoder: four up steps and the output conv.
#[derive(Module, Debug)]
pub struct Decoder {
    ups: Vec<Up>,
    out: Conv2d,
}

impl Decoder {
    fn new(f: &[usize; 5], classes: usize, device: &Device) -> Self {
        let ups = (0..4)
            .map(|i| Up {
                reduce: Conv2dConfig::new([f[4 - i], f[3 - i]], [1, 1]).init(device),
                block: Block::new(2 * f[3 - i], f[3 - i], 0.0, device),
            })
            .collect();
        let out = Conv2dConfig::new([f[0], classes], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(device);
        Self { ups, out }
    }

    /// # Shapes
    /// features `[x1..x5]` from the encoder → `[N, classes, H, W]`
    pub fn forward(&self, feats: &[Tensor<4>]) -> Tensor<4> {
        let mut x = feats[4].clone();
        for (i, up) in self.ups.iter().enumerate() {
            x = up.forward(x, feats[3 - i].clone());
        }
        conv2d_module(&self.out, x)
    }
}

/// The SSL4MIS UNet, optionally with CCT auxiliary decoders.
#[derive(Module, Debug)]
pub struct UNet {
    encoder: Vec<Block>,
    decoder: Decoder,
    aux: Vec<Decoder>,
}

/// Outputs of a forward pass: the main logits and, in CCT mode, one per auxiliary decoder.
#[derive(Debug, Clone)]
pub struct UNetOutput {
    /// Main decoder logits `[N, classes, H, W]`.
    pub main: Tensor<4>,
    /// Auxiliary decoder logits (empty without auxiliary decoders).
    pub aux: Vec<Tensor<4>>,
}

/// The perturbation of auxiliary decoder `i` (SSL4MIS `UNet_CCT` order).
pub const AUX_PERTURBATIONS: [Perturbation; 3] = [Perturbation::FeatureNoise, Perturbation::Dropout, Perturbation::FeatureDropout];

impl UNetConfig {
    /// Feature widths at each level.
    pub fn widths(&self) -> [usize; 5] {
        [16, 32, 64, 128, 256].map(|c| ((c as f64 * self.width).round() as usize).max(1))
    }

    /// Builds the network on `device`.
    pub fn init(&self, device: &Device) -> UNet {
        assert!(self.aux_decoders <= 3, "aux_decoders={} (at most 3)", self.aux_decoders);
        let f = self.widths();
        let drop = if self.dropout { [0.05, 0.1, 0.2, 0.3, 0.5] } else { [0.0; 5] };
        let encoder = (0..5).map(|i| Block::new(if i == 0 { self.in_channels } else { f[i - 1] }, f[i], drop[i], device)).collect();
        UNet {
            encoder,
            decoder: Decoder::new(&f, self.classes, device),
            aux: (0..self.aux_decoders).map(|_| Decoder::new(&f, self.classes, device)).collect(),
        }
    }
}

impl UNet {
    /// Encoder features x1..x5.
    pub fn encode(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        encode_pyramid(x, self.encoder.len(), |i, h| self.encoder[i].forward(h))
    }

    /// Main-decoder logits.
    ///
    /// # Shapes
    /// `[N, in, H, W]` (H, W divisible by 16) → `[N, classes, H, W]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.decoder.forward(&self.encode(x))
    }

    /// Main and auxiliary logits; each auxiliary decoder sees every encoder feature perturbed.
    pub fn forward_all(&self, x: Tensor<4>) -> UNetOutput {
        let feats = self.encode(x);
        let main = self.decoder.forward(&feats);
        let aux = self
            .aux
            .iter()
            .zip(AUX_PERTURBATIONS)
            .map(|(dec, p)| dec.forward(&feats.iter().map(|f| p.apply(f.clone())).collect::<Vec<_>>()))
            .collect();
        UNetOutput { main, aux }
    }
}

/// SSL4MIS's `ConvBlock.conv_conv` key of a parameter of our [`Block`] (`a.conv.weight` →
/// `conv_conv.0.weight`; the Sequential is conv, BN, LeakyReLU, Dropout, conv, BN, LeakyReLU).
fn block_key(inner: &str) -> Option<String> {
    conv_pair_key(inner, "conv_conv", [0, 4])
}

/// SSL4MIS's `Decoder` key of a parameter of our [`Decoder`] (`ups.0.reduce.weight` →
/// `up1.conv1x1.weight`, `ups.0.block.a.conv.weight` → `up1.conv.conv_conv.0.weight`).
fn decoder_key(inner: &str) -> Option<String> {
    let s: Vec<&str> = inner.splitn(4, '.').collect();
    match s.as_slice() {
        ["ups", i, "reduce", p] => Some(format!("up{}.conv1x1.{p}", i.parse::<usize>().ok()? + 1)),
        ["ups", i, "block", rest] => Some(format!("up{}.conv.{}", i.parse::<usize>().ok()? + 1, block_key(rest)?)),
        ["out", p] => Some(format!("out_conv.{p}")),
        _ => None,
    }
}

impl UNet {
    /// Where each parameter is in a state dict of SSL4MIS's `networks/unet.py`: `UNet`
    /// (`encoder.in_conv.conv_conv.0.weight`, `encoder.down1.maxpool_conv.1.conv_conv…`,
    /// `decoder.up1.conv1x1…`, `decoder.out_conv…`) or, with auxiliary decoders, `UNet_CCT`
    /// (`main_decoder`, `aux_decoder1…3`), for [`crate::pytorch`].
    pub fn pytorch_source(path: &str, cct: bool) -> Option<Source> {
        let (part, inner) = path.split_once('.')?;
        let key = match part {
            "encoder" => {
                let (level, rest) = inner.split_once('.')?;
                let block = block_key(rest)?;
                match level.parse::<usize>().ok()? {
                    0 => format!("encoder.in_conv.{block}"),
                    k @ 1..=4 => format!("encoder.down{k}.maxpool_conv.1.{block}"),
                    _ => return None,
                }
            }
            "decoder" => format!("{}.{}", if cct { "main_decoder" } else { "decoder" }, decoder_key(inner)?),
            "aux" if cct => {
                let (j, rest) = inner.split_once('.')?;
                format!("aux_decoder{}.{}", j.parse::<usize>().ok()? + 1, decoder_key(rest)?)
            }
            _ => return None,
        };
        Some(Source::plain(key))
    }
}

/// Whether a UNet state dict is SSL4MIS's `UNet_CCT` (see [`UNet::pytorch_source`]).
pub fn is_cct_unet_state(keys: impl IntoIterator<Item = impl AsRef<str>>) -> bool {
    keys.into_iter().any(|k| k.as_ref().starts_with("main_decoder."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::trainable_params;

    #[test]
    fn keys_follow_ssl4mis() {
        let key = |p: &str, cct: bool| UNet::pytorch_source(p, cct).map(|s| s.key);
        assert_eq!(key("encoder.0.a.conv.weight", false).unwrap(), "encoder.in_conv.conv_conv.0.weight");
        assert_eq!(key("encoder.3.b.norm.gamma", false).unwrap(), "encoder.down3.maxpool_conv.1.conv_conv.5.weight");
        assert_eq!(key("encoder.4.a.norm.running_var", false).unwrap(), "encoder.down4.maxpool_conv.1.conv_conv.1.running_var");
        assert_eq!(key("decoder.ups.0.reduce.bias", false).unwrap(), "decoder.up1.conv1x1.bias");
        assert_eq!(key("decoder.ups.3.block.b.conv.weight", false).unwrap(), "decoder.up4.conv.conv_conv.4.weight");
        assert_eq!(key("decoder.out.weight", false).unwrap(), "decoder.out_conv.weight");
        assert_eq!(key("decoder.out.weight", true).unwrap(), "main_decoder.out_conv.weight");
        assert_eq!(key("aux.2.ups.1.block.a.norm.beta", true).unwrap(), "aux_decoder3.up2.conv.conv_conv.1.bias");
        assert_eq!(key("aux.0.out.bias", false), None, "a plain UNet has no auxiliary decoders");
        assert_eq!(key("encoder.5.a.conv.weight", false), None);
    }

    #[test]
    fn parameter_count_matches_pytorch() {
        let device = Device::flex();
        // ../shared/reference/torch_bench.py --params-only: unet2d 1,813,474
        assert_eq!(trainable_params(&UNetConfig::new().init(&device)), 1_813_474);
        let cct = UNetConfig::new().with_aux_decoders(3).init(&device);
        let decoder = trainable_params(&UNetConfig::new().init(&device).decoder);
        assert_eq!(trainable_params(&cct), 1_813_474 + 3 * decoder);
    }

    #[test]
    fn shapes_and_width() {
        let device = Device::flex();
        let net = UNetConfig::new().with_width(0.5).with_classes(4).with_aux_decoders(3).init(&device);
        let out = net.forward_all(Tensor::zeros([2, 1, 32, 48], &device));
        assert_eq!(out.main.dims(), [2, 4, 32, 48]);
        assert_eq!(out.aux.len(), 3);
        assert_eq!(out.aux[2].dims(), [2, 4, 32, 48]);
    }
}
