//! `[data]`: where the data is and how it becomes training samples.

use super::check::{bad, one_of};
use super::ConfigError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
    /// How the labeled units are drawn from the training split: `auto` (the default: `first`
    /// on a dataset's own lists, `shuffled` when `random_split` redrew them, whose train list
    /// is in id order and would label one class of a class-sorted folder), `first` (list
    /// order: UA-MT, SSL4MIS, CAML, FBA-Net), `shuffled` (a seeded shuffle, then the first:
    /// MGCC's split), `stratified_class` (shuffled within each class named by the id prefix,
    /// e.g. BUSI's benign / malignant / normal, in proportion) or `stratified_foreground` (the
    /// same with two strata: masks with and without foreground). Written to
    /// `<run>/splits/labeled.txt`.
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
/// The values of `data.labeled_draw`.
pub const LABELED_DRAWS: [&str; 5] = ["auto", "first", "shuffled", "stratified_class", "stratified_foreground"];

impl DataConfig {
    /// The draw `labeled_draw` stands for: `auto` resolved (`shuffled` on a redrawn split,
    /// else `first`), any other value as given.
    pub fn effective_labeled_draw(&self) -> &str {
        match self.labeled_draw.as_str() {
            "auto" if self.random_split.is_empty() => "first",
            "auto" => "shuffled",
            other => other,
        }
    }

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
            labeled_draw: "auto".into(),
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
impl DataConfig {
    /// Checks the values that need no other section (patch sides against the network are
    /// checked with the model).
    pub fn check(&self) -> Result<(), ConfigError> {
        one_of("data.labeled_unit", &self.labeled_unit, &["cases", "patients"])?;
        one_of("data.labeled_draw", &self.labeled_draw, &LABELED_DRAWS)?;
        one_of("data.normalize", &self.normalize, &["none", "divide255", "zscore", "imagenet", "imagenet_div255"])?;
        one_of("data.image_interp", &self.image_interp, &["nearest", "bilinear"])?;
        one_of("data.augment", &self.augment, &["ssl4mis", "flip_rot90", "hflip_vflip_rot90", "none", "rot_flip_crop", "crop"])?;
        one_of("data.channel_conversion", &self.channel_conversion, &["grey_rgb", "mean", "first", "none"])?;
        if !(1..=16).contains(&self.channels) {
            return bad("data.channels", self.channels.to_string(), "expected 1 to 16");
        }
        if self.patch.iter().any(|&p| p == 0 || p % 16 != 0) {
            return bad("data.patch", format!("{:?}", self.patch), "each side must be a positive multiple of 16 (four 2x poolings)");
        }
        let [lo, hi] = self.random_crop;
        if !(0.0 < lo && lo <= hi && hi <= 1.0) {
            return bad("data.random_crop", format!("{:?}", self.random_crop), "[lo, hi] with 0 < lo <= hi <= 1");
        }
        if !(0.0..1.0).contains(&self.brightness) || !(0.0..1.0).contains(&self.contrast) {
            return bad("data.brightness/contrast", format!("{} / {}", self.brightness, self.contrast), "each in [0, 1)");
        }
        if !self.random_split.is_empty() {
            let f = &self.random_split;
            if !(2..=3).contains(&f.len()) || f.iter().any(|&x| !(x > 0.0)) || (f.iter().sum::<f64>() - 1.0).abs() > 1e-6 {
                return bad("data.random_split", format!("{f:?}"), "2 or 3 positive fractions ([train, test] or [train, val, test]) summing to 1");
            }
        }
        if self.val_holdout > 0 && !self.val_split.is_empty() {
            return bad("data.val_holdout", self.val_holdout.to_string(), &format!("validation comes from a list (data.val_split = \"{}\") or is held out, not both: set data.val_split = \"\"", self.val_split));
        }
        if self.labeled == 0 {
            return bad("data.labeled", "0".into(), "at least 1");
        }
        Ok(())
    }
}
