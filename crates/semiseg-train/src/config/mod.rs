//! Run configuration: a TOML tree of plain serde structs (`deny_unknown_fields`), overridden by
//! `--set key=value`, then checked once. One file per section (`data`, `model`, `method`,
//! `train`, `eval`); `check` pairs the sections. Defaults equal the SSL4MIS 2-D protocol
//! (`train_*_2D.py`): SGD 0.01 / 0.9 / 1e-4 with poly 0.9, batch 24 with 12 labeled, 30k
//! iterations, consistency 0.1 ramped over 200 "epochs" of 150 iterations, EMA 0.99, seed 1337.

mod check;
mod data;
mod eval;
pub mod method;
mod model;
mod parse;
mod train;

pub use data::{DataConfig, LABELED_DRAWS};
pub use eval::{select_by_label, EvalConfig};
pub use method::MethodConfig;
pub use model::ModelConfig;
pub use parse::{apply_overrides, parse_toml, read_toml};
pub use train::TrainConfig;

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

/// Opens a device by name (`cpu`, `wgpu`, `cuda:N`; see [`DeviceChoice`]), without autodiff.
pub fn open_device(name: &str) -> Result<burn::prelude::Device, String> {
    let choice: DeviceChoice = name.parse().map_err(|e: semiseg_nn::device::DeviceError| e.to_string())?;
    choice.open().map_err(|e| e.to_string())
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
        self.model.is_volumetric()
    }

    /// The multiplier of a loss term (1 unless `method.weights` says otherwise).
    pub fn term_weight(&self, term: &str) -> f64 {
        self.method.weights.get(term).copied().unwrap_or(1.0)
    }
}

