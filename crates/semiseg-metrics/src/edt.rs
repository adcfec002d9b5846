//! Exact Euclidean distance transform with anisotropic spacing.
//!
//! Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled Functions", Theory of Computing
//! 8 (2012): the squared EDT is separable, so one pass of a 1-D lower envelope of parabolas per
//! axis gives the exact result. With spacing `s` along an axis the parabola is `s² (q − p)²`.
//! All arithmetic is in `f64`, so distances equal `scipy.ndimage.distance_transform_edt`'s to
//! the last few bits.

use crate::pruned_search::{squared_distances_at, Planes};
use ndarray::{Array3, ArrayView3};
use rayon::prelude::*;

/// Squared distance from every voxel to the nearest `true` voxel of `features`.
///
/// `spacing[a]` is the voxel size along axis `a`. Returns `f64::INFINITY` everywhere when
/// `features` has no `true` voxel.
///
/// Memory order drives the speed: axis 0 is a plain two-scan over whole planes (a binary image
/// needs no parabolas in its first pass), axis 1 runs on a transposed copy of each contiguous
/// plane, axis 2 on contiguous rows.
pub fn squared_edt(features: ArrayView3<bool>, spacing: [f64; 3]) -> Array3<f64> {
    let dim = features.dim();
    Array3::from_shape_vec(dim, squared_edt_rows(features, spacing)).expect("same size")
}

/// Squared distances at the `true` voxels of `query` only (row-major order), the way surface
/// distances need them. After the first axis, a pruned search around each query
/// ([`crate::pruned_search`]) when that is cheaper, else the passes. The passes run in the order that suits sparse queries: axis 0 by two
/// scans, axis 2 along contiguous rows (only in planes holding a query), and axis 1 last, at the
/// query voxels alone, as a minimum over their column: no plane is ever transposed.
pub fn squared_edt_at(features: ArrayView3<bool>, query: ArrayView3<bool>, spacing: [f64; 3]) -> Vec<f64> {
    let (n0, n1, n2) = features.dim();
    let f = features.as_standard_layout();
    let f = f.as_slice().expect("standard layout");
    let q = query.as_standard_layout();
    let q = q.as_slice().expect("standard layout");
    let plane = n1 * n2;
    if plane == 0 {
        return Vec::new();
    }
    let [w0, w1, w2] = spacing.map(|s| s * s);
    let mut d = first_axis_squared(f, n0, plane, w0);
    // Most surface distances are short: a search around each query beats the passes unless it
    // would visit more candidates than the box has voxels.
    let queries: Vec<usize> = q.iter().enumerate().filter(|(_, &x)| x).map(|(at, _)| at).collect();
    let planes = Planes { d0: &d, n1, n2, w1, w2 };
    if let Some(found) = squared_distances_at(&planes, &queries, d.len()) {
        return found;
    }
    let per_plane: Vec<Vec<f64>> = d
        .par_chunks_mut(plane)
        .zip(q.par_chunks(plane))
        .map_init(
            || (Scratch::new(n2), vec![0.0; plane]),
            |(scratch, columns), (slab, wanted)| {
                if !wanted.contains(&true) {
                    return Vec::new();
                }
                if n2 > 1 {
                    slab.chunks_mut(n2).for_each(|row| scratch.transform(row, w2));
                }
                // columns[k * n1 + j] = slab[j * n2 + k]: each column contiguous for its minima
                for (j, row) in slab.chunks(n2).enumerate() {
                    for (k, &v) in row.iter().enumerate() {
                        columns[k * n1 + j] = v;
                    }
                }
                wanted.iter().enumerate().filter(|(_, &x)| x).map(|(at, _)| lowest_at(&columns[(at % n2) * n1..(at % n2 + 1) * n1], at / n2, w1)).collect()
            },
        )
        .collect();
    per_plane.concat()
}

/// `min_p weight·(q − p)² + line[p]`: the transform of `line` at `q` alone (four running minima,
/// so that the loop vectorises).
fn lowest_at(line: &[f64], q: usize, weight: f64) -> f64 {
    let qf = q as f64;
    let mut lowest = [f64::INFINITY; 4];
    let chunks = line.chunks_exact(4);
    let tail = chunks.remainder();
    for (c, four) in chunks.enumerate() {
        for (l, (&v, low)) in four.iter().zip(lowest.iter_mut()).enumerate() {
            let d = qf - (4 * c + l) as f64;
            let x = weight * d * d + v;
            if x < *low {
                *low = x;
            }
        }
    }
    let start = line.len() - tail.len();
    for (p, &v) in tail.iter().enumerate() {
        let d = qf - (start + p) as f64;
        lowest[0] = lowest[0].min(weight * d * d + v);
    }
    lowest.into_iter().fold(f64::INFINITY, f64::min)
}

