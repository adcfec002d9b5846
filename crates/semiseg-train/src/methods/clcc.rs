//! CLCC (Zhao et al., arXiv 2202.04074) as methods.md §2.3: a ProjUNet sees every image whole and
//! as its G×G grid of 64×64 patches (one batch). Supervised: the structure loss on the labeled
//! images. Until `method.contrast_until` (the reference's warm-up, epoch 100 of 300): PatchNCE
//! between the full-image projection grid and the detached patch projections, all images. From
//! then on, instead (a hard switch, not a ramp): cross-level consistency between the patch
//! predictions and the detached full-image prediction, all images.
//!
//! With `method.name = "supervised"` the same network is trained on the structure loss alone
//! (the baseline CLCC is compared with).

use super::{DeviceBatch, OneNetwork, Term, Trained};
use crate::config::Config;
use crate::losses::binary::structure_loss;
use crate::losses::contrast::patch_nce;
use crate::losses::mse;
use crate::patch_grid::{from_patches, to_patches};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use semiseg_nn::nets::{ProjUNet, ProjUNetConfig, PROJ_STRIDE};

/// Cross-level consistency `Σ_cells mean((σ(patch) − σ(full).detach())²)` = `G² · MSE` over the
/// re-assembled patch predictions.
pub fn clcc_consistency(full_logits: Tensor<4>, patch_logits: Tensor<4>, grid: usize) -> Tensor<1> {
    let target = sigmoid(full_logits).detach();
    mse(sigmoid(from_patches(patch_logits, grid)), target) * (grid * grid) as f64
}

/// The ProjUNet trained with CLCC's losses (or the structure loss alone).
pub struct Clcc {
    model: Trained<ProjUNet>,
    cfg: Config,
    semi_supervised: bool,
}

/// The ProjUNet the config describes.
pub fn projunet_config(cfg: &Config) -> ProjUNetConfig {
    ProjUNetConfig::new().with_in_channels(cfg.data.channels).with_feature_scale(cfg.model.feature_scale)
}

impl Clcc {
    /// Builds the network (reference initialisation) and optimizer.
    pub fn new(cfg: &Config, device: &Device) -> Self {
        Self { model: Trained::with_net(projunet_config(cfg).init(device), cfg), cfg: cfg.clone(), semi_supervised: cfg.method.name == "clcc" }
    }

    fn supervised(&self, logits: Tensor<4>, batch: &DeviceBatch) -> Term {
        let foreground = batch.one_hot.clone().narrow(1, 1, 1);
        let value = structure_loss(logits.narrow(0, 0, batch.labeled), foreground, self.cfg.method.weighted_bce);
        Term { name: "supervised", value, weight: self.cfg.term_weight("supervised") }
    }
}

impl OneNetwork for Clcc {
    type Net = ProjUNet;

    fn terms(&mut self, batch: &DeviceBatch, t: usize) -> Vec<Term> {
        let net = &self.model.net;
        if !self.semi_supervised {
            return vec![self.supervised(net.forward(batch.labeled_images()), batch)];
        }
        let grid = batch.images.dims()[2] / PROJ_STRIDE;
        let (full, queries) = net.forward_with_projection(batch.images.clone());
        let (patches, keys) = net.forward_with_projection(to_patches(batch.images.clone(), grid));
        let contrast_phase = t < self.cfg.method.contrast_until;
        let on = |active: bool, term: &str| if active { self.cfg.term_weight(term) } else { 0.0 };
        vec![
            self.supervised(full.clone(), batch),
            Term { name: "contrast", value: patch_nce(queries, keys.detach(), self.cfg.method.temperature), weight: on(contrast_phase, "contrast") },
            Term { name: "consistency", value: clcc_consistency(full, patches, grid), weight: on(!contrast_phase, "consistency") * self.cfg.method.consistency },
        ]
    }

    fn trained(&self) -> &Trained<ProjUNet> {
        &self.model
    }

    fn trained_mut(&mut self) -> &mut Trained<ProjUNet> {
        &mut self.model
    }
}
