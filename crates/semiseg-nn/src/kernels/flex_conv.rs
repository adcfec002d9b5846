//! The GEMM convolution as a Burn backend extension: Flex runs [`super::conv`], and the
//! autodiff wrapper records its own backward step (input and weight gradients by GEMM).

use super::conv;
use super::flex_data::{f32s, flex_tensor, flex_vector};
use super::geometry::ConvGeometry;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Flex};
use burn::backend::tensor::FloatTensor;

/// A 3-D convolution (`[N, C, D, H, W]` by `[O, C, kd, kh, kw]`, plus a bias `[O]`) with
/// stride, symmetric zero padding and dilation, on the backends that have a fast kernel for it.
#[backend_extension(Flex, Autodiff)]
pub trait GemmConv: Backend {
    /// `conv3d(x, weight) + bias`.
    fn gemm_conv3d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 3],
        padding: [usize; 3],
        dilation: [usize; 3],
    ) -> FloatTensor<Self>;
}

/// Stride, padding and dilation per axis.
type Steps = ([usize; 3], [usize; 3], [usize; 3]);

fn geometry(x: &FlexTensor, w: &FlexTensor, (stride, padding, dilation): Steps) -> ConvGeometry {
    let [batch, in_channels, d, h, wd] = x.layout().shape().dims::<5>();
    let [out_channels, c, kd, kh, kw] = w.layout().shape().dims::<5>();
    assert_eq!(c, in_channels, "convolution weight has {c} input channels, the input {in_channels}");
    ConvGeometry { batch, in_channels, out_channels, input: [d, h, wd], kernel: [kd, kh, kw], stride, padding, dilation }
}

fn output_shape(g: &ConvGeometry) -> [usize; 5] {
    let [d, h, w] = g.output();
    [g.batch, g.out_channels, d, h, w]
}

fn forward(x: &FlexTensor, w: &FlexTensor, b: &FlexTensor, steps: Steps) -> FlexTensor {
    let g = geometry(x, w, steps);
    let (x, w, b) = (x.to_contiguous(), w.to_contiguous(), b.to_contiguous());
    super::profile::timed("convolution forward", || flex_tensor(conv::forward(f32s(&x), f32s(&w), f32s(&b), &g), output_shape(&g)))
}

impl GemmConv for Flex {
    fn gemm_conv3d(x: FlexTensor, weight: FlexTensor, bias: FlexTensor, stride: [usize; 3], padding: [usize; 3], dilation: [usize; 3]) -> FlexTensor {
        forward(&x, &weight, &bias, (stride, padding, dilation))
    }
}

/// What the backward step keeps: the input and the weights.
type SavedConv = (FlexTensor, FlexTensor, Steps);

#[derive(Debug)]
struct GemmConvBackward;

impl Backward<Flex, 3> for GemmConvBackward {
    type State = SavedConv;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (x, w, steps) = ops.state;
        let g = geometry(&x, &w, steps);
        if let Some(node) = node_x {
            let dx = super::profile::timed("convolution input gradient", || conv::input_grad(f32s(&dy), f32s(&w.to_contiguous()), &g));
            grads.register::<Flex>(node.id, flex_tensor(dx, [g.batch, g.in_channels, g.input[0], g.input[1], g.input[2]]));
        }
        if node_w.is_some() || node_b.is_some() {
            let (dw, db) = super::profile::timed("convolution weight gradient", || conv::weight_grad(f32s(&x.to_contiguous()), f32s(&dy), &g));
            if let Some(node) = node_w {
                let [kd, kh, kw] = g.kernel;
                grads.register::<Flex>(node.id, flex_tensor(dw, [g.out_channels, g.in_channels, kd, kh, kw]));
            }
            if let Some(node) = node_b {
                grads.register::<Flex>(node.id, flex_vector(db));
            }
        }
    }
}

impl<C: CheckpointStrategy> GemmConv for Autodiff<Flex, C> {
    fn gemm_conv3d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 3],
        padding: [usize; 3],
        dilation: [usize; 3],
    ) -> FloatTensor<Self> {
        let prepared = GemmConvBackward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful();
        let steps = (stride, padding, dilation);
        let y = forward(x.primitive(), weight.primitive(), bias.primitive(), steps);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish((x.primitive().clone(), weight.primitive().clone(), steps), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}
