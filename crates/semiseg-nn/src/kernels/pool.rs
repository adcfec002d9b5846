//! 2×2 max-pooling with stride 2 (PyTorch's floor mode), keeping which of the four values won
//! so that the backward step is a scatter.

use super::simd::with_avx2;
use rayon::prelude::*;

/// Output of [`max_pool2x2`]: the maxima and, per output value, the winner's place in its
/// window (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right).
pub struct Pooled {
    /// `[planes, H/2, W/2]` maxima.
    pub values: Vec<f32>,
    /// The winners, same layout.
    pub winners: Vec<u8>,
}

/// Pools `planes` planes of `h × w`. Ties go to the first value in row-major order and a NaN
/// wins, as in PyTorch.
pub fn max_pool2x2(x: &[f32], planes: usize, [h, w]: [usize; 2]) -> Pooled {
    let (ho, wo) = (h / 2, w / 2);
    let mut values = vec![0.0; planes * ho * wo];
    let mut winners = vec![0u8; planes * ho * wo];
    if ho * wo == 0 {
        return Pooled { values, winners };
    }
    values.par_chunks_mut(ho * wo).zip(winners.par_chunks_mut(ho * wo)).enumerate().for_each(|(p, (out, win))| {
        let plane = &x[p * h * w..][..h * w];
        with_avx2(|| {
            for oh in 0..ho {
                let (top, bottom) = (&plane[2 * oh * w..][..w], &plane[(2 * oh + 1) * w..][..w]);
                for ow in 0..wo {
                    let window = [top[2 * ow], top[2 * ow + 1], bottom[2 * ow], bottom[2 * ow + 1]];
                    let (mut best, mut at) = (window[0], 0u8);
                    // selects, not branches: which value wins is data, and mispredicted often
                    for (i, &v) in window.iter().enumerate().skip(1) {
                        let take = v > best || (v.is_nan() && !best.is_nan());
                        best = if take { v } else { best };
                        at = if take { i as u8 } else { at };
                    }
                    out[oh * wo + ow] = best;
                    win[oh * wo + ow] = at;
                }
            }
        });
    });
    Pooled { values, winners }
}

/// The input gradient: each output gradient goes to its window's winner, zeros elsewhere.
pub fn max_pool2x2_backward(dy: &[f32], winners: &[u8], planes: usize, [h, w]: [usize; 2]) -> Vec<f32> {
    let (ho, wo) = (h / 2, w / 2);
    let mut dx = vec![0.0; planes * h * w];
    if ho * wo == 0 {
        return dx;
    }
    dx.par_chunks_mut(h * w).enumerate().for_each(|(p, plane)| {
        let (g, win) = (&dy[p * ho * wo..][..ho * wo], &winners[p * ho * wo..][..ho * wo]);
        for oh in 0..ho {
            for ow in 0..wo {
                let at = win[oh * wo + ow] as usize;
                plane[(2 * oh + at / 2) * w + 2 * ow + at % 2] = g[oh * wo + ow];
            }
        }
    });
    dx
}
