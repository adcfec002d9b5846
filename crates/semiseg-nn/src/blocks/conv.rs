//! Convolution → BatchNorm → activation, the unit of the SSL4MIS and CMU-Net style networks.

use crate::kernels::conv2d_bn_act;
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;

/// Configuration of a [`ConvBnAct`].
#[derive(Config, Debug)]
pub struct ConvBnActConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Square kernel size (padding keeps the size for odd kernels).
    #[config(default = 3)]
    pub kernel: usize,
    /// Negative slope of LeakyReLU; 0 gives ReLU. SSL4MIS uses PyTorch's default 0.01.
    #[config(default = 0.01)]
    pub negative_slope: f64,
}

/// `act(BN(conv(x)))`.
#[derive(Module, Debug)]
pub struct ConvBnAct {
    conv: Conv2d,
    norm: BatchNorm,
    negative_slope: f64,
}

impl ConvBnActConfig {
    /// Builds the block on `device` (PyTorch-style default initialisation).
    pub fn init(&self, device: &Device) -> ConvBnAct {
        let conv = Conv2dConfig::new([self.in_channels, self.out_channels], [self.kernel, self.kernel])
            .with_padding(PaddingConfig2d::Explicit(self.kernel / 2, self.kernel / 2, self.kernel / 2, self.kernel / 2))
            .init(device);
        ConvBnAct { conv, norm: BatchNormConfig::new(self.out_channels).init(device), negative_slope: self.negative_slope }
    }
}

impl ConvBnAct {
    /// # Shapes
    /// `[N, in, H, W]` → `[N, out, H, W]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        conv2d_bn_act(&self.conv, &self.norm, x, self.negative_slope)
    }
}
