//! The MGCC network (Tang et al., arXiv 2305.09447; `methods.md` §1.2): a CMU-Net encoder, three
//! ConvMixer blocks on the bottleneck, and four decoders with multi-scale attention gates (MSAG)
//! on their skips. The main decoder reads the bottleneck after all three mixer blocks; the
//! auxiliary decoders read it after 0, 1 and 2 blocks, with feature dropout, dropout 0.3 and
//! feature noise on all five feature levels (the multi-level global context).
//!
//! Widths `dim_mult × [16, 32, 64, 128, 256]`; at `dim_mult = 4` the network has 122,182,980
//! parameters and its inference path (encoder, mixers, main decoder) 52,142,145, as
//! `../shared/reference/torch_bench.py`.

use crate::blocks::{encode_pyramid, ConvBnAct, ConvBnActConfig, Perturbation};
use crate::kernels::{batch_norm_act, conv2d_bn_act, conv2d_module};
use crate::pytorch::{conv_pair_key, norm_name, Source};
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::{gelu, relu, sigmoid};
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};

/// Configuration of an [`Mgcc`] network.
#[derive(Config, Debug)]
pub struct MgccConfig {
    /// Input channels (3: the reference reads BUSI as BGR).
    #[config(default = 3)]
    pub in_channels: usize,
    /// Width multiplier of `base_width × [1, 2, 4, 8, 16]` (the paper: 4).
    #[config(default = 4)]
    pub dim_mult: usize,
    /// Narrowest width before `dim_mult` (CMU-Net: 16; smaller only for tests).
    #[config(default = 16)]
    pub base_width: usize,
    /// ConvMixer kernel size.
    #[config(default = 7)]
    pub mixer_kernel: usize,
    /// Layers per ConvMixer block.
    #[config(default = 3)]
    pub mixer_depth: usize,
    /// Perturb all five feature levels seen by an auxiliary decoder (the reference), or only
    /// the bottleneck (CCT's original design).
    #[config(default = true)]
    pub perturb_all_levels: bool,
    /// Feature noise shared by the batch (the reference), or drawn per sample.
    #[config(default = true)]
    pub shared_noise: bool,
}

fn conv(cin: usize, cout: usize, k: usize, dilation: usize, groups: usize, device: &Device) -> Conv2d {
    let pad = dilation * (k / 2);
    Conv2dConfig::new([cin, cout], [k, k])
        .with_dilation([dilation, dilation])
        .with_groups(groups)
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .init(device)
}

/// [conv3×3 → BN → ReLU] ×2 (CMU-Net `conv_block`).
#[derive(Module, Debug)]
struct DoubleConv {
    a: ConvBnAct,
    b: ConvBnAct,
}

impl DoubleConv {
    fn new(cin: usize, cout: usize, device: &Device) -> Self {
        let c = |i, o| ConvBnActConfig::new(i, o).with_negative_slope(0.0).init(device);
        Self { a: c(cin, cout), b: c(cout, cout) }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.b.forward(self.a.forward(x))
    }
}

/// Multi-scale attention gate: `x + x ⊙ σ(BN(conv1×1(ReLU(cat[pw(x), conv3×3(x), conv3×3_dil2(x)]))))`.
#[derive(Module, Debug)]
struct Msag {
    pw: Conv2d,
    pw_bn: BatchNorm,
    ordinary: Conv2d,
    ordinary_bn: BatchNorm,
    dilated: Conv2d,
    dilated_bn: BatchNorm,
    vote: Conv2d,
    vote_bn: BatchNorm,
}

