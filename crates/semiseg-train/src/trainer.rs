//! The training loop: batches from the workers, the method's named loss terms, one optimizer
//! step, EMA, logs, validation on the validation split, checkpoints (`last`, `best` on
//! validation, periodic) written atomically, resume from `last`, and a clean stop on request.
//!
//! Every random stream is derived from `cfg.seed` and the iteration: the batch of iteration `t`
//! (sampling and augmentation) and the dropout / noise draws (the device RNG is reseeded each
//! step), so a resumed run continues exactly as if it had never stopped.

use crate::checkpoint::{self, TrainState};
use crate::config::Config;
use crate::data::sampler::derive_seed;
use crate::data::{Batch, BatchLoader, TrainingSet, TwoStreamSampler};
use crate::evaluate::{evaluate, with_scoring, write_report};
use crate::loss_scale::LossScale;
use crate::losses::one_hot_nd;
use crate::methods::{self, DeviceBatch, Method};
use crate::step::{take_step, Refused};
use burn::prelude::*;
use burn::tensor::TensorData;
use semiseg_data::layout::{detect, Case, Dataset};
use semiseg_data::split::{class_prefix, redraw_splits, select_labeled, LabeledDraw, LabeledSelection, LabeledSplit, LabeledUnit};
use std::collections::BTreeMap;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// What the caller sees during training (progress bar, messages).
pub trait Observer {
    /// After each step.
    fn step(&mut self, _t: usize, _total: usize, _loss: f64, _lr: f64) {}
    /// After each validation: the `eval.select_by` metric's mean.
    fn validated(&mut self, _t: usize, _metric: &str, _score: f64, _best: bool) {}
    /// A line for the user.
    fn message(&mut self, _text: &str) {}
}

/// An observer that says nothing.
pub struct Quiet;
impl Observer for Quiet {}

/// The files of a run directory.
#[derive(Debug, Clone)]
pub struct RunDir(pub PathBuf);

impl RunDir {
    /// `config.toml` (fully resolved).
    pub fn config(&self) -> PathBuf {
        self.0.join("config.toml")
    }
    /// `train.jsonl`.
    pub fn log(&self) -> PathBuf {
        self.0.join("train.jsonl")
    }
    /// `checkpoints/<name>.ckpt`.
    pub fn checkpoint(&self, name: &str) -> PathBuf {
        self.0.join("checkpoints").join(format!("{name}.ckpt"))
    }
    /// `eval/<name>/`.
    pub fn eval(&self, name: &str) -> PathBuf {
        self.0.join("eval").join(name)
    }
}

/// How a training run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// All iterations done; the test summaries (last, and best-on-validation if any).
    Finished {
        /// Mean foreground Dice on the test split with the last checkpoint (None without a test split).
        test_dice_last: Option<f64>,
        /// The same with the best-on-validation checkpoint.
        test_dice_best: Option<f64>,
    },
    /// Stopped on request after this many iterations; `last` holds the state.
    Interrupted(usize),
}

/// The training data of a config: labeled and unlabeled samples (2-D, or volumes for a 3-D
/// network), and the cases of the other splits.
pub struct TrainData {
    /// Labeled and unlabeled samples.
    pub samples: TrainingSet,
    /// Validation cases.
    pub val: Vec<Case>,
    /// Test cases.
    pub test: Vec<Case>,
    /// Every split of the dataset as the config draws them (for the run's record).
    pub splits: BTreeMap<String, Vec<Case>>,
    /// Ids of the labeled training cases, in the order drawn (for the run's record).
    pub labeled_ids: Vec<String>,
}

/// The splits of the config's dataset: its own lists, or redrawn when `data.random_split` is set.
pub fn dataset_splits(cfg: &Config) -> Result<BTreeMap<String, Vec<Case>>, String> {
    read_splits(&cfg.data.root, &cfg.data.random_split, cfg.data.split_seed)
}

/// The splits of the dataset at `root`: its own lists, or redrawn from `fractions` (non-empty).
pub fn read_splits(root: &Path, fractions: &[f64], seed: u64) -> Result<BTreeMap<String, Vec<Case>>, String> {
    Ok(read_dataset(root, fractions, seed)?.splits)
}

