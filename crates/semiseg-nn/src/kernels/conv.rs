//! Convolution forward, input gradient and weight gradient as im2col + one GEMM per tile.
//!
//! With `X` the im2col matrix of a sample (`[K, P]`, `K = C·taps`, `P` output voxels),
//! `W` the weights as `[O, K]` and `dY` the output gradient as `[O, P]`:
//! `Y = W·X + b`, `dX = col2im(Wᵀ·dY)`, `dW = Σₙ dY·Xᵀ`, `db = Σₙ,ₚ dY`.
//! Burn's generic weight gradient is instead a convolution of the input by the output gradient
//! with the batch as channels, which Flex runs on a slow direct path.
//!
//! Work is split across samples when the batch can feed every thread (each sample then runs
//! single-threaded, without synchronisation); otherwise one sample at a time with the threads
//! inside the GEMM and the im2col.

use super::geometry::ConvGeometry;
use super::im2col::{col2im_add_tile, for_each_chunk, im2col_tile};
use super::matmul::{matmul, matmul_strided, MatRef};
use super::batch_norm::act;
use super::simd::with_avx2;
use super::transpose::transpose;
use rayon::prelude::*;

/// im2col buffers hold about this many values (4 MiB): large enough for an efficient GEMM,
/// small enough to stay in cache and to make 3-D volumes affordable.
const TILE_VALUES: usize = 1 << 20;

/// Below this many output channels the weight gradient transposes its im2col tile (measured on
/// unet2d's layers: 2.2× faster at 16 channels, 1.2× at 32, slower from 64 on).
const FEW_OUTPUTS: usize = 64;

thread_local! {
    /// Each thread's im2col buffers, kept between calls: a fresh 4 MiB buffer per sample and
    /// layer costs an allocation and its page faults every time.
    static SCRATCH: std::cell::Cell<[Vec<f32>; 2]> = const { std::cell::Cell::new([Vec::new(), Vec::new()]) };
}

/// Runs `f` with this thread's two scratch buffers. They are moved out while `f` runs, so a
/// nested call on the same thread (rayon may run another task while this one waits) gets
/// fresh buffers instead of a conflict.
fn with_scratch<R>(f: impl FnOnce(&mut [Vec<f32>; 2]) -> R) -> R {
    let mut buffers = SCRATCH.with(|s| s.take());
    let result = f(&mut buffers);
    SCRATCH.with(|s| s.set(buffers));
    result
}

/// Output rows (of `Wo` voxels) per tile.
fn rows_per_tile(g: &ConvGeometry) -> usize {
    let [_, _, wo] = g.output();
    (TILE_VALUES / (g.patch_len() * wo).max(1)).max(1)
}

/// The output-row ranges of the tiles.
fn tiles(g: &ConvGeometry) -> impl Iterator<Item = std::ops::Range<usize>> {
    let [od, oh, _] = g.output();
    let rows = od * oh;
    let step = rows_per_tile(g);
    (0..rows).step_by(step).map(move |s| s..(s + step).min(rows))
}

/// Whether samples run in parallel (each single-threaded) rather than one after another.
fn across_samples(g: &ConvGeometry) -> bool {
    let threads = rayon::current_num_threads();
    threads > 1 && g.batch >= threads
}

/// `y = conv(x, w) + b`: `x` `[N, C, D, H, W]`, `w` `[O, C, kd, kh, kw]`, `b` `[O]`; returns
/// `[N, O, Do, Ho, Wo]`.
pub fn forward(x: &[f32], w: &[f32], b: &[f32], g: &ConvGeometry) -> Vec<f32> {
    forward_act(x, w, b, g, None)
}

/// [`forward`] followed by `v ↦ v > 0 ? v : slope·v` when `slope` is given, applied where the
/// bias is added (no extra pass over the output): a convolution with batch norm folded in.
pub fn forward_act(x: &[f32], w: &[f32], b: &[f32], g: &ConvGeometry, slope: Option<f32>) -> Vec<f32> {
    g.check();
    let (k, p, o) = (g.patch_len(), g.output_volume(), g.out_channels);
    let inner = !across_samples(g);
    let mut y = vec![0.0; g.batch * o * p];
    let wo = g.output()[2];
    for_each_chunk(!inner, &mut y, o * p, |n, yn| {
        let xn = &x[n * g.in_channels * g.input_volume()..][..g.in_channels * g.input_volume()];
        if g.is_pointwise() {
            matmul(yn, p, MatRef::rows(w, k), MatRef::rows(xn, p), [o, k, p], false, inner);
        } else {
            with_scratch(|[cols, _]| {
                for rows in tiles(g) {
                    let t = rows.len() * wo;
                    cols.resize(k * t, 0.0);
                    im2col_tile(xn, g, rows.clone(), cols, inner);
                    matmul(&mut yn[rows.start * wo..], p, MatRef::rows(w, k), MatRef::rows(cols, t), [o, k, t], false, inner);
                }
            });
        }
        for (plane, &bias) in yn.chunks_mut(p).zip(b) {
            with_avx2(|| match slope {
                None => plane.iter_mut().for_each(|v| *v += bias),
                Some(slope) => plane.iter_mut().for_each(|v| *v = act(*v + bias, slope)),
            });
        }
    });
    y
}

