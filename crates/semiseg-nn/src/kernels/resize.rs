//! Bilinear resizing with `align_corners = true` (SSL4MIS UNet's up-sampling), forward and
//! adjoint, one plane per task.

use rayon::prelude::*;

/// For each output index along one axis: the two source indices and the second one's weight,
/// with PyTorch's `align_corners` grid (`src = o·(in − 1)/(out − 1)`, in `f32` as PyTorch).
pub(crate) fn taps(input: usize, output: usize) -> Vec<(usize, usize, f32)> {
    let scale = if output > 1 { (input as f32 - 1.0) / (output as f32 - 1.0) } else { 0.0 };
    (0..output)
        .map(|o| {
            let src = scale * o as f32;
            let i0 = (src as usize).min(input - 1);
            let i1 = (i0 + 1).min(input - 1);
            (i0, i1, src - i0 as f32)
        })
        .collect()
}

/// Resizes `planes` planes from `h × w` to `ho × wo`.
pub fn bilinear(x: &[f32], planes: usize, [h, w]: [usize; 2], [ho, wo]: [usize; 2]) -> Vec<f32> {
    let mut y = vec![0.0; planes * ho * wo];
    if ho * wo == 0 || h * w == 0 {
        return y;
    }
    let (rows, cols) = (taps(h, ho), taps(w, wo));
    y.par_chunks_mut(ho * wo).enumerate().for_each(|(p, out)| {
        let plane = &x[p * h * w..][..h * w];
        for (row_out, &(r0, r1, fr)) in out.chunks_mut(wo).zip(&rows) {
            let (top, bottom) = (&plane[r0 * w..][..w], &plane[r1 * w..][..w]);
            for (v, &(c0, c1, fc)) in row_out.iter_mut().zip(&cols) {
                let upper = top[c0] + (top[c1] - top[c0]) * fc;
                let lower = bottom[c0] + (bottom[c1] - bottom[c0]) * fc;
                *v = upper + (lower - upper) * fr;
            }
        }
    });
    y
}

/// The adjoint of [`bilinear`]: each output gradient split over its four sources.
pub fn bilinear_backward(dy: &[f32], planes: usize, [h, w]: [usize; 2], [ho, wo]: [usize; 2]) -> Vec<f32> {
    let mut dx = vec![0.0; planes * h * w];
    if ho * wo == 0 || h * w == 0 {
        return dx;
    }
    let (rows, cols) = (taps(h, ho), taps(w, wo));
    dx.par_chunks_mut(h * w).enumerate().for_each(|(p, plane)| {
        let g = &dy[p * ho * wo..][..ho * wo];
        for (g_row, &(r0, r1, fr)) in g.chunks(wo).zip(&rows) {
            for (&gv, &(c0, c1, fc)) in g_row.iter().zip(&cols) {
                let (upper, lower) = (gv * (1.0 - fr), gv * fr);
                plane[r0 * w + c0] += upper * (1.0 - fc);
                plane[r0 * w + c1] += upper * fc;
                plane[r1 * w + c0] += lower * (1.0 - fc);
                plane[r1 * w + c1] += lower * fc;
            }
        }
    });
    dx
}
