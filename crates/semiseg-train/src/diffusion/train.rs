//! Training the two stages of latent diffusion in a run directory:
//! `synth.toml`, `checkpoints/{vae,ldm}.ckpt` (atomic; `--resume` continues each stage from its
//! last save, with every random draw a function of the seed and the iteration), `synth.jsonl`.
//!
//! Stage 1 trains the autoencoder on random batches of the images. Stage 2 freezes it, encodes
//! every image once (posterior mean and log-variance; a fresh latent sample each time it is
//! drawn), and trains the denoiser: `t ~ U{0..T−1}`, `x_t = √ᾱ·z + √(1−ᾱ)·ε`, L1 between ε̂ and ε,
//! the class dropped with probability `class_dropout` when conditioning.

use super::config::SynthConfig;
use super::images::SynthImages;
use super::schedule::NoiseSchedule;
use super::vae_loss::vae_loss;
use crate::checkpoint::{self, find, load_module, load_optim, module_part, optim_part, TrainState};
use crate::data::sampler::derive_seed;
use crate::trainer::Observer;
use burn::module::Module;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use semiseg_nn::nets::{Denoiser, DenoiserConfig, Vae, VaeConfig};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Save the stage's checkpoint every this many iterations.
const SAVE_EVERY: usize = 100;

/// The files of a synthesis run.
pub struct SynthRun(pub PathBuf);

impl SynthRun {
    /// `synth.toml`.
    pub fn config(&self) -> PathBuf {
        self.0.join("synth.toml")
    }
    /// `checkpoints/<stage>.ckpt`.
    pub fn checkpoint(&self, stage: &str) -> PathBuf {
        self.0.join("checkpoints").join(format!("{stage}.ckpt"))
    }
    /// `synth.jsonl`.
    pub fn log(&self) -> PathBuf {
        self.0.join("synth.jsonl")
    }
}

/// The autoencoder of the config.
pub fn vae_of(cfg: &SynthConfig, device: &Device) -> Vae {
    VaeConfig::new().with_channels(cfg.data.channels).with_latent_channels(cfg.vae.latent_channels).with_widths(cfg.vae.widths.clone()).init(device)
}

/// The denoiser of the config (`classes` = number of class names when conditioning, else 0).
pub fn denoiser_of(cfg: &SynthConfig, classes: usize, device: &Device) -> Denoiser {
    DenoiserConfig::new()
        .with_channels(cfg.vae.latent_channels)
        .with_widths(cfg.ldm.widths.clone())
        .with_time_channels(cfg.ldm.time_channels)
        .with_classes(if cfg.ldm.class_conditional { classes } else { 0 })
        .init(device)
}

/// The noise schedule of the config.
pub fn schedule_of(cfg: &SynthConfig) -> NoiseSchedule {
    NoiseSchedule::scaled_linear(cfg.ldm.steps, cfg.ldm.beta_start, cfg.ldm.beta_end)
}

fn log(run: &SynthRun, record: serde_json::Value) -> Result<(), String> {
    let path = run.log();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    writeln!(f, "{record}").map_err(|e| format!("{}: {e}", path.display()))
}

/// A batch of images `[B, C, S, S]` drawn with replacement by `rng`, and their indices.
fn draw(images: &SynthImages, batch: usize, rng: &mut StdRng, device: &Device) -> (Tensor<4>, Vec<usize>) {
    let idx: Vec<usize> = (0..batch).map(|_| rng.random_range(0..images.images.len())).collect();
    let [c, h, w] = [images.images[0].shape()[0], images.images[0].shape()[1], images.images[0].shape()[2]];
    let data: Vec<f32> = idx.iter().flat_map(|&i| images.images[i].iter().copied()).collect();
    (Tensor::from_data(TensorData::new(data, [batch, c, h, w]), device), idx)
}

/// Trains stage `stage` (`vae` or `ldm`) of `run` on `images` (see [`super::images::load_images`]) up to its
/// configured iterations, resuming from its checkpoint when there is one. Returns the
/// iterations done.
pub fn train_stage(cfg: &SynthConfig, run: &SynthRun, images: &SynthImages, stage: &str, stop: &AtomicBool, obs: &mut dyn Observer) -> Result<usize, String> {
    std::fs::create_dir_all(run.0.join("checkpoints")).map_err(|e| format!("{}: {e}", run.0.display()))?;
    let device = crate::config::open_device(&cfg.device)?.autodiff();
    device.seed(derive_seed(cfg.seed, 20, 0));
    match stage {
        "vae" => train_vae(cfg, run, images, &device, stop, obs),
        _ => train_ldm(cfg, run, images, &device, stop, obs),
    }
}

/// A stage's module, optimizer and progress, restored from its checkpoint if present.
fn restore<M: Module + Clone>(path: &Path, net: M, optim: ModuleOptimizer) -> Result<(M, ModuleOptimizer, usize), String> {
    if !path.is_file() {
        return Ok((net, optim, 0));
    }
    let (state, parts) = checkpoint::load(path)?;
    Ok((load_module(net, find(&parts, "net")?)?, load_optim(optim, find(&parts, "optim")?)?, state.iteration))
}

/// What one stage's iterations share.
struct Stage<'a> {
    run: &'a SynthRun,
    path: &'a Path,
    name: &'static str,
    lr: f64,
    total: usize,
    stop: &'a AtomicBool,
}

