//! The GEMM convolution against Burn's generic convolution on the same device: outputs and the
//! gradients of input, weight and bias, over odd sizes, strides, padding, dilations and channel
//! counts.

use burn::tensor::module;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Distribution, Tensor};
use semiseg_nn::burn;
use semiseg_nn::kernels;

fn device() -> burn::tensor::Device {
    burn::tensor::Device::flex().autodiff()
}

fn assert_close<const D: usize>(got: Tensor<D>, want: Tensor<D>, what: &str) {
    assert_close_within(1e-5, got, want, what)
}

fn assert_close_within<const D: usize>(tolerance: f32, got: Tensor<D>, want: Tensor<D>, what: &str) {
    let (g, w) = (got.into_data().try_to_vec::<f32>().unwrap(), want.into_data().try_to_vec::<f32>().unwrap());
    assert_eq!(g.len(), w.len(), "{what}: sizes");
    let scale = w.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let worst = g.iter().zip(&w).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst <= tolerance * scale, "{what}: max difference {worst} (scale {scale}, tolerance {tolerance})");
}

/// Forward and backward of both implementations for one geometry, with a loss that weights
/// every output differently (so a transposed or shifted gradient cannot pass).
fn check_3d(batch: usize, channels: [usize; 2], input: [usize; 3], kernel: [usize; 3], stride: [usize; 3], padding: [usize; 3], dilation: [usize; 3]) {
    check_3d_within(1e-5, batch, channels, input, kernel, stride, padding, dilation)
}

/// [`check_3d`] with a relative tolerance.
#[allow(clippy::too_many_arguments)]
fn check_3d_within(tolerance: f32, batch: usize, channels: [usize; 2], input: [usize; 3], kernel: [usize; 3], stride: [usize; 3], padding: [usize; 3], dilation: [usize; 3]) {
    let d = device();
    let x = Tensor::<5>::random([batch, channels[0], input[0], input[1], input[2]], Distribution::Normal(0.0, 1.0), &d);
    let w = Tensor::<5>::random([channels[1], channels[0], kernel[0], kernel[1], kernel[2]], Distribution::Normal(0.0, 0.3), &d);
    let b = Tensor::<1>::random([channels[1]], Distribution::Normal(0.0, 1.0), &d);
    let run = |gemm: bool| {
        let (x, w, b) = (x.clone().require_grad(), w.clone().require_grad(), b.clone().require_grad());
        let y = if gemm {
            kernels::conv3d_dilated(x.clone(), w.clone(), Some(b.clone()), stride, padding, dilation)
        } else {
            module::conv3d(x.clone(), w.clone(), Some(b.clone()), ConvOptions::new(stride, padding, dilation, 1))
        };
        // positive (0.5–2.5), so that the bias gradient, their sum per channel, does not cancel
        // to rounding noise at the large sizes
        let weights = Tensor::<1, burn::tensor::Int>::arange(0..y.shape().num_elements() as i64, &d).float().reshape(y.shape()).cos().add_scalar(1.5);
        let grads = (y.clone() * weights).sum().backward();
        (y, x.grad(&grads).unwrap(), w.grad(&grads).unwrap(), b.grad(&grads).unwrap())
    };
    let (y1, dx1, dw1, db1) = run(true);
    let (y0, dx0, dw0, db0) = run(false);
    let case = format!("batch {batch} channels {channels:?} input {input:?} kernel {kernel:?} stride {stride:?} padding {padding:?} dilation {dilation:?}");
    assert_close_within(tolerance, y1, y0.inner(), &format!("output, {case}"));
    assert_close_within(tolerance, dx1, dx0, &format!("input gradient, {case}"));
    assert_close_within(tolerance, dw1, dw0, &format!("weight gradient, {case}"));
    assert_close_within(tolerance, db1, db0, &format!("bias gradient, {case}"));
}

#[test]
fn conv3d_matches_burn_values_and_gradients() {
    check_3d(2, [3, 5], [5, 7, 6], [3, 3, 3], [1, 1, 1], [1, 1, 1], [1, 1, 1]);
    check_3d(1, [2, 4], [9, 8, 7], [2, 2, 2], [2, 2, 2], [0, 0, 0], [1, 1, 1]);
    check_3d(3, [4, 2], [6, 5, 9], [5, 5, 5], [2, 1, 3], [2, 2, 2], [1, 1, 1]);
    check_3d(4, [7, 3], [3, 4, 5], [1, 1, 1], [1, 1, 1], [0, 0, 0], [1, 1, 1]);
    check_3d(2, [1, 6], [4, 6, 5], [3, 1, 3], [1, 2, 1], [1, 0, 1], [1, 1, 1]);
    check_3d(2, [3, 4], [7, 9, 8], [3, 3, 2], [1, 2, 1], [2, 1, 3], [2, 3, 2]);
}

