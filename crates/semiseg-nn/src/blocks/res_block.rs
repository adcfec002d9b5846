//! The residual block of the diffusion networks (medfusion's `UnetResBlock`, MONAI-style):
//! `act(norm(conv_k,s(x)))` [+ time embedding] → `norm(conv_k(·))`, plus the input (through a
//! 1×1 conv + norm when the shape changes), then the activation. GroupNorm with 8 groups and
//! Swish (SiLU) throughout. [`DownStep`] / [`UpStep`]: the learnable resampling steps around it.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::silu;

/// Groups of every GroupNorm (medfusion: 8).
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

/// GroupNorm with [`GROUPS`] groups (fewer when the channels are fewer).
pub fn group_norm(c: usize, device: &Device) -> GroupNorm {
    GroupNormConfig::new(GROUPS.min(c), c).init(device)
}

impl ResBlockConfig {
    /// Builds the block on `device`.
    pub fn init(&self, device: &Device) -> ResBlock {
        let (i, o) = (self.in_channels, self.out_channels);
        let skip = (i != o || self.stride != 1).then(|| (conv_same(i, o, 1, self.stride, device), group_norm(o, device)));
        ResBlock {
            conv1: conv_same(i, o, 3, self.stride, device),
            norm1: group_norm(o, device),
            conv2: conv_same(o, o, 3, 1, device),
            norm2: group_norm(o, device),
            skip,
            time: (self.time_channels > 0).then(|| LinearConfig::new(self.time_channels, o).init(device)),
        }
    }
}

impl ResBlock {
    /// # Shapes
    /// `[N, in, H, W]` (+ time embedding `[N, T]`) → `[N, out, H/stride, W/stride]`
    pub fn forward(&self, x: Tensor<4>, time: Option<&Tensor<2>>) -> Tensor<4> {
        let mut h = silu(self.norm1.forward(self.conv1.forward(x.clone())));
        if let (Some(proj), Some(t)) = (&self.time, time) {
            let [n, c, _, _] = h.dims();
            h = h + proj.forward(silu(t.clone())).reshape([n, c, 1, 1]);
        }
        let h = self.norm2.forward(self.conv2.forward(h));
        let residual = match &self.skip {
            Some((conv, norm)) => norm.forward(conv.forward(x)),
            None => x,
        };
        silu(h + residual)
    }
}

/// Learnable down-sampling: a stride-2 3×3 conv, then a residual block `in → out`.
#[derive(Module, Debug)]
pub struct DownStep {
    down: Conv2d,
    block: ResBlock,
}

/// Learnable up-sampling: a 2×2 stride-2 transposed conv, then a residual block on its output
/// (concatenated with a skip, if given) `→ out`.
#[derive(Module, Debug)]
pub struct UpStep {
    up: ConvTranspose2d,
    block: ResBlock,
}

impl DownStep {
    /// `in → out` at half the size; `time_channels` as [`ResBlockConfig`].
    pub fn new(cin: usize, cout: usize, time_channels: usize, device: &Device) -> Self {
        Self { down: conv_same(cin, cin, 3, 2, device), block: ResBlockConfig::new(cin, cout).with_time_channels(time_channels).init(device) }
    }

    /// # Shapes
    /// `[N, in, H, W]` → `[N, out, H/2, W/2]`
    pub fn forward(&self, x: Tensor<4>, time: Option<&Tensor<2>>) -> Tensor<4> {
        self.block.forward(self.down.forward(x), time)
    }
}

impl UpStep {
    /// `in (+ skip) → out` at twice the size.
    pub fn new(cin: usize, skip: usize, cout: usize, time_channels: usize, device: &Device) -> Self {
        Self {
            up: ConvTranspose2dConfig::new([cin, cin], [2, 2]).with_stride([2, 2]).init(device),
            block: ResBlockConfig::new(cin + skip, cout).with_time_channels(time_channels).init(device),
        }
    }

    /// # Shapes
    /// `[N, in, H, W]` (+ skip `[N, skip, 2H, 2W]`) → `[N, out, 2H, 2W]`
    pub fn forward(&self, x: Tensor<4>, skip: Option<Tensor<4>>, time: Option<&Tensor<2>>) -> Tensor<4> {
        let up = self.up.forward(x);
        let input = match skip {
            Some(s) => Tensor::cat(vec![up, s], 1),
            None => up,
        };
        self.block.forward(input, time)
    }
}