impl Stage<'_> {
    /// The end of iteration `t` (begun at `started`): checks the loss, steps the optimizer, logs
    /// (with `extra` and the iteration's seconds), and saves every [`SAVE_EVERY`] iterations, at
    /// the end, and when asked to stop.
    #[allow(clippy::too_many_arguments)]
    fn step<M: Module + Clone>(&self, net: M, optim: &mut ModuleOptimizer, loss: Tensor<1>, t: &mut usize, started: Instant, extra: serde_json::Value, obs: &mut dyn Observer) -> Result<M, String> {
        let value = loss.clone().into_scalar::<f32>() as f64;
        if !value.is_finite() {
            return Err(format!("{}: loss is {value} at iteration {} (checkpoint kept at iteration {t})", self.name, *t + 1));
        }
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        let net = optim.step(self.lr, net, grads);
        *t += 1;
        let mut record = json!({"stage": self.name, "iter": *t, "loss": value, "seconds": started.elapsed().as_secs_f64()});
        if let (Some(r), Some(e)) = (record.as_object_mut(), extra.as_object()) {
            r.extend(e.clone());
        }
        log(self.run, record)?;
        obs.step(*t, self.total, value, self.lr);
        if *t == self.total || *t % SAVE_EVERY == 0 || self.stop.load(Ordering::SeqCst) {
            let state = TrainState { iteration: *t, ..Default::default() };
            checkpoint::save(self.path, &state, &[module_part("net", &net), optim_part("optim", optim)]).map_err(|e| e.to_string())?;
        }
        Ok(net)
    }
}

fn train_vae(cfg: &SynthConfig, run: &SynthRun, images: &SynthImages, device: &Device, stop: &AtomicBool, obs: &mut dyn Observer) -> Result<usize, String> {
    let path = run.checkpoint("vae");
    let (mut vae, mut optim, mut t) = restore(&path, vae_of(cfg, device), AdamConfig::new().with_epsilon(1e-8).init())?;
    let total = cfg.vae.iterations;
    while t < total {
        let started = Instant::now();
        let mut rng = StdRng::seed_from_u64(derive_seed(cfg.seed, 21, t as u64));
        device.seed(derive_seed(cfg.seed, 22, t as u64));
        let (x, _) = draw(images, cfg.vae.batch, &mut rng, device);
        let out = vae.forward(x.clone());
        let kl = out.kl.clone().into_scalar::<f32>();
        let loss = vae_loss(out.image, out.deep, out.kl, x);
        let stage = Stage { run, path: &path, name: "vae", lr: cfg.vae.lr, total, stop };
        vae = stage.step(vae, &mut optim, loss, &mut t, started, json!({"kl": kl}), obs)?;
        if stop.load(Ordering::SeqCst) {
            break;
        }
    }
    Ok(t)
}

fn train_ldm(cfg: &SynthConfig, run: &SynthRun, images: &SynthImages, device: &Device, stop: &AtomicBool, obs: &mut dyn Observer) -> Result<usize, String> {
    let vae_path = run.checkpoint("vae");
    if !vae_path.is_file() {
        return Err(format!("{}: no trained autoencoder; run the vae stage first", vae_path.display()));
    }
    let (_, parts) = checkpoint::load(&vae_path)?;
    let plain = device.clone().without_autodiff();
    let vae = load_module(vae_of(cfg, &plain), find(&parts, "net")?)?;
    // Posterior moments of every image, once (the autoencoder is frozen).
    let moments: Vec<(Tensor<4>, Tensor<4>)> = images.images.iter().map(|img| {
        let s = img.shape();
        let x = Tensor::<4>::from_data(TensorData::new(img.iter().copied().collect::<Vec<_>>(), [1, s[0], s[1], s[2]]), &plain);
        let (m, lv) = vae.moments(x);
        (Tensor::from_data(m.into_data(), device), Tensor::from_data(lv.into_data(), device))
    }).collect();
    let names: String = images.class_names.iter().map(|n| format!("{n}\n")).collect();
    semiseg_data::io::atomic::write_bytes(&run.0.join("classes.txt"), names.as_bytes()).map_err(|e| e.to_string())?;
    let schedule = schedule_of(cfg);
    let path = run.checkpoint("ldm");
    let net = denoiser_of(cfg, images.class_names.len(), device);
    let (mut net, mut optim, mut t) = restore(&path, net, AdamWConfig::new().with_weight_decay(1e-2).with_epsilon(1e-8).init())?;
    let total = cfg.ldm.iterations;
    while t < total {
        let started = Instant::now();
        let mut rng = StdRng::seed_from_u64(derive_seed(cfg.seed, 23, t as u64));
        device.seed(derive_seed(cfg.seed, 24, t as u64));
        let idx: Vec<usize> = (0..cfg.ldm.batch).map(|_| rng.random_range(0..moments.len())).collect();
        let mean = Tensor::cat(idx.iter().map(|&i| moments[i].0.clone()).collect(), 0);
        let logvar = Tensor::cat(idx.iter().map(|&i| moments[i].1.clone()).collect(), 0);
        let z0 = mean.clone() + (logvar * 0.5).exp() * mean.random_like(Distribution::Normal(0.0, 1.0));
        let steps: Vec<usize> = (0..idx.len()).map(|_| rng.random_range(0..schedule.len())).collect();
        let noise = z0.random_like(Distribution::Normal(0.0, 1.0));
        let x_t = schedule.q_sample(z0, noise.clone(), &steps);
        let classes: Vec<usize> = idx.iter().map(|&i| images.classes[i]).collect();
        let keep_class = cfg.ldm.class_conditional && rng.random::<f64>() >= cfg.ldm.class_dropout;
        let pred = net.forward(x_t, &steps, keep_class.then_some(classes.as_slice()));
        let loss = (pred - noise).abs().mean();
        let stage = Stage { run, path: &path, name: "ldm", lr: cfg.ldm.lr, total, stop };
        net = stage.step(net, &mut optim, loss, &mut t, started, json!({}), obs)?;
        if stop.load(Ordering::SeqCst) {
            break;
        }
    }
    Ok(t)
}
