//! Run configuration: a TOML tree of plain serde structs (`deny_unknown_fields`), overridden by
//! `--set key=value`, then checked once. Defaults equal the SSL4MIS 2-D protocol
//! (`train_*_2D.py`): SGD 0.01 / 0.9 / 1e-4 with poly 0.9, batch 24 with 12 labeled, 30k
//! iterations, consistency 0.1 ramped over 200 "epochs" of 150 iterations, EMA 0.99, seed 1337.

use semiseg_nn::device::DeviceChoice;
use semiseg_nn::precision::Precision;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A configuration problem, naming the key.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// TOML syntax or an unknown key / wrong type (the message names the key).
    #[error("{origin}: {message}")]
    Parse {
        /// The file or `--set` it came from.
        origin: String,
        /// The parser's message.
        message: String,
    },
    /// A value out of its allowed range.
    #[error("{key} = {value}: {expected}")]
    Invalid {
        /// Dotted key.
        key: String,
        /// The value given.
        value: String,
        /// What is allowed.
        expected: String,
    },
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The config file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// The whole run configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run name (the run directory is `runs/<name>` unless `--out` is given).
    pub name: String,
    /// The one seed of every random stream (sampling, augmentation, initialisation, dropout).
    pub seed: u64,
    /// Data.
    pub data: DataConfig,
    /// Network.
    pub model: ModelConfig,
    /// Method and its loss weights.
    pub method: MethodConfig,
    /// Optimisation and schedule.
    pub train: TrainConfig,
    /// Evaluation.
    pub eval: EvalConfig,
}

/// Where the data is and how it becomes training samples.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Dataset folder (any layout `semiseg data inspect` detects).
    pub root: PathBuf,
    /// Split that supplies labeled and unlabeled training cases.
    pub train_split: String,
    /// Split for validation during training (model selection); empty for none.
    pub val_split: String,
    /// Split for the final test report; empty for none.
    pub test_split: String,
    /// Redraw the splits at random: fractions of `[train, val, test]` (or `[train, test]`) of all
    /// cases, patients kept together, seeded by `split_seed` (empty: use the dataset's lists).
    pub random_split: Vec<f64>,
    /// Seed of `random_split` (recorded in the run's config).
    pub split_seed: u64,
    /// Validation held out of training, for datasets without a validation list (LA ships
    /// train and test lists only): this many patients, drawn with `split_seed` from the
    /// unlabeled part of the training split and removed from training. `val_split` must then
    /// be empty. Written to `<run>/splits/val_holdout.list`.
    pub val_holdout: usize,
    /// Extra folders of unlabeled images (e.g. diffusion samples), appended after the train split.
    pub unlabeled_dirs: Vec<PathBuf>,
    /// Number of labeled training units (cases or patients, see `labeled_unit`), drawn as
    /// `labeled_draw` says.
    pub labeled: usize,
    /// `cases` or `patients` (ACDC: 7 patients = their 136 slices).
    pub labeled_unit: String,
    /// How the labeled units are drawn from the training split: `first` (list order: UA-MT,
    /// SSL4MIS, CAML, FBA-Net), `shuffled` (a seeded shuffle, then the first: MGCC's split),
    /// `stratified_class` (shuffled within each class named by the id prefix, e.g. BUSI's
    /// benign / malignant / normal, in proportion) or `stratified_foreground` (the same with
    /// two strata: masks with and without foreground). Written to `<run>/splits/labeled.txt`.
    pub labeled_draw: String,
    /// Seed of a shuffled or stratified draw (absent: `split_seed`).
    pub labeled_seed: Option<u64>,
    /// Input channels of the network (1 to 16); images with another count are converted only as
    /// `channel_conversion` allows, otherwise refused with the file named.
    pub channels: usize,
    /// `grey_rgb` (grey repeated to RGB, RGB averaged to grey), `mean` (any count averaged to
    /// one), `first` (keep the first `channels`), or `none` (counts must match).
    pub channel_conversion: String,
    /// Intensity scaling before augmentation: `none`, `divide255`, `zscore`, `imagenet`, or
    /// `imagenet_div255` (MGCC's loader: ImageNet normalisation, then divided by 255 again).
    pub normalize: String,
    /// Training patch (and inference) size: `[H, W]` for 2-D networks, `[H, W, D]` for the 3-D
    /// ones (LA: 112 × 112 × 80), each side a multiple of 16.
    pub patch: Vec<usize>,
    /// Interpolation of images when resizing: `nearest` (SSL4MIS `zoom(order=0)`) or `bilinear`.
    pub image_interp: String,
    /// Augmentation: `ssl4mis` (rot90+flip or rotate ±20°, then resize), `flip_rot90`,
    /// `hflip_vflip_rot90` (CLCC), or `none`; volumes: `rot_flip_crop` (UA-MT's RandomRotFlip
    /// then RandomCrop) or `crop` (RandomCrop only).
    pub augment: String,
    /// Random crop: fraction range `[lo, hi]` of each side kept before resizing (`[1, 1]`: off).
    pub random_crop: [f64; 2],
    /// Brightness jitter as a fraction of the intensity range (0: off).
    pub brightness: f64,
    /// Contrast jitter around 1 (0: off).
    pub contrast: f64,
    /// Worker threads preparing batches.
    pub workers: usize,
    /// Batches prepared ahead.
    pub prefetch: usize,
}

