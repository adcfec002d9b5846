//! Semi-supervised methods. A method owns its networks and optimizers, turns one batch into
//! named loss terms at iteration `t`, applies the gradients, and says how to predict.
//!
//! The trainer sums `weight · value` over the terms, so every term can be switched off or
//! reweighted from the config (`method.weights.<term>`), and logs each term on its own.

pub mod backbone;
mod caml;
pub mod caml_memory;
mod cct;
mod clcc;
mod cps;
mod fbanet;
mod mcnet;
mod mean_teacher;
mod mgcc;
mod supervised;
mod ua_mt;

pub use caml::{caml_config, CamlMethod};
pub use cct::{cct_loss, Cct, AUX_DECODERS as CCT_AUX_DECODERS};
pub use fbanet::{fbanet_config, FbaNetMethod};
pub use mcnet::{mcnet_terms, McNet};
pub use clcc::{clcc_consistency, projunet_config, Clcc};
pub use cps::{cps_loss, Cps};
pub use mean_teacher::{mean_teacher_loss, teacher_consistency, MeanTeacher};
pub use mgcc::{mgcc_bce_dice, mgcc_config, mgcc_loss, MgccMethod};
pub use supervised::Supervised;
pub use ua_mt::{ua_mt_consistency, UaMt, PASSES};

