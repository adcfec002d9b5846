//! MC-Net+ (Wu et al., MedIA 2022) as FBA-Net's `train_3d.py` builds on it (methods.md §4.3): a
//! V-Net with one shared encoder and several decoders of different up-sampling. Supervised: the
//! foreground soft Dice of every decoder on the labeled part (no CE), weighted λ = 0.5; mutual
//! consistency: `Σ_{i≠j} MSE(p_i, sharpen(p_j))` over the whole batch, nothing detached, weight
//! `consistency · rampup(t // 150)` at the 1-based iteration (the reference increments first).

use super::{DeviceBatch, OneNetwork, Term, Trained};
use crate::config::Config;
use crate::losses::mutual::{foreground_soft_dice, mutual_consistency};
use crate::schedule::consistency_weight;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use semiseg_nn::nets::VNet;

/// Weight of the supervised Dice with several decoders (`--lamda 0.5` of MC-Net+ and FBA-Net+).
pub const DICE_WEIGHT: f64 = 0.5;

/// The two terms from every decoder's logits `[B, 2, ...]` and the labeled part's one-hot
/// `[L, 2, ...]`: the summed foreground Dice of the decoders on the labeled samples, and the
/// mutual consistency over all samples (`None` with one decoder).
pub fn mcnet_terms(logits: &[Tensor<5>], one_hot: Tensor<5>, labeled: usize, temperature: f64) -> (Tensor<1>, Option<Tensor<1>>) {
    let probs: Vec<Tensor<5>> = logits.iter().map(|o| softmax(o.clone(), 1)).collect();
    dice_and_consistency(&probs, one_hot, labeled, temperature)
}

/// [`mcnet_terms`] from the decoders' (or models') class probabilities.
pub fn dice_and_consistency(probs: &[Tensor<5>], one_hot: Tensor<5>, labeled: usize, temperature: f64) -> (Tensor<1>, Option<Tensor<1>>) {
    let y = one_hot.narrow(1, 1, 1);
    let dice = probs
        .iter()
        .map(|p| foreground_soft_dice(p.clone().narrow(0, 0, labeled).narrow(1, 1, 1), y.clone()))
        .reduce(|a, b| a + b)
        .expect("at least one decoder");
    let consistency = (probs.len() > 1).then(|| mutual_consistency(probs, temperature));
    (dice, consistency)
}

/// The supervised and consistency terms of a multi-decoder V-Net at 0-based iteration `t`.
pub fn mutual_terms(cfg: &Config, logits: &[Tensor<5>], batch: &DeviceBatch<5>, t: usize) -> Vec<Term> {
    let (dice, consistency) = mcnet_terms(logits, batch.one_hot.clone(), batch.labeled, cfg.method.sharpen_temperature);
    // FBA-Net's single-decoder script weights its Dice by 1, the multi-decoder ones by λ
    let lambda = if logits.len() > 1 { DICE_WEIGHT } else { 1.0 };
    let mut terms = vec![Term { name: "supervised", value: dice, weight: lambda * cfg.term_weight("supervised") }];
    if let Some(c) = consistency {
        terms.push(Term { name: "consistency", value: c, weight: consistency_weight(cfg.method.consistency, cfg.method.rampup, cfg.method.rampup_epoch, t + 1) * cfg.term_weight("consistency") });
    }
    terms
}

/// MC-Net+: one V-Net with `model.up_types` decoders.
pub struct McNet {
    model: Trained<VNet>,
    cfg: Config,
}

impl McNet {
    /// Builds the network and optimizer.
    pub fn new(cfg: &Config, device: &Device) -> Self {
        Self { model: Trained::with_net(super::backbone::vnet_config(cfg).init(device), cfg), cfg: cfg.clone() }
    }
}

impl OneNetwork<5> for McNet {
    type Net = VNet;

    fn terms(&mut self, batch: &DeviceBatch<5>, t: usize) -> Vec<Term> {
        let out = self.model.net.forward_all(batch.images.clone());
        mutual_terms(&self.cfg, &out.logits, batch, t)
    }

    fn trained(&self) -> &Trained<VNet> {
        &self.model
    }

    fn trained_mut(&mut self) -> &mut Trained<VNet> {
        &mut self.model
    }
}