/// The network.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// `unet2d` (SSL4MIS UNet), `projunet` (CLCC's Oktay-style UNet with projection head) or
    /// `mgcc` (CMU-Net encoder, ConvMixers, four MSAG decoders); 3-D: `vnet` (UA-MT's V-Net, or
    /// MC-Net+'s with one decoder per `up_types` entry), `caml` (two V-Nets with cross-sample
    /// attention) or `fbanet` (MC-Net+ V-Net with a foreground/background head per decoder).
    pub name: String,
    /// Output classes including background.
    pub classes: usize,
    /// Width multiplier of the feature widths (unet2d).
    pub width: f64,
    /// ProjUNet widths are 64..1024 divided by this (CLCC: 4).
    pub feature_scale: usize,
    /// MGCC widths are this times 16..256 (the paper: 4).
    pub dim_mult: usize,
    /// MGCC: perturb all five feature levels of the auxiliary decoders (the reference) or only
    /// the bottleneck.
    pub perturb_all_levels: bool,
    /// MGCC: feature noise shared by the batch (the reference) or drawn per sample.
    pub shared_noise: bool,
    /// V-Net width: features of the first stage (16 in every paper).
    pub filters: usize,
    /// V-Net decoders by up-sampling type: 0 transposed conv, 1 trilinear + conv, 2 nearest +
    /// conv (`[0]`: UA-MT's V-Net; `[0, 1, 2]`: MC-Net+ and FBA-Net+).
    pub up_types: Vec<usize>,
    /// CAML: width of the projection / prediction heads (32: the reference never passes its
    /// `--embedding_dim 64` to the network).
    pub feature_dim: usize,
    /// FBA-Net: width of the foreground / background embeddings.
    pub contrast_dim: usize,
}

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
    /// `poly`, `constant`, `cosine` (linear warm-up then cosine) or `cosine_clcc` (CLCC's
    /// warm-up-scaled cosine); both cosines use `warmup`.
    pub schedule: String,
    /// Exponent of the poly schedule.
    pub poly_power: f64,
    /// Linear warm-up iterations (cosine).
    pub warmup: usize,
    /// CLCC quirk: update the learning rate once per epoch of this many iterations, at
    /// `T = epoch·lr_epoch + 7` (the reference's shadowed loop variable); 0: every iteration.
    pub lr_epoch: usize,
    /// Validate every this many iterations (0: never).
    pub val_every: usize,
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

