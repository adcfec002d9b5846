//! Fused group norm + Swish as a Burn backend extension: Flex runs [`super::group_norm`], and
//! the autodiff wrapper records its two-pass backward step.

use super::flex_data::{f32s, flex_tensor, flex_vector};
use super::group_norm::{self, GroupShape};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Flex};

/// `act(GroupNorm(x))` on `[N, C, …]`, `act` Swish or the identity.
#[backend_extension(Flex, Autodiff)]
pub trait FusedGroupNorm: Backend {
    /// The normalised (and activated) tensor.
    fn group_norm_act(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        groups: usize,
        epsilon: f64,
        swish: bool,
    ) -> FloatTensor<Self>;
}

fn shape_of(x: &FlexTensor, groups: usize) -> GroupShape {
    let dims = x.layout().shape().as_slice();
    assert!(dims.len() >= 2 && dims[1] % groups == 0, "group norm of {groups} groups on shape {dims:?}");
    GroupShape { batch: dims[0], channels: dims[1], spatial: dims[2..].iter().product(), groups }
}

fn run(x: &FlexTensor, gamma: &FlexTensor, beta: &FlexTensor, groups: usize, epsilon: f64, swish: bool) -> (FlexTensor, Vec<(f32, f32)>) {
    let shape = shape_of(x, groups);
    let (xs, g, b) = (x.to_contiguous(), gamma.to_contiguous(), beta.to_contiguous());
    let (y, stats) = super::profile::timed("group norm + Swish forward", || {
        let stats = group_norm::group_stats(f32s(&xs), shape, epsilon);
        (group_norm::forward(f32s(&xs), shape, f32s(&g), f32s(&b), &stats, swish), stats)
    });
    (flex_tensor(y, x.layout().shape().clone()), stats)
}

impl FusedGroupNorm for Flex {
    fn group_norm_act(x: FlexTensor, gamma: FlexTensor, beta: FlexTensor, groups: usize, epsilon: f64, swish: bool) -> FlexTensor {
        run(&x, &gamma, &beta, groups, epsilon, swish).0
    }
}

#[derive(Debug)]
struct GroupNormBackward;

impl Backward<Flex, 3> for GroupNormBackward {
    /// Input, γ, β, the statistics, the group count and whether Swish follows.
    type State = (FlexTensor, FlexTensor, FlexTensor, Vec<(f32, f32)>, usize, bool);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (x, gamma, beta, stats, groups, swish) = ops.state;
        let shape = shape_of(&x, groups);
        let (xs, g, b) = (x.to_contiguous(), gamma.to_contiguous(), beta.to_contiguous());
        let (dx, dgamma, dbeta) =
            super::profile::timed("group norm + Swish backward", || group_norm::backward(f32s(&xs), f32s(&dy), shape, f32s(&g), f32s(&b), &stats, swish));
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, flex_tensor(dx, x.layout().shape().clone()));
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, flex_vector(dgamma));
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, flex_vector(dbeta));
        }
    }
}

impl<C: CheckpointStrategy> FusedGroupNorm for Autodiff<Flex, C> {
    fn group_norm_act(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        groups: usize,
        epsilon: f64,
        swish: bool,
    ) -> FloatTensor<Self> {
        let prepared = GroupNormBackward.prepare::<C>([x.node(), gamma.node(), beta.node()]).compute_bound().stateful();
        let (y, stats) = run(x.primitive(), gamma.primitive(), beta.primitive(), groups, epsilon, swish);
        match prepared {
            OpsKind::Tracked(prep) => {
                let saved = (x.primitive().clone(), gamma.primitive().clone(), beta.primitive().clone(), stats, groups, swish);
                prep.finish(saved, y)
            }
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}
