//! Network timings for `semiseg bench`, measured the way `../shared/reference/torch_bench.py`
//! measures PyTorch: same network, batch, size, loss and optimizer; the clock runs from before
//! the forward pass until the optimizer step has finished; 2 warm-up iterations, then the median
//! (and min) of the timed ones; the thread count is rayon's (`RAYON_NUM_THREADS`).
//! `--mode infer` builds the network on a device without autodiff, so BatchNorm and dropout run
//! in evaluation mode, as PyTorch's `model.eval()` under `no_grad`.

use anyhow::{bail, Result};
use semiseg_nn::burn::optim::{momentum::MomentumConfig, decay::WeightDecayConfig, GradientsParams, SgdConfig};
use semiseg_nn::burn::prelude::*;
use semiseg_nn::burn::tensor::activation::{log_softmax, softmax};
use semiseg_nn::burn::tensor::{Distribution, TensorData};
use semiseg_nn::nets::{Mgcc, MgccConfig, ProjUNet, ProjUNetConfig, UNet, UNetConfig, PROJ_STRIDE};
use semiseg_train::losses::binary::structure_loss;
use semiseg_train::losses::contrast::patch_nce;
use semiseg_train::methods::{clcc_consistency, mgcc_loss};
use semiseg_train::patch_grid::to_patches;
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

/// A timed network: one training step (forward, loss, backward, SGD step) or one inference.
trait Workload {
    fn train_step(&mut self);
    fn infer(&self);
}

/// The SGD of torch_bench.py: 0.01, momentum 0.9 (no dampening), weight decay 1e-4.
fn bench_sgd() -> semiseg_nn::burn::optim::ModuleOptimizer {
    SgdConfig::new()
        .with_momentum(Some(MomentumConfig::new().with_momentum(0.9).with_dampening(0.0)))
        .with_weight_decay(Some(WeightDecayConfig::new(1e-4)))
        .init()
}

/// Binary labels (one pixel in three) as `[N, H, W]`.
fn bench_labels(n: usize, h: usize, w: usize, device: &Device) -> Tensor<3> {
    let labels: Vec<f32> = (0..n * h * w).map(|i| ((i * 7919) % 3 == 0) as u8 as f32).collect();
    Tensor::<3>::from_data(TensorData::new(labels, [n, h, w]), device)
}

struct UNetWorkload {
    net: UNet,
    optim: semiseg_nn::burn::optim::ModuleOptimizer,
    x: Tensor<4>,
    y_onehot: Tensor<4>,
    y_fg: Tensor<3>,
}

impl Workload for UNetWorkload {
    fn train_step(&mut self) {
        let loss = bench_loss(self.net.forward(self.x.clone()), self.y_onehot.clone(), self.y_fg.clone());
        let _ = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &self.net);
        self.net = self.optim.step(0.01, self.net.clone(), grads);
    }
    fn infer(&self) {
        let _ = self.net.forward(self.x.clone()).into_data();
    }
}

/// CLCC as torch_bench.py's `loss_clcc`: every image whole and as its 5×5 grid of patches, the
/// supervised loss on the first half, PatchNCE on all, consistency on all.
struct ClccWorkload {
    net: ProjUNet,
    optim: semiseg_nn::burn::optim::ModuleOptimizer,
    x: Tensor<4>,
    y_fg: Tensor<4>,
    grid: usize,
}

impl Workload for ClccWorkload {
    fn train_step(&mut self) {
        let labeled = (self.x.dims()[0] / 2).max(1);
        let (full, q) = self.net.forward_with_projection(self.x.clone());
        let (patches, k) = self.net.forward_with_projection(to_patches(self.x.clone(), self.grid));
        let sup = structure_loss(full.clone().narrow(0, 0, labeled), self.y_fg.clone().narrow(0, 0, labeled), false);
        let loss = sup + patch_nce(q, k.detach(), 0.07) + clcc_consistency(full, patches, self.grid);
        let _ = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &self.net);
        self.net = self.optim.step(0.01, self.net.clone(), grads);
    }
    fn infer(&self) {
        let _ = self.net.forward(self.x.clone()).into_data();
    }
}

