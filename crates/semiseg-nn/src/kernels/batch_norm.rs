//! Batch normalisation fused with the activation after it, two passes each way.
//!
//! The activation is `y ↦ y` for `y > 0`, `slope·y` otherwise: ReLU with slope 0, PyTorch's
//! LeakyReLU with its slope, no activation with slope 1. Tensors are `[N, C, S]` (any spatial
//! rank flattened into `S`); statistics are per channel over `M = N·S` values, accumulated in
//! `f64`.

use super::simd::with_avx2;
use rayon::prelude::*;

/// The activation's value. Both sides are computed and one is selected, so that a loop over it
/// vectorises (a branch on the sign of random activations is mispredicted half the time).
#[inline(always)]
pub(crate) fn act(y: f32, slope: f32) -> f32 {
    let scaled = y * slope;
    if y > 0.0 { y } else { scaled }
}

/// The gradient before the activation from the gradient `dy` after it and the output `y`.
#[inline(always)]
fn act_grad(dy: f32, y: f32, slope: f32) -> f32 {
    let scaled = dy * slope;
    if y > 0.0 { dy } else { scaled }
}

/// Sizes of a `[N, C, S]` tensor.
#[derive(Clone, Copy, Debug)]
pub struct NormShape {
    /// Batch.
    pub batch: usize,
    /// Channels.
    pub channels: usize,
    /// Values per channel and sample.
    pub spatial: usize,
}

impl NormShape {
    fn planes_of<'a>(&self, x: &'a [f32], c: usize) -> impl Iterator<Item = &'a [f32]> + 'a {
        let (s, stride) = (self.spatial, self.channels * self.spatial);
        (0..self.batch).map(move |n| &x[n * stride + c * s..][..s])
    }

    fn count(&self) -> f64 {
        (self.batch * self.spatial) as f64
    }
}

/// `Σ f(v)` over a plane: f32 sums in lanes of 8 (they vectorise) over blocks of 512 values,
/// each block's total added in f64, so the rounding stays that of a 64-term f32 sum however
/// large the plane (a 3-D LA patch has about a million voxels per plane).
fn plane_sum(plane: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    let mut total = 0.0f64;
    for block in plane.chunks(512) {
        let mut lanes = [0.0f32; 8];
        let chunks = block.chunks_exact(8);
        for v in chunks.remainder() {
            total += f(*v) as f64;
        }
        for chunk in chunks {
            for l in 0..8 {
                lanes[l] += f(chunk[l]);
            }
        }
        total += lanes.iter().map(|&v| v as f64).sum::<f64>();
    }
    total
}

/// Batch statistics per channel: the mean and the biased variance, in two passes (the mean,
/// then the squared deviations from it): `E[x²] − E[x]²` loses digits to cancellation wherever
/// a channel's mean is large against its spread.
pub fn batch_stats(x: &[f32], shape: NormShape) -> (Vec<f32>, Vec<f32>) {
    let m = shape.count();
    (0..shape.channels)
        .into_par_iter()
        .map(|c| with_avx2(|| {
            let mean = shape.planes_of(x, c).map(|plane| plane_sum(plane, |v| v)).sum::<f64>() / m;
            let centre = mean as f32;
            let var = shape.planes_of(x, c).map(|plane| plane_sum(plane, |v| (v - centre) * (v - centre))).sum::<f64>() / m;
            // the centre is the mean rounded to f32: take out its offset from the f64 mean
            let offset = mean - centre as f64;
            (centre, (var - offset * offset).max(0.0) as f32)
        }))
        .unzip()
}

/// Per-channel `scale` and `shift` such that the normalised value is `x·scale + shift`.
pub fn affine(gamma: &[f32], beta: &[f32], mean: &[f32], var: &[f32], epsilon: f64) -> (Vec<f32>, Vec<f32>) {
    gamma
        .iter()
        .zip(beta)
        .zip(mean.iter().zip(var))
        .map(|((&g, &b), (&mu, &v))| {
            let scale = g as f64 / (v as f64 + epsilon).sqrt();
            (scale as f32, (b as f64 - mu as f64 * scale) as f32)
        })
        .unzip()
}

