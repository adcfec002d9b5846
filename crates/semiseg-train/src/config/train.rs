//! `[train]`: optimisation, schedule, checkpoints and the device.

use super::check::{bad, one_of};
use super::ConfigError;
use semiseg_nn::device::DeviceChoice;
use semiseg_nn::precision::Precision;
use serde::{Deserialize, Serialize};

/// Optimisation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Iterations (steps).
    pub iterations: usize,
    /// Batch size (labeled + unlabeled).
    pub batch: usize,
    /// Labeled samples per batch (first in the batch).
    pub labeled_batch: usize,
    /// `sgd` or `adamw`.
    pub optimizer: String,
    /// Base learning rate.
    pub lr: f64,
    /// SGD momentum.
    pub momentum: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// `poly`, `constant`, `step` (× `step_gamma` every `step_every` iterations), `cosine`
    /// (linear warm-up then cosine) or `cosine_clcc` (CLCC's warm-up-scaled cosine); both
    /// cosines use `warmup`.
    pub schedule: String,
    /// Exponent of the poly schedule.
    pub poly_power: f64,
    /// Iterations the poly schedule lags behind the step: SSL4MIS's 2-D supervised, mean
    /// teacher, UA-MT and CCT scripts set the lr after step `n` from `n` before counting it
    /// (step `t` runs at `(1 − (t − 1)/T)^p`, the first two at the base lr): 1; its CPS script
    /// counts first (step `t` at `(1 − t/T)^p`): 0.
    pub poly_lag: usize,
    /// Iterations between two decays of the `step` schedule (UA-MT's LA script: 2,500; 0: none).
    pub step_every: usize,
    /// Factor of each decay of the `step` schedule (UA-MT: 0.1).
    pub step_gamma: f64,
    /// Linear warm-up iterations (cosine).
    pub warmup: usize,
    /// CLCC quirk: update the learning rate once per epoch of this many iterations, at
    /// `T = epoch·lr_epoch + 7` (the reference's shadowed loop variable); 0: every iteration.
    pub lr_epoch: usize,
    /// Validate every this many iterations (0: never).
    pub val_every: usize,
    /// Validate only from this iteration on (MC-Net+'s and FBA-Net's scripts: 800).
    pub val_start: usize,
    /// Keep a checkpoint every this many iterations besides `last` and `best` (0: none).
    pub checkpoint_every: usize,
    /// Write `last` every this many iterations (so an interruption loses little).
    pub save_every: usize,
    /// Where to compute: `cpu`, `wgpu`, `wgpu:N`, `cuda:N` (`--device` overrides it; GPU
    /// backends need their cargo feature). Also used by the run's evaluations.
    pub device: String,
    /// What training's convolutions compute in: `f32`, or on a GPU device `f16` (with dynamic
    /// loss scaling) or `bf16` (see `semiseg_nn::precision`). Evaluations run in f32.
    pub precision: String,
}
impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            iterations: 30_000,
            batch: 24,
            labeled_batch: 12,
            optimizer: "sgd".into(),
            lr: 0.01,
            momentum: 0.9,
            weight_decay: 1e-4,
            schedule: "poly".into(),
            poly_power: 0.9,
            poly_lag: 0,
            step_every: 2500,
            step_gamma: 0.1,
            warmup: 0,
            lr_epoch: 0,
            val_every: 200,
            val_start: 0,
            checkpoint_every: 3000,
            save_every: 100,
            device: "cpu".into(),
            precision: "f32".into(),
        }
    }
}
impl TrainConfig {
    /// Checks the values that need no other section.
    pub fn check(&self) -> Result<(), ConfigError> {
        if let Err(e) = self.device.parse::<DeviceChoice>() {
            return bad("train.device", format!("\"{}\"", self.device), &e.to_string());
        }
        if let Err(e) = self.precision.parse::<Precision>() {
            return bad("train.precision", format!("\"{}\"", self.precision), &e);
        }
        one_of("train.optimizer", &self.optimizer, &["sgd", "adamw"])?;
        one_of("train.schedule", &self.schedule, &["poly", "constant", "step", "cosine", "cosine_clcc"])?;
        if self.iterations == 0 {
            return bad("train.iterations", "0".into(), "at least 1");
        }
        if self.labeled_batch == 0 || self.labeled_batch > self.batch {
            return bad("train.labeled_batch", self.labeled_batch.to_string(), &format!("between 1 and train.batch = {}", self.batch));
        }
        if !(self.lr > 0.0) {
            return bad("train.lr", self.lr.to_string(), "positive");
        }
        Ok(())
    }
}
