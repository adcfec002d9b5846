//! 3-D convolution → BatchNorm → ReLU, the unit of the V-Net family.

use crate::kernels::conv3d_bn_act;
use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv3d, Conv3dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig3d};
use burn::prelude::*;

/// Configuration of a [`ConvBnRelu3d`]: a cubic kernel with stride and symmetric padding.
#[derive(Config, Debug)]
pub struct ConvBnRelu3dConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Cubic kernel size.
    #[config(default = 3)]
    pub kernel: usize,
    /// Stride along every axis.
    #[config(default = 1)]
    pub stride: usize,
    /// Zero padding on every side.
    #[config(default = 1)]
    pub padding: usize,
}

/// `ReLU(BN(conv3d(x)))`.
#[derive(Module, Debug)]
pub struct ConvBnRelu3d {
    conv: Conv3d,
    norm: BatchNorm,
}

impl ConvBnRelu3dConfig {
    /// A 3³ convolution with padding 1 (`V-Net`'s `ConvBlock` unit).
    pub fn same(in_channels: usize, out_channels: usize) -> Self {
        Self::new(in_channels, out_channels)
    }

    /// A 2³ convolution with stride 2 (`V-Net`'s `DownsamplingConvBlock`).
    pub fn down(in_channels: usize, out_channels: usize) -> Self {
        Self::new(in_channels, out_channels).with_kernel(2).with_stride(2).with_padding(0)
    }

    /// Builds the block on `device` (PyTorch's default initialisation).
    pub fn init(&self, device: &Device) -> ConvBnRelu3d {
        let p = self.padding;
        let conv = Conv3dConfig::new([self.in_channels, self.out_channels], [self.kernel; 3])
            .with_stride([self.stride; 3])
            .with_padding(PaddingConfig3d::Explicit(p, p, p))
            .init(device);
        ConvBnRelu3d { conv, norm: BatchNormConfig::new(self.out_channels).init(device) }
    }
}

impl ConvBnRelu3d {
    /// # Shapes
    /// `[N, in, A, B, C]` → `[N, out, A', B', C']`
    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        conv3d_bn_act(&self.conv, &self.norm, x, 0.0)
    }
}
