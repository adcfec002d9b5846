//! Network timings for `semiseg bench`, measured the way `../shared/reference/torch_bench.py`
//! measures PyTorch: same network, batch, size, loss and optimizer; the clock runs from before
//! the forward pass until the optimizer step has finished; 2 warm-up iterations, then the median
//! (and min) of the timed ones; the thread count is rayon's (`RAYON_NUM_THREADS`).
//! `--mode infer` builds the network on a device without autodiff, so BatchNorm and dropout run
//! in evaluation mode, as PyTorch's `model.eval()` under `no_grad`.

use anyhow::{bail, Result};
use semiseg_nn::burn::module::Module;
use semiseg_nn::burn::optim::{decay::WeightDecayConfig, momentum::MomentumConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use semiseg_nn::burn::prelude::*;
use semiseg_nn::burn::tensor::activation::{log_softmax, softmax};
use semiseg_nn::burn::tensor::{Distribution, TensorData};
use semiseg_nn::nets::{Mgcc, MgccConfig, ProjUNet, ProjUNetConfig, UNet, UNetConfig, PROJ_STRIDE};
use semiseg_train::losses::binary::structure_loss;
use semiseg_train::losses::contrast::patch_nce;
use semiseg_train::methods::{clcc_consistency, mgcc_loss};
use semiseg_train::patch_grid::to_patches;
use semiseg_nn::params::trainable_params;
use crate::machine_load::{peak_rss_mib, LoadMeter};
use semiseg_nn::kernels;
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

/// torch_bench.py's `ce_dice`: CE + (1 − soft Dice of the foreground softmax, ε 1e-5) over the
/// batch, from logits `[N, 2, …]`, one-hot labels and the foreground mask `[N, …]`.
pub(super) fn bench_ce_dice<const D: usize, const E: usize>(logits: Tensor<D>, y_onehot: Tensor<D>, y_fg: Tensor<E>) -> Tensor<1> {
    let pixels = y_fg.shape().num_elements();
    let ce = -(log_softmax(logits.clone(), 1) * y_onehot).sum().div_scalar(pixels as f64);
    let p = softmax(logits, 1).narrow(1, 1, 1).reshape(y_fg.shape());
    let inter = (p.clone() * y_fg.clone()).sum();
    let dice = (inter * 2.0 + 1e-5) / (p.sum() + y_fg.sum() + 1e-5);
    ce + dice.neg() + 1.0
}

/// What to time: a network, in a mode, at a batch and size, on a device.
pub struct NetBench {
    /// `unet2d`, `clcc`, `mgcc`, `vnet`, `caml` or `fbanet`.
    pub model: String,
    /// `train` or `infer`.
    pub mode: String,
    /// Total batch.
    pub batch: usize,
    /// `256`, `256x256` or `112x112x80`.
    pub size: String,
    /// Untimed iterations first.
    pub warmup: usize,
    /// Timed iterations.
    pub iters: usize,
    /// One JSON line instead of text.
    pub json: bool,
    /// Time each kernel too ([`semiseg_nn::kernels::profile`]).
    pub profile: bool,
    /// The device (plain; training wraps it in autodiff).
    pub device: Device,
    /// The device's name as given (`cpu`, `wgpu`, ...).
    pub device_name: String,
}

impl NetBench {
    /// The device the network is built on: with autodiff to train, plain to infer (so
    /// BatchNorm and dropout run in evaluation mode).
    pub fn work_device(&self) -> Device {
        let device = if self.mode == "train" { self.device.clone().autodiff() } else { self.device.clone() };
        device.seed(0);
        device
    }
}

/// A timed network: one training step (forward, loss, backward, SGD step) or one inference.
pub(super) trait Workload {
    fn train_step(&mut self);
    fn infer(&self);
}

/// A network on a fixed input, with the loss torch_bench.py trains it on and its inference path.
pub(super) struct Timed<M, const D: usize> {
    pub net: M,
    pub optim: ModuleOptimizer,
    pub x: Tensor<D>,
    pub loss: Box<dyn Fn(&M, &Tensor<D>) -> Tensor<1>>,
    pub infer: fn(&M, Tensor<D>) -> Tensor<D>,
}

impl<M: Module + Clone, const D: usize> Workload for Timed<M, D> {
    fn train_step(&mut self) {
        let loss = (self.loss)(&self.net, &self.x);
        let _ = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &self.net);
        self.net = self.optim.step(0.01, self.net.clone(), grads);
    }
    fn infer(&self) {
        let _ = (self.infer)(&self.net, self.x.clone()).into_data();
    }
}