/// Sizes where the GEMM kernels cut im2col into several tiles (`TILE_VALUES` = 2²⁰ values of
/// patch × output voxels per tile), with stride, padding and dilation variants: the tiles must
/// stitch into Burn's values and gradients. 2-D cases go through the same 3-D kernel at depth 1.
/// Within 5e-5 relative: a weight gradient here sums up to 131,072 products, and two f32
/// summation orders then differ by about ε·√n ≈ 4e-5 (1.05e-5 was seen once at 256²).
#[test]
fn conv_tiles_stitch_at_real_sizes() {
    let check_3d = |b, c, i, k, s, p, d| check_3d_within(5e-5, b, c, i, k, s, p, d);
    // 3×3×3 on 2 → 4 channels: 54 values per output voxel, about 19,400 voxels per tile
    check_3d(1, [2, 4], [30, 30, 30], [3, 3, 3], [1, 1, 1], [1, 1, 1], [1, 1, 1]);
    check_3d(1, [2, 4], [64, 64, 48], [3, 3, 3], [1, 1, 1], [1, 1, 1], [1, 1, 1]);
    check_3d(2, [2, 3], [48, 48, 40], [3, 3, 3], [2, 2, 2], [1, 1, 1], [1, 1, 1]);
    check_3d(1, [3, 2], [40, 44, 36], [3, 3, 3], [1, 2, 1], [2, 2, 2], [2, 1, 2]);
    // 3×3 on 8 → 4 channels at depth 1: 72 values per output pixel, about 14,500 pixels per tile
    check_3d(2, [8, 4], [1, 160, 160], [1, 3, 3], [1, 1, 1], [0, 1, 1], [1, 1, 1]);
    check_3d(1, [8, 4], [1, 256, 256], [1, 3, 3], [1, 2, 2], [0, 1, 1], [1, 1, 1]);
    check_3d(1, [8, 4], [1, 256, 256], [1, 3, 3], [1, 1, 1], [0, 2, 2], [1, 2, 2]);
}

#[test]
fn conv2d_matches_burn_values_and_gradients() {
    let d = device();
    for (batch, [ci, co], [h, w], k, s, p, dil) in [
        (2, [3, 8], [11, 9], 3, 1, 1, 1),
        (5, [16, 16], [16, 16], 3, 1, 1, 1),
        (1, [4, 3], [10, 7], 3, 2, 1, 1),
        (3, [6, 2], [8, 8], 1, 1, 0, 1),
        (2, [2, 5], [9, 12], 7, 1, 3, 1),
        // MGCC's attention gates: 3×3 at dilation 2, padding 2
        (2, [6, 6], [16, 16], 3, 1, 2, 2),
        (3, [5, 4], [11, 13], 3, 2, 1, 3),
    ] {
        let x = Tensor::<4>::random([batch, ci, h, w], Distribution::Normal(0.0, 1.0), &d);
        let wt = Tensor::<4>::random([co, ci, k, k], Distribution::Normal(0.0, 0.3), &d);
        let b = Tensor::<1>::random([co], Distribution::Normal(0.0, 1.0), &d);
        let run = |gemm: bool| {
            let (x, wt, b) = (x.clone().require_grad(), wt.clone().require_grad(), b.clone().require_grad());
            let y = if gemm {
                kernels::conv2d_dilated(x.clone(), wt.clone(), Some(b.clone()), [s, s], [p, p], [dil, dil])
            } else {
                module::conv2d(x.clone(), wt.clone(), Some(b.clone()), ConvOptions::new([s, s], [p, p], [dil, dil], 1))
            };
            let weights = Tensor::<1, burn::tensor::Int>::arange(0..y.shape().num_elements() as i64, &d).float().reshape(y.shape()).sin();
            let grads = (y.clone() * weights).sum().backward();
            (y, x.grad(&grads).unwrap(), wt.grad(&grads).unwrap(), b.grad(&grads).unwrap())
        };
        let (y1, dx1, dw1, db1) = run(true);
        let (y0, dx0, dw0, db0) = run(false);
        let case = format!("batch {batch} channels {ci}->{co} {h}x{w} kernel {k} stride {s} padding {p} dilation {dil}");
        assert_close(y1, y0.inner(), &format!("output, {case}"));
        assert_close(dx1, dx0, &format!("input gradient, {case}"));
        assert_close(dw1, dw0, &format!("weight gradient, {case}"));
        assert_close(db1, db0, &format!("bias gradient, {case}"));
    }
}

