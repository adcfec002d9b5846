//! FBA-Net and FBA-Net+ (Chung et al., 2023; methods.md §4): MC-Net+'s terms on a V-Net whose
//! decoders each carry a foreground / background contrast head, plus
//! `Σ_d SimMax(z_f) + SimMax(z_b) + SimMin(z_f, z_b)` across the images of the batch (weight 1,
//! no ramp-up). One decoder: FBA-Net (Dice weight 1, no consistency); three: FBA-Net+.

use super::mcnet::mutual_terms;
use super::{DeviceBatch, OneNetwork, Term, Trained};
use crate::config::Config;
use crate::losses::fba::fba_contrast;
use burn::prelude::*;
use semiseg_nn::nets::{FbaNet, FbaNetConfig};

/// The network and its optimizer.
pub struct FbaNetMethod {
    model: Trained<FbaNet>,
    cfg: Config,
}

/// The FBA-Net the config describes (decoders of types 0, 1, 2 in that order, one per
/// `model.up_types` entry; the contrast heads sized for `data.patch`).
pub fn fbanet_config(cfg: &Config) -> FbaNetConfig {
    FbaNetConfig::new(cfg.data.patch3())
        .with_in_channels(cfg.data.channels)
        .with_classes(cfg.model.classes)
        .with_filters(cfg.model.filters)
        .with_decoders(cfg.model.up_types.len())
        .with_dim(cfg.model.contrast_dim)
}

impl FbaNetMethod {
    /// Builds the network and optimizer.
    pub fn new(cfg: &Config, device: &Device) -> Self {
        Self { model: Trained::with_net(fbanet_config(cfg).init(device), cfg), cfg: cfg.clone() }
    }
}

impl OneNetwork<5> for FbaNetMethod {
    type Net = FbaNet;

    fn terms(&mut self, batch: &DeviceBatch<5>, t: usize) -> Vec<Term> {
        let out = self.model.net.forward_all(batch.images.clone());
        let mut terms = mutual_terms(&self.cfg, &out.logits, batch, t);
        let contrast = out.foreground.into_iter().zip(out.background).map(|(f, b)| fba_contrast(f, b)).reduce(|a, b| a + b).expect("at least one decoder");
        terms.push(Term { name: "contrast", value: contrast, weight: self.cfg.term_weight("contrast") });
        terms
    }

    fn trained(&self) -> &Trained<FbaNet> {
        &self.model
    }

    fn trained_mut(&mut self) -> &mut Trained<FbaNet> {
        &mut self.model
    }
}