/// The SGD of torch_bench.py: 0.01, momentum 0.9 (no dampening), weight decay 1e-4.
pub(super) fn bench_sgd() -> ModuleOptimizer {
    SgdConfig::new()
        .with_momentum(Some(MomentumConfig::new().with_momentum(0.9).with_dampening(0.0)))
        .with_weight_decay(Some(WeightDecayConfig::new(1e-4)))
        .init()
}

/// Binary labels (one pixel in three) of shape `dims` (`[N, …]`).
pub(super) fn bench_labels<const E: usize>(dims: [usize; E], device: &Device) -> Tensor<E> {
    let n: usize = dims.iter().product();
    let labels: Vec<f32> = (0..n).map(|i| ((i * 7919) % 3 == 0) as u8 as f32).collect();
    Tensor::<E>::from_data(TensorData::new(labels, dims), device)
}

/// `[1 − y, y]` along a new class axis 1.
pub(super) fn two_class_one_hot<const E: usize, const D: usize>(y_fg: &Tensor<E>) -> Tensor<D> {
    Tensor::cat(vec![y_fg.clone().neg().add_scalar(1.0).unsqueeze_dim(1), y_fg.clone().unsqueeze_dim(1)], 1)
}

/// The labeled part of a torch_bench.py batch: the first half (at least one sample).
pub(super) fn labeled_part(batch: usize) -> usize {
    (batch / 2).max(1)
}

