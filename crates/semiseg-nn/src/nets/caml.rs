//! CAML's network `CAML3d_v1` (methods.md §3.1): two complete V-Nets with their own encoders.
//! Model V (vanilla) up-samples by transposed convolutions; model A (auxiliary) by trilinear
//! resampling + conv and carries the cross-sample attention after its fourth encoder stage.
//! Each model has a projection head (`filters → feature_dim`) and a prediction head
//! (`feature_dim → feature_dim`) for the omni-correlation loss, applied to the decoders' last
//! features by the method. 20,128,836 parameters at 16 filters and `feature_dim` 32 (the
//! reference's `--embedding_dim 64` never reaches the network).

use super::vnet::{UpKind, VDecoder, VEncoder};
use crate::blocks::{MlpHead, SampleAttention, SampleAttentionConfig};
use burn::config::Config;
use burn::module::Module;
use crate::pytorch::{linear_or_norm, transformer_layer_source, vnet_part_key, Source};
use burn::prelude::*;

/// Configuration of a [`Caml`].
#[derive(Config, Debug)]
pub struct CamlConfig {
    /// Input channels.
    #[config(default = 1)]
    pub in_channels: usize,
    /// Output classes.
    #[config(default = 2)]
    pub classes: usize,
    /// Base channels of both V-Nets.
    #[config(default = 16)]
    pub filters: usize,
    /// Width of the projection and prediction heads.
    #[config(default = 32)]
    pub feature_dim: usize,
    /// The V-Nets' training-time `Dropout3d(0.5)`.
    #[config(default = true)]
    pub dropout: bool,
    /// Dropout inside the attention layers.
    #[config(default = 0.5)]
    pub attention_dropout: f64,
}

/// The two models and their heads.
#[derive(Module, Debug)]
pub struct Caml {
    encoder1: VEncoder,
    decoder1: VDecoder,
    encoder2: VEncoder,
    attention: SampleAttention,
    decoder2: VDecoder,
    /// Model V's projection head.
    pub projection_head1: MlpHead,
    /// Model V's prediction head.
    pub prediction_head1: MlpHead,
    /// Model A's projection head.
    pub projection_head2: MlpHead,
    /// Model A's prediction head.
    pub prediction_head2: MlpHead,
}

/// Logits and last decoder features of both models.
#[derive(Debug, Clone)]
pub struct CamlOutput {
    /// Model V's logits `[N, classes, H, W, D]`.
    pub logits_v: Tensor<5>,
    /// Model V's features `[N, filters, H, W, D]`.
    pub features_v: Tensor<5>,
    /// Model A's logits.
    pub logits_a: Tensor<5>,
    /// Model A's features.
    pub features_a: Tensor<5>,
}

impl CamlConfig {
    /// Builds the network.
    pub fn init(&self, device: &Device) -> Caml {
        let f = self.filters;
        let attention = SampleAttentionConfig::new(8 * f).with_d_ff(32 * f).with_dropout(self.attention_dropout).init(device);
        Caml {
            encoder1: VEncoder::new(self.in_channels, f, self.dropout, device),
            decoder1: VDecoder::new(UpKind::Transposed, f, self.classes, self.dropout, device),
            encoder2: VEncoder::new(self.in_channels, f, self.dropout, device),
            attention,
            decoder2: VDecoder::new(UpKind::Trilinear, f, self.classes, self.dropout, device),
            projection_head1: MlpHead::new(f, self.feature_dim, device),
            prediction_head1: MlpHead::new(self.feature_dim, self.feature_dim, device),
            projection_head2: MlpHead::new(f, self.feature_dim, device),
            prediction_head2: MlpHead::new(self.feature_dim, self.feature_dim, device),
        }
    }
}

impl Caml {
    /// Where each parameter is in a state dict of the reference's `CAML3d_v1` (`encoder1`,
    /// `encoder2` with `intra_attention` / `inter_attention`, `decoder1` transposed, `decoder2`
    /// trilinear, `projection_head{1,2}`, `prediction_head{1,2}`), for [`crate::pytorch`].
    pub fn pytorch_source(path: &str) -> Option<Source> {
        let (part, inner) = path.split_once('.')?;
        match part {
            "encoder1" | "encoder2" => vnet_part_key(inner, false).map(|k| Source::plain(format!("{part}.{k}"))),
            "decoder1" => vnet_part_key(inner, true).map(|k| Source::plain(format!("decoder1.{k}"))),
            "decoder2" => vnet_part_key(inner, false).map(|k| Source::plain(format!("decoder2.{k}"))),
            "attention" => {
                let (which, rest) = inner.split_once('.')?;
                let prefix = match which {
                    "intra" => "encoder2.intra_attention.encoder_layers",
                    "inter" => "encoder2.inter_attention.encoder_layers",
                    _ => return None,
                };
                transformer_layer_source(prefix, rest)
            }
            head if head.contains("_head") => {
                let (layer, p) = inner.split_once('.')?;
                match layer {
                    "first" => Some(linear_or_norm(&format!("{head}.0"), p, true)),
                    "norm" => Some(linear_or_norm(&format!("{head}.1"), p, false)),
                    "second" => Some(linear_or_norm(&format!("{head}.3"), p, true)),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Both models (training: the attention is active on an autodiff device).
    pub fn forward_both(&self, x: Tensor<5>) -> CamlOutput {
        // both encoders before the decoders, as the reference, so random draws come in its order
        let (encoded_v, encoded_a) = (self.encoder1.forward(x.clone()), self.encoder2.forward_with(x, |x4| self.attention.forward(x4)));
        let (logits_v, features_v) = self.decoder1.forward(encoded_v);
        let (logits_a, features_a) = self.decoder2.forward(encoded_a);
        CamlOutput { logits_v, features_v, logits_a, features_a }
    }

    /// Model V's logits, the reference's inference path.
    ///
    /// # Shapes
    /// `[N, in, H, W, D]` → `[N, classes, H, W, D]`
    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        self.decoder1.forward(self.encoder1.forward(x)).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::trainable_params;

    #[test]
    fn parameter_count_matches_the_reference() {
        assert_eq!(trainable_params(&CamlConfig::new().init(&Device::flex())), 20_128_836);
    }
}
