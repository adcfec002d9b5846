//! MGCC (Tang et al., arXiv 2305.09447) stage 2 as methods.md §1.3: the MGCC network's main and
//! three perturbed auxiliary decoders. Supervised: the mean over the four decoders of
//! `0.5·BCE + Dice` (smooth 1e-5) on the labeled part; consistency: the mean over auxiliaries of
//! `mean((σ(main) − σ(aux))²)` on the unlabeled part, the main output not detached, weight
//! `consistency · rampup(t // 150, rampup)` (the reference: 7 over 200 "epochs"). No teacher.
//!
//! With `method.name = "supervised"` the same network is trained on the supervised term of the
//! labeled images alone (the baseline MGCC is compared with).

use super::{DeviceBatch, OneNetwork, Term, Trained};
use crate::config::Config;
use crate::losses::binary::{bce_with_logits_map, dice_per_image};
use crate::losses::mse;
use crate::losses::sums::average;
use crate::schedule::consistency_weight;
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use semiseg_nn::nets::{Mgcc, MgccConfig, MgccOutput};

/// MGCC's `BCEDice`: `0.5·mean BCE + (1 − mean_b (2Σσy + 1e-5)/(Σσ + Σy + 1e-5))`.
pub fn mgcc_bce_dice(logits: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
    average(bce_with_logits_map(logits.clone(), target.clone())) * 0.5 + dice_per_image(logits, target, 1e-5)
}

/// Supervised value of the labeled part (`fg`: `[L, 1, H, W]`) and consistency value of the rest
/// (None when the batch has no unlabeled part).
pub fn mgcc_loss(out: &MgccOutput, fg: Tensor<4>, labeled: usize) -> (Tensor<1>, Option<Tensor<1>>) {
    let b = out.main.dims()[0];
    let all: Vec<&Tensor<4>> = std::iter::once(&out.main).chain(out.aux.iter()).collect();
    let sup = all.iter().map(|o| mgcc_bce_dice((*o).clone().narrow(0, 0, labeled), fg.clone())).reduce(|a, c| a + c).expect("main decoder") / all.len() as f64;
    if b == labeled {
        return (sup, None);
    }
    let main_u = sigmoid(out.main.clone().narrow(0, labeled, b - labeled));
    let cons = out.aux.iter().map(|a| mse(main_u.clone(), sigmoid(a.clone().narrow(0, labeled, b - labeled)))).reduce(|a, c| a + c).expect("auxiliary decoders") / out.aux.len() as f64;
    (sup, Some(cons))
}

/// The MGCC network trained with MGCC's losses (or the supervised term alone).
pub struct MgccMethod {
    model: Trained<Mgcc>,
    cfg: Config,
}

/// The MGCC network the config describes (`model.width` scales CMU-Net's base width of 16,
/// 1 unless a test wants a small network).
pub fn mgcc_config(cfg: &Config) -> MgccConfig {
    let m = &cfg.model;
    MgccConfig::new()
        .with_in_channels(cfg.data.channels)
        .with_dim_mult(m.dim_mult)
        .with_base_width(((16.0 * m.width).round() as usize).max(1))
        .with_perturb_all_levels(m.perturb_all_levels)
        .with_shared_noise(m.shared_noise)
}

impl MgccMethod {
    /// Builds the network and optimizer.
    pub fn new(cfg: &Config, device: &Device) -> Self {
        Self { model: Trained::with_net(mgcc_config(cfg).init(device), cfg), cfg: cfg.clone() }
    }
}

impl OneNetwork for MgccMethod {
    type Net = Mgcc;

    fn terms(&mut self, batch: &DeviceBatch, t: usize) -> Vec<Term> {
        let semi = self.cfg.method.name == "mgcc";
        let images = if semi { batch.images.clone() } else { batch.labeled_images() };
        let out = self.model.net.forward_all(images);
        let (sup, cons) = mgcc_loss(&out, batch.one_hot.clone().narrow(1, 1, 1), batch.labeled);
        let mut terms = vec![Term { name: "supervised", value: sup, weight: self.cfg.term_weight("supervised") }];
        if let Some(cons) = cons.filter(|_| semi) {
            let m = &self.cfg.method;
            terms.push(Term { name: "consistency", value: cons, weight: consistency_weight(m.consistency, m.rampup, m.rampup_epoch, t) * self.cfg.term_weight("consistency") });
        }
        terms
    }

    fn trained(&self) -> &Trained<Mgcc> {
        &self.model
    }

    fn trained_mut(&mut self) -> &mut Trained<Mgcc> {
        &mut self.model
    }
}
