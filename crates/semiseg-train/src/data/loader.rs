//! Background workers that build batch `t` (sample, augment, resize, stack) ahead of the trainer.
//! The batch of a 2-D config is built here; volumes have theirs in `volumes`.
//!
//! Worker `w` of `W` builds batches `start + w`, `start + w + W`, ... into its own bounded
//! channel; the trainer takes them round-robin, so batches arrive in order and each is a pure
//! function of (seed, t): the same after a resume, whatever the number of workers.

use super::augment::{augment_with, Extra, Interp};
use super::prepare::Sample;
use super::sampler::{derive_seed, TwoStreamSampler};
use crate::config::DataConfig;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

/// One training batch on the host: labeled samples first.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The iteration it belongs to.
    pub iteration: usize,
    /// `[B, C, ...size]` row-major.
    pub images: Vec<f32>,
    /// `[B, ...size]` class indices (zeros for unlabeled samples).
    pub labels: Vec<u8>,
    /// Batch size B.
    pub batch: usize,
    /// How many of the B are labeled (the first ones).
    pub labeled: usize,
    /// Index of each labeled sample in the labeled set (CAML keys its memory by it).
    pub labeled_indices: Vec<usize>,
    /// Channels C.
    pub channels: usize,
    /// Spatial size: `[H, W]`, or `[H, W, D]` for volumes.
    pub size: Vec<usize>,
}

/// Builds one batch.
pub fn build_batch(t: usize, labeled: &[Sample], unlabeled: &[Sample], sampler: &TwoStreamSampler, cfg: &DataConfig, seed: u64) -> Batch {
    let (li, ui) = sampler.batch(t);
    let mut rng = StdRng::seed_from_u64(derive_seed(seed, 3, t as u64));
    let interp = Interp::of(cfg);
    let [h, w] = cfg.patch2();
    let mut images = Vec::new();
    let mut labels = Vec::new();
    let picks = li.iter().map(|&i| &labeled[i]).chain(ui.iter().map(|&i| &unlabeled[i]));
    let mut channels = cfg.channels;
    for (k, s) in picks.enumerate() {
        let use_label = k < li.len();
        let extra = Extra { crop: cfg.random_crop, brightness: cfg.brightness, contrast: cfg.contrast };
        let (img, lab) = augment_with(&s.image, if use_label { s.label.as_ref() } else { None }, &cfg.augment, extra, cfg.patch2(), interp, &mut rng);
        channels = img.shape()[0];
        images.extend(img.iter());
        match lab {
            Some(l) => labels.extend(l.iter()),
            None => labels.extend(std::iter::repeat_n(0u8, h * w)),
        }
    }
    Batch { iteration: t, images, labels, batch: li.len() + ui.len(), labeled: li.len(), labeled_indices: li, channels, size: vec![h, w] }
}

/// Prefetching batch producer.
pub struct BatchLoader {
    receivers: Vec<Receiver<Batch>>,
    next: usize,
    _workers: Vec<JoinHandle<()>>,
}

impl BatchLoader {
    /// Starts `cfg.workers` threads producing batches `start..end` with `make` (a pure function
    /// of the iteration).
    pub fn start(make: Arc<dyn Fn(usize) -> Batch + Send + Sync>, cfg: &DataConfig, start: usize, end: usize) -> Self {
        let workers = cfg.workers.max(1);
        let mut receivers = Vec::new();
        let mut handles = Vec::new();
        for w in 0..workers {
            let (tx, rx) = sync_channel(cfg.prefetch.max(1));
            let make = make.clone();
            handles.push(std::thread::spawn(move || {
                let mut t = start + w;
                while t < end {
                    if tx.send(make(t)).is_err() {
                        return; // trainer stopped
                    }
                    t += workers;
                }
            }));
            receivers.push(rx);
        }
        Self { receivers, next: 0, _workers: handles }
    }

    /// The next batch in iteration order.
    pub fn next_batch(&mut self) -> Option<Batch> {
        let n = self.receivers.len();
        let b = self.receivers[self.next % n].recv().ok();
        self.next += 1;
        b
    }
}
