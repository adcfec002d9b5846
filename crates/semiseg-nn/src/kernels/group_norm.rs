//! Group normalisation fused with an optional Swish (SiLU), two passes each way: the
//! normalisation of the diffusion networks' residual blocks (medfusion).
//!
//! Tensors are `[N, C, S]`; group `g` of sample `n` is the contiguous run of channels
//! `g·C/G .. (g+1)·C/G`, normalised over its `M = (C/G)·S` values (biased variance, statistics
//! in `f64`), then scaled and shifted per channel.

use rayon::prelude::*;

/// Sizes of a `[N, C, S]` tensor split in `groups` channel groups.
#[derive(Clone, Copy, Debug)]
pub struct GroupShape {
    /// Batch.
    pub batch: usize,
    /// Channels (a multiple of `groups`).
    pub channels: usize,
    /// Values per channel and sample.
    pub spatial: usize,
    /// Channel groups.
    pub groups: usize,
}

impl GroupShape {
    fn group_len(&self) -> usize {
        self.channels / self.groups * self.spatial
    }
}

#[inline]
fn sigmoid(y: f32) -> f32 {
    1.0 / (1.0 + (-y).exp())
}

/// Mean and `1/σ` of every (sample, group), in that order.
pub fn group_stats(x: &[f32], shape: GroupShape, epsilon: f64) -> Vec<(f32, f32)> {
    x.par_chunks(shape.group_len())
        .map(|g| {
            let (mut sum, mut squares) = (0.0f64, 0.0f64);
            for &v in g {
                sum += v as f64;
                squares += (v as f64) * (v as f64);
            }
            let m = g.len() as f64;
            let mean = sum / m;
            let var = (squares / m - mean * mean).max(0.0);
            (mean as f32, (1.0 / (var + epsilon).sqrt()) as f32)
        })
        .collect()
}

/// `act(γ·x̂ + β)` with `act` Swish when `swish`, the identity otherwise.
pub fn forward(x: &[f32], shape: GroupShape, gamma: &[f32], beta: &[f32], stats: &[(f32, f32)], swish: bool) -> Vec<f32> {
    let mut y = vec![0.0; x.len()];
    let s = shape.spatial;
    y.par_chunks_mut(s).zip(x.par_chunks(s)).enumerate().for_each(|(plane, (out, inp))| {
        let (n, c) = (plane / shape.channels, plane % shape.channels);
        let (mean, rstd) = stats[n * shape.groups + c / (shape.channels / shape.groups)];
        let (a, b) = (gamma[c] * rstd, beta[c] - gamma[c] * rstd * mean);
        if swish {
            out.iter_mut().zip(inp).for_each(|(o, &v)| {
                let t = v * a + b;
                *o = t * sigmoid(t);
            });
        } else {
            out.iter_mut().zip(inp).for_each(|(o, &v)| *o = v * a + b);
        }
    });
    y
}

/// Gradients `(dx, dγ, dβ)` from the output gradient `dy`.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    x: &[f32],
    dy: &[f32],
    shape: GroupShape,
    gamma: &[f32],
    beta: &[f32],
    stats: &[(f32, f32)],
    swish: bool,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let s = shape.spatial;
    let per_group = shape.channels / shape.groups;
    // the gradient before the activation, at one value of channel c with stats (mean, rstd)
    let pre = |v: f32, g: f32, c: usize, mean: f32, rstd: f32| -> (f32, f32) {
        let xhat = (v - mean) * rstd;
        let g = if swish {
            let t = xhat * gamma[c] + beta[c];
            let sg = sigmoid(t);
            g * sg * (1.0 + t * (1.0 - sg))
        } else {
            g
        };
        (g, xhat)
    };
    // pass 1, per (sample, channel) plane: Σ g and Σ g·x̂
    let sums: Vec<(f64, f64)> = x
        .par_chunks(s)
        .zip(dy.par_chunks(s))
        .enumerate()
        .map(|(plane, (xp, dp))| {
            let (n, c) = (plane / shape.channels, plane % shape.channels);
            let (mean, rstd) = stats[n * shape.groups + c / per_group];
            let (mut sg, mut sgx) = (0.0f64, 0.0f64);
            for (&v, &g) in xp.iter().zip(dp) {
                let (g, xhat) = pre(v, g, c, mean, rstd);
                sg += g as f64;
                sgx += (g * xhat) as f64;
            }
            (sg, sgx)
        })
        .collect();
    let mut dgamma = vec![0.0f64; shape.channels];
    let mut dbeta = vec![0.0f64; shape.channels];
    // per (sample, group): Σ γ·g and Σ γ·g·x̂, the sums of dx̂ the normalisation's gradient needs
    let mut group_sums = vec![(0.0f64, 0.0f64); shape.batch * shape.groups];
    for (plane, &(sg, sgx)) in sums.iter().enumerate() {
        let (n, c) = (plane / shape.channels, plane % shape.channels);
        dbeta[c] += sg;
        dgamma[c] += sgx;
        let acc = &mut group_sums[n * shape.groups + c / per_group];
        acc.0 += gamma[c] as f64 * sg;
        acc.1 += gamma[c] as f64 * sgx;
    }
    // pass 2: dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) per group, dx̂ = γ·g
    let m = shape.group_len() as f64;
    let mut dx = vec![0.0; x.len()];
    dx.par_chunks_mut(s).enumerate().for_each(|(plane, out)| {
        let (n, c) = (plane / shape.channels, plane % shape.channels);
        let group = n * shape.groups + c / per_group;
        let (mean, rstd) = stats[group];
        let (m1, m2) = ((group_sums[group].0 / m) as f32, (group_sums[group].1 / m) as f32);
        let (xp, dp) = (&x[plane * s..][..s], &dy[plane * s..][..s]);
        for (o, (&v, &g)) in out.iter_mut().zip(xp.iter().zip(dp)) {
            let (g, xhat) = pre(v, g, c, mean, rstd);
            *o = rstd * (gamma[c] * g - m1 - xhat * m2);
        }
    });
    let to_f32 = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect();
    (dx, to_f32(dgamma), to_f32(dbeta))
}
