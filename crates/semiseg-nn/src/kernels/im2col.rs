//! im2col and its adjoint, one output tile at a time.
//!
//! A tile is a run of whole output rows (`(od, oh)` pairs, each `Wo` long), so every kernel tap
//! reads and writes contiguous runs of an input row: the im2col matrix is filled by row copies,
//! and its adjoint (col2im) by vectorised row additions. Tiles bound the buffer, which matters in
//! 3-D: a full im2col matrix of V-Net's first layer would take 1.7 GB.

use super::geometry::ConvGeometry;
use super::simd::with_avx2;
use rayon::prelude::*;

/// Runs `f(index, chunk)` over `data` cut in `chunk`-long pieces, on the rayon pool or not.
pub(crate) fn for_each_chunk<F>(parallel: bool, data: &mut [f32], chunk: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    if parallel {
        data.par_chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
    } else {
        data.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
    }
}

/// Where output position `o` of a kernel tap at offset `tap` reads along one axis, if inside.
#[inline]
fn source(o: usize, tap: usize, stride: usize, pad: usize, len: usize) -> Option<usize> {
    (o * stride + tap).checked_sub(pad).filter(|&i| i < len)
}

/// The output positions `lo..hi` of a row whose input position `o·stride + tap − pad` is inside
/// `0..len`.
#[inline]
fn valid_span(out_len: usize, tap: usize, stride: usize, pad: usize, len: usize) -> (usize, usize) {
    let lo = if tap >= pad { 0 } else { (pad - tap).div_ceil(stride) };
    let hi = if len + pad > tap { ((len - 1 + pad - tap) / stride + 1).min(out_len) } else { 0 };
    (lo.min(hi), hi)
}

/// Input channel of im2col row `k`, and the offsets of its kernel tap from the window's
/// corner (the tap's index times the dilation).
#[inline]
fn tap_of(k: usize, g: &ConvGeometry) -> (usize, [usize; 3]) {
    let [_, kh, kw] = g.kernel;
    let kvol = g.kernel_volume();
    let rem = k % kvol;
    let [dd, dh, dw] = g.dilation;
    (k / kvol, [rem / (kh * kw) * dd, (rem / kw) % kh * dh, rem % kw * dw])
}

/// Fills `cols` (`[K, rows·Wo]`, row-major) with the im2col matrix of output rows
/// `rows.start..rows.end` of one sample `x` (`[C, D, H, W]`).
pub fn im2col_tile(x: &[f32], g: &ConvGeometry, rows: std::ops::Range<usize>, cols: &mut [f32], parallel: bool) {
    let [d, h, w] = g.input;
    let [_, ho, wo] = g.output();
    let tile = rows.len() * wo;
    debug_assert_eq!(cols.len(), g.patch_len() * tile);
    for_each_chunk(parallel, cols, tile, |k, dst_row| {
        let (c, [a, b, e]) = tap_of(k, g);
        let (lo, hi) = valid_span(wo, e, g.stride[2], g.padding[2], w);
        for (r, dst) in rows.clone().zip(dst_row.chunks_exact_mut(wo)) {
            let at = source(r / ho, a, g.stride[0], g.padding[0], d)
                .zip(source(r % ho, b, g.stride[1], g.padding[1], h));
            let Some((id, ih)) = at else {
                dst.fill(0.0);
                continue;
            };
            let src = &x[((c * d + id) * h + ih) * w..][..w];
            dst[..lo].fill(0.0);
            dst[hi..].fill(0.0);
            if lo == hi {
                continue;
            }
            let first = lo * g.stride[2] + e - g.padding[2];
            if g.stride[2] == 1 {
                dst[lo..hi].copy_from_slice(&src[first..first + hi - lo]);
            } else {
                for (o, v) in dst[lo..hi].iter_mut().enumerate() {
                    *v = src[first + o * g.stride[2]];
                }
            }
        }
    });
}

