//! Convolutions on CubeCL devices (wgpu, CUDA) with semiseg's own weight gradient.
//!
//! Burn 0.22.1 computes a convolution's weight gradient on CubeCL with
//! `conv_weight_backward_fallback` when autotune is off (as in semiseg's build): a direct
//! convolution whose kernel is the whole output-gradient map, so each thread loops a few times
//! over all V voxels of a sample. Mesa's lavapipe cuts a shader's loops short after 65,535
//! iterations, so there the gradient is wrong past about 22k voxels per sample (docs/gpu.md); on
//! a real GPU the few threads that do all the work make it slow. A transposed
//! convolution's weight gradient is Burn's generic one, the same kind of direct convolution. Here
//! both weight gradients are [`super::tap_grad`]'s bounded matrix products per kernel tap; forward
//! passes and input gradients stay Burn's.
//!
//! Tensors are 5-D (`[N, C, D, H, W]`) or 4-D (`[N, C, H, W]`, the last two entries of the
//! stride, padding and dilation apply).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::{backend_extension, Autodiff, Backend, BackendTensor, Cube, DispatchAutodiffContext, DispatchTensor, DispatchTensorKind, TensorMetadata};
use burn::prelude::*;
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use super::tap_grad::{conv_transpose_weight_grad, conv_weight_grad, Steps, CHUNK};

/// Convolution and transposed convolution (one group, symmetric zero padding, no output
/// padding) whose weight gradient is semiseg's (see the module documentation).
#[backend_extension(Cube: cfg(any(feature = "wgpu", feature = "cuda")), Autodiff)]
pub trait CubeConv: Backend {
    /// `conv(x, weight) + bias`; weight `[O, C, k…]`.
    fn cube_conv(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 3],
        padding: [usize; 3],
        dilation: [usize; 3],
    ) -> FloatTensor<Self>;

    /// `conv_transpose(x, weight) + bias`; weight `[Cin, Cout, k…]`.
    fn cube_conv_transpose(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 3],
        padding: [usize; 3],
    ) -> FloatTensor<Self>;
}

type Primitive = FloatTensor<Cube>;

fn last2(a: [usize; 3]) -> [usize; 2] {
    [a[1], a[2]]
}

fn is_2d(x: &Primitive) -> bool {
    x.shape().num_dims() == 4
}

fn conv(x: Primitive, w: Primitive, b: Option<Primitive>, (s, p, d): Steps) -> Primitive {
    if is_2d(&x) {
        Cube::conv2d(x, w, b, ConvOptions::new(last2(s), last2(p), last2(d), 1))
    } else {
        Cube::conv3d(x, w, b, ConvOptions::new(s, p, d, 1))
    }
}

fn conv_input_grad(x: Primitive, w: Primitive, dy: Primitive, (s, p, d): Steps) -> Primitive {
    if is_2d(&x) {
        Cube::conv2d_x_backward(x, w, dy, ConvOptions::new(last2(s), last2(p), last2(d), 1))
    } else {
        Cube::conv3d_x_backward(x, w, dy, ConvOptions::new(s, p, d, 1))
    }
}

fn conv_transpose(x: Primitive, w: Primitive, b: Option<Primitive>, s: [usize; 3], p: [usize; 3]) -> Primitive {
    if is_2d(&x) {
        Cube::conv_transpose2d(x, w, b, ConvTransposeOptions::new(last2(s), last2(p), [0, 0], [1, 1], 1))
    } else {
        Cube::conv_transpose3d(x, w, b, ConvTransposeOptions::new(s, p, [0, 0, 0], [1, 1, 1], 1))
    }
}

fn conv_transpose_input_grad(w: Primitive, dy: Primitive, s: [usize; 3], p: [usize; 3]) -> Primitive {
    if is_2d(&dy) {
        Cube::conv_transpose2d_x_backward(w, dy, ConvTransposeOptions::new(last2(s), last2(p), [0, 0], [1, 1], 1))
    } else {
        Cube::conv_transpose3d_x_backward(w, dy, ConvTransposeOptions::new(s, p, [0, 0, 0], [1, 1, 1], 1))
    }
}

impl CubeConv for Cube {
    fn cube_conv(x: Primitive, weight: Primitive, bias: Primitive, stride: [usize; 3], padding: [usize; 3], dilation: [usize; 3]) -> Primitive {
        conv(x, weight, Some(bias), (stride, padding, dilation))
    }

    fn cube_conv_transpose(x: Primitive, weight: Primitive, bias: Primitive, stride: [usize; 3], padding: [usize; 3]) -> Primitive {
        conv_transpose(x, weight, Some(bias), stride, padding)
    }
}

