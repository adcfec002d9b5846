//! Bilinear resizing (`align_corners = true`) as a Burn backend extension: Flex runs
//! [`super::resize`], and the autodiff wrapper its adjoint.

use super::flex_data::{f32s, flex_tensor};
use super::resize;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Flex};

/// `interpolate(x, size, bilinear, align_corners = true)` on `[N, C, H, W]`.
#[backend_extension(Flex, Autodiff)]
pub trait BilinearAligned: Backend {
    /// The resized tensor `[N, C, size[0], size[1]]`.
    fn bilinear_aligned(x: FloatTensor<Self>, size: [usize; 2]) -> FloatTensor<Self>;
}

fn resized(x: &FlexTensor, size: [usize; 2]) -> FlexTensor {
    let [n, c, h, w] = x.layout().shape().dims::<4>();
    let xs = x.to_contiguous();
    let y = super::profile::timed("bilinear resize forward", || resize::bilinear(f32s(&xs), n * c, [h, w], size));
    flex_tensor(y, [n, c, size[0], size[1]])
}

impl BilinearAligned for Flex {
    fn bilinear_aligned(x: FlexTensor, size: [usize; 2]) -> FlexTensor {
        resized(&x, size)
    }
}

#[derive(Debug)]
struct BilinearBackward;

impl Backward<Flex, 1> for BilinearBackward {
    /// The input's shape and the output size.
    type State = ([usize; 4], [usize; 2]);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let ([n, c, h, w], size) = ops.state;
        if let Some(node) = node_x {
            let dx = super::profile::timed("bilinear resize backward", || resize::bilinear_backward(f32s(&dy), n * c, [h, w], size));
            grads.register::<Flex>(node.id, flex_tensor(dx, [n, c, h, w]));
        }
    }
}

impl<C: CheckpointStrategy> BilinearAligned for Autodiff<Flex, C> {
    fn bilinear_aligned(x: FloatTensor<Self>, size: [usize; 2]) -> FloatTensor<Self> {
        let prepared = BilinearBackward.prepare::<C>([x.node()]).compute_bound().stateful();
        let y = resized(x.primitive(), size);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish((x.primitive().layout().shape().dims::<4>(), size), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}