#[test]
fn without_bias_and_without_autodiff() {
    let d = burn::tensor::Device::flex();
    let x = Tensor::<4>::random([2, 3, 6, 5], Distribution::Normal(0.0, 1.0), &d);
    let w = Tensor::<4>::random([4, 3, 3, 3], Distribution::Normal(0.0, 1.0), &d);
    let got = kernels::conv2d(x.clone(), w.clone(), None, [1, 1], [1, 1]);
    let want = module::conv2d(x, w, None, ConvOptions::new([1, 1], [1, 1], [1, 1], 1));
    assert_close(got, want, "plain Flex, no bias");
}

/// Fused BN + activation against Burn's BatchNorm followed by the activation, in training mode
/// (values, gradients of x, γ and β, running statistics) and in evaluation mode.
#[test]
fn batch_norm_act_matches_burn() {
    use burn::module::Module;
    use burn::nn::BatchNormConfig;
    use burn::tensor::activation::leaky_relu;
    let d = device();
    for (slope, shape) in [(0.0, [3, 5, 7, 9]), (0.01, [2, 4, 16, 16]), (1.0, [4, 3, 5, 1]), (0.2, [1, 2, 33, 3])] {
        let c = shape[1];
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.5, 2.0), &d);
        let gamma = Tensor::<1>::random([c], Distribution::Normal(1.0, 0.5), &d);
        let beta = Tensor::<1>::random([c], Distribution::Normal(0.0, 0.5), &d);
        let run = |fused: bool| {
            // a fresh layer per run: clones of a BatchNorm share their running statistics
            let mut n = BatchNormConfig::new(c).init(&d);
            n.gamma = n.gamma.map(|_| gamma.clone().require_grad());
            n.beta = n.beta.map(|_| beta.clone().require_grad());
            let xg = x.clone().require_grad();
            let y = if fused { kernels::batch_norm_act(&n, xg.clone(), slope) } else { leaky_relu(n.forward(xg.clone()), slope) };
            let weights = Tensor::<1, burn::tensor::Int>::arange(0..y.shape().num_elements() as i64, &d).float().reshape(y.shape()).cos();
            let grads = (y.clone() * weights).sum().backward();
            (y, xg.grad(&grads).unwrap(), n.gamma.grad(&grads).unwrap(), n.beta.grad(&grads).unwrap(), n)
        };
        let (y1, dx1, dg1, db1, n1) = run(true);
        let (y0, dx0, dg0, db0, n0) = run(false);
        let case = format!("slope {slope} shape {shape:?}");
        assert_close(y1, y0.inner(), &format!("output, {case}"));
        assert_close(dx1, dx0, &format!("input gradient, {case}"));
        assert_close(dg1, dg0, &format!("gamma gradient, {case}"));
        assert_close(db1, db0, &format!("beta gradient, {case}"));
        // running mean as Burn's; running variance with PyTorch's unbiased batch variance
        assert_close(n1.running_mean.value_sync(), n0.running_mean.value_sync(), &format!("running mean, {case}"));
        let count = (shape[0] * shape[2] * shape[3]) as f64;
        let burn_var = n0.running_var.value_sync();
        let want = burn_var.clone().sub_scalar(0.9).div_scalar(0.1).mul_scalar(count / (count - 1.0)).mul_scalar(0.1).add_scalar(0.9);
        assert_close(n1.running_var.value_sync(), want, &format!("running variance, {case}"));
        // evaluation mode on the plain device, with the statistics just learned
        let plain = n1.valid();
        let xv = x.clone().inner();
        assert_close(kernels::batch_norm_act(&plain, xv.clone(), slope), leaky_relu(plain.forward(xv), slope), &format!("eval, {case}"));
    }
}