/// A CubeCL primitive as a (non-autodiff) tensor, to write the gradient with tensor operations.
fn tensor<const D: usize>(t: Primitive) -> Tensor<D> {
    Tensor::from_dispatch(DispatchTensor { kind: DispatchTensorKind::Cube(BackendTensor::Float(t)), autodiff: DispatchAutodiffContext::Disabled })
}

fn primitive<const D: usize>(t: Tensor<D>) -> Primitive {
    match t.into_dispatch().kind {
        DispatchTensorKind::Cube(t) => t.float(),
        _ => unreachable!("a gradient computed from CubeCL tensors stays on CubeCL"),
    }
}

/// A 4-D tensor as 5-D of depth 1; 5-D unchanged.
fn as_volume(t: Primitive) -> Tensor<5> {
    if is_2d(&t) {
        tensor::<4>(t).unsqueeze_dim(2)
    } else {
        tensor(t)
    }
}

/// The kernel size of a weight `[A, B, k…]` as three axes.
fn kernel_of(weight: &Primitive) -> [usize; 3] {
    let s = weight.shape();
    match s.num_dims() {
        4 => [1, s[2], s[3]],
        _ => [s[2], s[3], s[4]],
    }
}

/// A 5-D gradient back in the shape of `like` (4-D for 2-D convolutions).
fn shaped_like(g: Tensor<5>, like: &Primitive) -> Primitive {
    if like.shape().num_dims() == 4 {
        primitive(g.squeeze_dim::<4>(2))
    } else {
        primitive(g)
    }
}

/// The bias gradient: the output gradient summed over all but the channel axis.
fn bias_grad(dy: Primitive) -> Primitive {
    let dy = as_volume(dy);
    let [n, o, d, h, w] = dy.dims();
    primitive(dy.swap_dims(0, 1).reshape([o, n * d * h * w]).sum_dim(1).reshape([o]))
}

#[derive(Debug)]
struct ConvBackward;

impl Backward<Cube, 3> for ConvBackward {
    type State = (Primitive, Primitive, Steps);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let dy = grads.consume::<Cube>(&ops.node);
        let (x, w, steps) = ops.state;
        if let Some(node) = node_x {
            grads.register::<Cube>(node.id, conv_input_grad(x.clone(), w.clone(), dy.clone(), steps));
        }
        if let Some(node) = node_w {
            let g = conv_weight_grad(as_volume(x), as_volume(dy.clone()), kernel_of(&w), steps, CHUNK);
            grads.register::<Cube>(node.id, shaped_like(g, &w));
        }
        if let Some(node) = node_b {
            grads.register::<Cube>(node.id, bias_grad(dy));
        }
    }
}

#[derive(Debug)]
struct ConvTransposeBackward;

impl Backward<Cube, 3> for ConvTransposeBackward {
    type State = (Primitive, Primitive, [usize; 3], [usize; 3]);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let dy = grads.consume::<Cube>(&ops.node);
        let (x, w, stride, padding) = ops.state;
        if let Some(node) = node_x {
            grads.register::<Cube>(node.id, conv_transpose_input_grad(w.clone(), dy.clone(), stride, padding));
        }
        if let Some(node) = node_w {
            let g = conv_transpose_weight_grad(as_volume(x), as_volume(dy.clone()), kernel_of(&w), stride, padding, CHUNK);
            grads.register::<Cube>(node.id, shaped_like(g, &w));
        }
        if let Some(node) = node_b {
            grads.register::<Cube>(node.id, bias_grad(dy));
        }
    }
}

impl<C: CheckpointStrategy> CubeConv for Autodiff<Cube, C> {
    fn cube_conv(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>, stride: [usize; 3], padding: [usize; 3], dilation: [usize; 3]) -> FloatTensor<Self> {
        let prepared = ConvBackward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful();
        let steps = (stride, padding, dilation);
        let y = conv(x.primitive().clone(), weight.primitive().clone(), Some(bias.primitive().clone()), steps);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish((x.primitive().clone(), weight.primitive().clone(), steps), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }

    fn cube_conv_transpose(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>, stride: [usize; 3], padding: [usize; 3]) -> FloatTensor<Self> {
        let prepared = ConvTransposeBackward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful();
        let y = conv_transpose(x.primitive().clone(), weight.primitive().clone(), Some(bias.primitive().clone()), stride, padding);
        match prepared {
            OpsKind::Tracked(prep) => prep.finish((x.primitive().clone(), weight.primitive().clone(), stride, padding), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}