/// The transform, in row-major order.
fn squared_edt_rows(features: ArrayView3<bool>, spacing: [f64; 3]) -> Vec<f64> {
    let (n0, n1, n2) = features.dim();
    let f = features.as_standard_layout();
    let f = f.as_slice().expect("standard layout");
    let plane = n1 * n2;
    let mut d = first_axis_squared(f, n0, plane, spacing[0] * spacing[0]);
    if n1 > 1 && plane > 0 {
        let w1 = spacing[1] * spacing[1];
        d.par_chunks_mut(plane).for_each_init(
            || (Scratch::new(n1), vec![0.0; plane]),
            |(scratch, buf), slab| {
                // buf[k * n1 + j] = slab[j * n2 + k]: each column becomes a contiguous row.
                for j in 0..n1 {
                    for k in 0..n2 {
                        buf[k * n1 + j] = slab[j * n2 + k];
                    }
                }
                for k in 0..n2 {
                    scratch.transform(&mut buf[k * n1..(k + 1) * n1], w1);
                }
                for j in 0..n1 {
                    for k in 0..n2 {
                        slab[j * n2 + k] = buf[k * n1 + j];
                    }
                }
            },
        );
    }
    if n2 > 1 {
        let w2 = spacing[2] * spacing[2];
        d.par_chunks_mut(n2).for_each_init(|| Scratch::new(n2), |scratch, row| scratch.transform(row, w2));
    }
    d
}

/// Along axis 0: `w0 · n²`, with `n` the number of voxels to the nearest feature in the same
/// column (∞ if none), by a forward and a backward scan over whole planes; the backward scan
/// squares each plane as soon as the plane before it no longer needs its count.
fn first_axis_squared(f: &[bool], n0: usize, plane: usize, w0: f64) -> Vec<f64> {
    let mut d = vec![f64::INFINITY; f.len()];
    for i in 0..n0 {
        let (done, rest) = d.split_at_mut(i * plane);
        let cur = &mut rest[..plane];
        let feat = &f[i * plane..(i + 1) * plane];
        if i == 0 {
            cur.iter_mut().zip(feat).for_each(|(c, &x)| *c = if x { 0.0 } else { f64::INFINITY });
        } else {
            let prev = &done[(i - 1) * plane..];
            cur.iter_mut().zip(feat).zip(prev).for_each(|((c, &x), p)| *c = if x { 0.0 } else { p + 1.0 });
        }
    }
    for i in (0..n0.saturating_sub(1)).rev() {
        let (head, tail) = d.split_at_mut((i + 1) * plane);
        let cur = &mut head[i * plane..];
        cur.iter_mut().zip(&mut tail[..plane]).for_each(|(c, n)| {
            *c = c.min(*n + 1.0);
            *n = *n * *n * w0;
        });
    }
    d[..plane.min(f.len())].iter_mut().for_each(|v| *v = *v * *v * w0);
    d
}

/// Buffers of the 1-D transform, reused across the lines of one thread.
struct Scratch {
    input: Vec<f64>,
    /// Positions of the parabolas in the lower envelope.
    vertex: Vec<usize>,
    /// `input[p] + weight·p²` of each envelope parabola (the part of its boundary formula that
    /// depends on it alone).
    lifted: Vec<f64>,
    /// Boundaries between consecutive envelope parabolas (`len + 1`).
    bound: Vec<f64>,
}

impl Scratch {
    fn new(n: usize) -> Self {
        Self { input: vec![0.0; n], vertex: vec![0; n], lifted: vec![0.0; n], bound: vec![0.0; n + 1] }
    }