/// One value per channel in training is refused, as PyTorch refuses it ("Expected more than 1
/// value per channel when training"); evaluation mode takes it.
#[test]
fn batch_norm_in_training_refuses_one_value_per_channel() {
    use burn::module::Module;
    use burn::nn::BatchNormConfig;
    let d = device();
    let n = BatchNormConfig::new(3).init(&d);
    let x = Tensor::<4>::random([1, 3, 1, 1], Distribution::Normal(0.0, 1.0), &d);
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| kernels::batch_norm_act(&n, x.clone(), 0.0)));
    let message = refused.expect_err("training on one value per channel must fail");
    let text = message.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.contains("more than 1 value per channel") && text.contains("[1, 3, 1, 1]"), "{text}");
    let plain = n.valid();
    assert_eq!(kernels::batch_norm_act(&plain, x.inner(), 0.0).dims(), [1, 3, 1, 1]);
    // two values are enough
    let n = BatchNormConfig::new(3).init(&d);
    assert_eq!(kernels::batch_norm_act(&n, Tensor::<4>::random([2, 3, 1, 1], Distribution::Normal(0.0, 1.0), &d), 0.0).dims(), [2, 3, 1, 1]);
}

/// Transposed convolutions against Burn's, odd sizes included.
#[test]
fn conv_transpose_matches_burn() {
    use burn::tensor::ops::ConvTransposeOptions;
    let d = device();
    for (batch, [ci, co], [a, h, w], k, s, p) in [(2, [3, 4], [3, 5, 4], 3, 2, 1), (1, [2, 5], [2, 3, 3], 4, 2, 1), (3, [4, 2], [1, 6, 5], 1, 1, 0)] {
        let x = Tensor::<5>::random([batch, ci, a, h, w], Distribution::Normal(0.0, 1.0), &d);
        let wt = Tensor::<5>::random([ci, co, k, k, k], Distribution::Normal(0.0, 0.3), &d);
        let b = Tensor::<1>::random([co], Distribution::Normal(0.0, 1.0), &d);
        let run = |gemm: bool| {
            let (x, wt, b) = (x.clone().require_grad(), wt.clone().require_grad(), b.clone().require_grad());
            let y = if gemm {
                kernels::conv_transpose3d(x.clone(), wt.clone(), Some(b.clone()), [s; 3], [p; 3])
            } else {
                module::conv_transpose3d(x.clone(), wt.clone(), Some(b.clone()), ConvTransposeOptions::new([s; 3], [p; 3], [0; 3], [1; 3], 1))
            };
            let weights = Tensor::<1, burn::tensor::Int>::arange(0..y.shape().num_elements() as i64, &d).float().reshape(y.shape()).sin();
            let grads = (y.clone() * weights).sum().backward();
            (y, x.grad(&grads).unwrap(), wt.grad(&grads).unwrap(), b.grad(&grads).unwrap())
        };
        let (y1, dx1, dw1, db1) = run(true);
        let (y0, dx0, dw0, db0) = run(false);
        let case = format!("transposed, batch {batch} channels {ci}->{co} {a}x{h}x{w} kernel {k} stride {s} padding {p}");
        assert_close(y1, y0.inner(), &format!("output, {case}"));
        assert_close(dx1, dx0, &format!("input gradient, {case}"));
        assert_close(dw1, dw0, &format!("weight gradient, {case}"));
        assert_close(db1, db0, &format!("bias gradient, {case}"));
    }
}

/// 2×2 max-pooling against Burn's, odd sizes included (continuous values: no ties).
#[test]
fn max_pool_matches_burn() {
    use burn::tensor::ops::MaxPoolOptions;
    let d = device();
    for shape in [[2, 3, 8, 6], [1, 2, 7, 9], [3, 1, 2, 2], [1, 1, 1, 5]] {
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &d);
        let weights = Tensor::<4>::random([shape[0], shape[1], shape[2] / 2, shape[3] / 2], Distribution::Normal(0.0, 1.0), &d);
        let run = |own: bool| {
            let x = x.clone().require_grad();
            let y = if own { kernels::max_pool2x2(x.clone()) } else { module::max_pool2d(x.clone(), MaxPoolOptions::new([2, 2])) };
            let grads = (y.clone() * weights.clone()).sum().backward();
            (y, x.grad(&grads).unwrap())
        };
        let ((y1, dx1), (y0, dx0)) = (run(true), run(false));
        assert_close(y1, y0.inner(), &format!("max-pool output {shape:?}"));
        assert_close(dx1, dx0, &format!("max-pool input gradient {shape:?}"));
    }
}