/// The dataset at `root` (layout, declared labels) with its splits as [`read_splits`] draws them.
pub fn read_dataset(root: &Path, fractions: &[f64], seed: u64) -> Result<Dataset, String> {
    let mut ds = detect(root).map_err(|e| e.to_string())?;
    if !fractions.is_empty() {
        ds.splits = redraw_splits(&ds.splits, fractions, seed);
    }
    Ok(ds)
}

/// The cases of split `name` of `splits`, or an error naming the dataset and the splits it has.
pub fn split_cases<'a>(splits: &'a BTreeMap<String, Vec<Case>>, name: &str, cfg: &Config) -> Result<&'a [Case], String> {
    splits.get(name).map(Vec::as_slice).ok_or_else(|| {
        let have: Vec<&str> = splits.keys().map(String::as_str).collect();
        format!("{}: no split '{name}' (has: {}; data.random_split can draw train/val/test)", cfg.data.root.display(), have.join(", "))
    })
}

/// Reads the dataset and splits it as the config says.
pub fn load_data(cfg: &Config) -> Result<TrainData, String> {
    let splits = dataset_splits(cfg)?;
    let train = split_cases(&splits, &cfg.data.train_split, cfg)?;
    let split = labeled_split(cfg, train)?;
    if split.labeled.is_empty() {
        return Err(format!("{}: split '{}' has no labeled case", cfg.data.root.display(), cfg.data.train_split));
    }
    let (held_out, mut unlabeled_cases) = hold_out(split.unlabeled, cfg)?;
    for dir in &cfg.data.unlabeled_dirs {
        let extra = semiseg_data::layout::detect(dir).map_err(|e| e.to_string())?;
        for cases in extra.splits.values() {
            unlabeled_cases.extend(cases.iter().map(|c| Case { label: None, ..c.clone() }));
        }
    }
    if cfg.method.name == "supervised" {
        unlabeled_cases.clear();
    }
    let samples = TrainingSet::load(&split.labeled, &unlabeled_cases, &cfg.data, cfg.is_volumetric()).map_err(|e| e.to_string())?;
    let pick = |name: &str| -> Result<Vec<Case>, String> {
        if name.is_empty() {
            Ok(Vec::new())
        } else {
            Ok(split_cases(&splits, name, cfg)?.to_vec())
        }
    };
    let (val, test) = (if held_out.is_empty() { pick(&cfg.data.val_split)? } else { held_out.clone() }, pick(&cfg.data.test_split)?);
    let labeled_ids = split.labeled.iter().map(|c| c.id.clone()).collect();
    let mut splits = splits;
    if !held_out.is_empty() {
        splits.insert("val_holdout".into(), held_out);
    }
    Ok(TrainData { samples, val, test, splits, labeled_ids })
}

/// `data.val_holdout` patients of `unlabeled` (labeled cases only), drawn with `split_seed`, and
/// the rest; nothing held out when it is 0.
fn hold_out(unlabeled: Vec<Case>, cfg: &Config) -> Result<(Vec<Case>, Vec<Case>), String> {
    let n = cfg.data.val_holdout;
    if n == 0 {
        return Ok((Vec::new(), unlabeled));
    }
    let pool: Vec<Case> = unlabeled.iter().filter(|c| c.label.is_some()).cloned().collect();
    let drawn = select_labeled(&pool, LabeledSelection { n, unit: LabeledUnit::Patients, draw: LabeledDraw::Shuffled { seed: cfg.data.split_seed } }, &|_| String::new()).labeled;
    let patients: std::collections::BTreeSet<&str> = drawn.iter().map(|c| c.patient.as_str()).collect();
    if patients.len() < n {
        return Err(format!("data.val_holdout = {n}: the unlabeled part of split '{}' has only {} labeled patients", cfg.data.train_split, patients.len()));
    }
    let rest = unlabeled.into_iter().filter(|c| !patients.contains(c.patient.as_str())).collect();
    Ok((drawn, rest))
}

