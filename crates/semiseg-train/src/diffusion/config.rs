//! Configuration of a latent-diffusion run (`semiseg synth`): TOML sections `[data] [vae] [ldm]
//! [sample]`, unknown keys rejected, `--set` overrides as for `semiseg train`. Defaults are
//! medfusion's (methods.md §1.1): VAE 64–512 with an 8-channel latent, Adam 1e-4, batch 8;
//! denoiser 256–1024 with 1024-wide time embedding, AdamW 1e-4, batch 32, L1 on ε, T = 1000
//! scaled-linear; DDIM 150 steps, η = 1, x̂0 not clipped.

use crate::config::{parse_toml, read_toml, ConfigError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The whole synthesis configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SynthConfig {
    /// Seed of every random stream.
    pub seed: u64,
    /// Images to learn from.
    pub data: SynthData,
    /// The autoencoder.
    pub vae: VaeStage,
    /// The latent denoiser.
    pub ldm: LdmStage,
    /// Sampling defaults.
    pub sample: SampleConfig,
    /// Where to compute: `cpu`, `wgpu`, `wgpu:N`, `cuda:N` (`--device` overrides it).
    pub device: String,
}

/// Where the training images are.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SynthData {
    /// Dataset folder (any layout; masks are ignored).
    pub root: PathBuf,
    /// Split whose images are learned (`all` for a folder without lists).
    pub split: String,
    /// Redraw splits as `semiseg train` does (so the test images of a fold stay unseen).
    pub random_split: Vec<f64>,
    /// Seed of `random_split`.
    pub split_seed: u64,
    /// Image side (divisible by 8).
    pub size: usize,
    /// Image channels (3: RGB; grey is repeated).
    pub channels: usize,
}

/// Autoencoder stage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VaeStage {
    /// Widths per level (three 2× down-samplings for four levels).
    pub widths: Vec<usize>,
    /// Latent channels.
    pub latent_channels: usize,
    /// Iterations.
    pub iterations: usize,
    /// Batch size.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
}

/// Denoiser stage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LdmStage {
    /// Widths per level.
    pub widths: Vec<usize>,
    /// Time-embedding width.
    pub time_channels: usize,
    /// Diffusion steps T.
    pub steps: usize,
    /// `scaled_linear` β range.
    pub beta_start: f64,
    /// End of the β range.
    pub beta_end: f64,
    /// Condition on the class named by the file-name prefix (BUSI: benign / malignant / normal).
    pub class_conditional: bool,
    /// Probability of dropping the class during training (classifier-free guidance).
    pub class_dropout: f64,
    /// Iterations.
    pub iterations: usize,
    /// Batch size.
    pub batch: usize,
    /// AdamW learning rate (weight decay 1e-2, PyTorch's default).
    pub lr: f64,
}

/// How images are drawn.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SampleConfig {
    /// `ddim` or `ddpm`.
    pub sampler: String,
    /// DDIM steps.
    pub ddim_steps: usize,
    /// DDIM η (1: stochastic, as medfusion; 0: deterministic).
    pub eta: f64,
    /// Clip x̂0 to [−1, 1] at every step (medfusion samples without).
    pub clip_x0: bool,
    /// Images denoised together.
    pub batch: usize,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self { seed: 41, data: SynthData::default(), vae: VaeStage::default(), ldm: LdmStage::default(), sample: SampleConfig::default(), device: "cpu".into() }
    }
}

impl Default for SynthData {
    fn default() -> Self {
        Self { root: PathBuf::new(), split: "train".into(), random_split: Vec::new(), split_seed: 41, size: 256, channels: 3 }
    }
}

impl Default for VaeStage {
    fn default() -> Self {
        Self { widths: vec![64, 128, 256, 512], latent_channels: 8, iterations: 50_000, batch: 8, lr: 1e-4 }
    }
}

impl Default for LdmStage {
    fn default() -> Self {
        Self {
            widths: vec![256, 256, 512, 1024],
            time_channels: 1024,
            steps: 1000,
            beta_start: 0.002,
            beta_end: 0.02,
            class_conditional: false,
            class_dropout: 0.5,
            iterations: 100_000,
            batch: 32,
            lr: 1e-4,
        }
    }
}

impl Default for SampleConfig {
    fn default() -> Self {
        Self { sampler: "ddim".into(), ddim_steps: 150, eta: 1.0, clip_x0: false, batch: 8 }
    }
}

impl SynthConfig {
    /// Reads a config file (with `key=value` overrides), rejecting unknown keys, then checks it.
    pub fn from_file(path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        let cfg: SynthConfig = read_toml(path, overrides)?;
        cfg.check()?;
        Ok(cfg)
    }

    /// medfusion's defaults (`configs/synth-busi.toml`) with `key=value` overrides, then checked.
    pub fn defaults_with(overrides: &[String]) -> Result<Self, ConfigError> {
        let cfg: SynthConfig = parse_toml(&Self::default().to_toml(), "the built-in defaults", overrides)?;
        cfg.check()?;
        Ok(cfg)
    }

    /// As TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises")
    }

    /// Checks values, naming the key of the first bad one.
    pub fn check(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, value: String, expected: &str| Err(ConfigError::Invalid { key: key.into(), value, expected: expected.into() });
        let levels = self.vae.widths.len();
        if levels < 2 {
            return bad("vae.widths", format!("{:?}", self.vae.widths), "at least two levels");
        }
        let vae_factor = 1usize << (levels - 1);
        let latent = self.data.size / vae_factor;
        let ldm_factor = 1usize << self.ldm.widths.len().saturating_sub(1);
        if self.data.size == 0 || self.data.size % vae_factor != 0 || latent % ldm_factor != 0 {
            return bad("data.size", self.data.size.to_string(), &format!("divisible by {} (autoencoder) x {ldm_factor} (denoiser)", vae_factor));
        }
        if ![1, 3].contains(&self.data.channels) {
            return bad("data.channels", self.data.channels.to_string(), "1 or 3");
        }
        if self.ldm.widths.is_empty() || self.ldm.time_channels < 8 || self.ldm.time_channels % 8 != 0 {
            return bad("ldm.time_channels", self.ldm.time_channels.to_string(), "a multiple of 8, with at least one width in ldm.widths");
        }
        if self.ldm.steps < 2 || !(0.0 < self.ldm.beta_start && self.ldm.beta_start < self.ldm.beta_end && self.ldm.beta_end < 1.0) {
            return bad("ldm.beta_start/beta_end", format!("{} / {}", self.ldm.beta_start, self.ldm.beta_end), "0 < start < end < 1 and steps >= 2");
        }
        if !(0.0..=1.0).contains(&self.ldm.class_dropout) {
            return bad("ldm.class_dropout", self.ldm.class_dropout.to_string(), "in [0, 1]");
        }
        if let Err(e) = self.device.parse::<semiseg_nn::device::DeviceChoice>() {
            return bad("device", format!("\"{}\"", self.device), &e.to_string());
        }
        if !["ddim", "ddpm"].contains(&self.sample.sampler.as_str()) {
            return bad("sample.sampler", format!("\"{}\"", self.sample.sampler), "ddim or ddpm");
        }
        for (key, v) in [("vae.batch", self.vae.batch), ("ldm.batch", self.ldm.batch), ("sample.batch", self.sample.batch), ("sample.ddim_steps", self.sample.ddim_steps)] {
            if v == 0 {
                return bad(key, "0".into(), "at least 1");
            }
        }
        Ok(())
    }
}
