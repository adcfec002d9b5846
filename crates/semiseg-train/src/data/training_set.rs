//! The training samples of a run, 2-D planes or whole volumes, and the function that builds the
//! batch of each iteration from them.

use super::loader::{build_batch, Batch};
use super::prepare::{load_samples, Sample};
use super::sampler::TwoStreamSampler;
use super::volumes::{build_volume_batch, load_volumes, VolumeSample};
use crate::config::DataConfig;
use semiseg_data::layout::Case;
use semiseg_data::DataError;
use std::sync::Arc;

/// Labeled and unlabeled samples, as the network takes them.
pub enum TrainingSet {
    /// 2-D samples (volumes cut into slices).
    Planes {
        /// Labeled samples.
        labeled: Arc<Vec<Sample>>,
        /// Unlabeled samples.
        unlabeled: Arc<Vec<Sample>>,
    },
    /// Whole volumes, for 3-D networks.
    Volumes {
        /// Labeled volumes.
        labeled: Arc<Vec<VolumeSample>>,
        /// Unlabeled volumes.
        unlabeled: Arc<Vec<VolumeSample>>,
    },
}

impl TrainingSet {
    /// Reads the cases: volumes when `volumes`, else 2-D samples.
    pub fn load(labeled: &[Case], unlabeled: &[Case], cfg: &DataConfig, volumes: bool) -> Result<Self, DataError> {
        Ok(if volumes {
            TrainingSet::Volumes { labeled: Arc::new(load_volumes(labeled, cfg, true)?), unlabeled: Arc::new(load_volumes(unlabeled, cfg, false)?) }
        } else {
            TrainingSet::Planes { labeled: Arc::new(load_samples(labeled, cfg, true)?), unlabeled: Arc::new(load_samples(unlabeled, cfg, false)?) }
        })
    }

    /// Numbers of labeled and unlabeled samples.
    pub fn counts(&self) -> (usize, usize) {
        match self {
            TrainingSet::Planes { labeled, unlabeled } => (labeled.len(), unlabeled.len()),
            TrainingSet::Volumes { labeled, unlabeled } => (labeled.len(), unlabeled.len()),
        }
    }

    /// The batch of each iteration, a pure function of (seed, t).
    pub fn batches(&self, sampler: TwoStreamSampler, cfg: &DataConfig, seed: u64) -> Arc<dyn Fn(usize) -> Batch + Send + Sync> {
        let cfg = cfg.clone();
        match self {
            TrainingSet::Planes { labeled, unlabeled } => {
                let (l, u) = (labeled.clone(), unlabeled.clone());
                Arc::new(move |t| build_batch(t, &l, &u, &sampler, &cfg, seed))
            }
            TrainingSet::Volumes { labeled, unlabeled } => {
                let (l, u) = (labeled.clone(), unlabeled.clone());
                Arc::new(move |t| build_volume_batch(t, &l, &u, &sampler, &cfg, seed))
            }
        }
    }
}
