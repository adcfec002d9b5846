//! CLCC's "ProjUnet2D" (methods.md §2.1): the Oktay-style UNet (`unetConv2` / `unetUp`) with a
//! projection head on the last decoder feature, used for cross-level contrastive learning.
//!
//! `feature_scale = 4` gives widths 16/32/64/128/256. Encoder `unetConv2` = [conv3×3 (bias) → BN →
//! ReLU] ×2 with 2×2 max-pooling; decoder `unetUp` = ConvTranspose2d(k4, s2, p1) → cat[skip, up]
//! → [conv3×3 → ReLU] ×2 (no BN); 1×1 conv to one logit. The head is
//! [conv4×4/4 → BN → ReLU] ×2 (16→64) then [conv4×4/4 → BN → ReLU] (64→128): every output cell
//! sees one 64×64 input region, so a 320² image gives a 5×5 grid of 128-d embeddings and a 64²
//! patch gives one. The reference's unused `proj_center` is left out, as in torch_bench.py
//! (2,679,089 parameters, 2,465,329 on the inference path).

use crate::blocks::encode_pyramid;
use crate::kernels::{conv2d_bn_act, conv2d_module, conv_transpose2d_module};
use crate::pytorch::{norm_name, Source};
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// Configuration of a [`ProjUNet`].
#[derive(Config, Debug)]
pub struct ProjUNetConfig {
    /// Input channels (RGB).
    #[config(default = 3)]
    pub in_channels: usize,
    /// Divisor of the 64–1024 widths (the reference uses 4; 8 halves every width for CPU runs).
    #[config(default = 4)]
    pub feature_scale: usize,
    /// Embedding width of the projection head.
    #[config(default = 128)]
    pub proj_dim: usize,
}

/// Side of the input region one projection cell sees (4 · 4 · 4).
pub const PROJ_STRIDE: usize = 64;

/// `unetConv2`: `n` × [conv (bias) → BN? → ReLU].
#[derive(Module, Debug)]
struct UnetConv2 {
    convs: Vec<Conv2d>,
    norms: Vec<BatchNorm>,
}

/// Kaiming-normal (fan-in, gain √2) weights as the reference's `init_weights`; biases keep the
/// PyTorch default.
fn kaiming(shape: [usize; 4], fan_in: usize, device: &Device) -> burn::module::Param<Tensor<4>> {
    Initializer::KaimingNormal { gain: 2f64.sqrt(), fan_out_only: false }.init_with(shape, Some(fan_in), None, device)
}

/// BatchNorm with weight ~ N(1, 0.02), bias 0 (the reference's `weights_init_kaiming`).
fn batch_norm(c: usize, device: &Device) -> BatchNorm {
    let mut bn = BatchNormConfig::new(c).init(device);
    bn.gamma = Initializer::Normal { mean: 1.0, std: 0.02 }.init([c], device);
    bn
}

impl UnetConv2 {
    fn new(cin: usize, cout: usize, n: usize, kernel: usize, stride: usize, batch_norm_on: bool, device: &Device) -> Self {
        let pad = if stride == 1 { kernel / 2 } else { 0 };
        let convs = (0..n)
            .map(|i| {
                let c_in = if i == 0 { cin } else { cout };
                let mut conv = Conv2dConfig::new([c_in, cout], [kernel, kernel])
                    .with_stride([stride, stride])
                    .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                    .init(device);
                conv.weight = kaiming([cout, c_in, kernel, kernel], c_in * kernel * kernel, device);
                conv
            })
            .collect();
        let norms = if batch_norm_on { (0..n).map(|_| batch_norm(cout, device)).collect() } else { Vec::new() };
        Self { convs, norms }
    }

    fn forward(&self, mut x: Tensor<4>) -> Tensor<4> {
        for (i, conv) in self.convs.iter().enumerate() {
            x = match self.norms.get(i) {
                Some(bn) => conv2d_bn_act(conv, bn, x, 0.0),
                None => relu(conv2d_module(conv, x)),
            };
        }
        x
    }
}

/// `unetUp`: transposed conv ×2 → cat[skip, up] → `unetConv2` without BN.
#[derive(Module, Debug)]
struct UnetUp {
    up: ConvTranspose2d,
    conv: UnetConv2,
}

impl UnetUp {
    fn new(cin: usize, cout: usize, device: &Device) -> Self {
        let mut up = ConvTranspose2dConfig::new([cin, cout], [4, 4]).with_stride([2, 2]).with_padding([1, 1]).init(device);
        // PyTorch's fan-in of a transposed conv is computed from weight.size(1) = out channels.
        up.weight = kaiming([cin, cout, 4, 4], cout * 16, device);
        Self { up, conv: UnetConv2::new(cin, cout, 2, 3, 1, false, device) }
    }

