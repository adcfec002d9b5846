//! The semiseg training engine.
//!
//! * [`config`]: the TOML run configuration, `--set` overrides, validation.
//! * [`data`]: cases → 2-D samples → two-stream batches, augmented on worker threads.
//! * [`methods`]: the baselines (supervised, mean teacher, UA-MT, CCT, CPS, MC-Net+) and the
//!   papers' methods (CLCC, MGCC, CAML, FBA-Net), each a set of named loss terms.
//! * [`losses`], [`schedule`], [`ema`]: the pieces the methods share; [`loss_scale`]: f16
//!   loss scaling.
//! * [`step`]: one training step (terms, backward, optimizer steps, EMA), shared by the trainer
//!   and the whole-step tests against PyTorch.
//! * [`trainer`]: the loop, validation, checkpoints, resume; [`run_lock`]: one writer per run
//!   directory.
//! * [`doctor`]: one training step on the CPU and on a GPU, compared tensor by tensor.
//! * [`import`], [`export`]: runs from and networks to the reference code's PyTorch state dicts.
//! * [`infer`], [`evaluate`]: prediction of whole images / volumes and their scores;
//!   [`sliding_window`]: whole volumes through a 3-D network, window by window (UA-MT).

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod diffusion;
pub mod doctor;
pub mod ema;
pub mod evaluate;
pub mod export;
pub mod import;
pub mod infer;
pub mod loss_scale;
pub mod losses;
pub mod methods;
pub mod patch_grid;
pub mod run_lock;
pub mod schedule;
pub mod sliding_window;
pub mod step;
pub mod trainer;

pub use config::Config;
