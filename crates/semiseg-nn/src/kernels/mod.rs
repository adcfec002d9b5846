//! Fast CPU kernels behind the blocks (convolution, transposed convolution, batch norm +
//! activation, group norm + Swish, 2×2 max-pooling, bilinear resizing), as Burn backend extensions of Flex.
//!
//! Burn 0.22's Flex backend computes a convolution's weight gradient as another convolution
//! (input by output gradient, the batch as channels), which falls on a slow direct path. Here a
//! convolution and both its gradients are im2col + GEMM ([`conv`]), registered with Flex and its
//! autodiff wrapper ([`flex_conv`]). On any other device, or another float type, the functions
//! fall back to Burn's own ops, so a network runs everywhere and keeps its parameter layout;
//! there the convolutions follow the thread's mixed precision ([`crate::precision`]). On CubeCL
//! devices (wgpu, CUDA) convolutions keep Burn's forward pass and input gradient but take
//! semiseg's weight gradient ([`cube_conv`], [`tap_grad`]), and batch norm in training updates
//! its running variance unbiased, as PyTorch and the CPU kernel do.

pub mod batch_norm;
pub mod conv;
#[cfg(any(feature = "wgpu", feature = "cuda"))]
pub mod cube_conv;
pub mod flex_conv;
pub mod flex_conv_bn;
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
pub mod profile;
pub mod resize;
pub mod resize_matmul;
pub(crate) mod simd;
pub mod tap_grad;
pub(crate) mod transpose;

use burn::nn::conv::{Conv2d, Conv3d, ConvTranspose2d, ConvTranspose3d};
use burn::nn::{BatchNorm, GroupNorm, PaddingConfig2d, PaddingConfig3d};
use burn::prelude::*;
use burn::tensor::module;
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::DType;
use crate::precision::autocast;
use flex_conv::GemmConv;
use flex_conv_bn::FoldedConvBn;
use flex_conv_transpose::GemmConvTranspose;
use flex_group_norm::FusedGroupNorm;
use flex_norm::{FusedNormEval, FusedNormTrain};
use flex_pool::MaxPool2x2;
use flex_resize::BilinearAligned;

/// Whether tensors on `device` with `dtype` take this module's kernels (Flex, f32).
fn has_own_kernels(device: &Device, dtype: DType) -> bool {
    crate::device::is_cpu(device) && dtype == DType::F32
}

/// A convolution on a CubeCL device (wgpu, CUDA) through [`cube_conv`], whose weight gradient
/// is semiseg's; `None` elsewhere (or in a build without a CubeCL backend).
#[allow(unused_variables)]
fn conv_on_cube<const D: usize>(x: &Tensor<D>, weight: &Tensor<D>, bias: &Option<Tensor<1>>, (stride, padding, dilation): tap_grad::Steps) -> Option<Tensor<D>> {
    #[cfg(any(feature = "wgpu", feature = "cuda"))]
    if !crate::device::is_cpu(&x.device()) {
        let bias = bias.clone().unwrap_or_else(|| Tensor::<1>::zeros([weight.dims()[0]], &weight.device()).cast(weight.dtype()));
        let (x, w, b) = (x.clone().into_dispatch(), weight.clone().into_dispatch(), bias.into_dispatch());
        return Some(Tensor::from_dispatch(<burn::backend::Dispatch as cube_conv::CubeConv>::cube_conv(x, w, b, stride, padding, dilation)));
    }
    None
}

/// [`conv_on_cube`] for a transposed convolution.
#[allow(unused_variables)]
fn conv_transpose_on_cube<const D: usize>(x: &Tensor<D>, weight: &Tensor<D>, bias: &Option<Tensor<1>>, stride: [usize; 3], padding: [usize; 3]) -> Option<Tensor<D>> {
    #[cfg(any(feature = "wgpu", feature = "cuda"))]
    if !crate::device::is_cpu(&x.device()) {
        let bias = bias.clone().unwrap_or_else(|| Tensor::<1>::zeros([weight.dims()[1]], &weight.device()).cast(weight.dtype()));
        let (x, w, b) = (x.clone().into_dispatch(), weight.clone().into_dispatch(), bias.into_dispatch());
        return Some(Tensor::from_dispatch(<burn::backend::Dispatch as cube_conv::CubeConv>::cube_conv_transpose(x, w, b, stride, padding)));
    }
    None
}