/// The training cases split into labeled and unlabeled as `data.labeled`, `labeled_unit` and
/// `labeled_draw` say (a foreground-stratified draw reads every candidate's mask).
pub fn labeled_split(cfg: &Config, train: &[Case]) -> Result<LabeledSplit, String> {
    let d = &cfg.data;
    let unit = if d.labeled_unit == "patients" { LabeledUnit::Patients } else { LabeledUnit::Cases };
    let seed = d.labeled_seed.unwrap_or(d.split_seed);
    let draw_name = d.effective_labeled_draw();
    let draw = match draw_name {
        "first" => LabeledDraw::First,
        "shuffled" => LabeledDraw::Shuffled { seed },
        _ => LabeledDraw::Stratified { seed },
    };
    let selection = LabeledSelection { n: d.labeled, unit, draw };
    if draw_name != "stratified_foreground" {
        return Ok(select_labeled(train, selection, &|c: &Case| class_prefix(&c.id).to_string()));
    }
    let mut has_foreground = BTreeMap::new();
    for c in train.iter().filter(|c| c.label.is_some()) {
        let label = c.read_label().map_err(|e| e.to_string())?;
        has_foreground.insert(c.id.clone(), label.is_some_and(|l| l.foreground_fraction() > 0.0));
    }
    Ok(select_labeled(train, selection, &|c: &Case| if has_foreground.get(&c.id) == Some(&true) { "foreground".into() } else { "empty".into() }))
}

/// Whether a validation score beats the best so far; NaN (e.g. MONAI's Dice on a split without
/// foreground) ranks below every number, so it never blocks a later real score.
pub fn improves(score: f64, best: Option<f64>) -> bool {
    match best {
        None => true,
        Some(b) if b.is_nan() => !score.is_nan(),
        Some(b) => score > b,
    }
}

/// Writes the case ids of every split into `<run>/splits/<name>.list`, so a drawn split is on
/// record next to the results.
fn write_split_lists(data: &TrainData, run: &RunDir) -> Result<(), String> {
    let ids = |cases: &Vec<Case>| cases.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    let lists = data.splits.iter().map(|(name, cases)| (format!("{name}.list"), ids(cases))).chain([("labeled.txt".to_string(), data.labeled_ids.clone())]);
    for (file, ids) in lists {
        let text: String = ids.iter().map(|id| format!("{id}\n")).collect();
        semiseg_data::io::atomic::write_bytes(&run.0.join("splits").join(file), text.as_bytes()).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The batch as rank-`D` tensors: images `[B, C, ...]` and the labeled part one-hot.
fn to_device<const D: usize>(b: &Batch, classes: usize, device: &Device) -> DeviceBatch<D> {
    let shape: Vec<usize> = [b.batch, b.channels].iter().chain(&b.size).copied().collect();
    let images = Tensor::<D>::from_data(TensorData::new(b.images.clone(), shape), device);
    let voxels: usize = b.size.iter().product();
    let one_hot = one_hot_nd(&b.labels[..b.labeled * voxels], b.labeled, classes, &b.size, device);
    DeviceBatch { images, one_hot, labeled: b.labeled, labeled_indices: b.labeled_indices.clone() }
}

fn append_log(path: &Path, record: &serde_json::Value) -> Result<(), String> {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    writeln!(f, "{record}").map_err(|e| format!("{}: {e}", path.display()))
}

/// Keeps the log lines up to `iteration` (a resumed run rewrites what came after).
fn truncate_log(path: &Path, iteration: usize) -> Result<(), String> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(()) };
    let kept: String = text
        .lines()
        .filter(|l| serde_json::from_str::<serde_json::Value>(l).ok().and_then(|v| v["iter"].as_u64()).is_some_and(|i| i as usize <= iteration))
        .map(|l| format!("{l}\n"))
        .collect();
    semiseg_data::io::atomic::write_bytes(path, kept.as_bytes()).map_err(|e| e.to_string())
}

