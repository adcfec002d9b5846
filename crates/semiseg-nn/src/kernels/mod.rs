//! Fast CPU kernels behind the blocks (convolution, transposed convolution, batch norm +
//! activation, group norm + Swish, 2×2 max-pooling, bilinear resizing), as Burn backend extensions of Flex.
//!
//! Burn 0.22's Flex backend computes a convolution's weight gradient as another convolution
//! (input by output gradient, the batch as channels), which falls on a slow direct path. Here a
//! convolution and both its gradients are im2col + GEMM ([`conv`]), registered with Flex and its
//! autodiff wrapper ([`flex_conv`]). On any other device, or another float type, the functions
//! fall back to Burn's own ops, so a network runs everywhere and keeps its parameter layout;
//! there the convolutions follow the thread's mixed precision ([`crate::precision`]).

pub mod batch_norm;
pub mod conv;
pub mod flex_conv;
pub mod flex_conv_transpose;
pub mod flex_data;
pub mod flex_group_norm;
pub mod flex_norm;
pub mod flex_pool;
pub mod flex_resize;
pub mod geometry;
pub mod group_norm;
pub mod im2col;
pub(crate) mod matmul;
pub mod pool;
pub mod resize;
pub mod resize_matmul;

use burn::nn::conv::{Conv2d, Conv3d, ConvTranspose2d, ConvTranspose3d};
use burn::nn::{BatchNorm, GroupNorm, PaddingConfig2d, PaddingConfig3d};
use burn::prelude::*;
use burn::tensor::module;
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::DType;
use crate::precision::autocast;
use flex_conv::GemmConv;
use flex_conv_transpose::GemmConvTranspose;
use flex_group_norm::FusedGroupNorm;
use flex_norm::{FusedNormEval, FusedNormTrain};
use flex_pool::MaxPool2x2;
use flex_resize::BilinearAligned;

/// Whether tensors on `device` with `dtype` take this module's kernels (Flex, f32).
fn has_own_kernels(device: &Device, dtype: DType) -> bool {
    crate::device::is_cpu(device) && dtype == DType::F32
}

/// `conv3d(x, weight) + bias` with stride and symmetric zero padding (PyTorch's `Conv3d`
/// with dilation 1 and one group). Shapes `[N, C, D, H, W]`, `[O, C, kd, kh, kw]`, `[O]`.
pub fn conv3d(x: Tensor<5>, weight: Tensor<5>, bias: Option<Tensor<1>>, stride: [usize; 3], padding: [usize; 3]) -> Tensor<5> {
    conv3d_dilated(x, weight, bias, stride, padding, [1, 1, 1])
}

/// [`conv3d`] with kernel taps `dilation` apart (PyTorch's `Conv3d` with one group).
pub fn conv3d_dilated(x: Tensor<5>, weight: Tensor<5>, bias: Option<Tensor<1>>, stride: [usize; 3], padding: [usize; 3], dilation: [usize; 3]) -> Tensor<5> {
    if !has_own_kernels(&x.device(), x.dtype()) {
        let options = ConvOptions::new(stride, padding, dilation, 1);
        return autocast(x, weight, bias, |x, w, b| module::conv3d(x, w, b, options));
    }
    let bias = bias.unwrap_or_else(|| Tensor::zeros([weight.dims()[0]], &weight.device()));
    Tensor::from_dispatch(<burn::backend::Dispatch as GemmConv>::gemm_conv3d(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        stride,
        padding,
        dilation,
    ))
}

/// `conv2d(x, weight) + bias`, as [`conv3d`] of depth 1. Shapes `[N, C, H, W]`,
/// `[O, C, kh, kw]`, `[O]`.
pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>, stride: [usize; 2], padding: [usize; 2]) -> Tensor<4> {
    conv2d_dilated(x, weight, bias, stride, padding, [1, 1])
}

/// [`conv2d`] with kernel taps `dilation` apart (PyTorch's `Conv2d` with one group).
pub fn conv2d_dilated(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>, stride: [usize; 2], padding: [usize; 2], dilation: [usize; 2]) -> Tensor<4> {
    if !has_own_kernels(&x.device(), x.dtype()) {
        let options = ConvOptions::new(stride, padding, dilation, 1);
        return autocast(x, weight, bias, |x, w, b| module::conv2d(x, w, b, options));
    }
    let steps = ([1, stride[0], stride[1]], [0, padding[0], padding[1]], [1, dilation[0], dilation[1]]);
    let y = conv3d_dilated(x.unsqueeze_dim(2), weight.unsqueeze_dim(2), bias, steps.0, steps.1, steps.2);
    y.squeeze_dim(2)
}