/// MGCC as torch_bench.py's `loss_mgcc`: the four decoders' BCE + Dice on the first half, the
/// sigmoid MSE between the main and each auxiliary decoder on the second half.
struct MgccWorkload {
    net: Mgcc,
    optim: semiseg_nn::burn::optim::ModuleOptimizer,
    x: Tensor<4>,
    y_fg: Tensor<4>,
}

impl Workload for MgccWorkload {
    fn train_step(&mut self) {
        let labeled = (self.x.dims()[0] / 2).max(1);
        let out = self.net.forward_all(self.x.clone());
        let (sup, cons) = mgcc_loss(&out, self.y_fg.clone().narrow(0, 0, labeled), labeled);
        let loss = match cons {
            Some(c) => sup + c,
            None => sup,
        };
        let _ = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &self.net);
        self.net = self.optim.step(0.01, self.net.clone(), grads);
    }
    fn infer(&self) {
        let _ = self.net.forward(self.x.clone()).into_data();
    }
}

/// Times `model` (`unet2d`: SSL4MIS UNet 1 → 2 classes; `clcc`: ProjUNet, RGB; `mgcc`: MGCC at
/// `dim_mult` 4, RGB).
pub fn bench_network(model: &str, mode: &str, batch: usize, size: &str, warmup: usize, iters: usize, as_json: bool) -> Result<()> {
    let [h, w] = parse_size(size)?;
    let clcc = model == "clcc";
    if batch == 0 || (clcc && (h != w || h % PROJ_STRIDE != 0)) || h % 16 != 0 || w % 16 != 0 {
        bail!("--batch must be positive and --size divisible by 16 (clcc: square, a multiple of 64; torch_bench.py uses 320)");
    }
    let train = mode == "train";
    let device = if train { Device::flex().autodiff() } else { Device::flex() };
    device.seed(0);
    let y_fg = bench_labels(batch, h, w, &device);
    let (mut work, params): (Box<dyn Workload>, usize) = if model == "mgcc" {
        let net = MgccConfig::new().init(&device);
        let params = trainable_params(&net);
        let x = Tensor::<4>::random([batch, 3, h, w], Distribution::Normal(0.0, 1.0), &device);
        (Box::new(MgccWorkload { net, optim: bench_sgd(), x, y_fg: y_fg.unsqueeze_dim(1) }), params)
    } else if clcc {
        let net = ProjUNetConfig::new().init(&device);
        let params = trainable_params(&net);
        let x = Tensor::<4>::random([batch, 3, h, w], Distribution::Normal(0.0, 1.0), &device);
        (Box::new(ClccWorkload { net, optim: bench_sgd(), x, y_fg: y_fg.unsqueeze_dim(1), grid: h / PROJ_STRIDE }), params)
    } else {
        let net = UNetConfig::new().init(&device);
        let params = trainable_params(&net);
        let x = Tensor::<4>::random([batch, 1, h, w], Distribution::Normal(0.0, 1.0), &device);
        let y_onehot = Tensor::cat(vec![y_fg.clone().neg().add_scalar(1.0).unsqueeze_dim(1), y_fg.clone().unsqueeze_dim(1)], 1);
        (Box::new(UNetWorkload { net, optim: bench_sgd(), x, y_onehot, y_fg }), params)
    };
    let mut times = Vec::new();
    for i in 0..warmup + iters.max(1) {
        let t = Instant::now();
        if train {
            work.train_step();
        } else {
            work.infer();
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
        println!("{}", json!({"model": model, "mode": mode, "batch": batch, "size": [h, w], "params": params, "threads": threads, "median_ms": median, "min_ms": sorted[0], "times_ms": times, "backend": "burn 0.22.1 flex", "optimizer": "SGD 0.01/0.9/1e-4"}));
    } else {
        println!("{model} {mode}: batch {batch}, {h}x{w}, {params} parameters, {threads} threads: median {median:.1} ms, min {:.1} ms", sorted[0]);
    }
    Ok(())
}