/// Adds the adjoint of [`im2col_tile`] of `cols` into one sample's input gradient `dx`
/// (`[C, D, H, W]`). Channels are independent, so they run in parallel.
pub fn col2im_add_tile(cols: &[f32], g: &ConvGeometry, rows: std::ops::Range<usize>, dx: &mut [f32], parallel: bool) {
    let [d, h, w] = g.input;
    let [_, ho, wo] = g.output();
    let tile = rows.len() * wo;
    let kvol = g.kernel_volume();
    for_each_chunk(parallel, dx, d * h * w, |c, plane| {
        for t in 0..kvol {
            let (_, [a, b, e]) = tap_of(c * kvol + t, g);
            let (lo, hi) = valid_span(wo, e, g.stride[2], g.padding[2], w);
            let src_row = &cols[(c * kvol + t) * tile..][..tile];
            for (r, src) in rows.clone().zip(src_row.chunks_exact(wo)) {
                let at = source(r / ho, a, g.stride[0], g.padding[0], d)
                    .zip(source(r % ho, b, g.stride[1], g.padding[1], h));
                let Some((id, ih)) = at.filter(|_| hi > lo) else { continue };
                let dst = &mut plane[(id * h + ih) * w..][..w];
                let first = lo * g.stride[2] + e - g.padding[2];
                if g.stride[2] == 1 {
                    with_avx2(|| dst[first..first + hi - lo].iter_mut().zip(&src[lo..hi]).for_each(|(o, v)| *o += v));
                } else {
                    for (o, v) in src[lo..hi].iter().enumerate() {
                        dst[first + o * g.stride[2]] += v;
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry((input, kernel, stride, padding, dilation): Case) -> ConvGeometry {
        ConvGeometry { batch: 1, in_channels: 2, out_channels: 1, input, kernel, stride, padding, dilation }
    }

    /// im2col by its definition, element by element.
    fn naive_im2col(x: &[f32], g: &ConvGeometry) -> Vec<f32> {
        let [d, h, w] = g.input;
        let [od, oh, ow] = g.output();
        let p = od * oh * ow;
        let mut cols = vec![0.0; g.patch_len() * p];
        let [_, kh, kw] = g.kernel;
        for k in 0..g.patch_len() {
            let (c, t) = (k / g.kernel_volume(), k % g.kernel_volume());
            let tap = [t / (kh * kw), (t / kw) % kh, t % kw];
            for (q, v) in cols[k * p..(k + 1) * p].iter_mut().enumerate() {
                let out = [q / (oh * ow), (q / ow) % oh, q % ow];
                let i: [usize; 3] = std::array::from_fn(|a| out[a] * g.stride[a] + tap[a] * g.dilation[a]);
                let inside = (0..3).all(|ax| i[ax] >= g.padding[ax] && i[ax] - g.padding[ax] < g.input[ax]);
                if inside {
                    *v = x[((c * d + i[0] - g.padding[0]) * h + i[1] - g.padding[1]) * w + i[2] - g.padding[2]];
                }
            }
        }
        cols
    }

    /// Input, kernel, stride, padding and dilation.
    type Case = ([usize; 3], [usize; 3], [usize; 3], [usize; 3], [usize; 3]);

    const CASES: [Case; 8] = [
        ([1, 7, 9], [1, 3, 3], [1, 1, 1], [0, 1, 1], [1, 1, 1]),
        ([1, 8, 7], [1, 3, 3], [1, 2, 2], [0, 1, 1], [1, 1, 1]),
        ([5, 6, 7], [3, 3, 3], [1, 1, 1], [1, 1, 1], [1, 1, 1]),
        ([6, 5, 9], [2, 2, 2], [2, 2, 2], [0, 0, 0], [1, 1, 1]),
        ([4, 9, 6], [5, 5, 5], [2, 3, 1], [2, 2, 2], [1, 1, 1]),
        // dilated: MGCC's 3×3 at dilation 2, odd sizes, stride, and unequal dilations
        ([1, 9, 11], [1, 3, 3], [1, 1, 1], [0, 2, 2], [1, 2, 2]),
        ([1, 10, 7], [1, 3, 3], [1, 2, 2], [0, 2, 1], [1, 2, 3]),
        ([7, 6, 8], [3, 2, 3], [2, 1, 1], [2, 1, 3], [2, 3, 2]),
    ];

    #[test]
    fn tiles_equal_the_definition() {
        for case in CASES {
            let g = geometry(case);
            let x: Vec<f32> = (0..2 * g.input_volume()).map(|i| i as f32 * 0.5 - 3.0).collect();
            let want = naive_im2col(&x, &g);
            let [od, oh, ow] = g.output();
            let rows = od * oh;
            // whole matrix in one tile, and in tiles of 2 rows (the last one shorter)
            for step in [rows, 2] {
                for start in (0..rows).step_by(step) {
                    let range = start..(start + step).min(rows);
                    let mut cols = vec![f32::NAN; g.patch_len() * range.len() * ow];
                    im2col_tile(&x, &g, range.clone(), &mut cols, start % 4 == 0);
                    for k in 0..g.patch_len() {
                        let got = &cols[k * range.len() * ow..][..range.len() * ow];
                        let exp = &want[k * rows * ow + start * ow..][..range.len() * ow];
                        assert_eq!(got, exp, "{case:?} row {k}");
                    }
                }
            }
        }
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), c> = <x, col2im(c)> for any x and c
        for case in CASES {
            let g = geometry(case);
            let [od, oh, ow] = g.output();
            let x: Vec<f32> = (0..2 * g.input_volume()).map(|i| ((i * 7919) % 13) as f32 - 6.0).collect();
            let c: Vec<f32> = (0..g.patch_len() * od * oh * ow).map(|i| ((i * 104729) % 11) as f32 - 5.0).collect();
            let cols = naive_im2col(&x, &g);
            let lhs: f64 = cols.iter().zip(&c).map(|(a, b)| (a * b) as f64).sum();
            let rows = od * oh;
            let mut dx = vec![0.0; x.len()];
            for start in (0..rows).step_by(3) {
                let range = start..(start + 3).min(rows);
                let mut tile = vec![0.0; g.patch_len() * range.len() * ow];
                for k in 0..g.patch_len() {
                    tile[k * range.len() * ow..][..range.len() * ow].copy_from_slice(&c[k * rows * ow + start * ow..][..range.len() * ow]);
                }
                col2im_add_tile(&tile, &g, range, &mut dx, start % 2 == 0);
            }
            let rhs: f64 = x.iter().zip(&dx).map(|(a, b)| (a * b) as f64).sum();
            assert_eq!(lhs, rhs, "{case:?}");
        }
    }
}