/// `conv3d(x, weight) + bias` with stride and symmetric zero padding (PyTorch's `Conv3d`
/// with dilation 1 and one group). Shapes `[N, C, D, H, W]`, `[O, C, kd, kh, kw]`, `[O]`.
pub fn conv3d(x: Tensor<5>, weight: Tensor<5>, bias: Option<Tensor<1>>, stride: [usize; 3], padding: [usize; 3]) -> Tensor<5> {
    conv3d_dilated(x, weight, bias, stride, padding, [1, 1, 1])
}

/// [`conv3d`] with kernel taps `dilation` apart (PyTorch's `Conv3d` with one group).
pub fn conv3d_dilated(x: Tensor<5>, weight: Tensor<5>, bias: Option<Tensor<1>>, stride: [usize; 3], padding: [usize; 3], dilation: [usize; 3]) -> Tensor<5> {
    if !has_own_kernels(&x.device(), x.dtype()) {
        return autocast(x, weight, bias, |x, w, b| {
            conv_on_cube(&x, &w, &b, (stride, padding, dilation)).unwrap_or_else(|| module::conv3d(x, w, b, ConvOptions::new(stride, padding, dilation, 1)))
        });
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
        let steps = ([1, stride[0], stride[1]], [0, padding[0], padding[1]], [1, dilation[0], dilation[1]]);
        return autocast(x, weight, bias, |x, w, b| {
            conv_on_cube(&x, &w, &b, steps).unwrap_or_else(|| module::conv2d(x, w, b, ConvOptions::new(stride, padding, dilation, 1)))
        });
    }
    let steps = ([1, stride[0], stride[1]], [0, padding[0], padding[1]], [1, dilation[0], dilation[1]]);
    let y = conv3d_dilated(x.unsqueeze_dim(2), weight.unsqueeze_dim(2), bias, steps.0, steps.1, steps.2);
    y.squeeze_dim(2)
}

/// The padding of a 2-D convolution the GEMM kernels take (one group, symmetric padding).
fn gemm_padding2d(conv: &Conv2d) -> Option<[usize; 2]> {
    let padding = match conv.padding {
        PaddingConfig2d::Valid => Some([0, 0]),
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => Some([top, left]),
        _ => None,
    };
    padding.filter(|_| conv.groups == 1)
}

/// The padding of a 3-D convolution the GEMM kernels take (one group, explicit or no padding).
fn gemm_padding3d(conv: &Conv3d) -> Option<[usize; 3]> {
    let padding = match conv.padding {
        PaddingConfig3d::Valid => Some([0, 0, 0]),
        PaddingConfig3d::Explicit(d, h, w) => Some([d, h, w]),
        PaddingConfig3d::Same => None,
    };
    padding.filter(|_| conv.groups == 1)
}

/// `conv.forward(x)`, on the GEMM kernels where they apply (one group, symmetric padding);
/// Burn's own convolution otherwise.
pub fn conv2d_module(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    match gemm_padding2d(conv) {
        Some(padding) => conv2d_dilated(x, conv.weight.val(), conv.bias.as_ref().map(|b| b.val()), conv.stride, padding, conv.dilation),
        None => conv.forward(x),
    }
}

/// `conv.forward(x)` for a 3-D convolution, on the GEMM kernels where they apply (one group,
/// explicit or no padding); Burn's own convolution otherwise.
pub fn conv3d_module(conv: &Conv3d, x: Tensor<5>) -> Tensor<5> {
    match gemm_padding3d(conv) {
        Some(padding) => conv3d_dilated(x, conv.weight.val(), conv.bias.as_ref().map(|b| b.val()), conv.stride, padding, conv.dilation),
        None => conv.forward(x),
    }
}

