//! Sliding-window inference of whole volumes with a 3-D network, as UA-MT's `test_single_case`
//! (methods.md §0.5): a volume smaller than the patch is zero-padded (split evenly, the extra
//! voxel after), windows start at `min(stride · i, size − patch)` for
//! `i < ceil((size − patch) / stride) + 1` along each axis, and the class probabilities of the
//! windows are averaged where they overlap, then cropped back to the volume. The Gaussian
//! options weight each window by an importance map (σ = patch / 8, peak 1) instead of
//! uniformly, which favours window centres: MONAI's (`compute_importance_map`, centred at
//! `(n − 1)/2`, symmetric) or nnU-Net's (`compute_gaussian`: a delta at `n // 2` blurred by
//! `scipy.ndimage.gaussian_filter`, whose 4σ truncation never reaches inside the patch when
//! σ = n / 8), which differ by half a voxel on even sides.

use ndarray::{s, Array3, Array4, ArrayView4};

/// How overlapping windows are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blend {
    /// Plain average (UA-MT, CAML, FBA-Net).
    Average,
    /// Weighted by MONAI's Gaussian importance map.
    GaussianMonai,
    /// Weighted by nnU-Net's Gaussian importance map.
    GaussianNnunet,
}

impl Blend {
    /// The blend of `eval.blend` (`gaussian` is MONAI's).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "average" => Some(Self::Average),
            "gaussian" | "gaussian_monai" => Some(Self::GaussianMonai),
            "gaussian_nnunet" => Some(Self::GaussianNnunet),
            _ => None,
        }
    }
}

/// Window placement: patch and stride per axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    /// Patch size `[H, W, D]` (112 × 112 × 80 on LA).
    pub patch: [usize; 3],
    /// Stride `[H, W, D]` (18 × 18 × 4 in UA-MT).
    pub stride: [usize; 3],
}

/// Window starts along one axis of length `size ≥ patch` (UA-MT's formula).
pub fn window_starts(size: usize, patch: usize, stride: usize) -> Vec<usize> {
    let stride = stride.max(1);
    let count = (size - patch).div_ceil(stride) + 1;
    (0..count).map(|i| (stride * i).min(size - patch)).collect()
}

/// A Gaussian importance map with σ = side / 8 per axis, scaled to a peak of 1, zeros (underflow)
/// raised to the smallest non-zero value: MONAI's (`nnunet` false: centre `(n − 1)/2`) or
/// nnU-Net's (centre `n // 2`).
pub fn gaussian_importance(patch: [usize; 3], nnunet: bool) -> Array3<f32> {
    let axis = |n: usize| -> Vec<f64> {
        let sigma = n as f64 / 8.0;
        let centre = if nnunet { (n / 2) as f64 } else { (n as f64 - 1.0) / 2.0 };
        (0..n).map(|i| (-(i as f64 - centre).powi(2) / (2.0 * sigma * sigma)).exp()).collect()
    };
    let (a, b, c) = (axis(patch[0]), axis(patch[1]), axis(patch[2]));
    let mut map = Array3::from_shape_fn(patch, |(i, j, k)| (a[i] * b[j] * c[k]) as f32);
    let peak = map.iter().copied().fold(0.0f32, f32::max);
    map.mapv_inplace(|v| v / peak);
    let floor = map.iter().copied().filter(|&v| v > 0.0).fold(f32::INFINITY, f32::min);
    map.mapv_inplace(|v| if v > 0.0 { v } else { floor });
    map
}