/// Mean foreground `eval.select_by` metric (Dice or Jaccard) of `net` on `cases`.
fn validation_score<const D: usize>(method: &dyn Method<D>, cases: &[Case], cfg: &Config) -> Result<f64, String> {
    let rows = evaluate(&method.inference_net(), cases, cfg, &cfg.device()?, &|| {})?;
    Ok(semiseg_metrics::Summary::of(&rows).overall[cfg.eval.select_by.as_str()].mean)
}

/// Trains `cfg` in `run`, from scratch or from `last` when `resume` is set.
pub fn train(cfg: &Config, run: &RunDir, resume: bool, stop: &AtomicBool, obs: &mut dyn Observer) -> Result<Outcome, String> {
    std::fs::create_dir_all(run.0.join("checkpoints")).map_err(|e| format!("{}: {e}", run.0.display()))?;
    let data = load_data(cfg)?;
    let (n_labeled, n_unlabeled) = data.samples.counts();
    obs.message(&format!(
        "data: {n_labeled} labeled and {n_unlabeled} unlabeled training {}, {} validation and {} test cases",
        if cfg.is_volumetric() { "volumes" } else { "samples" },
        data.val.len(),
        data.test.len()
    ));
    if cfg.data.labeled_draw == "auto" {
        obs.message(&format!("labeled draw: {} (data.labeled_draw = \"auto\" on {})", cfg.data.effective_labeled_draw(), if cfg.data.random_split.is_empty() { "the dataset's own lists" } else { "a redrawn split" }));
    }
    let train_ids: Vec<&str> = data.splits.get(&cfg.data.train_split).map_or(Vec::new(), |cases| cases.iter().map(|c| c.id.as_str()).collect());
    if let Some(warning) = semiseg_data::id_classes::one_class_labeled(&train_ids, &data.labeled_ids) {
        obs.message(&format!("warning: {warning}"));
    }
    let supervised = cfg.method.name == "supervised";
    let (lb, ub) = if supervised { (cfg.train.labeled_batch, 0) } else { (cfg.train.labeled_batch, cfg.train.batch - cfg.train.labeled_batch) };
    let sampler = TwoStreamSampler::new(n_labeled, n_unlabeled, lb, ub, cfg.seed)
        .ok_or_else(|| format!("{n_labeled} labeled / {n_unlabeled} unlabeled samples cannot fill batches of {lb} + {ub}"))?;

    let device = cfg.device()?.autodiff();
    device.seed(derive_seed(cfg.seed, 5, 0));
    if !semiseg_nn::device::is_cpu(&device) {
        obs.message(&format!("training on {}: `semiseg doctor --device {}` checks in minutes that this device trains like the CPU (docs/gpu.md)", cfg.train.device, cfg.train.device));
    }
    if cfg.is_volumetric() {
        train_loop::<5>(methods::build_volume(cfg, &device), &device, data, sampler, cfg, run, resume, stop, obs)
    } else {
        train_loop::<4>(methods::build(cfg, &device), &device, data, sampler, cfg, run, resume, stop, obs)
    }
}