/// How the `eval.select_by` metric reads in messages and plots (`jaccard` → `Jaccard`, else `Dice`).
pub fn select_by_label(metric: &str) -> &'static str {
    if metric == "jaccard" { "Jaccard" } else { "Dice" }
}

/// Evaluation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// `medpy`, `monai` or `smoothed` (the CMU-Net / MGCC formulas, see semiseg-metrics).
    pub convention: String,
    /// Report the test split with the best-on-validation checkpoint as well as the last one.
    pub test_best: bool,
    /// Where to score: `original` (the label file's grid and spacing) or `network` (the
    /// prediction at `data.patch` against the label resized there, pixels; MGCC/CLCC §1.5/§2.5).
    pub resolution: String,
    /// Legacy (CLCC test script): threshold a one-logit net's raw logit at 0.5, i.e. probability
    /// σ(0.5) ≈ 0.622, instead of the probability at 0.5.
    pub logit_threshold: bool,
    /// Validation metric that picks the `best` checkpoint: `dice` (SSL4MIS, CLCC) or `jaccard`
    /// (MGCC keeps its best validation IoU).
    pub select_by: String,
    /// Distance units of HD95 / ASD: `header` (the label file's spacing) or `voxels` (spacing
    /// ignored, as UA-MT's, CAML's and FBA-Net's medpy calls).
    pub units: String,
    /// 3-D networks: sliding-window stride `[H, W, D]` (UA-MT: 18 × 18 × 4).
    pub stride: Vec<usize>,
    /// 3-D networks: `average` the overlapping windows (UA-MT) or weight them by a `gaussian`
    /// centred on each window (nnU-Net).
    pub blend: String,
    /// 3-D networks: windows per forward pass.
    pub window_batch: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            name: "run".into(),
            seed: 1337,
            data: DataConfig::default(),
            model: ModelConfig::default(),
            method: MethodConfig::default(),
            train: TrainConfig::default(),
            eval: EvalConfig::default(),
        }
    }
}

impl DataConfig {
    /// The 2-D patch `[H, W]` (checked: 2-D networks have two sides).
    pub fn patch2(&self) -> [usize; 2] {
        [self.patch[0], self.patch[1]]
    }

    /// The 3-D patch `[H, W, D]` (checked: 3-D networks have three sides).
    pub fn patch3(&self) -> [usize; 3] {
        [self.patch[0], self.patch[1], self.patch[2]]
    }
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            root: PathBuf::new(),
            train_split: "train".into(),
            val_split: "val".into(),
            test_split: "test".into(),
            random_split: Vec::new(),
            split_seed: 42,
            val_holdout: 0,
            unlabeled_dirs: Vec::new(),
            labeled: 7,
            labeled_unit: "patients".into(),
            labeled_draw: "first".into(),
            labeled_seed: None,
            channels: 1,
            channel_conversion: "grey_rgb".into(),
            normalize: "none".into(),
            patch: vec![256, 256],
            image_interp: "nearest".into(),
            augment: "ssl4mis".into(),
            random_crop: [1.0, 1.0],
            brightness: 0.0,
            contrast: 0.0,
            workers: 1,
            prefetch: 4,
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            name: "unet2d".into(),
            classes: 4,
            width: 1.0,
            feature_scale: 4,
            dim_mult: 4,
            perturb_all_levels: true,
            shared_noise: true,
            filters: 16,
            up_types: vec![0],
            feature_dim: 32,
            contrast_dim: 128,
        }
    }
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
            unlabeled_per_class: 12_800,
            correlation_temperature: 0.1,
            normalize_features: false,
            detach_correlation_target: false,
            weights: Default::default(),
        }
    }
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
            warmup: 0,
            lr_epoch: 0,
            val_every: 200,
            checkpoint_every: 3000,
            save_every: 100,
            device: "cpu".into(),
            precision: "f32".into(),
        }
    }
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            convention: "medpy".into(),
            test_best: true,
            resolution: "original".into(),
            logit_threshold: false,
            select_by: "dice".into(),
            units: "header".into(),
            stride: vec![18, 18, 4],
            blend: "average".into(),
            window_batch: 1,
        }
    }
}