impl Msag {
    fn new(c: usize, device: &Device) -> Self {
        let bn = || BatchNormConfig::new(c).init(device);
        Self {
            pw: conv(c, c, 1, 1, 1, device),
            pw_bn: bn(),
            ordinary: conv(c, c, 3, 1, 1, device),
            ordinary_bn: bn(),
            dilated: conv(c, c, 3, 2, 1, device),
            dilated_bn: bn(),
            vote: conv(3 * c, c, 1, 1, 1, device),
            vote_bn: bn(),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = Tensor::cat(
            vec![
                conv2d_bn_act(&self.pw, &self.pw_bn, x.clone(), 1.0),
                conv2d_bn_act(&self.ordinary, &self.ordinary_bn, x.clone(), 1.0),
                conv2d_bn_act(&self.dilated, &self.dilated_bn, x.clone(), 1.0),
            ],
            1,
        );
        let gate = sigmoid(conv2d_bn_act(&self.vote, &self.vote_bn, relu(h), 1.0));
        x.clone() + x * gate
    }
}

/// One ConvMixer layer: `h = x + BN(GELU(DWConv_k(x)))`, output `BN(GELU(conv1×1(h)))`.
#[derive(Module, Debug)]
struct MixerLayer {
    dw: Conv2d,
    dw_bn: BatchNorm,
    pw: Conv2d,
    pw_bn: BatchNorm,
}

impl MixerLayer {
    fn new(dim: usize, k: usize, device: &Device) -> Self {
        Self {
            dw: conv(dim, dim, k, 1, dim, device),
            dw_bn: BatchNormConfig::new(dim).init(device),
            pw: conv(dim, dim, 1, 1, 1, device),
            pw_bn: BatchNormConfig::new(dim).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = x.clone() + batch_norm_act(&self.dw_bn, gelu(conv2d_module(&self.dw, x)), 1.0);
        batch_norm_act(&self.pw_bn, gelu(conv2d_module(&self.pw, h)), 1.0)
    }
}

/// A decoder: nearest ×2 → conv3×3+BN+ReLU, cat[MSAG(skip), up], double conv; 1×1 → 1 logit.
#[derive(Module, Debug)]
struct Decoder {
    msag: Vec<Msag>,
    up: Vec<ConvBnAct>,
    conv: Vec<DoubleConv>,
    head: Conv2d,
}

impl Decoder {
    fn new(w: &[usize; 5], device: &Device) -> Self {
        Self {
            msag: (0..4).map(|i| Msag::new(w[i], device)).collect(),
            up: (0..4).map(|i| ConvBnActConfig::new(w[4 - i], w[3 - i]).with_negative_slope(0.0).init(device)).collect(),
            conv: (0..4).map(|i| DoubleConv::new(2 * w[3 - i], w[3 - i], device)).collect(),
            head: conv(w[0], 1, 1, 1, 1, device),
        }
    }

    /// # Shapes
    /// `[x1, x2, x3, x4, bottleneck]` → `[N, 1, H, W]`
    fn forward(&self, feats: &[Tensor<4>]) -> Tensor<4> {
        let mut x = feats[4].clone();
        for i in 0..4 {
            let level = 3 - i;
            let [_, _, h, w] = feats[level].dims();
            let up = interpolate(x, InterpolateOptions::new(InterpolateMode::Nearest).with_output_size([h, w]));
            x = self.conv[i].forward(Tensor::cat(vec![self.msag[level].forward(feats[level].clone()), self.up[i].forward(up)], 1));
        }
        conv2d_module(&self.head, x)
    }
}

/// The MGCC network.
#[derive(Module, Debug)]
pub struct Mgcc {
    encoder: Vec<DoubleConv>,
    mixers: Vec<Vec<MixerLayer>>,
    main: Decoder,
    aux: Vec<Decoder>,
    perturb_all_levels: bool,
    shared_noise: bool,
}

/// Main and auxiliary logits of a training forward pass.
#[derive(Debug, Clone)]
pub struct MgccOutput {
    /// Main decoder logits `[N, 1, H, W]`.
    pub main: Tensor<4>,
    /// Auxiliary decoders (bottleneck after 0, 1, 2 mixer blocks), in that order.
    pub aux: Vec<Tensor<4>>,
}

/// Perturbation of auxiliary decoder k (bottleneck after k mixer blocks).
pub const MGCC_PERTURBATIONS: [Perturbation; 3] = [Perturbation::FeatureDropout, Perturbation::Dropout, Perturbation::FeatureNoise];

impl MgccConfig {
    /// Builds the network on `device`.
    pub fn init(&self, device: &Device) -> Mgcc {
        let w = [1, 2, 4, 8, 16].map(|c| c * self.base_width * self.dim_mult);
        Mgcc {
            encoder: (0..5).map(|i| DoubleConv::new(if i == 0 { self.in_channels } else { w[i - 1] }, w[i], device)).collect(),
            mixers: (0..3).map(|_| (0..self.mixer_depth).map(|_| MixerLayer::new(w[4], self.mixer_kernel, device)).collect()).collect(),
            main: Decoder::new(&w, device),
            aux: (0..3).map(|_| Decoder::new(&w, device)).collect(),
            perturb_all_levels: self.perturb_all_levels,
            shared_noise: self.shared_noise,
        }
    }
}

impl Mgcc {
    /// Encoder features x1..x5 and the bottleneck after 0, 1, 2 and 3 mixer blocks.
    fn features(&self, x: Tensor<4>) -> (Vec<Tensor<4>>, Vec<Tensor<4>>) {
        let feats = encode_pyramid(x, self.encoder.len(), |i, h| self.encoder[i].forward(h));
        let mut levels = vec![feats[4].clone()];
        for block in &self.mixers {
            let next = block.iter().fold(levels.last().expect("bottleneck").clone(), |h, layer| layer.forward(h));
            levels.push(next);
        }
        (feats, levels)
    }

