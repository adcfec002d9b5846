//! Convolution → batch norm → activation in evaluation mode as one convolution: the norm's
//! running statistics and affine parameters folded into the convolution's weights and bias
//! (`w'ₒ = w·γₒ/√(σ²ₒ+ε)`, `b'ₒ = (bₒ − μₒ)·γₒ/√(σ²ₒ+ε) + βₒ`, as inference engines do) and the
//! activation applied where the bias is added, so that the norm costs no pass over the
//! activations. Flex only, without autodiff: training keeps the two operations.

use super::batch_norm::affine;
use super::conv;
use super::flex_data::{f32s, flex_tensor};
use super::geometry::ConvGeometry;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, Flex};

/// Stride, padding and dilation per axis.
pub type Steps = ([usize; 3], [usize; 3], [usize; 3]);

/// `act(BN(conv3d(x, weight) + bias))` with the norm's running statistics.
#[backend_extension(Flex)]
pub trait FoldedConvBn: Backend {
    /// The activated output, from the norm's γ, β and running mean and variance.
    #[allow(clippy::too_many_arguments)]
    fn conv3d_bn_act_eval(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        var: FloatTensor<Self>,
        epsilon: f64,
        steps: Steps,
        slope: f64,
    ) -> FloatTensor<Self>;
}

/// `weight` and `bias` with `act(BN(·))`'s per-channel scale and shift folded in.
pub fn fold(weight: &[f32], bias: &[f32], scale: &[f32], shift: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let per_output = weight.len() / scale.len();
    let w = weight.chunks(per_output).zip(scale).flat_map(|(row, &s)| row.iter().map(move |&v| v * s)).collect();
    let b = bias.iter().zip(scale.iter().zip(shift)).map(|(&b, (&s, &t))| b * s + t).collect();
    (w, b)
}

impl FoldedConvBn for Flex {
    #[allow(clippy::too_many_arguments)]
    fn conv3d_bn_act_eval(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        mean: FlexTensor,
        var: FlexTensor,
        epsilon: f64,
        (stride, padding, dilation): Steps,
        slope: f64,
    ) -> FlexTensor {
        let [batch, in_channels, d, h, wd] = x.layout().shape().dims::<5>();
        let [out_channels, _, kd, kh, kw] = weight.layout().shape().dims::<5>();
        let g = ConvGeometry { batch, in_channels, out_channels, input: [d, h, wd], kernel: [kd, kh, kw], stride, padding, dilation };
        let [gamma, beta, mean, var] = [gamma, beta, mean, var].map(|t| t.to_contiguous());
        let (scale, shift) = affine(f32s(&gamma), f32s(&beta), f32s(&mean), f32s(&var), epsilon);
        let (w, b) = (weight.to_contiguous(), bias.to_contiguous());
        let (w, b) = fold(f32s(&w), f32s(&b), &scale, &shift);
        let xs = x.to_contiguous();
        let [od, oh, ow] = g.output();
        let act = (slope != 1.0).then_some(slope as f32);
        let y = super::profile::timed("convolution + batch norm + activation (evaluation, folded)", || conv::forward_act(f32s(&xs), &w, &b, &g, act));
        flex_tensor(y, [batch, out_channels, od, oh, ow])
    }
}
