//! The one-network segmenters that supervised training, mean teacher and UA-MT are written
//! for, in 2-D and 3-D: the SSL4MIS UNet (rank-4 batches) and UA-MT's V-Net (rank 5), each with
//! the supervised loss of its lineage.

use super::unet_config;
use crate::config::Config;
use crate::losses::{ce_dice, ce_foreground_dice};
use burn::module::Module;
use burn::prelude::*;
use semiseg_nn::nets::{Segmenter, UNet, VNet, VNetConfig};

/// A network built from the config that maps `[B, C, ...]` images to `[B, K, ...]` logits.
pub trait Backbone<const D: usize>: Module + Clone + Into<Segmenter> + 'static {
    /// A fresh network as the config describes it.
    fn build(cfg: &Config, device: &Device) -> Self;
    /// Class logits.
    fn logits(&self, x: Tensor<D>) -> Tensor<D>;
    /// The supervised loss of its lineage on the labeled logits.
    fn supervised_loss(logits: Tensor<D>, one_hot: Tensor<D>) -> Tensor<1>;
}

impl Backbone<4> for UNet {
    fn build(cfg: &Config, device: &Device) -> Self {
        unet_config(cfg, 0).init(device)
    }

    fn logits(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward(x)
    }

    /// SSL4MIS: `0.5·(CE + Dice over all classes)`.
    fn supervised_loss(logits: Tensor<4>, one_hot: Tensor<4>) -> Tensor<1> {
        ce_dice(logits, one_hot)
    }
}

impl Backbone<5> for VNet {
    fn build(cfg: &Config, device: &Device) -> Self {
        vnet_config(cfg).init(device)
    }

    fn logits(&self, x: Tensor<5>) -> Tensor<5> {
        self.forward(x)
    }

    /// UA-MT's `train_LA.py`: `0.5·(CE + foreground Dice)`.
    fn supervised_loss(logits: Tensor<5>, one_hot: Tensor<5>) -> Tensor<1> {
        ce_foreground_dice(logits, one_hot)
    }
}

/// The V-Net (one decoder per `model.up_types` entry) the config describes, with the
/// training-time `Dropout3d` of the reference's train builds.
pub fn vnet_config(cfg: &Config) -> VNetConfig {
    VNetConfig::new()
        .with_in_channels(cfg.data.channels)
        .with_classes(cfg.model.classes)
        .with_filters(cfg.model.filters)
        .with_up_types(cfg.model.up_types.clone())
        .with_dropout(true)
}
