//! CAML's cross-sample mutual attention (CMA, methods.md §3.1): an intra-sample transformer
//! layer (every position attends to the positions of its own volume), then an inter-sample one
//! (every position attends to the same position in the other volumes of the batch, which is how
//! the labeled samples inform the unlabeled ones). Both are PyTorch's post-norm
//! `TransformerEncoderLayer` with ReLU; no positional encoding. Active only while training, the
//! identity otherwise, as the reference (`if self.training`).
//!
//! The layers' parameters are Burn's `TransformerEncoder` (so checkpoints and the PyTorch key map
//! keep its names), but the forward pass is written out here: PyTorch's four dropouts (on the
//! attention weights, after attention, inside the feed-forward part, after it) draw their masks
//! through [`crate::draws`], so that a whole-step test can replay the reference's.

use burn::config::Config;
use burn::module::{Module, Param};
use crate::draws::dropout;
use burn::nn::activation::ActivationConfig;
use burn::nn::attention::MultiHeadAttention;
use burn::nn::transformer::{TransformerEncoder, TransformerEncoderConfig, TransformerEncoderLayer};
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::{relu, softmax};
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
        let tokens = encoder_forward(&self.intra, tokens);
        let across = encoder_forward(&self.inter, tokens.swap_dims(0, 1)); // [N, B, C]
        across.swap_dims(0, 1).swap_dims(1, 2).reshape([b, c, h, w, d])
    }
}

/// The encoder's layers one after the other.
fn encoder_forward(encoder: &TransformerEncoder, x: Tensor<3>) -> Tensor<3> {
    encoder.layers.iter().fold(x, |x, layer| post_norm_layer(layer, x))
}

/// PyTorch's post-norm `TransformerEncoderLayer` with ReLU (`norm1(x + dropout1(attention(x)))`,
/// then `norm2(x + dropout2(linear2(dropout(relu(linear1(x))))))`) over `[batch, sequence,
/// d_model]`, with the layer's dropout probability in all four places.
fn post_norm_layer(layer: &TransformerEncoderLayer, x: Tensor<3>) -> Tensor<3> {
    let p = layer.dropout.prob;
    let x = layer.norm_1.forward(x.clone() + dropout(self_attention(&layer.mha, x, p), p));
    let ff = &layer.pwff;
    let inner = dropout(relu(ff.linear_inner.forward(x.clone())), p);
    layer.norm_2.forward(x + dropout(ff.linear_outer.forward(inner), p))
}

/// Scaled dot-product self-attention over `n_heads` heads, dropout `p` on the attention weights.
fn self_attention(mha: &MultiHeadAttention, x: Tensor<3>, p: f64) -> Tensor<3> {
    let [b, n, d] = x.dims();
    let heads = |linear: &Linear| linear.forward(x.clone()).reshape([b, n, mha.n_heads, mha.d_k]).swap_dims(1, 2);
    let scores = heads(&mha.query).matmul(heads(&mha.key).transpose()).div_scalar((mha.d_k as f64).sqrt());
    let context = dropout(softmax(scores, 3), p).matmul(heads(&mha.value));
    mha.output.forward(context.swap_dims(1, 2).reshape([b, n, d]))
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
