//! CCT (Ouali et al., CVPR 2020) as SSL4MIS `train_cross_consistency_training_2D.py`: a UNet
//! with three auxiliary decoders fed perturbed encoder features (feature noise, dropout,
//! feature dropout). Supervised: the mean of `0.5·(CE + Dice)` over the four decoders on the
//! labeled part; consistency: the mean over auxiliaries of `mean((p_main − p_aux)²)` on the
//! unlabeled part, nothing detached, weight `consistency · rampup(t // 150)`.

use super::{DeviceBatch, OneNetwork, Term, Trained};
use crate::config::Config;
use crate::losses::{ce_dice, mse};
use crate::schedule::consistency_weight;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use semiseg_nn::nets::{UNet, UNetOutput};

/// Supervised and consistency values from the four decoders' logits.
pub fn cct_loss(out: &UNetOutput, one_hot: Tensor<4>, labeled: usize) -> (Tensor<1>, Tensor<1>) {
    let b = out.main.dims()[0];
    let all: Vec<&Tensor<4>> = std::iter::once(&out.main).chain(out.aux.iter()).collect();
    let n = all.len() as f64;
    let sup = all.iter().map(|o| ce_dice((*o).clone().narrow(0, 0, labeled), one_hot.clone())).reduce(|a, c| a + c).expect("main decoder") / n;
    let main_u = softmax(out.main.clone().narrow(0, labeled, b - labeled), 1);
    let cons = out
        .aux
        .iter()
        .map(|a| mse(main_u.clone(), softmax(a.clone().narrow(0, labeled, b - labeled), 1)))
        .reduce(|a, c| a + c)
        .expect("auxiliary decoders")
        / out.aux.len() as f64;
    (sup, cons)
}

/// Auxiliary decoders of CCT's UNet (SSL4MIS `UNet_CCT`: feature noise, dropout, feature dropout).
pub const AUX_DECODERS: usize = 3;

/// UNet with three perturbed auxiliary decoders.
pub struct Cct {
    model: Trained,
    cfg: Config,
}

impl Cct {
    /// Builds the network and optimizer.
    pub fn new(cfg: &Config, device: &Device) -> Self {
        Self { model: Trained::new(cfg, AUX_DECODERS, device), cfg: cfg.clone() }
    }
}

impl OneNetwork for Cct {
    type Net = UNet;

    fn terms(&mut self, batch: &DeviceBatch, t: usize) -> Vec<Term> {
        let out = self.model.net.forward_all(batch.images.clone());
        let (sup, cons) = cct_loss(&out, batch.one_hot.clone(), batch.labeled);
        let m = &self.cfg.method;
        vec![
            Term { name: "supervised", value: sup, weight: self.cfg.term_weight("supervised") },
            Term { name: "consistency", value: cons, weight: consistency_weight(m.consistency, m.rampup, m.rampup_epoch, t) * self.cfg.term_weight("consistency") },
        ]
    }

    fn trained(&self) -> &Trained<UNet> {
        &self.model
    }

    fn trained_mut(&mut self) -> &mut Trained<UNet> {
        &mut self.model
    }
}
