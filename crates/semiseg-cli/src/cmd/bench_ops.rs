//! Per-op timings for `semiseg bench --model ops`: each op the networks spend their time in, at
//! a shape one of them uses, timed alone as `bench/ops_torch.py` times PyTorch's counterpart.
//! `infer` is the op on plain tensors (batch norm in evaluation mode); `train` is the op and the
//! backward pass of `sum(y ⊙ cos(i))` (batch norm in training mode). 2 warm-ups, then the
//! median of the timed repetitions; the thread count is rayon's.

use anyhow::Result;
use semiseg_nn::burn::nn::conv::{Conv2d, Conv2dConfig, Conv3d, Conv3dConfig, ConvTranspose3d, ConvTranspose3dConfig};
use semiseg_nn::burn::nn::{BatchNorm, BatchNormConfig, GroupNorm, GroupNormConfig, PaddingConfig2d, PaddingConfig3d};
use semiseg_nn::burn::prelude::*;
use semiseg_nn::burn::tensor::activation::gelu;
use semiseg_nn::burn::tensor::{Distribution, Int};
use semiseg_nn::blocks::{max_pool3d_2x, upsample_trilinear2x};
use semiseg_nn::kernels::{batch_norm_act, conv2d_module, conv3d_module, conv_transpose3d_module, group_norm_act, max_pool2x2, resize_bilinear_aligned};
use serde_json::json;
use std::time::Instant;

/// Median milliseconds of `f` over `iters` runs after `warmup`, the device synced after each.
fn median_ms(f: &dyn Fn(), device: &Device, warmup: usize, iters: usize) -> Result<f64> {
    let mut times = Vec::new();
    for i in 0..warmup + iters.max(1) {
        let t = Instant::now();
        f();
        device.sync()?;
        if i >= warmup {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(semiseg_metrics::percentile::median(&times))
}

/// Times `apply(params, x)` on a random `shape` input: inference, then forward + backward.
fn time_op<const D: usize, P: Clone>(name: &str, shape: [usize; D], build: impl Fn(&Device) -> P, apply: impl Fn(&P, Tensor<D>) -> Tensor<D>, warmup: usize, iters: usize, json: bool) -> Result<()> {
    let mut ms = [0.0; 2];
    for (slot, train) in [false, true].into_iter().enumerate() {
        let device = if train { Device::flex().autodiff() } else { Device::flex() };
        device.seed(0);
        let params = build(&device);
        let x = Tensor::<D>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        let out_shape = apply(&params, x.clone()).shape();
        let weights = Tensor::<1, Int>::arange(0..out_shape.num_elements() as i64, &device).float().cos().reshape(out_shape);
        let run = || {
            if train {
                let y = apply(&params, x.clone().require_grad());
                let _ = (y * weights.clone()).sum().backward();
            } else {
                let _ = apply(&params, x.clone());
            }
        };
        ms[slot] = median_ms(&run, &device, warmup, iters)?;
    }
    let dims = shape.iter().map(|s| s.to_string()).collect::<Vec<_>>().join("x");
    if json {
        println!("{}", json!({"op": name, "shape": dims, "infer_ms": ms[0], "train_ms": ms[1], "threads": rayon::current_num_threads()}));
    } else {
        println!("{name:<32} {dims:<16} infer {:>9.2} ms   train {:>9.2} ms", ms[0], ms[1]);
    }
    Ok(())
}

fn conv2d(cin: usize, cout: usize, k: usize, dilation: usize, groups: usize, device: &Device) -> Conv2d {
    let pad = dilation * (k / 2);
    Conv2dConfig::new([cin, cout], [k, k]).with_dilation([dilation, dilation]).with_groups(groups).with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad)).init(device)
}

/// Runs every op (names and shapes as in `bench/ops_torch.py`).
pub fn bench_ops(warmup: usize, iters: usize, json: bool) -> Result<()> {
    // the UNet's 3×3 convolution, MGCC's attention-gate dilated one and ConvMixer's depthwise one
    time_op("conv2d 3x3", [8, 32, 128, 128], |d| conv2d(32, 32, 3, 1, 1, d), |c: &Conv2d, x| conv2d_module(c, x), warmup, iters, json)?;
    time_op("conv2d 3x3 dilation 2", [8, 64, 64, 64], |d| conv2d(64, 64, 3, 2, 1, d), |c: &Conv2d, x| conv2d_module(c, x), warmup, iters, json)?;
    time_op("conv2d 7x7 depthwise", [8, 256, 16, 16], |d| conv2d(256, 256, 7, 1, 256, d), |c: &Conv2d, x| conv2d_module(c, x), warmup, iters, json)?;
    // V-Net's second stage and its up-sampling
    let conv3 = |d: &Device| Conv3dConfig::new([16, 16], [3, 3, 3]).with_padding(PaddingConfig3d::Explicit(1, 1, 1)).init(d);
    time_op("conv3d 3x3x3", [2, 16, 56, 56, 40], conv3, |c: &Conv3d, x| conv3d_module(c, x), warmup, iters, json)?;
    let up3 = |d: &Device| ConvTranspose3dConfig::new([32, 16], [2, 2, 2]).with_stride([2, 2, 2]).init(d);
    time_op("conv_transpose3d 2x2x2 stride 2", [2, 32, 28, 28, 20], up3, |c: &ConvTranspose3d, x| conv_transpose3d_module(c, x), warmup, iters, json)?;
    time_op("batch norm + ReLU", [8, 32, 128, 128], |d| BatchNormConfig::new(32).init(d), |n: &BatchNorm, x| batch_norm_act(n, x, 0.0), warmup, iters, json)?;
    time_op("group norm (8) + Swish", [8, 64, 64, 64], |d| GroupNormConfig::new(8, 64).init(d), |n: &GroupNorm, x| group_norm_act(n, x, true), warmup, iters, json)?;
    time_op("max pool 2x2", [8, 32, 128, 128], |_| (), |_: &(), x| max_pool2x2(x), warmup, iters, json)?;
    time_op("bilinear x2 (align corners)", [8, 32, 64, 64], |_| (), |_: &(), x| resize_bilinear_aligned(x, [128, 128]), warmup, iters, json)?;
    time_op("GELU", [8, 256, 32, 32], |_| (), |_: &(), x| gelu(x), warmup, iters, json)?;
    time_op("max pool 2x2x2", [2, 16, 56, 56, 40], |_| (), |_: &(), x| max_pool3d_2x(x), warmup, iters, json)?;
    time_op("trilinear x2 (align corners)", [2, 32, 28, 28, 20], |_| (), |_: &(), x| upsample_trilinear2x(x), warmup, iters, json)?;
    Ok(())
}
