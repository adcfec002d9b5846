//! Convolution weight gradients as one bounded matrix product per kernel tap, written with
//! tensor operations so that they run on any device ([`super::cube_conv`] uses them on CubeCL).
//!
//! For a tap, the weight gradient is the output gradient `[N, O, V]` against the input voxels
//! that tap reads `[N, C, V]`, contracted over batch and voxels. The contraction is split into
//! chunks of at most `chunk` voxels, each chunk one entry of a batched matrix product, summed at
//! the end (split-K): every loop in the product is bounded by `chunk`, and the chunks run in
//! parallel.

use burn::prelude::*;
use burn::tensor::Slice;

/// The chunk [`super::cube_conv`] uses: 4,096 voxels keep each product's loop short on any GPU
/// (and under lavapipe's loop limit) while leaving thousands of entries to run in parallel at
/// real patch sizes.
pub const CHUNK: usize = 4096;

/// Stride, padding and dilation per axis (depth first).
pub type Steps = ([usize; 3], [usize; 3], [usize; 3]);

/// `[N, P, V]` → `[N·k, P, L]`: the voxels cut into k chunks of `L = min(V, chunk)`, the last
/// one zero-padded, each chunk one batch entry.
fn chunked(t: Tensor<3>, chunk: usize) -> Tensor<3> {
    let [n, p, v] = t.dims();
    let l = v.min(chunk);
    let k = v.div_ceil(l);
    let t = if k * l > v { Tensor::cat(vec![t.clone(), Tensor::<3>::zeros([n, p, k * l - v], &t.device()).cast(t.dtype())], 2) } else { t };
    t.reshape([n, p, k, l]).swap_dims(1, 2).reshape([n * k, p, l])
}

/// `t` with `padding[i]` zeros before and after spatial axis `i`.
fn zero_pad(t: Tensor<5>, padding: [usize; 3]) -> Tensor<5> {
    if padding == [0; 3] {
        return t;
    }
    let [n, c, d, h, w] = t.dims();
    let [pd, ph, pw] = padding;
    let padded = Tensor::<5>::zeros([n, c, d + 2 * pd, h + 2 * ph, w + 2 * pw], &t.device()).cast(t.dtype());
    padded.slice_assign([0..n, 0..c, pd..pd + d, ph..ph + h, pw..pw + w], t)
}

/// Entries `start, start + step, …` (`count` of them) of each spatial axis, as `[N, C, V]`.
fn strided(t: &Tensor<5>, start: [usize; 3], step: [usize; 3], count: [usize; 3]) -> Tensor<3> {
    let [n, c, ..] = t.dims();
    let axis = |i: usize| Slice::new(start[i] as isize, Some((start[i] + (count[i] - 1) * step[i] + 1) as isize), step[i] as isize);
    let all = |len: usize| Slice::new(0, Some(len as isize), 1);
    t.clone().slice([all(n), all(c), axis(0), axis(1), axis(2)]).reshape([n, c, count.iter().product::<usize>()])
}

/// `Σ over batch and voxels of fixed · tapᵀ`: `[N·k, P, L]` (already [`chunked`]) by
/// `[N, Q, V]` → `[P, Q, 1]`.
fn contract(fixed: &Tensor<3>, tap: Tensor<3>, chunk: usize) -> Tensor<3> {
    let p = fixed.dims()[1];
    let q = tap.dims()[1];
    fixed.clone().matmul(chunked(tap, chunk).swap_dims(1, 2)).sum_dim(0).reshape([p, q, 1])
}

/// Every tap of a kernel, depth first (PyTorch's weight layout).
fn taps(kernel: [usize; 3]) -> impl Iterator<Item = [usize; 3]> {
    let [kd, kh, kw] = kernel;
    (0..kd).flat_map(move |a| (0..kh).flat_map(move |b| (0..kw).map(move |c| [a, b, c])))
}

/// The weight gradient `[O, C, kd, kh, kw]` of `conv3d(x, w)` (one group, symmetric zero
/// padding) for the output gradient `dy`: tap `t` reads input voxel `stride·v − padding +
/// dilation·t` for output voxel `v`.
pub fn conv_weight_grad(x: Tensor<5>, dy: Tensor<5>, kernel: [usize; 3], (stride, padding, dilation): Steps, chunk: usize) -> Tensor<5> {
    let [n, c, ..] = x.dims();
    let [_, o, od, oh, ow] = dy.dims();
    let fixed = chunked(dy.reshape([n, o, od * oh * ow]), chunk);
    let padded = zero_pad(x, padding);
    let per_tap: Vec<Tensor<3>> = taps(kernel)
        .map(|t| {
            let start = [t[0] * dilation[0], t[1] * dilation[1], t[2] * dilation[2]];
            contract(&fixed, strided(&padded, start, stride, [od, oh, ow]), chunk)
        })
        .collect();
    Tensor::cat(per_tap, 2).reshape([o, c, kernel[0], kernel[1], kernel[2]])
}

