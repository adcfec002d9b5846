//! CCT (Ouali et al., CVPR 2020) as SSL4MIS `train_cross_consistency_training_2D.py`: a UNet
//! with three auxiliary decoders fed perturbed encoder features (feature noise, dropout,
//! feature dropout). Supervised: the mean of `0.5·(CE + Dice)` over the four decoders on the
//! labeled part; consistency: the mean over auxiliaries of `mean((p_main − p_aux)²)` on the
//! unlabeled part, nothing detached, weight `consistency · rampup(t // 150)`.

use super::{optimizer, unet_config, DeviceBatch, Method, Term};
use crate::checkpoint::{find, load_module, load_optim, module_part, optim_part, Part};
use crate::config::Config;
use crate::losses::{ce_dice, mse};
use crate::schedule::consistency_weight;
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use burn::tensor::Gradients;
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

/// UNet with three perturbed auxiliary decoders.
pub struct Cct {
    net: UNet,
    optim: ModuleOptimizer,
    cfg: Config,
}

impl Cct {
    /// Builds the network and optimizer.
    pub fn new(cfg: &Config, device: &Device) -> Self {
        Self { net: unet_config(cfg, 3).init(device), optim: optimizer(cfg), cfg: cfg.clone() }
    }
}

impl Method for Cct {
    fn terms(&mut self, batch: &DeviceBatch, t: usize) -> Vec<Term> {
        let out = self.net.forward_all(batch.images.clone());
        let (sup, cons) = cct_loss(&out, batch.one_hot.clone(), batch.labeled);
        let m = &self.cfg.method;
        vec![
            Term { name: "supervised", value: sup, weight: self.cfg.term_weight("supervised") },
            Term { name: "consistency", value: cons, weight: consistency_weight(m.consistency, m.rampup, t) * self.cfg.term_weight("consistency") },
        ]
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