/// Fused group norm (+ Swish) against Burn's GroupNorm and SiLU, values and gradients.
#[test]
fn group_norm_act_matches_burn() {
    use burn::nn::GroupNormConfig;
    use burn::tensor::activation::silu;
    let d = device();
    for (shape, groups, swish) in [([2, 8, 5, 7], 4, true), ([1, 6, 3, 3], 6, false), ([3, 4, 1, 9], 1, true)] {
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.3, 1.5), &d);
        let gamma = Tensor::<1>::random([shape[1]], Distribution::Normal(1.0, 0.5), &d);
        let beta = Tensor::<1>::random([shape[1]], Distribution::Normal(0.0, 0.5), &d);
        let weights = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &d);
        let run = |own: bool| {
            let mut n = GroupNormConfig::new(groups, shape[1]).init(&d);
            n.gamma = n.gamma.map(|g| g.map(|_| gamma.clone().require_grad()));
            n.beta = n.beta.map(|b| b.map(|_| beta.clone().require_grad()));
            let x = x.clone().require_grad();
            let y = if own {
                kernels::group_norm_act(&n, x.clone(), swish)
            } else if swish {
                silu(n.forward(x.clone()))
            } else {
                n.forward(x.clone())
            };
            let grads = (y.clone() * weights.clone()).sum().backward();
            let (g, b) = (n.gamma.as_ref().unwrap().grad(&grads).unwrap(), n.beta.as_ref().unwrap().grad(&grads).unwrap());
            (y, x.grad(&grads).unwrap(), g, b)
        };
        let ((y1, dx1, dg1, db1), (y0, dx0, dg0, db0)) = (run(true), run(false));
        let case = format!("group norm {shape:?} groups {groups} swish {swish}");
        assert_close(y1, y0.inner(), &format!("output, {case}"));
        assert_close(dx1, dx0, &format!("input gradient, {case}"));
        assert_close(dg1, dg0, &format!("gamma gradient, {case}"));
        assert_close(db1, db0, &format!("beta gradient, {case}"));
    }
}

#[test]
fn a_folded_conv_bn_act_equals_the_two_operations_in_evaluation() {
    use burn::module::Module;
    use burn::nn::conv::{Conv2dConfig, Conv3dConfig};
    use burn::nn::{BatchNormConfig, PaddingConfig2d, PaddingConfig3d};
    let d = burn::tensor::Device::flex();
    // a trained-looking norm: running statistics and affine parameters away from 0 / 1
    let norm = |c: usize| {
        let mut bn = BatchNormConfig::new(c).init(&d);
        bn.gamma = bn.gamma.map(|g| g.random_like(Distribution::Uniform(0.5, 1.5)));
        bn.beta = bn.beta.map(|b| b.random_like(Distribution::Uniform(-0.3, 0.3)));
        bn.running_mean = burn::module::RunningState::new(Tensor::<1>::random([c], Distribution::Uniform(-0.2, 0.2), &d));
        bn.running_var = burn::module::RunningState::new(Tensor::<1>::random([c], Distribution::Uniform(0.5, 1.5), &d));
        bn.valid()
    };
    for slope in [0.0, 0.01, 1.0] {
        // 2-D: padded, strided and dilated, and a 1×1 (the pointwise GEMM path)
        for (conv, size) in [
            (Conv2dConfig::new([3, 5], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)), 17),
            (Conv2dConfig::new([4, 6], [3, 3]).with_stride([2, 2]).with_dilation([2, 2]).with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2)), 19),
            (Conv2dConfig::new([4, 3], [1, 1]).with_bias(false), 9),
        ] {
            let conv = conv.init(&d);
            let bn = norm(conv.weight.dims()[0]);
            let x = Tensor::<4>::random([2, conv.weight.dims()[1], size, size + 3], Distribution::Normal(0.0, 1.0), &d);
            let two = kernels::batch_norm_act(&bn, kernels::conv2d_module(&conv, x.clone()), slope);
            assert_close(kernels::conv2d_bn_act(&conv, &bn, x, slope), two, &format!("2-D, slope {slope}, {:?}", conv.weight.dims()));
        }
        let conv = Conv3dConfig::new([2, 4], [3, 3, 3]).with_padding(PaddingConfig3d::Explicit(1, 1, 1)).init(&d);
        let bn = norm(4);
        let x = Tensor::<5>::random([2, 2, 9, 8, 7], Distribution::Normal(0.0, 1.0), &d);
        let two = kernels::batch_norm_act(&bn, kernels::conv3d_module(&conv, x.clone()), slope);
        assert_close(kernels::conv3d_bn_act(&conv, &bn, x, slope), two, &format!("3-D, slope {slope}"));
    }
}