/// The gradient of the loss with respect to `x`, from the output gradient `dy`.
pub fn input_grad(dy: &[f32], w: &[f32], g: &ConvGeometry) -> Vec<f32> {
    g.check();
    let (k, p, o) = (g.patch_len(), g.output_volume(), g.out_channels);
    let sample = g.in_channels * g.input_volume();
    let inner = !across_samples(g);
    let wo = g.output()[2];
    let mut dx = vec![0.0; g.batch * sample];
    for_each_chunk(!inner, &mut dx, sample, |n, dxn| {
        let dyn_ = &dy[n * o * p..][..o * p];
        if g.is_pointwise() {
            matmul(dxn, p, MatRef::transposed(w, k), MatRef::rows(dyn_, p), [k, o, p], false, inner);
            return;
        }
        with_scratch(|[cols, _]| {
            for rows in tiles(g) {
                let t = rows.len() * wo;
                cols.resize(k * t, 0.0);
                let dy_tile = MatRef { data: &dyn_[rows.start * wo..], row_stride: p, col_stride: 1 };
                matmul(cols, t, MatRef::transposed(w, k), dy_tile, [k, o, t], false, inner);
                col2im_add_tile(cols, g, rows, dxn, inner);
            }
        });
    });
    dx
}

/// The gradients of the loss with respect to `w` (`[O, C, kd, kh, kw]`) and `b` (`[O]`).
pub fn weight_grad(x: &[f32], dy: &[f32], g: &ConvGeometry) -> (Vec<f32>, Vec<f32>) {
    g.check();
    let (k, p, o) = (g.patch_len(), g.output_volume(), g.out_channels);
    let sample = g.in_channels * g.input_volume();
    let wo = g.output()[2];
    let one_sample = |n: usize, inner: bool, dw: &mut [f32], db: &mut [f32]| {
        let xn = &x[n * sample..][..sample];
        let dyn_ = &dy[n * o * p..][..o * p];
        if g.is_pointwise() {
            matmul_strided(dw, [1, k], MatRef::rows(xn, p), MatRef::transposed(dyn_, p), [k, p, o], true, inner);
        } else {
            with_scratch(|[cols, cols_t]| for rows in tiles(g) {
                let t = rows.len() * wo;
                cols.resize(k * t, 0.0);
                im2col_tile(xn, g, rows.clone(), cols, inner);
                let dy_tile = MatRef { data: &dyn_[rows.start * wo..], row_stride: p, col_stride: 1 };
                if o < FEW_OUTPUTS {
                    // dW (+)= dY · im2colᵀ, im2colᵀ transposed in blocks first: with few outputs
                    // the GEMM's strided packing of the large operand would cost more than the
                    // products
                    cols_t.resize(k * t, 0.0);
                    transpose(cols, k, t, cols_t);
                    matmul(dw, k, dy_tile, MatRef::rows(cols_t, k), [o, t, k], true, inner);
                } else {
                    // dWᵀ (+)= im2col · dYᵀ, written through dW's transposed strides
                    let dy_t = MatRef { data: &dyn_[rows.start * wo..], row_stride: 1, col_stride: p };
                    matmul_strided(dw, [1, k], MatRef::rows(cols, t), dy_t, [k, t, o], true, inner);
                }
            });
        }
        for (acc, plane) in db.iter_mut().zip(dyn_.chunks(p)) {
            *acc += plane.iter().map(|&v| v as f64).sum::<f64>() as f32;
        }
    };
    let zeros = || (vec![0.0f32; o * k], vec![0.0f32; o]);
    if across_samples(g) {
        (0..g.batch)
            .into_par_iter()
            .fold(zeros, |(mut dw, mut db), n| {
                one_sample(n, false, &mut dw, &mut db);
                (dw, db)
            })
            .reduce(zeros, |(mut dw, mut db), (dw2, db2)| {
                dw.iter_mut().zip(dw2).for_each(|(a, b)| *a += b);
                db.iter_mut().zip(db2).for_each(|(a, b)| *a += b);
                (dw, db)
            })
    } else {
        let (mut dw, mut db) = zeros();
        for n in 0..g.batch {
            one_sample(n, true, &mut dw, &mut db);
        }
        (dw, db)
    }
}