use crate::checkpoint::{find, load_module, load_optim, module_part, optim_part, Part};
use crate::config::Config;
use crate::loss_scale::Update;
use burn::optim::{decay::WeightDecayConfig, momentum::MomentumConfig, AdamWConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use burn::tensor::Gradients;
use burn::module::Module;
use semiseg_nn::nets::{Segmenter, UNet, UNetConfig, VNet};

pub use crate::config::method::{terms_of, NAMES};

/// One named loss term.
pub struct Term {
    /// Name (as in `method.weights`).
    pub name: &'static str,
    /// Unweighted value.
    pub value: Tensor<1>,
    /// Weight at this iteration (ramp-up × config multiplier).
    pub weight: f64,
}

/// A training batch on the device: rank 4 (`[B, C, H, W]`) for 2-D networks, rank 5
/// (`[B, C, H, W, D]`) for 3-D ones.
pub struct DeviceBatch<const D: usize = 4> {
    /// `[B, C, ...]`.
    pub images: Tensor<D>,
    /// One-hot labels of the labeled part `[L, K, ...]`.
    pub one_hot: Tensor<D>,
    /// L: the first L samples are labeled.
    pub labeled: usize,
    /// Index of each labeled sample in the labeled set.
    pub labeled_indices: Vec<usize>,
}

impl<const D: usize> DeviceBatch<D> {
    /// The labeled part of the images.
    pub fn labeled_images(&self) -> Tensor<D> {
        self.images.clone().narrow(0, 0, self.labeled)
    }

    /// The unlabeled part of the images.
    pub fn unlabeled_images(&self) -> Tensor<D> {
        let b = self.images.dims()[0];
        self.images.clone().narrow(0, self.labeled, b - self.labeled)
    }
}

/// What every method does, on batches of rank `D`.
pub trait Method<const D: usize = 4> {
    /// The named loss terms of one batch at 0-based iteration `t`.
    fn terms(&mut self, batch: &DeviceBatch<D>, t: usize) -> Vec<Term>;
    /// Applies the gradients of the summed loss: one optimizer step per network at `update.lr`,
    /// the gradients unscaled first (f16 loss scaling) and a network's step skipped on overflow.
    fn apply(&mut self, grads: Gradients, update: &Update);
    /// Called after each step (EMA updates).
    fn after_step(&mut self, _t: usize) {}
    /// The network used for prediction, in evaluation mode on a plain device.
    fn inference_net(&self) -> Segmenter;
    /// Networks and optimizer states to checkpoint.
    fn save(&self) -> Vec<Part>;
    /// Restores what [`Method::save`] wrote.
    fn load(&mut self, parts: &[Part]) -> Result<(), String>;
}

/// A method that trains one network: it gives the loss terms, and its [`Trained`] network does
/// the rest (the optimizer step, prediction, checkpoint parts `net` and `optim`) through the
/// blanket [`Method`] implementation below.
pub trait OneNetwork<const D: usize = 4> {
    /// The network.
    type Net: Module + Clone + Into<Segmenter>;
    /// The named loss terms of one batch at 0-based iteration `t`.
    fn terms(&mut self, batch: &DeviceBatch<D>, t: usize) -> Vec<Term>;
    /// The network and its optimizer.
    fn trained(&self) -> &Trained<Self::Net>;
    /// The network and its optimizer, to update.
    fn trained_mut(&mut self) -> &mut Trained<Self::Net>;
}

impl<const D: usize, T: OneNetwork<D>> Method<D> for T {
    fn terms(&mut self, batch: &DeviceBatch<D>, t: usize) -> Vec<Term> {
        OneNetwork::terms(self, batch, t)
    }

    fn apply(&mut self, mut grads: Gradients, update: &Update) {
        self.trained_mut().step(&mut grads, update);
    }

    fn inference_net(&self) -> Segmenter {
        self.trained().net.valid().into()
    }

    fn save(&self) -> Vec<Part> {
        self.trained().parts("net", "optim")
    }

    fn load(&mut self, parts: &[Part]) -> Result<(), String> {
        self.trained_mut().restore(parts, "net", "optim")
    }
}

/// A network and its optimizer, saved and restored as checkpoint parts `net` and `optim`
/// (names given by the method).
pub struct Trained<M = UNet> {
    /// The network (on the training device).
    pub net: M,
    /// Its optimizer state.
    pub optim: ModuleOptimizer,
}

impl Trained<UNet> {
    /// A fresh UNet of the config (with `aux_decoders`) and a fresh optimizer.
    pub fn new(cfg: &Config, aux_decoders: usize, device: &Device) -> Self {
        Self::with_net(unet_config(cfg, aux_decoders).init(device), cfg)
    }
}

impl<M: Module + Clone> Trained<M> {
    /// `net` with a fresh optimizer of the config.
    pub fn with_net(net: M, cfg: &Config) -> Self {
        Self { net, optim: optimizer(cfg) }
    }

    /// One optimizer step with this network's share of `grads`, unscaled; skipped when they
    /// overflowed (f16 loss scaling, recorded in `update`).
    pub fn step(&mut self, grads: &mut Gradients, update: &Update) {
        let g = GradientsParams::from_module(grads, &self.net);
        if let Some(g) = update.unscale(&self.net, g) {
            self.net = self.optim.step(update.lr, self.net.clone(), g);
        }
    }

    /// Checkpoint parts for the network and the optimizer.
    pub fn parts(&self, net: &str, optim: &str) -> Vec<Part> {
        vec![module_part(net, &self.net), optim_part(optim, &self.optim)]
    }

    /// Restores what [`Trained::parts`] wrote.
    pub fn restore(&mut self, parts: &[Part], net: &str, optim: &str) -> Result<(), String> {
        self.net = load_module(self.net.clone(), find(parts, net)?)?;
        self.optim = load_optim(self.optim.clone(), find(parts, optim)?)?;
        Ok(())
    }
}

/// The UNet the config describes.
pub fn unet_config(cfg: &Config, aux_decoders: usize) -> UNetConfig {
    UNetConfig::new().with_in_channels(cfg.data.channels).with_classes(cfg.model.classes).with_width(cfg.model.width).with_aux_decoders(aux_decoders)
}

/// The optimizer the config describes (PyTorch semantics: SGD without dampening, AdamW ε 1e-8).
pub fn optimizer(cfg: &Config) -> ModuleOptimizer {
    let t = &cfg.train;
    match t.optimizer.as_str() {
        "adamw" => AdamWConfig::new().with_weight_decay(t.weight_decay as f32).with_epsilon(1e-8).init(),
        _ => SgdConfig::new()
            .with_momentum(Some(MomentumConfig::new().with_momentum(t.momentum).with_dampening(0.0)))
            .with_weight_decay(Some(WeightDecayConfig::new(t.weight_decay as f32)))
            .init(),
    }
}

/// Builds the method of a 2-D config on the training `device`.
pub fn build(cfg: &Config, device: &Device) -> Box<dyn Method> {
    match cfg.method.name.as_str() {
        _ if cfg.model.name == "projunet" => Box::new(Clcc::new(cfg, device)),
        _ if cfg.model.name == "mgcc" => Box::new(MgccMethod::new(cfg, device)),
        "supervised" => Box::new(Supervised::<UNet>::new(cfg, device)),
        "ua_mt" => Box::new(UaMt::<UNet>::new(cfg, device)),
        "cct" => Box::new(Cct::new(cfg, device)),
        "cps" => Box::new(Cps::new(cfg, device)),
        _ => Box::new(MeanTeacher::<UNet>::new(cfg, device)),
    }
}

/// Builds the method of a 3-D config (V-Net family) on the training `device`.
pub fn build_volume(cfg: &Config, device: &Device) -> Box<dyn Method<5>> {
    match cfg.method.name.as_str() {
        "caml" => Box::new(CamlMethod::new(cfg, device)),
        "fbanet" => Box::new(FbaNetMethod::new(cfg, device)),
        "mcnet" => Box::new(McNet::new(cfg, device)),
        "supervised" => Box::new(Supervised::<VNet>::new(cfg, device)),
        "ua_mt" => Box::new(UaMt::<VNet>::new(cfg, device)),
        _ => Box::new(MeanTeacher::<VNet>::new(cfg, device)),
    }
}

/// The inference network of the config's method restored from checkpoint `parts`.
pub fn inference_net_from(cfg: &Config, parts: &[Part]) -> Result<Segmenter, String> {
    let device = cfg.device()?.autodiff();
    if cfg.is_volumetric() {
        let mut method = build_volume(cfg, &device);
        method.load(parts)?;
        Ok(method.inference_net())
    } else {
        let mut method = build(cfg, &device);
        method.load(parts)?;
        Ok(method.inference_net())
    }
}
