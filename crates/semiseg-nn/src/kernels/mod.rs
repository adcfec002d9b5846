//! Fast CPU kernels behind the blocks, as Burn backend extensions of Flex.
//!
//! Burn 0.22's Flex backend computes a convolution's weight gradient as another convolution
//! (input by output gradient, the batch as channels), which falls on a slow direct path. Here a
//! convolution and both its gradients are im2col + GEMM ([`conv`]), registered with Flex and its
//! autodiff wrapper ([`flex_conv`]). On any other device, or another float type, the functions
//! fall back to Burn's own ops, so a network runs everywhere and keeps its parameter layout.

pub mod conv;
pub mod flex_conv;
pub mod geometry;
pub mod im2col;
pub mod matmul;

use burn::backend::DispatchDevice;
use burn::nn::conv::Conv2d;
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::module;
use burn::tensor::ops::ConvOptions;
use burn::tensor::DType;
use flex_conv::GemmConv;

/// Whether tensors on `device` with `dtype` take the GEMM kernels.
fn has_gemm_kernels(device: &Device, dtype: DType) -> bool {
    let on_flex = match device.as_dispatch() {
        DispatchDevice::Flex(_) => true,
        DispatchDevice::Autodiff(inner) => matches!(**inner, DispatchDevice::Flex(_)),
        #[allow(unreachable_patterns)]
        _ => false,
    };
    on_flex && dtype == DType::F32
}

/// `conv3d(x, weight) + bias` with stride and symmetric zero padding (PyTorch's `Conv3d`
/// with dilation 1 and one group). Shapes `[N, C, D, H, W]`, `[O, C, kd, kh, kw]`, `[O]`.
pub fn conv3d(x: Tensor<5>, weight: Tensor<5>, bias: Option<Tensor<1>>, stride: [usize; 3], padding: [usize; 3]) -> Tensor<5> {
    if !has_gemm_kernels(&x.device(), x.dtype()) {
        return module::conv3d(x, weight, bias, ConvOptions::new(stride, padding, [1, 1, 1], 1));
    }
    let bias = bias.unwrap_or_else(|| Tensor::zeros([weight.dims()[0]], &weight.device()));
    Tensor::from_dispatch(<burn::backend::Dispatch as GemmConv>::gemm_conv3d(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        stride,
        padding,
    ))
}

/// `conv2d(x, weight) + bias`, as [`conv3d`] of depth 1. Shapes `[N, C, H, W]`,
/// `[O, C, kh, kw]`, `[O]`.
pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>, stride: [usize; 2], padding: [usize; 2]) -> Tensor<4> {
    if !has_gemm_kernels(&x.device(), x.dtype()) {
        return module::conv2d(x, weight, bias, ConvOptions::new(stride, padding, [1, 1], 1));
    }
    let y = conv3d(x.unsqueeze_dim(2), weight.unsqueeze_dim(2), bias, [1, stride[0], stride[1]], [0, padding[0], padding[1]]);
    y.squeeze_dim(2)
}

/// `conv.forward(x)`, on the GEMM kernels where they apply (one group, dilation 1, symmetric
/// padding); Burn's own convolution otherwise.
pub fn conv2d_module(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let padding = match conv.padding {
        PaddingConfig2d::Valid => Some([0, 0]),
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => Some([top, left]),
        _ => None,
    };
    match padding {
        Some(padding) if conv.groups == 1 && conv.dilation == [1, 1] => {
            conv2d(x, conv.weight.val(), conv.bias.as_ref().map(|b| b.val()), conv.stride, padding)
        }
        _ => conv.forward(x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flex_takes_the_gemm_kernels_with_or_without_autodiff() {
        assert!(has_gemm_kernels(&Device::flex(), DType::F32));
        assert!(has_gemm_kernels(&Device::flex().autodiff(), DType::F32));
        assert!(!has_gemm_kernels(&Device::flex(), DType::F64));
    }
}
