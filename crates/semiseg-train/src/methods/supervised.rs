//! Supervised baseline: the labeled samples only, `0.5·(CE + Dice)` (SSL4MIS
//! `train_fully_supervised_2D.py`).

use super::{optimizer, unet_config, DeviceBatch, Method, Term};
use crate::checkpoint::{find, load_module, load_optim, module_part, optim_part, Part};
use crate::config::Config;
use crate::losses::ce_dice;
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::Gradients;
use semiseg_nn::nets::UNet;

/// One network trained on labels.
pub struct Supervised {
    net: UNet,
    optim: ModuleOptimizer,
    w_sup: f64,
}

impl Supervised {
    /// Builds the network and optimizer.
    pub fn new(cfg: &Config, device: &Device) -> Self {
        Self { net: unet_config(cfg, 0).init(device), optim: optimizer(cfg), w_sup: cfg.term_weight("supervised") }
    }
}

impl Method for Supervised {
    fn terms(&mut self, batch: &DeviceBatch, _t: usize) -> Vec<Term> {
        let logits = self.net.forward(batch.labeled_images());
        vec![Term { name: "supervised", value: ce_dice(logits, batch.one_hot.clone()), weight: self.w_sup }]
    }

    fn apply(&mut self, grads: Gradients, lr: f64) {
        let g = GradientsParams::from_grads(grads, &self.net);
        self.net = self.optim.step(lr, self.net.clone(), g);
    }

    fn inference_net(&self) -> UNet {
        self.net.valid()
    }

    fn save(&self) -> Vec<Part> {
        vec![module_part("net", &self.net), optim_part("optim", &self.optim)]
    }

    fn load(&mut self, parts: &[Part]) -> Result<(), String> {
        self.net = load_module(self.net.clone(), find(parts, "net")?)?;
        self.optim = load_optim(self.optim.clone(), find(parts, "optim")?)?;
        Ok(())
    }
}