/// Runs `work` (warm-up, then timed iterations) and prints the median and minimum.
pub(super) fn time_and_report(work: &mut dyn Workload, bench: &NetBench, size: &[usize], params: usize) -> Result<()> {
    let NetBench { ref model, ref mode, batch, warmup, iters, json: as_json, profile, ref device, ref device_name, .. } = *bench;
    let train = mode == "train";
    let mut times = Vec::new();
    let mut meter = None;
    for i in 0..warmup + iters.max(1) {
        if i == warmup {
            meter = Some(LoadMeter::start());
            kernels::profile::set_enabled(profile);
        }
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
    let load = meter.and_then(|m| m.stop());
    kernels::profile::set_enabled(false);
    let ops = profile.then(|| op_shares(&times));
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = semiseg_metrics::percentile::median(&sorted);
    let threads = rayon::current_num_threads();
    let dims = size.iter().map(|s| s.to_string()).collect::<Vec<_>>().join("x");
    if as_json {
        println!("{}", json!({"model": model, "mode": mode, "batch": batch, "size": size, "params": params, "threads": threads, "median_ms": median, "min_ms": sorted[0], "times_ms": times, "backend": "burn 0.22.1", "device": device_name, "precision": semiseg_nn::precision::current().to_string(), "optimizer": "SGD 0.01/0.9/1e-4",
            "own_cores": load.map(|l| l.own_cores), "foreign_cores": load.map(|l| l.foreign_cores), "peak_rss_mib": peak_rss_mib(), "profile": ops}));
    } else {
        let company = load.map(|l| format!(", other processes {:.2} cores", l.foreign_cores)).unwrap_or_default();
        let memory = peak_rss_mib().map(|m| format!(", peak RSS {m:.0} MiB")).unwrap_or_default();
        println!("{model} {mode}: batch {batch}, {dims}, {params} parameters, {device_name}, {threads} threads: median {median:.1} ms, min {:.1} ms{company}{memory}", sorted[0]);
        for op in ops.iter().flatten() {
            println!("  {:>6.1} %  {:>9.1} ms/iteration  {:>5.1} calls  {}", op["share"].as_f64().unwrap_or(0.0) * 100.0, op["ms_per_iteration"].as_f64().unwrap_or(0.0), op["calls_per_iteration"].as_f64().unwrap_or(0.0), op["op"].as_str().unwrap_or(""));
        }
    }
    Ok(())
}

/// Each profiled op's time per iteration and share of the mean timed iteration, largest first,
/// then what no kernel covers ("other": Burn's own ops).
fn op_shares(times: &[f64]) -> Vec<serde_json::Value> {
    let per_iteration = times.iter().sum::<f64>() / times.len().max(1) as f64;
    let n = times.len().max(1) as f64;
    let mut rows: Vec<serde_json::Value> = kernels::profile::totals()
        .into_iter()
        .map(|(op, total, calls)| {
            let ms = total.as_secs_f64() * 1000.0 / n;
            json!({"op": op, "ms_per_iteration": ms, "share": ms / per_iteration, "calls_per_iteration": calls as f64 / n})
        })
        .collect();
    let covered: f64 = rows.iter().map(|r| r["ms_per_iteration"].as_f64().unwrap_or(0.0)).sum();
    let other = (per_iteration - covered).max(0.0);
    rows.push(json!({"op": "other: Burn's ops (element-wise, cat, dropout, losses, optimizer)", "ms_per_iteration": other, "share": other / per_iteration, "calls_per_iteration": 0.0}));
    rows
}

/// Times `model` (`unet2d`: SSL4MIS UNet 1 → 2 classes; `clcc`: ProjUNet, RGB; `mgcc`: MGCC at
/// `dim_mult` 4, RGB).
pub fn bench_network(bench: &NetBench) -> Result<()> {
    let (model, batch) = (bench.model.as_str(), bench.batch);
    let [h, w] = parse_size(&bench.size)?;
    let clcc = model == "clcc";
    if batch == 0 || (clcc && (h != w || h % PROJ_STRIDE != 0)) || h % 16 != 0 || w % 16 != 0 {
        bail!("--batch must be positive and --size divisible by 16 (clcc: square, a multiple of 64; torch_bench.py uses 320)");
    }
    let device = bench.work_device();
    let y_fg = bench_labels([batch, h, w], &device);
    let channels = if model == "unet2d" { 1 } else { 3 };
    let x = Tensor::<4>::random([batch, channels, h, w], Distribution::Normal(0.0, 1.0), &device);
    let labeled = labeled_part(batch);
    let (params, mut work): (usize, Box<dyn Workload>) = if model == "mgcc" {
        // torch_bench.py's `loss_mgcc`: the four decoders' BCE + Dice on the labeled half, the
        // sigmoid MSE between the main and each auxiliary decoder on the rest.
        let net = MgccConfig::new().init(&device);
        let y = y_fg.unsqueeze_dim::<4>(1).narrow(0, 0, labeled);
        let loss = move |net: &Mgcc, x: &Tensor<4>| {
            let (sup, cons) = mgcc_loss(&net.forward_all(x.clone()), y.clone(), labeled);
            match cons {
                Some(c) => sup + c,
                None => sup,
            }
        };
        (trainable_params(&net), Box::new(Timed { net, optim: bench_sgd(), x, loss: Box::new(loss), infer: Mgcc::forward }))
    } else if clcc {
        // torch_bench.py's `loss_clcc`: every image whole and as its grid of 64² patches, the
        // structure loss on the labeled half, PatchNCE and consistency on all.
        let net = ProjUNetConfig::new().init(&device);
        let (y, grid) = (y_fg.unsqueeze_dim::<4>(1).narrow(0, 0, labeled), h / PROJ_STRIDE);
        let loss = move |net: &ProjUNet, x: &Tensor<4>| {
            let (full, q) = net.forward_with_projection(x.clone());
            let (patches, k) = net.forward_with_projection(to_patches(x.clone(), grid));
            structure_loss(full.clone().narrow(0, 0, labeled), y.clone(), false) + patch_nce(q, k.detach(), 0.07) + clcc_consistency(full, patches, grid)
        };
        (trainable_params(&net), Box::new(Timed { net, optim: bench_sgd(), x, loss: Box::new(loss), infer: ProjUNet::forward }))
    } else {
        let net = UNetConfig::new().init(&device);
        // torch_bench.py's `loss_unet2d`: 0.5 · ce_dice
        let y_onehot: Tensor<4> = two_class_one_hot(&y_fg);
        let loss = move |net: &UNet, x: &Tensor<4>| bench_ce_dice(net.forward(x.clone()), y_onehot.clone(), y_fg.clone()) * 0.5;
        (trainable_params(&net), Box::new(Timed { net, optim: bench_sgd(), x, loss: Box::new(loss), infer: UNet::forward }))
    };
    time_and_report(work.as_mut(), bench, &[h, w], params)
}
