//! `semiseg synth`: MGCC stage 1, latent diffusion. `train` fits the autoencoder, then the
//! latent denoiser, in a run directory (each stage resumes from its checkpoint); `sample` draws
//! PNG images that a training config lists in `data.unlabeled_dirs`.

use crate::progress::{bar, stop_on_ctrl_c, BarObserver};
use anyhow::{anyhow, bail, Result};
use semiseg_train::diffusion::config::SynthConfig;
use semiseg_train::diffusion::images::load_images;
use semiseg_train::diffusion::sample::{sample, SampleRequest};
use semiseg_train::diffusion::train::{train_stage, SynthRun};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// Latent diffusion for synthetic unlabeled images.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: SynthCommand,
}

#[derive(Debug, clap::Subcommand)]
enum SynthCommand {
    /// Train the autoencoder and the latent denoiser (a finished stage is skipped, an interrupted one resumes).
    Train {
        /// TOML config (`configs/synth-busi*.toml`); without it, --data with medfusion's defaults
        /// (`configs/synth-busi.toml`); not needed with --resume.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Dataset folder (overrides `data.root`).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Override a config value, e.g. `--set vae.iterations=100` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Run directory.
        #[arg(long)]
        out: PathBuf,
        /// Continue the run in --out with its saved config.
        #[arg(long, conflicts_with_all = ["config", "data", "set"])]
        resume: bool,
        /// Only this stage: `vae` or `ldm`.
        #[arg(long, value_parser = ["vae", "ldm"])]
        stage: Option<String>,
        #[command(flatten)]
        device: super::DeviceArg,
    },
    /// Draw images from a trained run into a folder of PNG files.
    Sample {
        /// Run directory of `semiseg synth train`.
        #[arg(long)]
        run: PathBuf,
        /// Number of images.
        #[arg(long)]
        n: usize,
        /// Output folder (existing images there are kept: sampling resumes).
        #[arg(long)]
        out: PathBuf,
        /// Condition on this class (class-conditional runs: e.g. benign, malignant, normal).
        #[arg(long)]
        class: Option<String>,
        /// Seed of the noise (default: the run's seed).
        #[arg(long)]
        seed: Option<u64>,
        /// Override a sampling value, e.g. `--set sample.sampler="ddpm"` or `--set sample.eta=0`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        #[command(flatten)]
        device: super::DeviceArg,
    },
}

/// Runs `semiseg synth`.
pub fn run(args: Args) -> Result<()> {
    match args.command {
        SynthCommand::Train { config, data, mut set, out, resume, stage, device } => {
            let run = SynthRun(out.clone());
            let device_override: Vec<String> = device.as_override("device").into_iter().collect();
            let cfg = if resume {
                SynthConfig::from_file(&run.config(), &device_override)?
            } else {
                set.extend(device_override);
                let mut cfg = match (&config, &data) {
                    (Some(path), _) => SynthConfig::from_file(path, &set)?,
                    (None, Some(_)) => SynthConfig::defaults_with(&set)?,
                    (None, None) => bail!("give --data DIR (medfusion's defaults) or --config FILE (e.g. configs/synth-busi-cpu.toml), or --resume"),
                };
                if let Some(d) = data {
                    cfg.data.root = d;
                }
                cfg.data.root = super::train::resolve_root(&cfg.data.root);
                if run.config().exists() {
                    bail!("{} already holds a synthesis run: use --resume or another --out", out.display());
                }
                semiseg_data::io::atomic::write_bytes(&run.config(), cfg.to_toml().as_bytes())?;
                cfg
            };
            let stop = stop_on_ctrl_c()?;
            let stages: Vec<&str> = match stage.as_deref() {
                Some(s) => vec![s],
                None => vec!["vae", "ldm"],
            };
            let images = load_images(&cfg).map_err(|e| anyhow!(e))?;
            eprintln!("{} images of '{}' at {}², classes {:?}", images.images.len(), cfg.data.split, cfg.data.size, images.class_names);
            for s in stages {
                let total = if s == "vae" { cfg.vae.iterations } else { cfg.ldm.iterations };
                let pb = bar(total, s);
                let mut obs = BarObserver { bar: pb.clone() };
                let done = train_stage(&cfg, &run, &images, s, &stop, &mut obs).map_err(|e| anyhow!(e))?;
                pb.finish_and_clear();
                if stop.load(Ordering::SeqCst) && done < total {
                    println!("stopped the {s} stage at iteration {done}; continue with: semiseg synth train --resume --out {}", out.display());
                    return Ok(());
                }
                println!("{s}: {done} iterations, checkpoint {}", run.checkpoint(s).display());
            }
            Ok(())
        }
        SynthCommand::Sample { run, n, out, class, seed, mut set, device } => {
            set.extend(device.as_override("device"));
            let synth = SynthRun(run.clone());
            let cfg = SynthConfig::from_file(&synth.config(), &set)?;
            let pb = bar(n, "sampling");
            let req = SampleRequest { n, out: &out, class: class.as_deref(), seed: seed.unwrap_or(cfg.seed) };
            let written = sample(&cfg, &synth, &req, &|k| pb.inc(k as u64)).map_err(|e| anyhow!(e))?;
            pb.finish_and_clear();
            println!("{} new images in {} ({} sampler)", written.len(), out.display(), cfg.sample.sampler);
            Ok(())
        }
    }
}
