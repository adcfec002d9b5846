//! `[method]`: the semi-supervised method, its loss terms and their weights. The method list
//! and each method's term names live here, so the config checks them without knowing the
//! methods' code (which reads this config).

use super::check::{bad, one_of};
use super::ConfigError;
use serde::{Deserialize, Serialize};

/// The semi-supervised method and its loss terms.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MethodConfig {
    /// `supervised`, `mean_teacher`, `ua_mt`, `cct`, `cps`, `clcc`, `mgcc`.
    pub name: String,
    /// Final weight of the unsupervised term (SSL4MIS `--consistency`).
    pub consistency: f64,
    /// Ramp-up length in "epochs" of `rampup_epoch` iterations (SSL4MIS `--consistency_rampup`).
    pub rampup: f64,
    /// Iterations per ramp-up "epoch": the references' `iter_num // 150`. A short run keeps
    /// the paper's ramp-up as a fraction of the run by shortening the epoch with it (at 150, a
    /// 200-iteration run would hold the weight at exp(-5) for 150 iterations).
    pub rampup_epoch: usize,
    /// EMA decay of the teacher (mean teacher, UA-MT).
    pub ema_decay: f64,
    /// Iteration before which the consistency term is off (SSL4MIS mean teacher 2-D: 1000; its
    /// UA-MT script has no such gate).
    pub consistency_start: usize,
    /// CPS: `default` (both networks as built: SSL4MIS's 2-D script defines the kaiming / xavier
    /// initialisers but never calls them) or `kaiming_xavier` (its 3-D script: kaiming-normal
    /// convolutions for the first network, xavier-normal for the second).
    pub cps_init: String,
    /// CLCC: iteration at which the contrastive term stops and the consistency term starts (the
    /// reference's warm-up, epoch 100 of 300).
    pub contrast_until: usize,
    /// CLCC: PatchNCE temperature τ.
    pub temperature: f64,
    /// CLCC: apply the structure loss's boundary weights to the BCE (the reference's call leaves
    /// them inactive; `false` reproduces it).
    pub weighted_bce: bool,
    /// MC-Net+, CAML, FBA-Net: sharpening temperature of the mutual consistency.
    pub sharpen_temperature: f64,
    /// CAML: labeled voxels drawn from the memory bank per class.
    pub memory_per_class: usize,
    /// CAML: what a case's memory slot keeps of its correctly predicted voxels: `per_case`, at
    /// most `memory_per_class` per class drawn at random (every case then weighs the same in
    /// a draw), or `all` of them (the reference, `utils/feature_memory.py`: a draw is uniform
    /// over all stored voxels, so cases with large atria weigh more; up to a million rows a case).
    pub memory_store: String,
    /// CAML: how model A's labeled feature rows are read: `voxel` (one row per voxel, the
    /// features across channels, as for model V) or `reference` (`train_caml.py` reads
    /// `labeled_features_a.view(-1, C)` without the permute it applies to model V: row `r` is
    /// the `r`-th run of C values of the `[B, C, H, W, D]` tensor, i.e. C voxels along D of one
    /// channel).
    pub memory_rows_a: String,
    /// CAML: unlabeled voxels kept per pseudo-class (most confident first).
    pub unlabeled_per_class: usize,
    /// CAML: temperature of the omni-correlation softmax.
    pub correlation_temperature: f64,
    /// CAML: L2-normalise features before correlating (the reference does not).
    pub normalize_features: bool,
    /// CAML: detach model A's correlations, the target (the reference keeps both gradients).
    pub detach_correlation_target: bool,
    /// Multipliers of the named loss terms (ablations): e.g. `{ consistency = 0.0 }`.
    pub weights: std::collections::BTreeMap<String, f64>,
}
impl Default for MethodConfig {
    fn default() -> Self {
        Self {
            name: "mean_teacher".into(),
            consistency: 0.1,
            rampup: 200.0,
            rampup_epoch: 150,
            ema_decay: 0.99,
            consistency_start: 0,
            cps_init: "default".into(),
            contrast_until: 0,
            temperature: 0.07,
            weighted_bce: false,
            sharpen_temperature: 0.1,
            memory_per_class: 256,
            memory_store: "per_case".into(),
            memory_rows_a: "voxel".into(),
            unlabeled_per_class: 12_800,
            correlation_temperature: 0.1,
            normalize_features: false,
            detach_correlation_target: false,
            weights: Default::default(),
        }
    }
}
/// Method names accepted in `method.name`.
pub const NAMES: [&str; 10] = ["supervised", "mean_teacher", "ua_mt", "cct", "cps", "clcc", "mgcc", "mcnet", "caml", "fbanet"];

/// The loss terms of a method (keys of `method.weights`, names in the training log).
pub fn terms_of(method: &str) -> Vec<&'static str> {
    match method {
        "supervised" => vec!["supervised"],
        "cps" => vec!["supervised", "cps"],
        "clcc" => vec!["supervised", "contrast", "consistency"],
        "caml" => vec!["supervised", "consistency", "correlation"],
        "fbanet" => vec!["supervised", "consistency", "contrast"],
        _ => vec!["supervised", "consistency"],
    }
}

impl MethodConfig {
    /// Checks the values that need no other section.
    pub fn check(&self) -> Result<(), ConfigError> {
        one_of("method.name", &self.name, &NAMES)?;
        one_of("method.cps_init", &self.cps_init, &["default", "kaiming_xavier"])?;
        one_of("method.memory_store", &self.memory_store, &["per_case", "all"])?;
        one_of("method.memory_rows_a", &self.memory_rows_a, &["voxel", "reference"])?;
        if self.rampup_epoch == 0 {
            return bad("method.rampup_epoch", "0".into(), "at least 1 iteration per ramp-up epoch");
        }
        if !(0.0..1.0).contains(&self.ema_decay) {
            return bad("method.ema_decay", self.ema_decay.to_string(), "in [0, 1)");
        }
        let terms = terms_of(&self.name);
        for (k, w) in &self.weights {
            if !terms.contains(&k.as_str()) {
                return bad(&format!("method.weights.{k}"), w.to_string(), &format!("{} has loss terms {}", self.name, terms.join(", ")));
            }
            if !w.is_finite() || *w < 0.0 {
                return bad(&format!("method.weights.{k}"), w.to_string(), "a finite weight >= 0");
            }
        }
        Ok(())
    }
}