/// `conv.forward(x)`, on the GEMM kernels where they apply (one group, symmetric padding);
/// Burn's own convolution otherwise.
pub fn conv2d_module(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let padding = match conv.padding {
        PaddingConfig2d::Valid => Some([0, 0]),
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => Some([top, left]),
        _ => None,
    };
    match padding {
        Some(padding) if conv.groups == 1 => {
            conv2d_dilated(x, conv.weight.val(), conv.bias.as_ref().map(|b| b.val()), conv.stride, padding, conv.dilation)
        }
        _ => conv.forward(x),
    }
}

/// `conv.forward(x)` for a 3-D convolution, on the GEMM kernels where they apply (one group,
/// explicit or no padding); Burn's own convolution otherwise.
pub fn conv3d_module(conv: &Conv3d, x: Tensor<5>) -> Tensor<5> {
    let padding = match conv.padding {
        PaddingConfig3d::Valid => Some([0, 0, 0]),
        PaddingConfig3d::Explicit(d, h, w) => Some([d, h, w]),
        PaddingConfig3d::Same => None,
    };
    match padding {
        Some(padding) if conv.groups == 1 => {
            conv3d_dilated(x, conv.weight.val(), conv.bias.as_ref().map(|b| b.val()), conv.stride, padding, conv.dilation)
        }
        _ => conv.forward(x),
    }
}

/// `conv_transpose3d(x, weight) + bias` with stride, symmetric padding, no output padding
/// (PyTorch's `ConvTranspose3d` with dilation 1 and one group). Shapes `[N, Cin, D, H, W]`,
/// `[Cin, Cout, kd, kh, kw]`, `[Cout]`.
pub fn conv_transpose3d(x: Tensor<5>, weight: Tensor<5>, bias: Option<Tensor<1>>, stride: [usize; 3], padding: [usize; 3]) -> Tensor<5> {
    if !has_own_kernels(&x.device(), x.dtype()) {
        let options = ConvTransposeOptions::new(stride, padding, [0, 0, 0], [1, 1, 1], 1);
        return autocast(x, weight, bias, |x, w, b| module::conv_transpose3d(x, w, b, options));
    }
    let bias = bias.unwrap_or_else(|| Tensor::zeros([weight.dims()[1]], &weight.device()));
    Tensor::from_dispatch(<burn::backend::Dispatch as GemmConvTranspose>::gemm_conv_transpose3d(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        stride,
        padding,
    ))
}

/// `conv_transpose2d(x, weight) + bias`, as [`conv_transpose3d`] of depth 1.
pub fn conv_transpose2d(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>, stride: [usize; 2], padding: [usize; 2]) -> Tensor<4> {
    if !has_own_kernels(&x.device(), x.dtype()) {
        let options = ConvTransposeOptions::new(stride, padding, [0, 0], [1, 1], 1);
        return autocast(x, weight, bias, |x, w, b| module::conv_transpose2d(x, w, b, options));
    }
    let y = conv_transpose3d(x.unsqueeze_dim(2), weight.unsqueeze_dim(2), bias, [1, stride[0], stride[1]], [0, padding[0], padding[1]]);
    y.squeeze_dim(2)
}

/// `conv.forward(x)` for a transposed convolution, on the GEMM kernels where they apply (one
/// group, dilation 1, no output padding).
pub fn conv_transpose2d_module(conv: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
    if conv.groups != 1 || conv.dilation != [1, 1] || conv.padding_out != [0, 0] {
        return conv.forward(x);
    }
    conv_transpose2d(x, conv.weight.val(), conv.bias.as_ref().map(|b| b.val()), conv.stride, conv.padding)
}

/// `conv.forward(x)` for a 3-D transposed convolution, on the GEMM kernels where they apply
/// (one group, dilation 1, no output padding).
pub fn conv_transpose3d_module(conv: &ConvTranspose3d, x: Tensor<5>) -> Tensor<5> {
    if conv.groups != 1 || conv.dilation != [1, 1, 1] || conv.padding_out != [0, 0, 0] {
        return conv.forward(x);
    }
    conv_transpose3d(x, conv.weight.val(), conv.bias.as_ref().map(|b| b.val()), conv.stride, conv.padding)
}

/// 2×2 max-pooling with stride 2 (PyTorch's `MaxPool2d(2)`): `[N, C, H, W]` →
/// `[N, C, H/2, W/2]`.
pub fn max_pool2x2(x: Tensor<4>) -> Tensor<4> {
    if !has_own_kernels(&x.device(), x.dtype()) {
        return module::max_pool2d(x, burn::tensor::ops::MaxPoolOptions::new([2, 2]));
    }
    Tensor::from_dispatch(<burn::backend::Dispatch as MaxPool2x2>::max_pool2x2(x.into_dispatch()))
}