/// Class probabilities `[K, H, W, D]` of `volume` (`[C, H, W, D]`). `net` takes a batch of
/// windows `[n, C, pH, pW, pD]` (row-major) and returns their probabilities `[n, K, pH, pW, pD]`
/// with K; it is given at most `batch` windows at a time.
pub fn sliding_window<E>(
    volume: ArrayView4<f32>,
    windows: Windows,
    blend: Blend,
    batch: usize,
    mut net: impl FnMut(Vec<f32>, usize) -> Result<(Vec<f32>, usize), E>,
) -> Result<Array4<f32>, E> {
    let (c, h, w, d) = volume.dim();
    let size = [h, w, d];
    let patch = windows.patch;
    // zero padding up to the patch, the odd voxel after (UA-MT: w_pad // 2 before)
    let pad: [usize; 3] = std::array::from_fn(|a| patch[a].saturating_sub(size[a]));
    let before: [usize; 3] = std::array::from_fn(|a| pad[a] / 2);
    let padded_size: [usize; 3] = std::array::from_fn(|a| size[a] + pad[a]);
    let mut padded = Array4::<f32>::zeros((c, padded_size[0], padded_size[1], padded_size[2]));
    padded.slice_mut(s![.., before[0]..before[0] + h, before[1]..before[1] + w, before[2]..before[2] + d]).assign(&volume);

    let starts: Vec<[usize; 3]> = {
        let per_axis: Vec<Vec<usize>> = (0..3).map(|a| window_starts(padded_size[a], patch[a], windows.stride[a])).collect();
        let mut all = Vec::new();
        for &x in &per_axis[0] {
            for &y in &per_axis[1] {
                for &z in &per_axis[2] {
                    all.push([x, y, z]);
                }
            }
        }
        all
    };
    let weight = match blend {
        Blend::Average => Array3::<f32>::ones(patch),
        Blend::GaussianMonai => gaussian_importance(patch, false),
        Blend::GaussianNnunet => gaussian_importance(patch, true),
    };
    let window_len = patch.iter().product::<usize>();
    let mut scores: Option<Array4<f32>> = None;
    let mut counts = Array3::<f32>::zeros(padded_size);
    for group in starts.chunks(batch.max(1)) {
        let mut input = Vec::with_capacity(group.len() * c * window_len);
        for &[x, y, z] in group {
            input.extend(padded.slice(s![.., x..x + patch[0], y..y + patch[1], z..z + patch[2]]).iter());
        }
        let (probs, k) = net(input, group.len())?;
        let total = scores.get_or_insert_with(|| Array4::zeros((k, padded_size[0], padded_size[1], padded_size[2])));
        for (i, &[x, y, z]) in group.iter().enumerate() {
            let window = ArrayView4::from_shape((k, patch[0], patch[1], patch[2]), &probs[i * k * window_len..(i + 1) * k * window_len]).expect("the network returns K × patch per window");
            let mut target = total.slice_mut(s![.., x..x + patch[0], y..y + patch[1], z..z + patch[2]]);
            for (mut t, p) in target.outer_iter_mut().zip(window.outer_iter()) {
                // in place: no weighted copy of each class's window
                ndarray::Zip::from(&mut t).and(&p).and(&weight).for_each(|a, &b, &w| *a += b * w);
            }
            let mut n = counts.slice_mut(s![x..x + patch[0], y..y + patch[1], z..z + patch[2]]);
            n += &weight;
        }
    }
    let mut scores = scores.expect("at least one window");
    for mut class in scores.outer_iter_mut() {
        class /= &counts;
    }
    Ok(scores.slice(s![.., before[0]..before[0] + h, before[1]..before[1] + w, before[2]..before[2] + d]).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_starts_follow_ua_mt() {
        // LA-sized axis: ceil((215 − 112) / 18) + 1 = 7 windows, the last flush with the end
        assert_eq!(window_starts(215, 112, 18), vec![0, 18, 36, 54, 72, 90, 103]);
        assert_eq!(window_starts(88, 80, 4), vec![0, 4, 8]);
        assert_eq!(window_starts(80, 80, 4), vec![0]);
    }

    /// A voxel-wise "network": foreground probability σ(x) per voxel.
    fn pointwise(input: Vec<f32>, n: usize) -> Result<(Vec<f32>, usize), ()> {
        let per = input.len() / n;
        let mut out = Vec::with_capacity(2 * input.len());
        for window in input.chunks(per) {
            out.extend(window.iter().map(|v| 1.0 - 1.0 / (1.0 + (-v).exp())));
            out.extend(window.iter().map(|v| 1.0 / (1.0 + (-v).exp())));
        }
        Ok((out, 2))
    }

    #[test]
    fn a_voxelwise_network_gives_its_own_values_whatever_the_blend_and_size() {
        let windows = Windows { patch: [8, 6, 4], stride: [3, 3, 2] };
        // larger than the patch on two axes, smaller on the last (padded, then cropped)
        let volume = Array4::from_shape_fn((1, 13, 9, 3), |(_, i, j, k)| (i as f32 * 0.3 - j as f32 * 0.2 + k as f32).sin());
        for blend in [Blend::Average, Blend::GaussianMonai, Blend::GaussianNnunet] {
            let probs = sliding_window(volume.view(), windows, blend, 2, pointwise).unwrap();
            assert_eq!(probs.dim(), (2, 13, 9, 3));
            for ((&p, &v), &q) in probs.index_axis(ndarray::Axis(0), 1).iter().zip(volume.iter()).zip(probs.index_axis(ndarray::Axis(0), 0).iter()) {
                let want = 1.0 / (1.0 + (-v).exp());
                assert!((p - want).abs() < 1e-6 && (p + q - 1.0).abs() < 1e-6, "{blend:?}: {p} vs {want}");
            }
        }
    }

    #[test]
    fn overlapping_windows_are_averaged_by_their_count() {
        // a "network" that returns, for every voxel, the index of the window: voxels covered by
        // windows 0 and 1 get their mean
        let windows = Windows { patch: [4, 1, 1], stride: [2, 1, 1] };
        let volume = Array4::<f32>::zeros((1, 6, 1, 1));
        let mut calls = 0.0f32;
        let probs = sliding_window(volume.view(), windows, Blend::Average, 1, |input, n| -> Result<_, ()> {
            let v = vec![calls; input.len() / n * n];
            calls += 1.0;
            Ok((v, 1))
        })
        .unwrap();
        // windows start at 0 and 2: voxels 0-1 see window 0, 2-3 both, 4-5 window 1
        assert_eq!(probs.iter().copied().collect::<Vec<_>>(), vec![0.0, 0.0, 0.5, 0.5, 1.0, 1.0]);
        let g = gaussian_importance([112, 112, 80], false);
        assert_eq!(g.iter().copied().fold(0.0f32, f32::max), 1.0);
        assert!(g.iter().all(|&v| v > 0.0));
    }

    #[test]
    fn monai_and_nnunet_gaussians_differ_by_their_centres() {
        // MONAI: symmetric about 1.5 on a side of 4; nnU-Net: peak at index 2
        let monai = gaussian_importance([4, 1, 1], false);
        assert_eq!(monai[[1, 0, 0]], monai[[2, 0, 0]]);
        assert_eq!(monai[[0, 0, 0]], monai[[3, 0, 0]]);
        let nnunet = gaussian_importance([4, 1, 1], true);
        assert_eq!(nnunet[[2, 0, 0]], 1.0);
        assert_eq!(nnunet[[1, 0, 0]], nnunet[[3, 0, 0]]);
        // σ = 0.5 on a side of 4: exp(−d²/(2σ²)) = exp(−2) one voxel from the centre, exp(−8) two
        assert!((nnunet[[1, 0, 0]] - (-2.0f32).exp()).abs() < 1e-6);
        assert!((nnunet[[0, 0, 0]] - (-8.0f32).exp()).abs() < 1e-7);
        // odd sides: both are centred on the middle voxel
        assert_eq!(gaussian_importance([5, 3, 1], false), gaussian_importance([5, 3, 1], true));
    }
}
