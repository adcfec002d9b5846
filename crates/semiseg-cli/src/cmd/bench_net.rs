//! Network timings for `semiseg bench`, measured the way `../shared/reference/torch_bench.py`
//! measures PyTorch: same network, batch, size, loss and optimizer; the clock runs from before
//! the forward pass until the optimizer step has finished; 2 warm-up iterations, then the median
//! (and min) of the timed ones; the thread count is rayon's (`RAYON_NUM_THREADS`).

use anyhow::{bail, Result};
use semiseg_nn::burn::optim::{momentum::MomentumConfig, decay::WeightDecayConfig, GradientsParams, SgdConfig};
use semiseg_nn::burn::prelude::*;
use semiseg_nn::burn::tensor::activation::{log_softmax, softmax};
use semiseg_nn::burn::tensor::{Distribution, TensorData};
use semiseg_nn::nets::UNetConfig;
use semiseg_nn::params::trainable_params;
use serde_json::json;
use std::time::Instant;

fn parse_size(s: &str) -> Result<[usize; 2]> {
    let v: Vec<usize> = s.split('x').map(|p| p.trim().parse()).collect::<Result<_, _>>()?;
    match v.as_slice() {
        [a] => Ok([*a, *a]),
        [a, b] => Ok([*a, *b]),
        _ => bail!("--size '{s}': expected 256 or 256x256"),
    }
}

/// torch_bench.py's unet2d loss: 0.5·(CE + (1 − soft Dice of the foreground softmax)).
fn bench_loss(logits: Tensor<4>, y_onehot: Tensor<4>, y_fg: Tensor<3>) -> Tensor<1> {
    let [n, _, h, w] = logits.dims();
    let ce = -(log_softmax(logits.clone(), 1) * y_onehot).sum().div_scalar((n * h * w) as f64);
    let p = softmax(logits, 1).narrow(1, 1, 1).reshape([n, h, w]);
    let inter = (p.clone() * y_fg.clone()).sum();
    let dice = (inter * 2.0 + 1e-5) / (p.sum() + y_fg.sum() + 1e-5);
    (ce + dice.neg() + 1.0) * 0.5
}

/// Times the SSL4MIS UNet (1 → 2 classes).
pub fn bench_unet2d(mode: &str, batch: usize, size: &str, warmup: usize, iters: usize, as_json: bool) -> Result<()> {
    let [h, w] = parse_size(size)?;
    if h % 16 != 0 || w % 16 != 0 || batch == 0 {
        bail!("--size must be divisible by 16 and --batch positive");
    }
    let train = mode == "train";
    let device = if train { Device::flex().autodiff() } else { Device::flex() };
    device.seed(0);
    let mut net = UNetConfig::new().init(&device);
    let params = trainable_params(&net);
    let x = Tensor::<4>::random([batch, 1, h, w], Distribution::Normal(0.0, 1.0), &device);
    let labels: Vec<f32> = (0..batch * h * w).map(|i| ((i * 7919) % 3 == 0) as u8 as f32).collect();
    let y_fg = Tensor::<3>::from_data(TensorData::new(labels.clone(), [batch, h, w]), &device);
    let y_onehot = Tensor::cat(vec![y_fg.clone().neg().add_scalar(1.0).unsqueeze_dim(1), y_fg.clone().unsqueeze_dim(1)], 1);
    let mut optim = SgdConfig::new()
        .with_momentum(Some(MomentumConfig::new().with_momentum(0.9).with_dampening(0.0)))
        .with_weight_decay(Some(WeightDecayConfig::new(1e-4)))
        .init();
    let eval_net = net.valid();
    let mut times = Vec::new();
    for i in 0..warmup + iters.max(1) {
        let t = Instant::now();
        if train {
            let loss = bench_loss(net.forward(x.clone()), y_onehot.clone(), y_fg.clone());
            let _ = loss.clone().into_scalar::<f32>();
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(0.01, net, grads);
        } else {
            let _ = eval_net.forward(x.clone()).into_data();
        }
        device.sync()?;
        if i >= warmup {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let threads = rayon::current_num_threads();
    if as_json {
        println!("{}", json!({"model": "unet2d", "mode": mode, "batch": batch, "size": [h, w], "params": params, "threads": threads, "median_ms": median, "min_ms": sorted[0], "times_ms": times, "backend": "burn 0.22.1 flex", "optimizer": "SGD 0.01/0.9/1e-4"}));
    } else {
        println!("unet2d {mode}: batch {batch}, {h}x{w}, {params} parameters, {threads} threads: median {median:.1} ms, min {:.1} ms", sorted[0]);
    }
    Ok(())
}