/// Applies `key=value` overrides to a TOML document; the value is parsed as TOML (`3`, `0.5`,
/// `"text"`, `[1, 2]`) and falls back to a string.
pub fn apply_overrides(doc: &mut toml::Table, overrides: &[String]) -> Result<(), ConfigError> {
    for o in overrides {
        let Some((key, raw)) = o.split_once('=') else {
            return Err(ConfigError::Parse { origin: format!("--set {o}"), message: "expected key=value".into() });
        };
        let key = key.trim();
        let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_string()));
        let mut table = &mut *doc;
        let parts: Vec<&str> = key.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            let entry = table.entry(part.to_string()).or_insert_with(|| toml::Value::Table(Default::default()));
            table = entry.as_table_mut().ok_or_else(|| ConfigError::Parse { origin: format!("--set {o}"), message: format!("'{part}' is not a section") })?;
        }
        table.insert(parts[parts.len() - 1].to_string(), value);
    }
    Ok(())
}

/// Parses TOML text into `T` after applying `key=value` overrides; unknown keys are rejected
/// by `T`'s `deny_unknown_fields`, and the message names the origin and the key.
pub fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, origin: &str, overrides: &[String]) -> Result<T, ConfigError> {
    let mut doc: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Parse { origin: origin.into(), message: e.to_string() })?;
    apply_overrides(&mut doc, overrides)?;
    doc.try_into().map_err(|e: toml::de::Error| ConfigError::Parse { origin: origin.into(), message: e.to_string() })
}

/// Opens a device by name (`cpu`, `wgpu`, `cuda:N`; see [`DeviceChoice`]), without autodiff.
pub fn open_device(name: &str) -> Result<burn::prelude::Device, String> {
    let choice: DeviceChoice = name.parse().map_err(|e: semiseg_nn::device::DeviceError| e.to_string())?;
    choice.open().map_err(|e| e.to_string())
}

/// Reads a TOML file into `T` (see [`parse_toml`]).
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path, overrides: &[String]) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io { path: path.into(), source: e })?;
    parse_toml(&text, &path.display().to_string(), overrides)
}

impl Config {
    /// Parses TOML text (with overrides), rejecting unknown keys, then checks values.
    pub fn from_toml(text: &str, origin: &str, overrides: &[String]) -> Result<Self, ConfigError> {
        let cfg: Config = parse_toml(text, origin, overrides)?;
        cfg.check()?;
        Ok(cfg)
    }

    /// Reads a config file.
    pub fn from_file(path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        let cfg: Config = read_toml(path, overrides)?;
        cfg.check()?;
        Ok(cfg)
    }

