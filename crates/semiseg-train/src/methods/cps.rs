//! Cross pseudo supervision (Chen et al., CVPR 2021) as SSL4MIS
//! `train_cross_pseudo_supervision_2D.py`: two UNets with different initialisations, each
//! supervised with `0.5·(CE + Dice)`, and each trained with CE on the other's hard pseudo-labels
//! of the unlabeled part; weight `consistency · rampup(t // 150)`. Prediction uses network 1.

use crate::loss_scale::Update;
use super::{DeviceBatch, Method, Term, Trained};
use crate::checkpoint::Part;
use crate::config::Config;
use crate::losses::{ce_dice, cross_entropy};
use crate::schedule::consistency_weight;
use burn::module::Module;
use burn::prelude::*;
use burn::tensor::Gradients;
use semiseg_nn::init::{reinit_convs, ConvInit};
use semiseg_nn::nets::Segmenter;

/// One-hot of the argmax over classes, without gradient.
fn hard_labels(logits: Tensor<4>) -> Tensor<4> {
    let k = logits.dims()[1];
    let idx = logits.detach().argmax(1); // [N, 1, H, W]
    let classes = Tensor::<1, Int>::arange(0..k as i64, &idx.device()).reshape([1, k, 1, 1]);
    idx.equal(classes).float()
}

/// (supervised of both nets, cross pseudo supervision of both) from both nets' logits.
pub fn cps_loss(out1: Tensor<4>, out2: Tensor<4>, one_hot: Tensor<4>, labeled: usize) -> (Tensor<1>, Tensor<1>) {
    let b = out1.dims()[0];
    let sup = ce_dice(out1.clone().narrow(0, 0, labeled), one_hot.clone()) + ce_dice(out2.clone().narrow(0, 0, labeled), one_hot);
    let (u1, u2) = (out1.narrow(0, labeled, b - labeled), out2.narrow(0, labeled, b - labeled));
    let cps = cross_entropy(u1.clone(), hard_labels(u2.clone())) + cross_entropy(u2, hard_labels(u1));
    (sup, cps)
}

/// Two networks, two optimizers.
pub struct Cps {
    first: Trained,
    second: Trained,
    cfg: Config,
}

impl Cps {
    /// Builds both networks (independent initialisations, redrawn as `method.cps_init` says)
    /// and their optimizers.
    pub fn new(cfg: &Config, device: &Device) -> Self {
        let (mut first, mut second) = (Trained::new(cfg, 0, device), Trained::new(cfg, 0, device));
        if cfg.method.cps_init == "kaiming_xavier" {
            first.net = reinit_convs(first.net, ConvInit::KaimingNormal);
            second.net = reinit_convs(second.net, ConvInit::XavierNormal);
        }
        Self { first, second, cfg: cfg.clone() }
    }
}

impl Method for Cps {
    fn terms(&mut self, batch: &DeviceBatch, t: usize) -> Vec<Term> {
        let out1 = self.first.net.forward(batch.images.clone());
        let out2 = self.second.net.forward(batch.images.clone());
        let (sup, cps) = cps_loss(out1, out2, batch.one_hot.clone(), batch.labeled);
        let m = &self.cfg.method;
        vec![
            Term { name: "supervised", value: sup, weight: self.cfg.term_weight("supervised") },
            Term { name: "cps", value: cps, weight: consistency_weight(m.consistency, m.rampup, m.rampup_epoch, t) * self.cfg.term_weight("cps") },
        ]
    }

    fn apply(&mut self, mut grads: Gradients, update: &Update) {
        self.first.step(&mut grads, update);
        self.second.step(&mut grads, update);
    }

    fn inference_net(&self) -> Segmenter {
        Segmenter::UNet(self.first.net.valid())
    }

    fn save(&self) -> Vec<Part> {
        [self.first.parts("net1", "optim1"), self.second.parts("net2", "optim2")].concat()
    }

    fn load(&mut self, parts: &[Part]) -> Result<(), String> {
        self.first.restore(parts, "net1", "optim1")?;
        self.second.restore(parts, "net2", "optim2")
    }
}
