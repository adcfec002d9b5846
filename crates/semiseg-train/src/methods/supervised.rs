//! Supervised baseline: the labeled samples only, `0.5·(CE + Dice)` (SSL4MIS
//! `train_fully_supervised_2D.py`).

use super::{DeviceBatch, OneNetwork, Term, Trained};
use crate::config::Config;
use crate::losses::ce_dice;
use burn::prelude::*;
use semiseg_nn::nets::UNet;

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

impl OneNetwork for Supervised {
    type Net = UNet;

    fn terms(&mut self, batch: &DeviceBatch, _t: usize) -> Vec<Term> {
        let logits = self.model.net.forward(batch.labeled_images());
        vec![Term { name: "supervised", value: ce_dice(logits, batch.one_hot.clone()), weight: self.w_sup }]
    }

    fn trained(&self) -> &Trained<UNet> {
        &self.model
    }

    fn trained_mut(&mut self) -> &mut Trained<UNet> {
        &mut self.model
    }
}
