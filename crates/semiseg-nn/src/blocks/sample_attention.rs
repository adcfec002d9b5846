//! CAML's cross-sample mutual attention (CMA, methods.md §3.1): an intra-sample transformer
//! layer (every position attends to the positions of its own volume), then an inter-sample one
//! (every position attends to the same position in the other volumes of the batch, which is how
//! the labeled samples inform the unlabeled ones). Both are PyTorch's post-norm
//! `TransformerEncoderLayer` with ReLU; no positional encoding. Active only while training, the
//! identity otherwise, as the reference (`if self.training`).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::attention::MultiHeadAttention;
use burn::nn::transformer::{TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput};
use burn::nn::activation::ActivationConfig;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::Distribution;

/// Configuration of a [`SampleAttention`].
#[derive(Config, Debug)]
pub struct SampleAttentionConfig {
    /// Channels of the features (128 at V-Net's fourth scale).
    pub d_model: usize,
    /// Attention heads.
    #[config(default = 4)]
    pub heads: usize,
    /// Hidden width of the feed-forward part.
    #[config(default = 512)]
    pub d_ff: usize,
    /// Dropout on attention weights, attention output and feed-forward (the reference: 0.5).
    #[config(default = 0.5)]
    pub dropout: f64,
}

/// The two transformer layers.
#[derive(Module, Debug)]
pub struct SampleAttention {
    intra: TransformerEncoder,
    inter: TransformerEncoder,
}

impl SampleAttentionConfig {
    /// Builds both layers with PyTorch's initialisation of `nn.MultiheadAttention`.
    pub fn init(&self, device: &Device) -> SampleAttention {
        let layer = || {
            let encoder = TransformerEncoderConfig::new(self.d_model, self.d_ff, self.heads, 1)
                .with_dropout(self.dropout)
                .with_norm_first(false)
                .with_activation(ActivationConfig::Relu)
                .init(device);
            pytorch_attention_init(encoder)
        };
        SampleAttention { intra: layer(), inter: layer() }
    }
}

impl SampleAttention {
    /// # Shapes
    /// `[B, C, H, W, D]` → the same
    pub fn forward(&self, x: Tensor<5>) -> Tensor<5> {
        if !x.device().is_autodiff() {
            return x;
        }
        let [b, c, h, w, d] = x.dims();
        let tokens = x.reshape([b, c, h * w * d]).swap_dims(1, 2); // [B, N, C]
        let tokens = self.intra.forward(TransformerEncoderInput::new(tokens));
        let across = self.inter.forward(TransformerEncoderInput::new(tokens.swap_dims(0, 1))); // [N, B, C]
        across.swap_dims(0, 1).swap_dims(1, 2).reshape([b, c, h, w, d])
    }
}

/// PyTorch's `nn.MultiheadAttention` initialisation, which Burn's defaults differ from: the
/// packed query/key/value projection Xavier-uniform over its `[3d, d]` shape, all projection
/// biases zero; the output projection keeps the `nn.Linear` default (as Burn's).
fn pytorch_attention_init(mut encoder: TransformerEncoder) -> TransformerEncoder {
    for layer in encoder.layers.iter_mut() {
        let mha: &mut MultiHeadAttention = &mut layer.mha;
        let d = mha.d_model as f64;
        let bound = (6.0 / (d + 3.0 * d)).sqrt();
        for linear in [&mut mha.query, &mut mha.key, &mut mha.value] {
            redraw(linear, Some(bound));
        }
        redraw(&mut mha.output, None);
    }
    encoder
}

/// Sets `linear`'s bias to zero and, given a bound, draws its weight from `U(−bound, bound)`.
fn redraw(linear: &mut Linear, weight_bound: Option<f64>) {
    if let Some(bound) = weight_bound {
        linear.weight = fresh(linear.weight.clone(), |t| Tensor::random(t.shape(), Distribution::Uniform(-bound, bound), &t.device()));
    }
    if let Some(bias) = linear.bias.take() {
        linear.bias = Some(fresh(bias, |t| t.zeros_like()));
    }
}

/// `param` with new values, still a trainable leaf when it was one.
fn fresh<const D: usize>(param: Param<Tensor<D>>, values: impl Fn(&Tensor<D>) -> Tensor<D>) -> Param<Tensor<D>> {
    param.map(|t| {
        let v = values(&t).detach();
        if t.is_require_grad() { v.require_grad() } else { v }
    })
}
