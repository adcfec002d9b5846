//! Drawing images from a trained latent-diffusion run: Gaussian latents denoised by DDIM (the
//! configured steps and η; the last step returns x̂0, as medfusion's loop ends) or DDPM (all T
//! ancestral steps), decoded by the autoencoder, mapped from [−1, 1] to 8-bit and written as PNG
//! files (atomically; files already there are kept, so an interrupted sampling resumes). Batch
//! `k` draws its noise from (seed, k) alone, so the images do not depend on what ran before.

use super::config::SynthConfig;
use super::sampler::{ddim_step, ddim_timesteps, ddpm_step};
use super::train::{denoiser_of, schedule_of, vae_of, SynthRun};
use crate::checkpoint::{self, find, load_module};
use crate::data::sampler::derive_seed;
use burn::prelude::*;
use burn::tensor::Distribution;
use ndarray::Array4;
use semiseg_data::{Geometry, Image};
use std::path::{Path, PathBuf};

/// What to draw.
pub struct SampleRequest<'a> {
    /// Number of images.
    pub n: usize,
    /// Output folder.
    pub out: &'a Path,
    /// Class to condition on (a name from training), or unconditional.
    pub class: Option<&'a str>,
    /// Seed of the noise.
    pub seed: u64,
}

/// The class names a conditional run was trained with (`classes.txt`, one per line).
pub fn class_names(run: &SynthRun) -> Vec<String> {
    std::fs::read_to_string(run.0.join("classes.txt")).map(|t| t.lines().map(str::to_string).collect()).unwrap_or_default()
}

/// Draws `req.n` images into `req.out`; `tick` is called after each batch with the images done.
pub fn sample(cfg: &SynthConfig, run: &SynthRun, req: &SampleRequest, tick: &dyn Fn(usize)) -> Result<Vec<PathBuf>, String> {
    let device = crate::config::open_device(&cfg.device)?;
    let names = class_names(run);
    let load = |stage: &str| -> Result<Vec<checkpoint::Part>, String> {
        let p = run.checkpoint(stage);
        if !p.is_file() {
            return Err(format!("{}: missing; train the {stage} stage first (semiseg synth train)", p.display()));
        }
        Ok(checkpoint::load(&p)?.1)
    };
    let vae = load_module(vae_of(cfg, &device), find(&load("vae")?, "net")?)?;
    let net = load_module(denoiser_of(cfg, names.len(), &device), find(&load("ldm")?, "net")?)?;
    let class = match req.class {
        None => None,
        Some(c) if cfg.ldm.class_conditional => Some(names.iter().position(|n| n == c).ok_or_else(|| format!("class '{c}': the run knows {}", names.join(", ")))?),
        Some(_) => return Err("--class needs a run trained with ldm.class_conditional = true".into()),
    };
    std::fs::create_dir_all(req.out).map_err(|e| format!("{}: {e}", req.out.display()))?;
    let schedule = schedule_of(cfg);
    let latent_side = cfg.data.size >> (cfg.vae.widths.len() - 1);
    let prefix = req.class.map_or("synth".to_string(), |c| format!("synth_{c}"));
    let path_of = |k: usize| req.out.join(format!("{prefix}_{k:05}.png"));
    let mut written = Vec::new();
    for (batch_index, start) in (0..req.n).step_by(cfg.sample.batch).enumerate() {
        let ks: Vec<usize> = (start..(start + cfg.sample.batch).min(req.n)).collect();
        if ks.iter().all(|&k| path_of(k).is_file()) {
            tick(ks.len());
            continue;
        }
        let b = ks.len();
        device.seed(derive_seed(req.seed, 30, batch_index as u64));
        let classes = class.map(|c| vec![c; b]);
        let eps_at = |x: &Tensor<4>, t: usize| net.forward(x.clone(), &vec![t; b], classes.as_deref());
        let mut x = Tensor::<4>::random([b, cfg.vae.latent_channels, latent_side, latent_side], Distribution::Normal(0.0, 1.0), &device);
        if cfg.sample.sampler == "ddpm" {
            for t in (0..schedule.len()).rev() {
                let z = x.random_like(Distribution::Normal(0.0, 1.0));
                x = ddpm_step(&schedule, x.clone(), eps_at(&x, t), t, z, cfg.sample.clip_x0);
            }
        } else {
            let ts = ddim_timesteps(schedule.len(), cfg.sample.ddim_steps);
            for i in (1..ts.len()).rev() {
                let z = x.random_like(Distribution::Normal(0.0, 1.0));
                x = ddim_step(&schedule, x.clone(), eps_at(&x, ts[i]), ts[i], ts[i - 1], cfg.sample.eta, z, cfg.sample.clip_x0);
            }
            x = schedule.predict_x0(x.clone(), eps_at(&x, ts[0]), &vec![ts[0]; b], cfg.sample.clip_x0);
        }
        let images = ((vae.decode(x) + 1.0) * 127.5).clamp(0.0, 255.0).round().into_data();
        let pixels = images.as_slice::<f32>().map_err(|e| format!("{e:?}"))?;
        let (c, s) = (cfg.data.channels, cfg.data.size);
        for (plane, &k) in pixels.chunks(c * s * s).zip(&ks) {
            let data = Array4::from_shape_vec((c, s, s, 1), plane.to_vec()).expect("decoded shape");
            let image = Image { data, spatial_dims: 2, geometry: Geometry::unit() };
            let path = path_of(k);
            semiseg_data::io::write_image(&path, &image).map_err(|e| e.to_string())?;
            written.push(path);
        }
        tick(b);
    }
    Ok(written)
}
