//! 2×2 max-pooling as a Burn backend extension: Flex runs [`super::pool`], and the autodiff
//! wrapper keeps the winners for its backward scatter.

use super::flex_data::{f32s, flex_tensor};
use super::pool;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Flex};

/// `max_pool2d(x, kernel 2, stride 2)` on `[N, C, H, W]`.
#[backend_extension(Flex, Autodiff)]
pub trait MaxPool2x2: Backend {
    /// The pooled tensor `[N, C, H/2, W/2]`.
    fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `(planes, [H, W])` of a `[N, C, H, W]` tensor.
fn planes(x: &FlexTensor) -> (usize, [usize; 2]) {
    let [n, c, h, w] = x.layout().shape().dims::<4>();
    (n * c, [h, w])
}

fn pooled(x: &FlexTensor) -> (FlexTensor, Vec<u8>) {
    let (p, [h, w]) = planes(x);
    let xs = x.to_contiguous();
    let out = super::profile::timed("max pool forward", || pool::max_pool2x2(f32s(&xs), p, [h, w]));
    let [n, c, _, _] = x.layout().shape().dims::<4>();
    (flex_tensor(out.values, [n, c, h / 2, w / 2]), out.winners)
}

impl MaxPool2x2 for Flex {
    fn max_pool2x2(x: FlexTensor) -> FlexTensor {
        pooled(&x).0
    }
}

#[derive(Debug)]
struct MaxPoolBackward;

impl Backward<Flex, 1> for MaxPoolBackward {
    /// The winners and the input's shape.
    type State = (Vec<u8>, [usize; 4]);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (winners, [n, c, h, w]) = ops.state;
        if let Some(node) = node_x {
            let dx = super::profile::timed("max pool backward", || pool::max_pool2x2_backward(f32s(&dy), &winners, n * c, [h, w]));
            grads.register::<Flex>(node.id, flex_tensor(dx, [n, c, h, w]));
        }
    }
}

impl<C: CheckpointStrategy> MaxPool2x2 for Autodiff<Flex, C> {
    fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let prepared = MaxPoolBackward.prepare::<C>([x.node()]).compute_bound().stateful();
        let (y, winners) = pooled(x.primitive());
        match prepared {
            OpsKind::Tracked(prep) => prep.finish((winners, x.primitive().layout().shape().dims::<4>()), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}