    fn forward(&self, skip: Tensor<4>, x: Tensor<4>) -> Tensor<4> {
        self.conv.forward(Tensor::cat(vec![skip, conv_transpose2d_module(&self.up, x)], 1))
    }
}

/// The CLCC network: segmentation logits and projection embeddings.
#[derive(Module, Debug)]
pub struct ProjUNet {
    down: Vec<UnetConv2>,
    center: UnetConv2,
    ups: Vec<UnetUp>,
    head: Conv2d,
    proj: Vec<UnetConv2>,
}

impl ProjUNetConfig {
    /// Feature widths `[64, 128, 256, 512, 1024] / feature_scale`.
    pub fn widths(&self) -> [usize; 5] {
        [64, 128, 256, 512, 1024].map(|c| (c / self.feature_scale).max(1))
    }

    /// Whether the projection head (`f0 → 64 → proj_dim`) has the reference's widths,
    /// `filters[0] → filters[2] → filters[3]`: at feature scale 4 with `proj_dim` 128 only.
    pub fn projection_matches_reference(&self) -> bool {
        let f = self.widths();
        f[2] == 64 && f[3] == self.proj_dim
    }

    /// Builds the network on `device` with the reference initialisation.
    pub fn init(&self, device: &Device) -> ProjUNet {
        let f = self.widths();
        let down = (0..4).map(|i| UnetConv2::new(if i == 0 { self.in_channels } else { f[i - 1] }, f[i], 2, 3, 1, true, device)).collect();
        let mut head = Conv2dConfig::new([f[0], 1], [1, 1]).init(device);
        head.weight = kaiming([1, f[0], 1, 1], f[0], device);
        ProjUNet {
            down,
            center: UnetConv2::new(f[3], f[4], 2, 3, 1, true, device),
            ups: (0..4).map(|i| UnetUp::new(f[4 - i], f[3 - i], device)).collect(),
            head,
            proj: vec![UnetConv2::new(f[0], 64, 2, 4, 4, true, device), UnetConv2::new(64, self.proj_dim, 1, 4, 4, true, device)],
        }
    }
}

impl ProjUNet {
    /// The last decoder feature `[N, f0, H, W]`.
    fn decode(&self, x: Tensor<4>) -> Tensor<4> {
        let mut feats = encode_pyramid(x, 5, |i, h| if i < 4 { self.down[i].forward(h) } else { self.center.forward(h) });
        let mut x = feats.pop().expect("five levels");
        for (i, up) in self.ups.iter().enumerate() {
            x = up.forward(feats[3 - i].clone(), x);
        }
        x
    }

    /// Segmentation logits.
    ///
    /// # Shapes
    /// `[N, in, H, W]` (H, W divisible by 16) → `[N, 1, H, W]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        conv2d_module(&self.head, self.decode(x))
    }

    /// Logits and projection embeddings.
    ///
    /// # Shapes
    /// `[N, in, H, W]` (H, W divisible by 64) → `[N, 1, H, W]`, `[N, proj_dim, H/64, W/64]`
    pub fn forward_with_projection(&self, x: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let feat = self.decode(x);
        let proj = self.proj.iter().fold(feat.clone(), |h, block| block.forward(h));
        (conv2d_module(&self.head, feat), proj)
    }
}

/// The reference's `unetConv2` key of a parameter of our [`UnetConv2`] (`convs.0.weight` →
/// `conv1.0.weight`, `norms.1.gamma` → `conv2.1.weight`: each `conv<i>` a Sequential of conv,
/// BN (when on), ReLU).
fn unet_conv2_key(inner: &str) -> Option<String> {
    let (list, rest) = inner.split_once('.')?;
    let (i, p) = rest.split_once('.')?;
    let i: usize = i.parse().ok()?;
    match list {
        "convs" => Some(format!("conv{}.0.{p}", i + 1)),
        "norms" => Some(format!("conv{}.1.{}", i + 1, norm_name(p))),
        _ => None,
    }
}

/// The reference's `proj_center`, declared by `ProjUnet2D` but never used in its forward pass
/// (`unetConv2(f4, f5, n=3, ks=2, padding=0)`, Flatten, `Linear(f5, f6)`): its keys and
/// shapes, `(key, shape)`, so that an export loads with `strict=True`.
pub fn unused_proj_center(widths: &[usize; 5]) -> Vec<(String, Vec<usize>)> {
    // filters[5] = 1024 / fs = widths[4], filters[6] = 512 / fs = widths[3]
    let (c4, c5, c6) = (widths[4], widths[4], widths[3]);
    let mut keys = Vec::new();
    for i in 1..=3 {
        let cin = if i == 1 { c4 } else { c5 };
        keys.push((format!("proj_center.0.conv{i}.0.weight"), vec![c5, cin, 2, 2]));
        keys.push((format!("proj_center.0.conv{i}.0.bias"), vec![c5]));
        for p in ["weight", "bias", "running_mean", "running_var"] {
            keys.push((format!("proj_center.0.conv{i}.1.{p}"), vec![c5]));
        }
    }
    keys.push(("proj_center.2.weight".into(), vec![c6, c5]));
    keys.push(("proj_center.2.bias".into(), vec![c6]));
    keys
}