/// The loop of [`train`] for a method on batches of rank `D`.
#[allow(clippy::too_many_arguments)]
fn train_loop<const D: usize>(
    mut method: Box<dyn Method<D>>,
    device: &Device,
    data: TrainData,
    sampler: TwoStreamSampler,
    cfg: &Config,
    run: &RunDir,
    resume: bool,
    stop: &AtomicBool,
    obs: &mut dyn Observer,
) -> Result<Outcome, String> {
    let precision = cfg.precision();
    precision.check(device)?;
    let mut state = TrainState { loss_scale: LossScale::for_precision(precision), ..Default::default() };
    if resume {
        let (s, parts) = checkpoint::load(&run.checkpoint("last"))?;
        method.load(&parts)?;
        // A run resumed with another precision starts that precision's loss scale afresh.
        let scale = if s.loss_scale.dynamic == state.loss_scale.dynamic { s.loss_scale } else { state.loss_scale };
        state = TrainState { loss_scale: scale, ..s };
        truncate_log(&run.log(), state.iteration)?;
        obs.message(&format!("resumed at iteration {}", state.iteration));
    } else {
        semiseg_data::io::atomic::write_bytes(&run.config(), cfg.to_toml().as_bytes()).map_err(|e| e.to_string())?;
        write_split_lists(&data, run)?;
        let _ = std::fs::remove_file(run.log());
    }
    if !cfg.data.val_split.is_empty() && cfg.data.val_split == cfg.data.test_split {
        obs.message("warning: the validation split is the test split: the best checkpoint is chosen on test data (reports say so)");
    }
    let total = cfg.train.iterations;
    let mut loader = BatchLoader::start(data.samples.batches(sampler, &cfg.data, cfg.seed), &cfg.data, state.iteration, total);
    let save = |state: &TrainState, method: &dyn Method<D>, name: &str| checkpoint::save(&run.checkpoint(name), state, &method.save()).map_err(|e| e.to_string());

    while state.iteration < total {
        let t = state.iteration;
        let started = Instant::now();
        let batch = loader.next_batch().ok_or("batch workers stopped")?;
        let db = to_device::<D>(&batch, cfg.model.classes, device);
        device.seed(derive_seed(cfg.seed, 4, t as u64));
        // A forward pass refused inside a network (e.g. batch norm on one value per channel)
        // ends the run with its reason and the iteration, not a crash; so does a loss that is
        // not finite, before it poisons a weight.
        let scale_used = state.loss_scale.scale;
        let step = take_step(method.as_mut(), &db, t, cfg, &mut state.loss_scale).map_err(|refused| match refused {
            Refused::Forward(reason) => format!("iteration {}: {reason}", t + 1),
            Refused::NotFinite(loss, terms) => {
                let kept = checkpoint::load(&run.checkpoint("last")).map(|(s, _)| format!("checkpoints/last.ckpt still holds iteration {}", s.iteration)).unwrap_or_else(|_| "no checkpoint was written yet".into());
                format!("loss is {loss} at iteration {} (terms {terms}); no step was taken and {kept}", t + 1)
            }
        })?;
        let mut record = json!({"iter": t + 1, "lr": step.lr, "loss": step.loss});
        if state.loss_scale.dynamic {
            record["loss_scale"] = json!(scale_used);
            record["step_skipped"] = json!(step.skipped);
        }
        state.iteration = t + 1;
        let secs = started.elapsed().as_secs_f64();
        record["terms"] = step.terms_json();
        record["seconds"] = json!(secs);
        record["it_s"] = json!(1.0 / secs.max(1e-9));
        append_log(&run.log(), &record)?;
        obs.step(state.iteration, total, step.loss, step.lr);

        let it = state.iteration;
        if cfg.train.val_every > 0 && !data.val.is_empty() && it >= cfg.train.val_start && (it % cfg.train.val_every == 0 || it == total) {
            let score = validation_score(method.as_ref(), &data.val, cfg)?;
            let best = improves(score, state.best_score);
            if best {
                state.best_score = Some(score);
                state.best_iteration = Some(it);
                save(&state, method.as_ref(), "best")?;
            }
            let metric = &cfg.eval.select_by;
            append_log(&run.log(), &json!({"iter": it, format!("val_{metric}"): score, "val_metric": metric, "best": best}))?;
            obs.validated(it, metric, score, best);
        }
        if cfg.train.checkpoint_every > 0 && it % cfg.train.checkpoint_every == 0 {
            save(&state, method.as_ref(), &format!("iter_{it}"))?;
        }
        if it == total || (cfg.train.save_every > 0 && it % cfg.train.save_every == 0) {
            save(&state, method.as_ref(), "last")?;
        }
        if stop.load(Ordering::SeqCst) && it < total {
            save(&state, method.as_ref(), "last")?;
            return Ok(Outcome::Interrupted(it));
        }
    }
    drop(loader);
    let mut outcome = Outcome::Finished { test_dice_last: None, test_dice_best: None };
    if !data.test.is_empty() {
        let last = test_report(cfg, run, "last", &data.test, obs)?;
        let best = if cfg.eval.test_best && state.best_iteration.is_some() { Some(test_report(cfg, run, "best", &data.test, obs)?) } else { None };
        outcome = Outcome::Finished { test_dice_last: Some(last), test_dice_best: best };
    }
    Ok(outcome)
}

