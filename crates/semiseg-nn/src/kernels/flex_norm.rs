//! Fused batch normalisation + activation as Burn backend extensions: Flex runs
//! [`super::batch_norm`], and the autodiff wrapper records the two-pass backward step.

use super::batch_norm::{self, NormShape};
use super::flex_data::{f32s, flex_tensor, flex_vector};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Flex};

/// Training-mode batch normalisation with the batch's statistics, then the activation.
#[backend_extension(Flex, Autodiff)]
pub trait FusedNormTrain: Backend {
    /// `(act(BN(x)), batch mean, biased batch variance)`; `x` is `[N, C, …]`.
    fn bn_act_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        slope: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// Evaluation-mode batch normalisation with given statistics, then the activation (no
/// gradient: plain devices only).
#[backend_extension(Flex)]
pub trait FusedNormEval: Backend {
    /// `act(BN(x))` with the running `mean` and `var`.
    fn bn_act_eval(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        var: FloatTensor<Self>,
        epsilon: f64,
        slope: f64,
    ) -> FloatTensor<Self>;
}

fn values(t: &FlexTensor) -> Vec<f32> {
    let t = t.to_contiguous();
    f32s(&t).to_vec()
}

fn shape_of(x: &FlexTensor) -> NormShape {
    let dims = x.layout().shape().as_slice();
    assert!(dims.len() >= 2, "batch norm needs [N, C, …], got {dims:?}");
    NormShape { batch: dims[0], channels: dims[1], spatial: dims[2..].iter().product() }
}

fn like(values: Vec<f32>, t: &FlexTensor) -> FlexTensor {
    flex_tensor(values, t.layout().shape().clone())
}

/// The forward pass on plain tensors: output, mean, variance.
fn train_forward(x: &FlexTensor, gamma: &FlexTensor, beta: &FlexTensor, epsilon: f64, slope: f64) -> (FlexTensor, Vec<f32>, Vec<f32>) {
    let shape = shape_of(x);
    let xs = x.to_contiguous();
    let xv = f32s(&xs);
    super::profile::timed("batch norm + activation forward", || {
        let (mean, var) = batch_norm::batch_stats(xv, shape);
        let (scale, shift) = batch_norm::affine(&values(gamma), &values(beta), &mean, &var, epsilon);
        let y = batch_norm::normalize_act(xv, shape, &scale, &shift, slope as f32);
        (like(y, x), mean, var)
    })
}

impl FusedNormTrain for Flex {
    fn bn_act_train(x: FlexTensor, gamma: FlexTensor, beta: FlexTensor, epsilon: f64, slope: f64) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (y, mean, var) = train_forward(&x, &gamma, &beta, epsilon, slope);
        (y, flex_vector(mean), flex_vector(var))
    }
}

impl FusedNormEval for Flex {
    fn bn_act_eval(x: FlexTensor, gamma: FlexTensor, beta: FlexTensor, mean: FlexTensor, var: FlexTensor, epsilon: f64, slope: f64) -> FlexTensor {
        let (scale, shift) = batch_norm::affine(&values(&gamma), &values(&beta), &values(&mean), &values(&var), epsilon);
        let xs = x.to_contiguous();
        let xv = f32s(&xs);
        super::profile::timed("batch norm + activation (evaluation)", || like(batch_norm::normalize_act(xv, shape_of(&x), &scale, &shift, slope as f32), &x))
    }
}

/// What the backward step keeps: input, output, γ, the batch statistics, ε and the slope.
type SavedNorm = (FlexTensor, FlexTensor, Vec<f32>, Vec<f32>, Vec<f32>, f64, f64);

#[derive(Debug)]
struct BnActBackward;

impl Backward<Flex, 3> for BnActBackward {
    type State = SavedNorm;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (x, y, gamma, mean, var, epsilon, slope) = ops.state;
        let (xs, ys) = (x.to_contiguous(), y.to_contiguous());
        let (dx, dgamma, dbeta) = super::profile::timed("batch norm + activation backward", || {
            batch_norm::backward(f32s(&xs), f32s(&ys), f32s(&dy), shape_of(&x), &gamma, &mean, &var, epsilon, slope as f32)
        });
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, like(dx, &x));
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, flex_vector(dgamma));
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, flex_vector(dbeta));
        }
    }
}

impl<C: CheckpointStrategy> FusedNormTrain for Autodiff<Flex, C> {
    fn bn_act_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        slope: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let prepared = BnActBackward.prepare::<C>([x.node(), gamma.node(), beta.node()]).compute_bound().stateful();
        let (y, mean, var) = train_forward(x.primitive(), gamma.primitive(), beta.primitive(), epsilon, slope);
        // the statistics leave as constants (leaf tensors without a gradient)
        let stats = (FloatTensor::<Self>::new(flex_vector(mean.clone())), FloatTensor::<Self>::new(flex_vector(var.clone())));
        let y = match prepared {
            OpsKind::Tracked(prep) => {
                let saved = (x.primitive().clone(), y.clone(), values(gamma.primitive()), mean, var, epsilon, slope);
                prep.finish(saved, y)
            }
            OpsKind::UnTracked(prep) => prep.finish(y),
        };
        (y, stats.0, stats.1)
    }
}
