//! The residual block of the diffusion networks (medfusion's `UnetResBlock`, MONAI-style):
//! `act(norm(conv_k,s(x)))` [+ time embedding] → `norm(conv_k(·))`, plus the input (through a
//! 1×1 conv + norm when the shape changes), then the activation. GroupNorm (medfusion: 8 groups
//! in the autoencoder, 32 in the denoiser) and Swish (SiLU) throughout. [`DownStep`] /
//! [`UpStep`]: medfusion's `DownBlock` / `UpBlock` with learnable interpolation around it.

use crate::kernels::{conv2d_module, group_norm_act};
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::silu;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};

/// Groups of the autoencoder's GroupNorms (medfusion's VAE: 8; its denoiser: 32).
pub const GROUPS: usize = 8;

/// Configuration of a [`ResBlock`].
#[derive(Config, Debug)]
pub struct ResBlockConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Stride of the first convolution.
    #[config(default = 1)]
    pub stride: usize,
    /// Width of the time embedding added after the first convolution (0: none).
    #[config(default = 0)]
    pub time_channels: usize,
    /// GroupNorm groups (fewer when the channels are fewer).
    #[config(default = 8)]
    pub groups: usize,
}

/// A residual block.
#[derive(Module, Debug)]
pub struct ResBlock {
    conv1: Conv2d,
    norm1: GroupNorm,
    conv2: Conv2d,
    norm2: GroupNorm,
    skip: Option<(Conv2d, GroupNorm)>,
    time: Option<Linear>,
}

/// A `k`×`k` convolution keeping the size at stride 1.
pub fn conv_same(cin: usize, cout: usize, k: usize, stride: usize, device: &Device) -> Conv2d {
    let p = k / 2;
    Conv2dConfig::new([cin, cout], [k, k]).with_stride([stride, stride]).with_padding(PaddingConfig2d::Explicit(p, p, p, p)).init(device)
}

/// GroupNorm with `groups` groups (fewer when the channels are fewer).
pub fn group_norm(c: usize, groups: usize, device: &Device) -> GroupNorm {
    GroupNormConfig::new(groups.min(c), c).init(device)
}

impl ResBlockConfig {
    /// Builds the block on `device`.
    pub fn init(&self, device: &Device) -> ResBlock {
        let (i, o) = (self.in_channels, self.out_channels);
        let g = self.groups;
        let skip = (i != o || self.stride != 1).then(|| (conv_same(i, o, 1, self.stride, device), group_norm(o, g, device)));
        ResBlock {
            conv1: conv_same(i, o, 3, self.stride, device),
            norm1: group_norm(o, g, device),
            conv2: conv_same(o, o, 3, 1, device),
            norm2: group_norm(o, g, device),
            skip,
            time: (self.time_channels > 0).then(|| LinearConfig::new(self.time_channels, o).init(device)),
        }
    }
}

impl ResBlock {
    /// # Shapes
    /// `[N, in, H, W]` (+ time embedding `[N, T]`) → `[N, out, H/stride, W/stride]`
    pub fn forward(&self, x: Tensor<4>, time: Option<&Tensor<2>>) -> Tensor<4> {
        let mut h = group_norm_act(&self.norm1, conv2d_module(&self.conv1, x.clone()), true);
        if let (Some(proj), Some(t)) = (&self.time, time) {
            let [n, c, _, _] = h.dims();
            h = h + proj.forward(silu(t.clone())).reshape([n, c, 1, 1]);
        }
        let h = group_norm_act(&self.norm2, conv2d_module(&self.conv2, h), false);
        let residual = match &self.skip {
            Some((conv, norm)) => group_norm_act(norm, conv2d_module(conv, x), false),
            None => x,
        };
        silu(h + residual)
    }
}

/// Learnable down-sampling (medfusion `DownBlock`): a stride-2 3×3 conv `in → out`, then a
/// residual block `out → out`.
#[derive(Module, Debug)]
pub struct DownStep {
    down: Conv2d,
    block: ResBlock,
}

/// Learnable up-sampling (medfusion `UpBlock`): nearest ×2 then a 3×3 conv `in → out`, the skip
/// (if given, `out` channels) added, then a residual block `out → out`.
#[derive(Module, Debug)]
pub struct UpStep {
    up: Conv2d,
    block: ResBlock,
}

impl DownStep {
    /// `in → out` at half the size; `time_channels` and `groups` as [`ResBlockConfig`].
    pub fn new(cin: usize, cout: usize, time_channels: usize, groups: usize, device: &Device) -> Self {
        Self { down: conv_same(cin, cout, 3, 2, device), block: ResBlockConfig::new(cout, cout).with_time_channels(time_channels).with_groups(groups).init(device) }
    }

    /// # Shapes
    /// `[N, in, H, W]` → `[N, out, H/2, W/2]`
    pub fn forward(&self, x: Tensor<4>, time: Option<&Tensor<2>>) -> Tensor<4> {
        self.block.forward(conv2d_module(&self.down, x), time)
    }
}

impl UpStep {
    /// `in → out` at twice the size; `time_channels` and `groups` as [`ResBlockConfig`].
    pub fn new(cin: usize, cout: usize, time_channels: usize, groups: usize, device: &Device) -> Self {
        Self { up: conv_same(cin, cout, 3, 1, device), block: ResBlockConfig::new(cout, cout).with_time_channels(time_channels).with_groups(groups).init(device) }
    }

    /// # Shapes
    /// `[N, in, H, W]` (+ skip `[N, out, 2H, 2W]`) → `[N, out, 2H, 2W]`
    pub fn forward(&self, x: Tensor<4>, skip: Option<Tensor<4>>, time: Option<&Tensor<2>>) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        let up = conv2d_module(&self.up, interpolate(x, InterpolateOptions::new(InterpolateMode::Nearest).with_output_size([2 * h, 2 * w])));
        let input = match skip {
            Some(s) => up + s,
            None => up,
        };
        self.block.forward(input, time)
    }
}
