//! Transposed convolution on Flex as the adjoint of [`super::conv`]: its forward pass is a
//! convolution's input gradient, its input gradient a convolution, and its weight gradient a
//! convolution's weight gradient with input and output gradient exchanged. No new loops.

use super::conv;
use super::flex_data::{f32s, flex_tensor, flex_vector};
use super::geometry::ConvGeometry;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Flex};

/// A 3-D transposed convolution (`[N, Cin, D, H, W]` by `[Cin, Cout, kd, kh, kw]`, plus a bias
/// `[Cout]`) with stride, symmetric padding and no output padding: PyTorch's `ConvTranspose3d`.
#[backend_extension(Flex, Autodiff)]
pub trait GemmConvTranspose: Backend {
    /// `conv_transpose3d(x, weight) + bias`.
    fn gemm_conv_transpose3d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 3],
        padding: [usize; 3],
    ) -> FloatTensor<Self>;
}

/// The convolution whose adjoint this transposed convolution is: it maps the transposed
/// convolution's output (`Cout` channels) back to its input (`Cin` channels).
fn adjoint_geometry(x: &FlexTensor, w: &FlexTensor, stride: [usize; 3], padding: [usize; 3]) -> ConvGeometry {
    let [batch, cin, d, h, wd] = x.layout().shape().dims::<5>();
    let [wc, cout, kd, kh, kw] = w.layout().shape().dims::<5>();
    assert_eq!(wc, cin, "transposed convolution weight has {wc} input channels, the input {cin}");
    let input = [d, h, wd];
    let kernel = [kd, kh, kw];
    let out: [usize; 3] = std::array::from_fn(|a| {
        ((input[a] - 1) * stride[a] + kernel[a]).checked_sub(2 * padding[a]).expect("transposed convolution padding larger than its output")
    });
    let g = ConvGeometry { batch, in_channels: cout, out_channels: cin, input: out, kernel, stride, padding, dilation: [1, 1, 1] };
    assert_eq!(g.output(), input, "transposed convolution sizes do not invert");
    g
}

fn output_shape(g: &ConvGeometry) -> [usize; 5] {
    [g.batch, g.in_channels, g.input[0], g.input[1], g.input[2]]
}

fn forward(x: &FlexTensor, w: &FlexTensor, b: &FlexTensor, stride: [usize; 3], padding: [usize; 3]) -> FlexTensor {
    super::profile::timed("transposed convolution forward", || forward_untimed(x, w, b, stride, padding))
}

fn forward_untimed(x: &FlexTensor, w: &FlexTensor, b: &FlexTensor, stride: [usize; 3], padding: [usize; 3]) -> FlexTensor {
    let g = adjoint_geometry(x, w, stride, padding);
    let (x, w, b) = (x.to_contiguous(), w.to_contiguous(), b.to_contiguous());
    let mut y = conv::input_grad(f32s(&x), f32s(&w), &g);
    let plane = g.input_volume();
    for (values, bias) in y.chunks_mut(plane).zip(f32s(&b).iter().cycle()) {
        values.iter_mut().for_each(|v| *v += bias);
    }
    flex_tensor(y, output_shape(&g))
}

impl GemmConvTranspose for Flex {
    fn gemm_conv_transpose3d(x: FlexTensor, weight: FlexTensor, bias: FlexTensor, stride: [usize; 3], padding: [usize; 3]) -> FlexTensor {
        forward(&x, &weight, &bias, stride, padding)
    }
}

#[derive(Debug)]
struct GemmConvTransposeBackward;

impl Backward<Flex, 3> for GemmConvTransposeBackward {
    type State = (FlexTensor, FlexTensor, [usize; 3], [usize; 3]);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        super::profile::timed("transposed convolution backward", || Self::gradients(ops, grads));
    }
}

impl GemmConvTransposeBackward {
    fn gradients(ops: Ops<<Self as Backward<Flex, 3>>::State, 3>, grads: &mut Gradients) {
        let [node_x, node_w, node_b] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (x, w, stride, padding) = ops.state;
        let g = adjoint_geometry(&x, &w, stride, padding);
        let (x, w) = (x.to_contiguous(), w.to_contiguous());
        if let Some(node) = node_x {
            let dx = conv::forward(f32s(&dy), f32s(&w), &vec![0.0; g.out_channels], &g);
            let [d, h, wd] = g.output();
            grads.register::<Flex>(node.id, flex_tensor(dx, [g.batch, g.out_channels, d, h, wd]));
        }
        if node_w.is_some() || node_b.is_some() {
            // the adjoint convolution's input is dy and its output gradient x
            let (dw, _) = conv::weight_grad(f32s(&dy), f32s(&x), &g);
            if let Some(node) = node_w {
                let [kd, kh, kw] = g.kernel;
                grads.register::<Flex>(node.id, flex_tensor(dw, [g.out_channels, g.in_channels, kd, kh, kw]));
            }
            if let Some(node) = node_b {
                let plane = g.input_volume();
                let mut db = vec![0.0f64; g.in_channels];
                for (i, values) in f32s(&dy).chunks(plane).enumerate() {
                    db[i % g.in_channels] += values.iter().map(|&v| v as f64).sum::<f64>();
                }
                let db: Vec<f32> = db.into_iter().map(|v| v as f32).collect();
                grads.register::<Flex>(node.id, flex_vector(db));
            }
        }
    }
}

impl<C: CheckpointStrategy> GemmConvTranspose for Autodiff<Flex, C> {
    fn gemm_conv_transpose3d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 3],
        padding: [usize; 3],
    ) -> FloatTensor<Self> {
        let prepared = GemmConvTransposeBackward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful();
        let y = forward(x.primitive(), weight.primitive(), bias.primitive(), stride, padding);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish((x.primitive().clone(), weight.primitive().clone(), stride, padding), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}