    /// Transforms one line in place: `line[q] = min_p weight·(q − p)² + line[p]` over the
    /// finite `line[p]` (a line without any stays infinite).
    fn transform(&mut self, line: &mut [f64], weight: f64) {
        let Some(first) = line.iter().position(|v| v.is_finite()) else { return };
        self.input.copy_from_slice(line);
        let f = &self.input;
        let twice = 2.0 * weight;
        let mut k = 0usize; // number of parabolas in the envelope
        for (q, &fq) in f.iter().enumerate().skip(first) {
            if !fq.is_finite() {
                continue;
            }
            let qf = q as f64;
            let lq = fq + weight * qf * qf;
            let mut s = f64::NEG_INFINITY;
            while k > 0 {
                s = (lq - self.lifted[k - 1]) / (twice * (qf - self.vertex[k - 1] as f64));
                if s <= self.bound[k - 1] {
                    k -= 1;
                    s = f64::NEG_INFINITY;
                } else {
                    break;
                }
            }
            self.vertex[k] = q;
            self.lifted[k] = lq;
            self.bound[k] = s;
            self.bound[k + 1] = f64::INFINITY;
            k += 1;
        }
        let mut j = 0usize;
        for (q, out) in line.iter_mut().enumerate() {
            while self.bound[j + 1] < q as f64 {
                j += 1;
            }
            let p = self.vertex[j];
            let d = q as f64 - p as f64;
            *out = weight * d * d + f[p];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: min over feature voxels of the spaced squared distance.
    fn brute(features: &Array3<bool>, spacing: [f64; 3]) -> Array3<f64> {
        let pts: Vec<_> = features.indexed_iter().filter(|(_, &f)| f).map(|(i, _)| i).collect();
        Array3::from_shape_fn(features.dim(), |(a, b, c)| {
            pts.iter()
                .map(|&(x, y, z)| {
                    let d = [a as f64 - x as f64, b as f64 - y as f64, c as f64 - z as f64];
                    (0..3).map(|i| (d[i] * spacing[i]).powi(2)).sum::<f64>()
                })
                .fold(f64::INFINITY, f64::min)
        })
    }

    #[test]
    fn matches_brute_force_with_anisotropic_spacing() {
        let mut seed = 12345u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        for &spacing in &[[1.0, 1.0, 1.0], [2.5, 0.7, 1.3]] {
            let features = Array3::from_shape_fn((7, 9, 5), |_| next() % 17 == 0);
            let got = squared_edt(features.view(), spacing);
            let want = brute(&features, spacing);
            for (g, w) in got.iter().zip(want.iter()) {
                assert!((g - w).abs() <= 1e-9 * w.max(1.0), "{g} vs {w}");
            }
        }
    }

    #[test]
    fn query_points_get_the_full_transform_values() {
        let features = Array3::from_shape_fn((6, 7, 8), |(a, b, c)| (a * 7 + b * 3 + c) % 23 == 0);
        let query = Array3::from_shape_fn((6, 7, 8), |(a, b, c)| (a + b * c) % 5 == 1);
        let full = squared_edt(features.view(), [1.2, 0.9, 2.0]);
        let want: Vec<f64> = full.iter().zip(query.iter()).filter(|(_, &q)| q).map(|(v, _)| *v).collect();
        let got = squared_edt_at(features.view(), query.view(), [1.2, 0.9, 2.0]);
        assert_eq!(got.len(), want.len());
        // the passes run in another order, so the sums may round differently
        assert!(got.iter().zip(&want).all(|(g, w)| (g - w).abs() <= 1e-12 * w.max(1.0)), "{got:?} vs {want:?}");
    }

    #[test]
    fn queries_far_from_every_feature_give_the_same_values_through_the_passes() {
        // one feature voxel and every voxel queried: the search would cost more than the box
        let mut features = Array3::from_elem((5, 30, 40), false);
        features[[4, 29, 0]] = true;
        let query = Array3::from_elem((5, 30, 40), true);
        let full = squared_edt(features.view(), [1.0, 0.8, 1.5]);
        let got = squared_edt_at(features.view(), query.view(), [1.0, 0.8, 1.5]);
        assert!(got.iter().zip(full.iter()).all(|(g, w)| (g - w).abs() <= 1e-12 * w.max(1.0)));
    }

    #[test]
    fn single_point_gives_known_distances() {
        let mut f = Array3::from_elem((9, 9, 9), false);
        f[[4, 4, 4]] = true;
        let d = squared_edt(f.view(), [1.0; 3]);
        assert_eq!(d[[4, 4, 4]], 0.0);
        assert_eq!(d[[4, 4, 7]], 9.0);
        assert_eq!(d[[0, 0, 0]], 48.0);
    }

    #[test]
    fn no_features_is_infinite() {
        let f = Array3::from_elem((3, 4, 5), false);
        assert!(squared_edt(f.view(), [1.0; 3]).iter().all(|v| v.is_infinite()));
    }
}
