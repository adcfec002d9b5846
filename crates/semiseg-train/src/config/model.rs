//! `[model]`: the network.

use super::check::{bad, one_of};
use super::ConfigError;
use serde::{Deserialize, Serialize};

/// The network.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// `unet2d` (SSL4MIS UNet), `projunet` (CLCC's Oktay-style UNet with projection head) or
    /// `mgcc` (CMU-Net encoder, ConvMixers, four MSAG decoders); 3-D: `vnet` (UA-MT's V-Net, or
    /// MC-Net+'s with one decoder per `up_types` entry), `caml` (two V-Nets with cross-sample
    /// attention) or `fbanet` (MC-Net+ V-Net with a foreground/background head per decoder).
    pub name: String,
    /// Output classes including background.
    pub classes: usize,
    /// Width multiplier of the feature widths (unet2d; mgcc: of CMU-Net's base width 16).
    pub width: f64,
    /// ProjUNet widths are 64..1024 divided by this (CLCC: 4).
    pub feature_scale: usize,
    /// MGCC widths are this times 16..256 (the paper: 4).
    pub dim_mult: usize,
    /// MGCC: perturb all five feature levels of the auxiliary decoders (the reference) or only
    /// the bottleneck.
    pub perturb_all_levels: bool,
    /// MGCC: feature noise shared by the batch (the reference) or drawn per sample.
    pub shared_noise: bool,
    /// V-Net width: features of the first stage (16 in every paper).
    pub filters: usize,
    /// V-Net decoders by up-sampling type: 0 transposed conv, 1 trilinear + conv, 2 nearest +
    /// conv (`[0]`: UA-MT's V-Net; `[0, 1, 2]`: MC-Net+ and FBA-Net+).
    pub up_types: Vec<usize>,
    /// CAML: width of the projection / prediction heads (32: the reference never passes its
    /// `--embedding_dim 64` to the network).
    pub feature_dim: usize,
    /// FBA-Net: width of the foreground / background embeddings.
    pub contrast_dim: usize,
}
impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            name: "unet2d".into(),
            classes: 4,
            width: 1.0,
            feature_scale: 4,
            dim_mult: 4,
            perturb_all_levels: true,
            shared_noise: true,
            filters: 16,
            up_types: vec![0],
            feature_dim: 32,
            contrast_dim: 128,
        }
    }
}
impl ModelConfig {
    /// The network names of `model.name`.
    pub const NAMES: [&'static str; 6] = ["unet2d", "projunet", "mgcc", "vnet", "caml", "fbanet"];

    /// Whether the network is 3-D (V-Net family): volumes in, sliding-window inference.
    pub fn is_volumetric(&self) -> bool {
        ["vnet", "caml", "fbanet"].contains(&self.name.as_str())
    }

    /// Checks the values that need no other section.
    pub fn check(&self) -> Result<(), ConfigError> {
        one_of("model.name", &self.name, &Self::NAMES)?;
        if self.classes < 2 {
            return bad("model.classes", self.classes.to_string(), "at least 2 (background and one class)");
        }
        if !(self.width > 0.0 && self.width <= 8.0) {
            return bad("model.width", self.width.to_string(), "in (0, 8]");
        }
        Ok(())
    }
}
