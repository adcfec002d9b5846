//! Supervised baseline: the labeled samples only, with the network's own supervised loss
//! (SSL4MIS `train_fully_supervised_2D.py`: `0.5·(CE + Dice)`; UA-MT's V-Net: `0.5·(CE +
//! foreground Dice)`).

use super::backbone::Backbone;
use super::{DeviceBatch, OneNetwork, Term, Trained};
use crate::config::Config;
use burn::prelude::*;
use semiseg_nn::nets::UNet;

/// One network trained on labels.
pub struct Supervised<N = UNet> {
    model: Trained<N>,
    w_sup: f64,
}

impl<N: Clone + burn::module::Module> Supervised<N> {
    /// Builds the network and optimizer.
    pub fn new<const D: usize>(cfg: &Config, device: &Device) -> Self
    where
        N: Backbone<D>,
    {
        Self { model: Trained::with_net(N::build(cfg, device), cfg), w_sup: cfg.term_weight("supervised") }
    }
}

impl<const D: usize, N: Backbone<D>> OneNetwork<D> for Supervised<N> {
    type Net = N;

    fn terms(&mut self, batch: &DeviceBatch<D>, _t: usize) -> Vec<Term> {
        let logits = self.model.net.logits(batch.labeled_images());
        vec![Term { name: "supervised", value: N::supervised_loss(logits, batch.one_hot.clone()), weight: self.w_sup }]
    }

    fn trained(&self) -> &Trained<N> {
        &self.model
    }

    fn trained_mut(&mut self) -> &mut Trained<N> {
        &mut self.model
    }
}