    /// The fully resolved config as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises")
    }

    /// Checks every value once, naming the key of the first bad one.
    pub fn check(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, value: String, expected: &str| Err(ConfigError::Invalid { key: key.into(), value, expected: expected.into() });
        let one_of = |key: &str, v: &str, allowed: &[&str]| {
            if allowed.contains(&v) {
                Ok(())
            } else {
                bad(key, format!("\"{v}\""), &format!("expected one of {}", allowed.join(", ")))
            }
        };
        one_of("data.labeled_unit", &self.data.labeled_unit, &["cases", "patients"])?;
        one_of("data.labeled_draw", &self.data.labeled_draw, &["first", "shuffled", "stratified_class", "stratified_foreground"])?;
        one_of("data.normalize", &self.data.normalize, &["none", "divide255", "zscore", "imagenet", "imagenet_div255"])?;
        one_of("data.image_interp", &self.data.image_interp, &["nearest", "bilinear"])?;
        one_of("data.augment", &self.data.augment, &["ssl4mis", "flip_rot90", "hflip_vflip_rot90", "none", "rot_flip_crop", "crop"])?;
        one_of("model.name", &self.model.name, &["unet2d", "projunet", "mgcc", "vnet", "caml", "fbanet"])?;
        one_of("eval.blend", &self.eval.blend, &["average", "gaussian"])?;
        one_of("eval.units", &self.eval.units, &["header", "voxels"])?;
        one_of("method.name", &self.method.name, &crate::methods::NAMES)?;
        one_of("method.cps_init", &self.method.cps_init, &["default", "kaiming_xavier"])?;
        if let Err(e) = self.train.device.parse::<DeviceChoice>() {
            return bad("train.device", format!("\"{}\"", self.train.device), &e.to_string());
        }
        if let Err(e) = self.train.precision.parse::<Precision>() {
            return bad("train.precision", format!("\"{}\"", self.train.precision), &e);
        }
        one_of("train.optimizer", &self.train.optimizer, &["sgd", "adamw"])?;
        one_of("train.schedule", &self.train.schedule, &["poly", "constant", "cosine", "cosine_clcc"])?;
        one_of("eval.convention", &self.eval.convention, &semiseg_metrics::Convention::NAMES)?;
        one_of("eval.resolution", &self.eval.resolution, &["original", "network"])?;
        one_of("eval.select_by", &self.eval.select_by, &["dice", "jaccard"])?;
        one_of("data.channel_conversion", &self.data.channel_conversion, &["grey_rgb", "mean", "first", "none"])?;
        if self.method.rampup_epoch == 0 {
            return bad("method.rampup_epoch", "0".into(), "at least 1 iteration per ramp-up epoch");
        }
        if !(1..=16).contains(&self.data.channels) {
            return bad("data.channels", self.data.channels.to_string(), "expected 1 to 16");
        }
        if self.data.patch.iter().any(|&p| p == 0 || p % 16 != 0) {
            return bad("data.patch", format!("{:?}", self.data.patch), "each side must be a positive multiple of 16 (four 2x poolings)");
        }
        let sides = if self.is_volumetric() { 3 } else { 2 };
        if self.data.patch.len() != sides {
            return bad("data.patch", format!("{:?}", self.data.patch), &format!("{} takes a {sides}-D patch ({sides} sides)", self.model.name));
        }
        if self.is_volumetric() {
            self.check_volume_nets()?;
        } else if ["rot_flip_crop", "crop"].contains(&self.data.augment.as_str()) {
            return bad("data.augment", format!("\"{}\"", self.data.augment), "volume augmentation needs a 3-D network (vnet, caml, fbanet)");
        }
        let [lo, hi] = self.data.random_crop;
        if !(0.0 < lo && lo <= hi && hi <= 1.0) {
            return bad("data.random_crop", format!("{:?}", self.data.random_crop), "[lo, hi] with 0 < lo <= hi <= 1");
        }
        if !(0.0..1.0).contains(&self.data.brightness) || !(0.0..1.0).contains(&self.data.contrast) {
            return bad("data.brightness/contrast", format!("{} / {}", self.data.brightness, self.data.contrast), "each in [0, 1)");
        }
        self.check_binary_nets()?;
        if !self.data.random_split.is_empty() {
            let f = &self.data.random_split;
            if !(2..=3).contains(&f.len()) || f.iter().any(|&x| !(x > 0.0)) || (f.iter().sum::<f64>() - 1.0).abs() > 1e-6 {
                return bad("data.random_split", format!("{f:?}"), "2 or 3 positive fractions ([train, test] or [train, val, test]) summing to 1");
            }
        }
        if self.model.classes < 2 {
            return bad("model.classes", self.model.classes.to_string(), "at least 2 (background and one class)");
        }
        if !(self.model.width > 0.0 && self.model.width <= 8.0) {
            return bad("model.width", self.model.width.to_string(), "in (0, 8]");
        }
        if self.train.iterations == 0 {
            return bad("train.iterations", "0".into(), "at least 1");
        }
        if self.train.labeled_batch == 0 || self.train.labeled_batch > self.train.batch {
            return bad("train.labeled_batch", self.train.labeled_batch.to_string(), &format!("between 1 and train.batch = {}", self.train.batch));
        }
        if self.method.name != "supervised" && self.train.labeled_batch == self.train.batch {
            return bad("train.labeled_batch", self.train.labeled_batch.to_string(), "a semi-supervised method needs unlabeled samples in the batch (labeled_batch < batch)");
        }
        if !(self.train.lr > 0.0) {
            return bad("train.lr", self.train.lr.to_string(), "positive");
        }
        if !(0.0..1.0).contains(&self.method.ema_decay) {
            return bad("method.ema_decay", self.method.ema_decay.to_string(), "in [0, 1)");
        }
        if self.data.val_holdout > 0 && !self.data.val_split.is_empty() {
            return bad("data.val_holdout", self.data.val_holdout.to_string(), &format!("validation comes from a list (data.val_split = \"{}\") or is held out, not both: set data.val_split = \"\"", self.data.val_split));
        }
        if self.data.labeled == 0 {
            return bad("data.labeled", "0".into(), "at least 1");
        }
        let terms = crate::methods::terms_of(&self.method.name);
        for (k, w) in &self.method.weights {
            if !terms.contains(&k.as_str()) {
                return bad(&format!("method.weights.{k}"), w.to_string(), &format!("{} has loss terms {}", self.method.name, terms.join(", ")));
            }
            if !w.is_finite() || *w < 0.0 {
                return bad(&format!("method.weights.{k}"), w.to_string(), "a finite weight >= 0");
            }
        }
        Ok(())
    }

    /// The plain (no autodiff) device of `train.device`, opened; training wraps it in autodiff.
    pub fn device(&self) -> Result<burn::prelude::Device, String> {
        open_device(&self.train.device)
    }

    /// The precision of `train.precision` (validated when the config was read).
    pub fn precision(&self) -> Precision {
        self.train.precision.parse().unwrap_or_default()
    }

    /// Whether the network is 3-D (V-Net family): volumes in, sliding-window inference.
    pub fn is_volumetric(&self) -> bool {
        ["vnet", "caml", "fbanet"].contains(&self.model.name.as_str())
    }

    /// The 3-D networks with their methods, decoders, classes, augmentation and windows.
    fn check_volume_nets(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, value: String, expected: &str| Err(ConfigError::Invalid { key: key.into(), value, expected: expected.into() });
        let (model, method) = (self.model.name.as_str(), self.method.name.as_str());
        let allowed: &[&str] = match model {
            "caml" => &["caml"],
            "fbanet" => &["fbanet"],
            _ => &["supervised", "mean_teacher", "ua_mt", "mcnet"],
        };
        if !allowed.contains(&method) {
            return bad("method.name", format!("\"{method}\""), &format!("{model} is trained by {}", allowed.join(" or ")));
        }
        if ["caml", "fbanet", "mcnet"].contains(&method) && self.model.classes != 2 {
            return bad("model.classes", self.model.classes.to_string(), &format!("{method} segments one foreground class: classes = 2"));
        }
        let decoders = self.model.up_types.len();
        if self.model.up_types.iter().any(|&u| u > 2) || decoders == 0 || decoders > 3 {
            return bad("model.up_types", format!("{:?}", self.model.up_types), "1 to 3 decoders, each of type 0 (transposed conv), 1 (trilinear) or 2 (nearest)");
        }
        if model == "fbanet" && self.model.up_types.iter().enumerate().any(|(i, &u)| i != u) {
            return bad("model.up_types", format!("{:?}", self.model.up_types), "FBA-Net's decoders are [0] (FBA-Net) or [0, 1, 2] (FBA-Net+), types in order");
        }
        if method == "mcnet" && decoders < 2 {
            return bad("model.up_types", format!("{:?}", self.model.up_types), "mcnet needs at least two decoders (MC-Net+: [0, 1, 2])");
        }
        if ["supervised", "mean_teacher", "ua_mt"].contains(&method) && decoders != 1 {
            return bad("model.up_types", format!("{:?}", self.model.up_types), &format!("{method} trains a one-decoder V-Net: [0]"));
        }
        if !["rot_flip_crop", "crop"].contains(&self.data.augment.as_str()) {
            return bad("data.augment", format!("\"{}\"", self.data.augment), "a 3-D network takes rot_flip_crop or crop");
        }
        if self.eval.stride.len() != 3 || self.eval.stride.contains(&0) {
            return bad("eval.stride", format!("{:?}", self.eval.stride), "three positive strides [H, W, D]");
        }
        if self.eval.window_batch == 0 {
            return bad("eval.window_batch", "0".into(), "at least 1");
        }
        if self.eval.resolution != "original" {
            return bad("eval.resolution", format!("\"{}\"", self.eval.resolution), "3-D networks score at the original resolution");
        }
        if self.model.filters == 0 || self.model.feature_dim == 0 || self.model.contrast_dim == 0 {
            return bad("model.filters/feature_dim/contrast_dim", format!("{} / {} / {}", self.model.filters, self.model.feature_dim, self.model.contrast_dim), "positive");
        }
        if !(self.method.sharpen_temperature > 0.0 && self.method.correlation_temperature > 0.0) {
            return bad("method.sharpen_temperature/correlation_temperature", format!("{} / {}", self.method.sharpen_temperature, self.method.correlation_temperature), "positive");
        }
        Ok(())
    }

    /// The pairing of the one-logit networks with their methods (CLCC: projunet, MGCC: mgcc).
    fn check_binary_nets(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, value: String, expected: &str| Err(ConfigError::Invalid { key: key.into(), value, expected: expected.into() });
        let (model, method) = (self.model.name.as_str(), self.method.name.as_str());
        if self.is_volumetric() {
            return Ok(());
        }
        if ["mcnet", "caml", "fbanet"].contains(&method) {
            return bad("model.name", format!("\"{model}\""), &format!("{method} trains a 3-D network ({})", if method == "mcnet" { "vnet" } else { method }));
        }
        for (m, net) in [("clcc", "projunet"), ("mgcc", "mgcc")] {
            if method == m && model != net {
                return bad("model.name", format!("\"{model}\""), &format!("{m} trains the \"{net}\" network"));
            }
            if model == net && ![m, "supervised"].contains(&method) {
                return bad("method.name", format!("\"{method}\""), &format!("{net} is trained by supervised or {m}"));
            }
        }
        if model == "unet2d" {
            return Ok(());
        }
        if self.model.classes != 2 {
            return bad("model.classes", self.model.classes.to_string(), &format!("{model} has one sigmoid logit: classes = 2 (background, foreground)"));
        }
        if !(1..=8).contains(&self.model.dim_mult) {
            return bad("model.dim_mult", self.model.dim_mult.to_string(), "between 1 and 8");
        }
        if ![1, 2, 4, 8, 16].contains(&self.model.feature_scale) {
            return bad("model.feature_scale", self.model.feature_scale.to_string(), "one of 1, 2, 4, 8, 16");
        }
        let [h, w] = self.data.patch2();
        if self.method.name == "clcc" && (h != w || h % semiseg_nn::nets::PROJ_STRIDE != 0) {
            return bad("data.patch", format!("{:?}", self.data.patch), "clcc needs a square patch, a multiple of 64 (a grid of 64x64 patches; 320 = 5x5)");
        }
        Ok(())
    }

    /// The multiplier of a loss term (1 unless `method.weights` says otherwise).
    pub fn term_weight(&self, term: &str) -> f64 {
        self.method.weights.get(term).copied().unwrap_or(1.0)
    }
}