/// `act(norm(conv(x)))` with the activation of [`batch_norm_act`] (`slope`). In evaluation on
/// Flex in `f32` (no autodiff) the norm is folded into the convolution ([`flex_conv_bn`]): one
/// pass instead of two; elsewhere the two operations as they are.
pub fn conv2d_bn_act(conv: &Conv2d, norm: &BatchNorm, x: Tensor<4>, slope: f64) -> Tensor<4> {
    match gemm_padding2d(conv).filter(|_| folds(&x.device(), x.dtype())) {
        Some([ph, pw]) => {
            let weight = conv.weight.val().unsqueeze_dim(2);
            let steps = ([1, conv.stride[0], conv.stride[1]], [0, ph, pw], [1, conv.dilation[0], conv.dilation[1]]);
            folded_conv_bn(x.unsqueeze_dim(2), weight, conv.bias.as_ref().map(|b| b.val()), norm, steps, slope).squeeze_dim(2)
        }
        None => batch_norm_act(norm, conv2d_module(conv, x), slope),
    }
}

/// [`conv2d_bn_act`] for a 3-D convolution.
pub fn conv3d_bn_act(conv: &Conv3d, norm: &BatchNorm, x: Tensor<5>, slope: f64) -> Tensor<5> {
    match gemm_padding3d(conv).filter(|_| folds(&x.device(), x.dtype())) {
        Some(padding) => {
            folded_conv_bn(x, conv.weight.val(), conv.bias.as_ref().map(|b| b.val()), norm, (conv.stride, padding, conv.dilation), slope)
        }
        None => batch_norm_act(norm, conv3d_module(conv, x), slope),
    }
}

/// Whether a convolution and its norm fold into one: evaluation (no autodiff) on the own kernels.
fn folds(device: &Device, dtype: DType) -> bool {
    has_own_kernels(device, dtype) && !device.is_autodiff()
}

fn folded_conv_bn(x: Tensor<5>, weight: Tensor<5>, bias: Option<Tensor<1>>, norm: &BatchNorm, steps: flex_conv_bn::Steps, slope: f64) -> Tensor<5> {
    let device = x.device();
    let bias = bias.unwrap_or_else(|| Tensor::zeros([weight.dims()[0]], &device));
    let (mean, var) = (norm.running_mean.value().to_device(&device), norm.running_var.value().to_device(&device));
    Tensor::from_dispatch(<burn::backend::Dispatch as FoldedConvBn>::conv3d_bn_act_eval(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        norm.gamma.val().into_dispatch(),
        norm.beta.val().into_dispatch(),
        mean.into_dispatch(),
        var.into_dispatch(),
        norm.epsilon,
        steps,
        slope,
    ))
}