/// Bilinear resizing of `[N, C, H, W]` to `size` on the `align_corners = true` grid
/// (PyTorch's `Upsample(mode="bilinear", align_corners=True)`).
pub fn resize_bilinear_aligned(x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    if !has_own_kernels(&x.device(), x.dtype()) {
        return resize_matmul::resize_bilinear_matmul(x, size);
    }
    Tensor::from_dispatch(<burn::backend::Dispatch as BilinearAligned>::bilinear_aligned(x.into_dispatch(), size))
}

/// `norm.forward(x)`, followed by Swish (SiLU) when `swish`; one fused operation on Flex in
/// `f32`, two passes each way.
pub fn group_norm_act<const D: usize>(norm: &GroupNorm, x: Tensor<D>, swish: bool) -> Tensor<D> {
    let device = x.device();
    if !has_own_kernels(&device, x.dtype()) {
        let y = norm.forward(x);
        return if swish { burn::tensor::activation::silu(y) } else { y };
    }
    let c = norm.num_channels;
    let gamma = norm.gamma.as_ref().map(|g| g.val()).unwrap_or_else(|| Tensor::ones([c], &device));
    let beta = norm.beta.as_ref().map(|b| b.val()).unwrap_or_else(|| Tensor::zeros([c], &device));
    Tensor::from_dispatch(<burn::backend::Dispatch as FusedGroupNorm>::group_norm_act(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        norm.num_groups,
        norm.epsilon,
        swish,
    ))
}

/// `act(norm.forward(x))` where `act` is the identity on positive values and multiplies the
/// others by `slope` (0: ReLU, 0.01: PyTorch's LeakyReLU, 1: no activation). On Flex in `f32`
/// this is one fused operation with a two-pass backward. In training mode the running
/// statistics are updated as PyTorch does: momentum-weighted, the variance unbiased.
pub fn batch_norm_act<const D: usize>(norm: &BatchNorm, x: Tensor<D>, slope: f64) -> Tensor<D> {
    let device = x.device();
    let training = device.is_autodiff() && norm.training.is_enabled();
    let count = x.shape().num_elements() / x.dims()[1];
    // PyTorch refuses this too: one value's variance is 0, and its unbiased running update
    // would divide by n - 1 = 0.
    assert!(!training || count > 1, "batch norm in training needs more than 1 value per channel, got input of shape {:?}: use a larger batch or patch", x.dims());
    if !has_own_kernels(&device, x.dtype()) {
        return leaky(norm.forward(x), slope);
    }
    if !training {
        let (mean, var) = (norm.running_mean.value().to_device(&device), norm.running_var.value().to_device(&device));
        if device.is_autodiff() {
            return leaky(module::batch_norm(x, norm.gamma.val(), norm.beta.val(), mean, var, norm.epsilon), slope);
        }
        return Tensor::from_dispatch(<burn::backend::Dispatch as FusedNormEval>::bn_act_eval(
            x.into_dispatch(),
            norm.gamma.val().into_dispatch(),
            norm.beta.val().into_dispatch(),
            mean.into_dispatch(),
            var.into_dispatch(),
            norm.epsilon,
            slope,
        ));
    }
    let (y, mean, var) = <burn::backend::Dispatch as FusedNormTrain>::bn_act_train(
        x.into_dispatch(),
        norm.gamma.val().into_dispatch(),
        norm.beta.val().into_dispatch(),
        norm.epsilon,
        slope,
    );
    let (mean, var) = (Tensor::<1>::from_dispatch(mean).detach(), Tensor::<1>::from_dispatch(var).detach());
    let unbiased = var.mul_scalar(count as f64 / (count - 1) as f64);
    let m = norm.momentum;
    norm.running_mean.update(norm.running_mean.value_sync().to_device(&device).mul_scalar(1.0 - m).add(mean.mul_scalar(m)).detach());
    norm.running_var.update(norm.running_var.value_sync().to_device(&device).mul_scalar(1.0 - m).add(unbiased.mul_scalar(m)).detach());
    Tensor::from_dispatch(y)
}

/// The activation of [`batch_norm_act`] from Burn's ops.
fn leaky<const D: usize>(y: Tensor<D>, slope: f64) -> Tensor<D> {
    match slope {
        0.0 => burn::tensor::activation::relu(y),
        1.0 => y,
        _ => burn::tensor::activation::leaky_relu(y, slope),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flex_takes_the_gemm_kernels_with_or_without_autodiff() {
        assert!(has_own_kernels(&Device::flex(), DType::F32));
        assert!(has_own_kernels(&Device::flex().autodiff(), DType::F32));
        assert!(!has_own_kernels(&Device::flex(), DType::F64));
    }
}
