//! Checking a whole config: each section's own values, then the pairings across sections
//! (network with method, patch sides, decoders, one-logit networks), naming the first bad key.

use super::{Config, ConfigError};

/// The error for `key = value`, saying what is allowed.
pub(super) fn bad<T>(key: &str, value: String, expected: &str) -> Result<T, ConfigError> {
    Err(ConfigError::Invalid { key: key.into(), value, expected: expected.into() })
}

/// `key` must be one of `allowed`.
pub(super) fn one_of(key: &str, v: &str, allowed: &[&str]) -> Result<(), ConfigError> {
    if allowed.contains(&v) {
        Ok(())
    } else {
        bad(key, format!("\"{v}\""), &format!("expected one of {}", allowed.join(", ")))
    }
}

impl Config {
    /// Checks every value once, naming the key of the first bad one.
    pub fn check(&self) -> Result<(), ConfigError> {
        self.data.check()?;
        self.model.check()?;
        self.method.check()?;
        self.train.check()?;
        self.eval.check()?;
        let sides = if self.is_volumetric() { 3 } else { 2 };
        if self.data.patch.len() != sides {
            return bad("data.patch", format!("{:?}", self.data.patch), &format!("{} takes a {sides}-D patch ({sides} sides)", self.model.name));
        }
        if self.is_volumetric() {
            self.check_volume_nets()?;
        } else if ["rot_flip_crop", "crop"].contains(&self.data.augment.as_str()) {
            return bad("data.augment", format!("\"{}\"", self.data.augment), "volume augmentation needs a 3-D network (vnet, caml, fbanet)");
        }
        self.check_binary_nets()?;
        if self.method.name != "supervised" && self.train.labeled_batch == self.train.batch {
            return bad("train.labeled_batch", self.train.labeled_batch.to_string(), "a semi-supervised method needs unlabeled samples in the batch (labeled_batch < batch)");
        }
        Ok(())
    }

    fn check_volume_nets(&self) -> Result<(), ConfigError> {
        let (model, method) = (self.model.name.as_str(), self.method.name.as_str());
        let allowed: &[&str] = match model {
            "caml" => &["caml"],
            "fbanet" => &["fbanet"],
            _ => &["supervised", "mean_teacher", "ua_mt", "mcnet"],
        };
        if !allowed.contains(&method) {
            return bad("method.name", format!("\"{method}\""), &format!("{model} is trained by {}", allowed.join(" or ")));
        }
        if ["caml", "fbanet", "mcnet"].contains(&method) && self.model.classes != 2 {
            return bad("model.classes", self.model.classes.to_string(), &format!("{method} segments one foreground class: classes = 2"));
        }
        let decoders = self.model.up_types.len();
        if self.model.up_types.iter().any(|&u| u > 2) || decoders == 0 || decoders > 3 {
            return bad("model.up_types", format!("{:?}", self.model.up_types), "1 to 3 decoders, each of type 0 (transposed conv), 1 (trilinear) or 2 (nearest)");
        }
        if model == "fbanet" && self.model.up_types.iter().enumerate().any(|(i, &u)| i != u) {
            return bad("model.up_types", format!("{:?}", self.model.up_types), "FBA-Net's decoders are [0] (FBA-Net) or [0, 1, 2] (FBA-Net+), types in order");
        }
        if method == "mcnet" && decoders < 2 {
            return bad("model.up_types", format!("{:?}", self.model.up_types), "mcnet needs at least two decoders (MC-Net+: [0, 1, 2])");
        }
        if ["supervised", "mean_teacher", "ua_mt"].contains(&method) && decoders != 1 {
            return bad("model.up_types", format!("{:?}", self.model.up_types), &format!("{method} trains a one-decoder V-Net: [0]"));
        }
        if !["rot_flip_crop", "crop"].contains(&self.data.augment.as_str()) {
            return bad("data.augment", format!("\"{}\"", self.data.augment), "a 3-D network takes rot_flip_crop or crop");
        }
        if self.eval.stride.len() != 3 || self.eval.stride.contains(&0) {
            return bad("eval.stride", format!("{:?}", self.eval.stride), "three positive strides [H, W, D]");
        }
        if self.eval.window_batch == 0 {
            return bad("eval.window_batch", "0".into(), "at least 1");
        }
        if self.eval.resolution != "original" {
            return bad("eval.resolution", format!("\"{}\"", self.eval.resolution), "3-D networks score at the original resolution");
        }
        if self.model.filters == 0 || self.model.feature_dim == 0 || self.model.contrast_dim == 0 {
            return bad("model.filters/feature_dim/contrast_dim", format!("{} / {} / {}", self.model.filters, self.model.feature_dim, self.model.contrast_dim), "positive");
        }
        if !(self.method.sharpen_temperature > 0.0 && self.method.correlation_temperature > 0.0) {
            return bad("method.sharpen_temperature/correlation_temperature", format!("{} / {}", self.method.sharpen_temperature, self.method.correlation_temperature), "positive");
        }
        Ok(())
    }

    /// The pairing of the one-logit networks with their methods (CLCC: projunet, MGCC: mgcc).
    fn check_binary_nets(&self) -> Result<(), ConfigError> {
        let (model, method) = (self.model.name.as_str(), self.method.name.as_str());
        if self.is_volumetric() {
            return Ok(());
        }
        if ["mcnet", "caml", "fbanet"].contains(&method) {
            return bad("model.name", format!("\"{model}\""), &format!("{method} trains a 3-D network ({})", if method == "mcnet" { "vnet" } else { method }));
        }
        for (m, net) in [("clcc", "projunet"), ("mgcc", "mgcc")] {
            if method == m && model != net {
                return bad("model.name", format!("\"{model}\""), &format!("{m} trains the \"{net}\" network"));
            }
            if model == net && ![m, "supervised"].contains(&method) {
                return bad("method.name", format!("\"{method}\""), &format!("{net} is trained by supervised or {m}"));
            }
        }
        if model == "unet2d" {
            return Ok(());
        }
        if self.model.classes != 2 {
            return bad("model.classes", self.model.classes.to_string(), &format!("{model} has one sigmoid logit: classes = 2 (background, foreground)"));
        }
        if !(1..=8).contains(&self.model.dim_mult) {
            return bad("model.dim_mult", self.model.dim_mult.to_string(), "between 1 and 8");
        }
        if ![1, 2, 4, 8, 16].contains(&self.model.feature_scale) {
            return bad("model.feature_scale", self.model.feature_scale.to_string(), "one of 1, 2, 4, 8, 16");
        }
        let [h, w] = self.data.patch2();
        if self.method.name == "clcc" && (h != w || h % semiseg_nn::nets::PROJ_STRIDE != 0) {
            return bad("data.patch", format!("{:?}", self.data.patch), "clcc needs a square patch, a multiple of 64 (a grid of 64x64 patches; 320 = 5x5)");
        }
        Ok(())
    }

}