/// `conv_transpose3d(x, weight) + bias` with stride, symmetric padding, no output padding
/// (PyTorch's `ConvTranspose3d` with dilation 1 and one group). Shapes `[N, Cin, D, H, W]`,
/// `[Cin, Cout, kd, kh, kw]`, `[Cout]`.
pub fn conv_transpose3d(x: Tensor<5>, weight: Tensor<5>, bias: Option<Tensor<1>>, stride: [usize; 3], padding: [usize; 3]) -> Tensor<5> {
    if !has_own_kernels(&x.device(), x.dtype()) {
        return autocast(x, weight, bias, |x, w, b| {
            conv_transpose_on_cube(&x, &w, &b, stride, padding)
                .unwrap_or_else(|| module::conv_transpose3d(x, w, b, ConvTransposeOptions::new(stride, padding, [0, 0, 0], [1, 1, 1], 1)))
        });
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
        return autocast(x, weight, bias, |x, w, b| {
            conv_transpose_on_cube(&x, &w, &b, [1, stride[0], stride[1]], [0, padding[0], padding[1]])
                .unwrap_or_else(|| module::conv_transpose2d(x, w, b, ConvTransposeOptions::new(stride, padding, [0, 0], [1, 1], 1)))
        });
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
        return leaky(if training { batch_norm_train_ops(norm, x, count) } else { norm.forward(x) }, slope);
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
    update_running_stats(norm, Tensor::from_dispatch(mean), Tensor::from_dispatch(var), count);
    Tensor::from_dispatch(y)
}

/// PyTorch's running-statistics update from a training batch's mean and biased variance: the
/// variance enters unbiased (× n / (n − 1)), momentum-weighted.
fn update_running_stats(norm: &BatchNorm, mean: Tensor<1>, var: Tensor<1>, count: usize) {
    let device = mean.device();
    let unbiased = var.detach().mul_scalar(count as f64 / (count - 1) as f64);
    let m = norm.momentum;
    norm.running_mean.update(norm.running_mean.value_sync().to_device(&device).mul_scalar(1.0 - m).add(mean.detach().mul_scalar(m)).detach());
    norm.running_var.update(norm.running_var.value_sync().to_device(&device).mul_scalar(1.0 - m).add(unbiased.mul_scalar(m)).detach());
}

/// Batch norm in training from tensor operations, for devices without the fused kernel: the
/// batch statistics normalise (biased variance) and the running statistics are updated as
/// PyTorch does (Burn's own `BatchNorm` would store the biased variance).
fn batch_norm_train_ops<const D: usize>(norm: &BatchNorm, x: Tensor<D>, count: usize) -> Tensor<D> {
    let c = x.dims()[1];
    let per_channel = x.clone().swap_dims(0, 1).reshape([c, count]);
    let mean = per_channel.clone().mean_dim(1);
    let var = (per_channel - mean.clone()).powi_scalar(2).mean_dim(1);
    let mut shape = [1; D];
    shape[1] = c;
    let along_channels = |t: Tensor<2>| t.reshape(shape);
    let normalised = (x - along_channels(mean.clone())) / along_channels(var.clone().add_scalar(norm.epsilon).sqrt());
    let y = normalised * along_channels(norm.gamma.val().reshape([c, 1])) + along_channels(norm.beta.val().reshape([c, 1]));
    update_running_stats(norm, mean.reshape([c]), var.reshape([c]), count);
    y
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

    /// The batch norm that devices without the fused kernel run (tensor operations) against
    /// the fused CPU kernel, which the PyTorch fixtures check: output, gradients of x, γ and β,
    /// and running statistics (the variance unbiased).
    #[test]
    fn batch_norm_from_tensor_ops_matches_the_fused_kernel() {
        use burn::nn::BatchNormConfig;
        use burn::tensor::Distribution;
        let d = Device::flex().autodiff();
        for shape in [[3, 4, 5, 6, 2], [2, 3, 1, 4, 4]] {
            let x = Tensor::<5>::random(shape, Distribution::Normal(0.5, 2.0), &d);
            let count = x.shape().num_elements() / shape[1];
            let run = |fused: bool| {
                let mut n = BatchNormConfig::new(shape[1]).init(&d);
                n.gamma = n.gamma.map(|g| g.mul_scalar(1.5).add_scalar(0.25).detach().require_grad());
                n.beta = n.beta.map(|b| b.add_scalar(-0.5).detach().require_grad());
                let xg = x.clone().require_grad();
                let y = if fused { batch_norm_act(&n, xg.clone(), 0.0) } else { leaky(batch_norm_train_ops(&n, xg.clone(), count), 0.0) };
                let grads = (y.clone() * y.clone().detach().cos()).sum().backward();
                let flat = |t: Tensor<5>| t.reshape([-1]);
                [
                    flat(y.inner()),
                    flat(xg.grad(&grads).unwrap()),
                    n.gamma.grad(&grads).unwrap(),
                    n.beta.grad(&grads).unwrap(),
                    n.running_mean.value_sync().inner(),
                    n.running_var.value_sync().inner(),
                ]
            };
            let names = ["output", "input gradient", "gamma gradient", "beta gradient", "running mean", "running variance"];
            for ((name, p), q) in names.iter().zip(run(true)).zip(run(false)) {
                let gap = (p - q.clone()).abs().max().into_scalar::<f32>() / q.abs().max().into_scalar::<f32>().max(1e-6);
                assert!(gap < 1e-5, "shape {shape:?}, {name}: relative gap {gap}");
            }
        }
    }
}