/// The weight gradient `[Cin, Cout, kd, kh, kw]` of `conv_transpose3d(x, w)` (one group, no
/// output padding): input voxel `v` reaches output voxel `stride·v − padding + t` through tap
/// `t`, so each tap pairs the input with the output gradient at those voxels.
pub fn conv_transpose_weight_grad(x: Tensor<5>, dy: Tensor<5>, kernel: [usize; 3], stride: [usize; 3], padding: [usize; 3], chunk: usize) -> Tensor<5> {
    let [n, ci, d, h, w] = x.dims();
    let co = dy.dims()[1];
    let fixed = chunked(x.reshape([n, ci, d * h * w]), chunk);
    let padded = zero_pad(dy, padding);
    let per_tap: Vec<Tensor<3>> = taps(kernel).map(|t| contract(&fixed, strided(&padded, t, stride, [d, h, w]), chunk)).collect();
    Tensor::cat(per_tap, 2).reshape([ci, co, kernel[0], kernel[1], kernel[2]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::module;
    use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
    use burn::tensor::Distribution;

    /// Largest |a − b| over the largest |b|.
    fn relative_gap<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
        let scale = b.clone().abs().max().into_scalar::<f32>();
        (a - b).abs().max().into_scalar::<f32>() / scale
    }

    /// Burn Flex's own weight gradient of `op` for a random input and output gradient.
    fn burn_weight_grad(x: &Tensor<5>, w_shape: [usize; 5], dy: &Tensor<5>, op: impl Fn(Tensor<5>, Tensor<5>) -> Tensor<5>) -> Tensor<5> {
        let device = Device::flex().autodiff();
        let w = Tensor::<5>::random(w_shape, Distribution::Normal(0.0, 1.0), &device).require_grad();
        let y = op(Tensor::from_data(x.to_data(), &device), w.clone());
        let grads = (y * Tensor::from_data(dy.to_data(), &device)).sum().backward();
        Tensor::from_data(w.grad(&grads).unwrap().to_data(), &Device::flex())
    }

    #[test]
    fn convolution_weight_gradients_match_burn_with_stride_padding_dilation_and_chunks() {
        let device = Device::flex();
        device.seed(5);
        // (input, channels in → out, kernel, stride, padding, dilation, chunk)
        let cases: [([usize; 3], [usize; 2], [usize; 3], Steps, usize); 5] = [
            ([6, 7, 5], [3, 4], [3, 3, 3], ([1; 3], [1; 3], [1; 3]), 7),
            ([6, 7, 5], [3, 4], [3, 3, 3], ([2, 1, 2], [1, 0, 1], [1; 3]), 4096),
            ([1, 9, 8], [2, 5], [1, 3, 3], ([1, 2, 1], [0, 1, 1], [1; 3]), 5),
            ([5, 8, 8], [2, 3], [3, 3, 1], ([1; 3], [2, 2, 0], [2, 2, 1]), 16),
            ([4, 6, 6], [3, 2], [1, 1, 1], ([2; 3], [0; 3], [1; 3]), 3),
        ];
        for (input, [c, o], kernel, (stride, padding, dilation), chunk) in cases {
            let x = Tensor::<5>::random([2, c, input[0], input[1], input[2]], Distribution::Normal(0.0, 1.0), &device);
            let options = ConvOptions::new(stride, padding, dilation, 1);
            let out = module::conv3d(x.clone(), Tensor::zeros([o, c, kernel[0], kernel[1], kernel[2]], &device), None, options.clone()).dims();
            let dy = Tensor::<5>::random(out, Distribution::Normal(0.0, 1.0), &device);
            let ours = conv_weight_grad(x.clone(), dy.clone(), kernel, (stride, padding, dilation), chunk);
            let burn = burn_weight_grad(&x, [o, c, kernel[0], kernel[1], kernel[2]], &dy, |x, w| module::conv3d(x, w, None, options.clone()));
            let gap = relative_gap(ours, burn);
            assert!(gap < 1e-5, "input {input:?}, kernel {kernel:?}, steps {stride:?}/{padding:?}/{dilation:?}, chunk {chunk}: relative gap {gap}");
        }
    }

    #[test]
    fn transposed_convolution_weight_gradients_match_burn() {
        let device = Device::flex();
        device.seed(6);
        // (input, channels in → out, kernel, stride, padding, chunk)
        let cases: [([usize; 3], [usize; 2], [usize; 3], [usize; 3], [usize; 3], usize); 3] = [
            ([3, 4, 5], [4, 2], [2, 2, 2], [2, 2, 2], [0; 3], 7),
            ([1, 5, 6], [3, 3], [1, 4, 4], [1, 2, 2], [0, 1, 1], 4096),
            ([3, 3, 3], [2, 3], [3, 3, 3], [1; 3], [1; 3], 5),
        ];
        for (input, [ci, co], kernel, stride, padding, chunk) in cases {
            let x = Tensor::<5>::random([2, ci, input[0], input[1], input[2]], Distribution::Normal(0.0, 1.0), &device);
            let options = ConvTransposeOptions::new(stride, padding, [0; 3], [1; 3], 1);
            let w_shape = [ci, co, kernel[0], kernel[1], kernel[2]];
            let out = module::conv_transpose3d(x.clone(), Tensor::zeros(w_shape, &device), None, options.clone()).dims();
            let dy = Tensor::<5>::random(out, Distribution::Normal(0.0, 1.0), &device);
            let ours = conv_transpose_weight_grad(x.clone(), dy.clone(), kernel, stride, padding, chunk);
            let burn = burn_weight_grad(&x, w_shape, &dy, |x, w| module::conv_transpose3d(x, w, None, options.clone()));
            let gap = relative_gap(ours, burn);
            assert!(gap < 1e-5, "input {input:?}, kernel {kernel:?}, stride {stride:?}, padding {padding:?}, chunk {chunk}: relative gap {gap}");
        }
    }
}
