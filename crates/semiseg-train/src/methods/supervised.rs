//! Supervised baseline: the labeled samples only, `0.5·(CE + Dice)` (SSL4MIS
//! `train_fully_supervised_2D.py`).

use super::{DeviceBatch, Method, Term, Trained};
use crate::checkpoint::Part;
use crate::config::Config;
use crate::losses::ce_dice;
use burn::module::Module;
use burn::prelude::*;
use burn::tensor::Gradients;
use semiseg_nn::nets::Segmenter;

/// One network trained on labels.
pub struct Supervised {
    model: Trained,
    w_sup: f64,
}

impl Supervised {
    /// Builds the network and optimizer.
    pub fn new(cfg: &Config, device: &Device) -> Self {
        Self { model: Trained::new(cfg, 0, device), w_sup: cfg.term_weight("supervised") }
    }
}

impl Method for Supervised {
    fn terms(&mut self, batch: &DeviceBatch, _t: usize) -> Vec<Term> {
        let logits = self.model.net.forward(batch.labeled_images());
        vec![Term { name: "supervised", value: ce_dice(logits, batch.one_hot.clone()), weight: self.w_sup }]
    }

    fn apply(&mut self, mut grads: Gradients, lr: f64) {
        self.model.step(&mut grads, lr);
    }

    fn inference_net(&self) -> Segmenter {
        Segmenter::UNet(self.model.net.valid())
    }

    fn save(&self) -> Vec<Part> {
        self.model.parts("net", "optim")
    }

    fn load(&mut self, parts: &[Part]) -> Result<(), String> {
        self.model.restore(parts, "net", "optim")
    }
}