/// Evaluates checkpoint `name` of `run` on `cases`, writing `eval/test_<name>/`.
pub fn test_report(cfg: &Config, run: &RunDir, name: &str, cases: &[Case], obs: &mut dyn Observer) -> Result<f64, String> {
    let (state, parts) = checkpoint::load(&run.checkpoint(name))?;
    let rows = evaluate(&methods::inference_net_from(cfg, &parts)?, cases, cfg, &cfg.device()?, &|| {})?;
    let meta = json!({
        "checkpoint": name, "iteration": state.iteration, "split": cfg.data.test_split,
        "selection": match (name, cfg.data.val_split == cfg.data.test_split) {
            ("best", true) => format!("best mean {} on the validation split, WHICH IS THE TEST SPLIT (optimistic)", cfg.eval.select_by),
            ("best", false) => format!("best mean {} on the validation split", cfg.eval.select_by),
            _ => "last iteration".to_string(),
        },
    });
    let summary = write_report(&run.eval(&format!("test_{name}")), &rows, with_scoring(meta, cfg)).map_err(|e| e.to_string())?;
    let dice = summary.overall["dice"].mean;
    obs.message(&format!("test ({name} checkpoint, iteration {}): Dice {:.4}, HD95 {:.2}", state.iteration, dice, summary.overall["hd95"].mean));
    Ok(dice)
}

/// A trained checkpoint ready for prediction.
pub struct LoadedRun {
    /// The run's config.
    pub cfg: Config,
    /// The inference network.
    pub net: semiseg_nn::nets::Segmenter,
    /// The run directory.
    pub dir: PathBuf,
    /// The iteration the checkpoint was saved at.
    pub iteration: usize,
    /// The (plain) device the network is on.
    pub device: Device,
}

/// The config of a run and the inference network of one of its checkpoints (`best`, `last`,
/// `iter_N`, or a path to a `.ckpt` file inside a run's `checkpoints/`).
/// The network goes on `device` when given (`--device`), else on the run's `train.device`.
pub fn load_run(run: Option<&Path>, checkpoint: &str, device: Option<&str>) -> Result<LoadedRun, String> {
    let as_path = PathBuf::from(checkpoint);
    let (run_dir, ckpt) = if as_path.extension().is_some_and(|e| e == "ckpt") {
        let dir = as_path.parent().and_then(Path::parent).map(Path::to_path_buf).ok_or_else(|| format!("{checkpoint}: expected <run>/checkpoints/<name>.ckpt"))?;
        (dir, as_path)
    } else {
        let dir = run.ok_or("give --run DIR, or --checkpoint as a path to a .ckpt file")?.to_path_buf();
        let p = RunDir(dir.clone()).checkpoint(checkpoint);
        (dir, p)
    };
    let overrides: Vec<String> = device.map(|d| format!("train.device=\"{d}\"")).into_iter().collect();
    let cfg = Config::from_file(&run_dir.join("config.toml"), &overrides).map_err(|e| e.to_string())?;
    let (state, parts) = checkpoint::load(&ckpt)?;
    Ok(LoadedRun { net: methods::inference_net_from(&cfg, &parts)?, device: cfg.device()?, cfg, dir: run_dir, iteration: state.iteration })
}

#[cfg(test)]
mod tests {
    use super::improves;

    #[test]
    fn nan_validation_ranks_below_every_number() {
        assert!(improves(f64::NAN, None), "the first validation is the best so far");
        assert!(improves(0.1, Some(f64::NAN)), "a real score replaces a NaN best");
        assert!(!improves(f64::NAN, Some(0.1)));
        assert!(!improves(f64::NAN, Some(f64::NAN)));
        assert!(improves(0.5, Some(0.4)) && !improves(0.4, Some(0.4)));
    }
}