/// `act(x·scale + shift)` per channel: the evaluation pass, and the second training pass.
pub fn normalize_act(x: &[f32], shape: NormShape, scale: &[f32], shift: &[f32], slope: f32) -> Vec<f32> {
    let mut y = vec![0.0; x.len()];
    y.par_chunks_mut(shape.spatial).zip(x.par_chunks(shape.spatial)).enumerate().for_each(|(plane, (out, inp))| {
        let c = plane % shape.channels;
        let (a, b) = (scale[c], shift[c]);
        with_avx2(|| {
            for i in 0..out.len().min(inp.len()) {
                out[i] = act(inp[i] * a + b, slope);
            }
        });
    });
    y
}

/// Gradients of a training-mode `act(BN(x))` from the gradient `dy` of its output `y`:
/// `(dx, dγ, dβ)`. `mean` and `var` are the batch statistics of the forward pass.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    shape: NormShape,
    gamma: &[f32],
    mean: &[f32],
    var: &[f32],
    epsilon: f64,
    slope: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let inv_std: Vec<f64> = var.iter().map(|&v| 1.0 / (v as f64 + epsilon).sqrt()).collect();
    let grad_of = |dy: f32, y: f32| act_grad(dy, y, slope);
    // pass 1: dβ = Σ g and dγ = Σ g·x̂ per channel, g the gradient before the activation
    let (dbeta, dgamma): (Vec<f32>, Vec<f32>) = (0..shape.channels)
        .into_par_iter()
        .map(|c| with_avx2(|| {
            let (mu, is) = (mean[c], inv_std[c] as f32);
            let (mut sg, mut sgx) = (0.0f64, 0.0f64);
            for ((xp, yp), dp) in shape.planes_of(x, c).zip(shape.planes_of(y, c)).zip(shape.planes_of(dy, c)) {
                let (mut a, mut b) = ([0.0f32; 8], [0.0f32; 8]);
                let n8 = xp.len() / 8 * 8;
                for i in (0..n8).step_by(8) {
                    for l in 0..8 {
                        let g = grad_of(dp[i + l], yp[i + l]);
                        a[l] += g;
                        b[l] += g * (xp[i + l] - mu) * is;
                    }
                }
                for i in n8..xp.len() {
                    let g = grad_of(dp[i], yp[i]);
                    sg += g as f64;
                    sgx += (g * (xp[i] - mu) * is) as f64;
                }
                sg += a.iter().map(|&v| v as f64).sum::<f64>();
                sgx += b.iter().map(|&v| v as f64).sum::<f64>();
            }
            (sg as f32, sgx as f32)
        }))
        .unzip();
    // pass 2: dx = γ·σ⁻¹·(g − mean(g) − x̂·mean(g·x̂))
    let m = shape.count();
    let mut dx = vec![0.0; x.len()];
    dx.par_chunks_mut(shape.spatial).enumerate().for_each(|(plane, out)| {
        let c = plane % shape.channels;
        let at = plane * shape.spatial;
        let (xp, yp, dp) = (&x[at..][..shape.spatial], &y[at..][..shape.spatial], &dy[at..][..shape.spatial]);
        let (mu, is) = (mean[c], inv_std[c] as f32);
        let k = (gamma[c] as f64 * inv_std[c]) as f32;
        let (mg, mgx) = ((dbeta[c] as f64 / m) as f32, (dgamma[c] as f64 / m) as f32);
        with_avx2(|| {
            let n = out.len();
            let (dp, yp, xp) = (&dp[..n], &yp[..n], &xp[..n]);
            for i in 0..n {
                out[i] = k * (grad_of(dp[i], yp[i]) - mg - (xp[i] - mu) * is * mgx);
            }
        });
    });
    (dx, dgamma, dbeta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_keep_their_digits_for_large_planes_and_offsets() {
        // two samples of one channel at 112·112·80 voxels: values 1000 + small deviations,
        // where E[x²] − E[x]² in f32 lanes had no correct digit left
        let spatial = 112 * 112 * 80;
        let x: Vec<f32> = (0..2 * spatial).map(|i| 1000.0 + ((i * 7919 % 1000) as f32 - 500.0) * 1e-3).collect();
        let (mean, var) = batch_stats(&x, NormShape { batch: 2, channels: 1, spatial });
        let m = x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
        let v = x.iter().map(|&v| (v as f64 - m) * (v as f64 - m)).sum::<f64>() / x.len() as f64;
        assert!(((mean[0] as f64 - m) / m).abs() < 1e-7, "mean {} vs {m}", mean[0]);
        assert!(((var[0] as f64 - v) / v).abs() < 1e-5, "variance {} vs {v}", var[0]);
    }
}