impl ProjUNet {
    /// Where each parameter is in a state dict of CLCC's `ProjUnet2D` (`utils/models/unet2d.py`:
    /// `encoder.conv1..4`, `encoder.center`, `decoder.up_concat4..1.{up,conv}`, `final`,
    /// `proj_final.0..1`), for [`crate::pytorch`]. The projection head matches the reference's
    /// only where its widths are `filters[2]`, `filters[3]` (feature scale 4, `proj_dim` 128).
    pub fn pytorch_source(path: &str) -> Option<Source> {
        let s: Vec<&str> = path.splitn(3, '.').collect();
        let at = |i: &str| i.parse::<usize>().ok();
        let key = match s.as_slice() {
            ["down", i, rest] => format!("encoder.conv{}.{}", at(i)? + 1, unet_conv2_key(rest)?),
            ["center", rest @ ..] => format!("encoder.center.{}", unet_conv2_key(&rest.join("."))?),
            ["ups", i, rest] => {
                let up = 4 - at(i)?;
                match rest.split_once('.')? {
                    ("up", p) => format!("decoder.up_concat{up}.up.{p}"),
                    ("conv", inner) => format!("decoder.up_concat{up}.conv.{}", unet_conv2_key(inner)?),
                    _ => return None,
                }
            }
            ["head", p] => format!("final.{p}"),
            ["proj", i, rest] => format!("proj_final.{}.{}", at(i)?, unet_conv2_key(rest)?),
            _ => return None,
        };
        Some(Source::plain(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::trainable_params;

    #[test]
    fn keys_follow_the_reference() {
        let key = |p: &str| ProjUNet::pytorch_source(p).map(|s| s.key);
        assert_eq!(key("down.0.convs.0.weight").unwrap(), "encoder.conv1.conv1.0.weight");
        assert_eq!(key("down.3.norms.1.running_var").unwrap(), "encoder.conv4.conv2.1.running_var");
        assert_eq!(key("center.norms.0.gamma").unwrap(), "encoder.center.conv1.1.weight");
        assert_eq!(key("ups.0.up.weight").unwrap(), "decoder.up_concat4.up.weight");
        assert_eq!(key("ups.3.conv.convs.1.bias").unwrap(), "decoder.up_concat1.conv.conv2.0.bias");
        assert_eq!(key("head.bias").unwrap(), "final.bias");
        assert_eq!(key("proj.1.norms.0.beta").unwrap(), "proj_final.1.conv1.1.bias");
        let config = ProjUNetConfig::new();
        assert!(config.projection_matches_reference());
        assert!(!ProjUNetConfig::new().with_feature_scale(8).projection_matches_reference(), "8 → 64 → 128, the reference 8 → 32 → 64");
        // the reference's 3,500,721 parameters = ours + proj_center's 821,632 (BN statistics aside)
        let center: usize = unused_proj_center(&config.widths()).iter().filter(|(k, _)| !k.contains("running")).map(|(_, s)| s.iter().product::<usize>()).sum();
        assert_eq!(center, 821_632);
    }

    #[test]
    fn parameter_count_matches_pytorch() {
        let device = Device::flex();
        let net = ProjUNetConfig::new().init(&device);
        // ../shared/reference/torch_bench.py --params-only: clcc 2,679,089, inference path 2,465,329
        assert_eq!(trainable_params(&net), 2_679_089);
        assert_eq!(trainable_params(&net) - trainable_params(&net.proj), 2_465_329);
        // the same PyTorch modules with widths 8..128 (the CPU configs): 822,937
        assert_eq!(trainable_params(&ProjUNetConfig::new().with_feature_scale(8).init(&device)), 822_937);
    }

    #[test]
    fn a_patch_is_one_grid_cell() {
        let device = Device::flex();
        let net = ProjUNetConfig::new().with_feature_scale(16).init(&device);
        let (out, proj) = net.forward_with_projection(Tensor::zeros([2, 3, 320, 320], &device));
        assert_eq!(out.dims(), [2, 1, 320, 320]);
        assert_eq!(proj.dims(), [2, 128, 5, 5]);
        let (out, proj) = net.forward_with_projection(Tensor::zeros([3, 3, 64, 64], &device));
        assert_eq!((out.dims(), proj.dims()), ([3, 1, 64, 64], [3, 128, 1, 1]));
    }
}