    /// Inference path: encoder, three mixer blocks, main decoder.
    ///
    /// # Shapes
    /// `[N, in, H, W]` (H, W divisible by 16) → `[N, 1, H, W]` logits
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let (feats, levels) = self.features(x);
        let mut inputs = feats[..4].to_vec();
        inputs.push(levels[3].clone());
        self.main.forward(&inputs)
    }

    /// Training pass: main output and the three perturbed auxiliary outputs.
    pub fn forward_all(&self, x: Tensor<4>) -> MgccOutput {
        self.decode_all(x, true)
    }

    /// Main and auxiliary outputs with the perturbations off (for checking the decoders).
    pub fn forward_all_unperturbed(&self, x: Tensor<4>) -> MgccOutput {
        self.decode_all(x, false)
    }

    fn decode_all(&self, x: Tensor<4>, perturb: bool) -> MgccOutput {
        let (feats, levels) = self.features(x);
        let with_bottleneck = |b: &Tensor<4>| {
            let mut v = feats[..4].to_vec();
            v.push(b.clone());
            v
        };
        let main = self.main.forward(&with_bottleneck(&levels[3]));
        let aux = self
            .aux
            .iter()
            .zip(MGCC_PERTURBATIONS)
            .enumerate()
            .map(|(k, (dec, p))| {
                let feats: Vec<Tensor<4>> = with_bottleneck(&levels[k])
                    .into_iter()
                    .enumerate()
                    .map(|(level, f)| if perturb && (self.perturb_all_levels || level == 4) { p.apply_with(f, self.shared_noise) } else { f })
                    .collect();
                dec.forward(&feats)
            })
            .collect();
        MgccOutput { main, aux }
    }
}

/// CMU-Net's `conv_block.conv` key of a parameter of our [`DoubleConv`] (conv, BN, ReLU, conv,
/// BN, ReLU: `a.conv` → `conv.0`, `b.norm` → `conv.4`).
fn double_conv_key(inner: &str) -> Option<String> {
    conv_pair_key(inner, "conv", [0, 3])
}

/// The reference `Decoder` key of a parameter of our decoder (`msag.0` → `msag1`, `up.0` →
/// `Up5.up.{1,2}`, `conv.0` → `Up_conv5`, `head` → `Conv_1x1`).
fn decoder_key(inner: &str) -> Option<String> {
    let s: Vec<&str> = inner.splitn(3, '.').collect();
    let at = |i: &str| i.parse::<usize>().ok();
    Some(match s.as_slice() {
        ["msag", j, rest] => {
            let (layer, p) = rest.split_once('.')?;
            let (sequential, index) = match layer {
                "pw" => ("pointwiseConv", 0),
                "pw_bn" => ("pointwiseConv", 1),
                "ordinary" => ("ordinaryConv", 0),
                "ordinary_bn" => ("ordinaryConv", 1),
                "dilated" => ("dilationConv", 0),
                "dilated_bn" => ("dilationConv", 1),
                "vote" => ("voteConv", 0),
                "vote_bn" => ("voteConv", 1),
                _ => return None,
            };
            format!("msag{}.{sequential}.{index}.{}", at(j)? + 1, norm_name(p))
        }
        ["up", i, rest] => {
            let (layer, p) = rest.split_once('.')?;
            let index = match layer {
                "conv" => 1,
                "norm" => 2,
                _ => return None,
            };
            format!("Up{}.up.{index}.{}", 5 - at(i)?, norm_name(p))
        }
        ["conv", i, rest] => format!("Up_conv{}.{}", 5 - at(i)?, double_conv_key(rest)?),
        ["head", p] => format!("Conv_1x1.{p}"),
        _ => return None,
    })
}

impl Mgcc {
    /// Where each parameter is in a state dict of the reference's `MGCC`
    /// (`src/network/MGCC.py`: `Conv1..5`, `ConvMixer1..3.block.<layer>`, `main_decoder`,
    /// `aux_decoder1..3`), for [`crate::pytorch`].
    pub fn pytorch_source(path: &str) -> Option<Source> {
        let s: Vec<&str> = path.splitn(3, '.').collect();
        let at = |i: &str| i.parse::<usize>().ok();
        let key = match s.as_slice() {
            ["encoder", i, rest] => format!("Conv{}.{}", at(i)? + 1, double_conv_key(rest)?),
            ["mixers", b, rest] => {
                // Sequential(Residual(Sequential(dw, GELU, BN)), pw, GELU, BN)
                let (l, rest) = rest.split_once('.')?;
                let (layer, p) = rest.split_once('.')?;
                let index = match layer {
                    "dw" => "0.fn.0",
                    "dw_bn" => "0.fn.2",
                    "pw" => "1",
                    "pw_bn" => "3",
                    _ => return None,
                };
                format!("ConvMixer{}.block.{}.{index}.{}", at(b)? + 1, at(l)?, norm_name(p))
            }
            ["main", rest @ ..] => format!("main_decoder.{}", decoder_key(&rest.join("."))?),
            ["aux", k, rest] => format!("aux_decoder{}.{}", at(k)? + 1, decoder_key(rest)?),
            _ => return None,
        };
        Some(Source::plain(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_reference() {
        let key = |p: &str| Mgcc::pytorch_source(p).map(|s| s.key);
        assert_eq!(key("encoder.0.a.conv.weight").unwrap(), "Conv1.conv.0.weight");
        assert_eq!(key("encoder.4.b.norm.running_var").unwrap(), "Conv5.conv.4.running_var");
        assert_eq!(key("mixers.2.1.dw.weight").unwrap(), "ConvMixer3.block.1.0.fn.0.weight");
        assert_eq!(key("mixers.0.0.dw_bn.gamma").unwrap(), "ConvMixer1.block.0.0.fn.2.weight");
        assert_eq!(key("mixers.1.2.pw_bn.beta").unwrap(), "ConvMixer2.block.2.3.bias");
        assert_eq!(key("main.msag.3.vote_bn.running_mean").unwrap(), "main_decoder.msag4.voteConv.1.running_mean");
        assert_eq!(key("aux.0.msag.0.dilated.bias").unwrap(), "aux_decoder1.msag1.dilationConv.0.bias");
        assert_eq!(key("main.up.0.conv.weight").unwrap(), "main_decoder.Up5.up.1.weight");
        assert_eq!(key("aux.2.up.3.norm.gamma").unwrap(), "aux_decoder3.Up2.up.2.weight");
        assert_eq!(key("main.conv.1.b.conv.bias").unwrap(), "main_decoder.Up_conv4.conv.3.bias");
        assert_eq!(key("main.head.weight").unwrap(), "main_decoder.Conv_1x1.weight");
        assert_eq!(key("main.up.0.act.weight"), None);
    }
    use crate::params::trainable_params;

    #[test]
    fn parameter_counts_match_pytorch() {
        // torch_bench.py --params-only: mgcc 122,182,980, inference path 52,142,145
        let net = MgccConfig::new().init(&Device::flex());
        assert_eq!(trainable_params(&net), 122_182_980);
        let inference = trainable_params(&net.encoder) + trainable_params(&net.mixers) + trainable_params(&net.main);
        assert_eq!(inference, 52_142_145);
    }

    #[test]
    fn shapes_at_small_width() {
        let device = Device::flex();
        let net = MgccConfig::new().with_dim_mult(1).with_mixer_depth(1).init(&device);
        let out = net.forward_all(Tensor::zeros([2, 3, 32, 32], &device));
        assert_eq!(out.main.dims(), [2, 1, 32, 32]);
        assert_eq!(out.aux.len(), 3);
        assert_eq!(net.forward(Tensor::zeros([1, 3, 32, 48], &device)).dims(), [1, 1, 32, 48]);
    }
}
