//! UA-MT's volume augmentation (methods.md §0.4), used by CAML and FBA-Net on LA:
//! `RandomRotFlip` (a rotation by k·90° in the first two axes, k ∈ {0, 1, 2, 3}, then a flip
//! along axis 0 or 1) and `RandomCrop` (zero padding when any side is at most the patch's, then
//! a crop at a random corner). Volumes are `[C, H, W, D]`, labels `[H, W, D]`.

use ndarray::{s, Array3, Array4, ArrayView3, ArrayView4, Axis};
use rand::Rng;

/// `np.rot90(m, k)` in the plane of axes (0, 1) of a `[H, W, D]` view: k = 1 takes
/// `out[i, j] = m[j, W − 1 − i]`, k = 2 `m[H − 1 − i, W − 1 − j]`, k = 3 `m[H − 1 − j, i]`.
fn rot90<T: Copy>(m: ArrayView3<T>, k: usize) -> ndarray::ArrayView3<T> {
    let mut v = m;
    match k % 4 {
        1 => {
            v.invert_axis(Axis(1));
            v.swap_axes(0, 1);
        }
        2 => {
            v.invert_axis(Axis(0));
            v.invert_axis(Axis(1));
        }
        3 => {
            v.swap_axes(0, 1);
            v.invert_axis(Axis(1));
        }
        _ => {}
    }
    v
}

/// The same rotation and flip of an image `[C, H, W, D]` and its label `[H, W, D]`.
pub fn rot_flip(image: ArrayView4<f32>, label: Option<ArrayView3<u8>>, k: usize, flip_axis: usize) -> (Array4<f32>, Option<Array3<u8>>) {
    let turned: Vec<_> = image.outer_iter().map(|c| {
        let mut v = rot90(c, k);
        v.invert_axis(Axis(flip_axis));
        v.insert_axis(Axis(0))
    }).collect();
    let image = ndarray::concatenate(Axis(0), &turned).expect("channels of one shape");
    let label = label.map(|l| {
        let mut v = rot90(l, k);
        v.invert_axis(Axis(flip_axis));
        v.to_owned()
    });
    (image.as_standard_layout().to_owned(), label)
}

/// `RandomRotFlip`: k uniform in 0..4, then the flip axis uniform in {0, 1}.
pub fn random_rot_flip(image: ArrayView4<f32>, label: Option<ArrayView3<u8>>, rng: &mut impl Rng) -> (Array4<f32>, Option<Array3<u8>>) {
    let k = rng.random_range(0..4);
    let axis = rng.random_range(0..2);
    rot_flip(image, label, k, axis)
}

/// UA-MT's padding before a crop: when any side is at most the patch's, every axis gets
/// `max((patch − side) / 2 + 3, 0)` zeros on both sides (integer division rounding down, as
/// Python's `//`).
pub fn crop_padding(size: [usize; 3], patch: [usize; 3]) -> [usize; 3] {
    if (0..3).all(|a| size[a] > patch[a]) {
        return [0; 3];
    }
    std::array::from_fn(|a| {
        let d = patch[a] as i64 - size[a] as i64;
        (d.div_euclid(2) + 3).max(0) as usize
    })
}

/// `RandomCrop`: pad as [`crop_padding`], then a corner drawn uniformly from
/// `0 .. side − patch` (exclusive, as `np.random.randint`) on each axis.
pub fn random_crop(image: ArrayView4<f32>, label: Option<ArrayView3<u8>>, patch: [usize; 3], rng: &mut impl Rng) -> (Array4<f32>, Option<Array3<u8>>) {
    let (c, h, w, d) = image.dim();
    let pad = crop_padding([h, w, d], patch);
    let size = [h + 2 * pad[0], w + 2 * pad[1], d + 2 * pad[2]];
    let corner: [usize; 3] = std::array::from_fn(|a| rng.random_range(0..size[a] - patch[a]));
    // crop straight from the unpadded volume: the padding is zeros
    let mut out = Array4::<f32>::zeros((c, patch[0], patch[1], patch[2]));
    let mut out_label = label.map(|_| Array3::<u8>::zeros(patch));
    // the part of the crop window that falls inside the original volume, in both frames
    let range = |a: usize, side: usize| {
        let lo = corner[a].max(pad[a]);
        let hi = (corner[a] + patch[a]).min(pad[a] + side);
        (lo.saturating_sub(pad[a]), hi.saturating_sub(pad[a]).max(lo.saturating_sub(pad[a])), lo - corner[a])
    };
    let (x0, x1, ox) = range(0, h);
    let (y0, y1, oy) = range(1, w);
    let (z0, z1, oz) = range(2, d);
    if x1 > x0 && y1 > y0 && z1 > z0 {
        out.slice_mut(s![.., ox..ox + x1 - x0, oy..oy + y1 - y0, oz..oz + z1 - z0]).assign(&image.slice(s![.., x0..x1, y0..y1, z0..z1]));
        if let (Some(o), Some(l)) = (out_label.as_mut(), label) {
            o.slice_mut(s![ox..ox + x1 - x0, oy..oy + y1 - y0, oz..oz + z1 - z0]).assign(&l.slice(s![x0..x1, y0..y1, z0..z1]));
        }
    }
    (out, out_label)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn volume(h: usize, w: usize, d: usize) -> Array4<f32> {
        Array4::from_shape_fn((1, h, w, d), |(_, i, j, k)| (100 * i + 10 * j + k) as f32)
    }

    #[test]
    fn rotations_follow_numpy_rot90() {
        let v = volume(2, 3, 1);
        let m = v.index_axis(Axis(0), 0);
        let at = |k: usize, i: usize, j: usize| rot90(m.view(), k)[[i, j, 0]];
        // k = 1: out[i, j] = m[j, W − 1 − i], shape (W, H)
        assert_eq!(rot90(m.view(), 1).dim(), (3, 2, 1));
        assert_eq!(at(1, 0, 0), m[[0, 2, 0]]);
        assert_eq!(at(1, 2, 1), m[[1, 0, 0]]);
        assert_eq!(at(2, 0, 0), m[[1, 2, 0]]);
        // k = 3: out[i, j] = m[H − 1 − j, i]
        assert_eq!(at(3, 0, 0), m[[1, 0, 0]]);
        assert_eq!(at(3, 2, 1), m[[0, 2, 0]]);
    }

    #[test]
    fn image_and_label_turn_together() {
        let v = volume(4, 3, 2);
        let label = v.index_axis(Axis(0), 0).mapv(|x| x as u8);
        let (img, lab) = rot_flip(v.view(), Some(label.view()), 1, 0);
        assert_eq!(img.index_axis(Axis(0), 0).mapv(|x| x as u8), lab.unwrap());
        assert_eq!(img.dim(), (1, 3, 4, 2));
    }

    #[test]
    fn padding_follows_ua_mt() {
        // LA: larger in x and y, equal in z → every axis padded by max((p − s) // 2 + 3, 0)
        assert_eq!(crop_padding([200, 150, 80], [112, 112, 80]), [0, 0, 3]);
        assert_eq!(crop_padding([100, 150, 70], [112, 112, 80]), [9, 0, 8]);
        assert_eq!(crop_padding([200, 150, 90], [112, 112, 80]), [0, 0, 0]);
    }

    #[test]
    fn a_crop_is_a_window_of_the_zero_padded_volume() {
        let v = volume(6, 5, 4);
        let label = v.index_axis(Axis(0), 0).mapv(|x| (x as usize % 7) as u8);
        let patch = [4, 5, 3];
        let pad = crop_padding([6, 5, 4], patch);
        let padded = {
            let mut p = Array4::<f32>::zeros((1, 6 + 2 * pad[0], 5 + 2 * pad[1], 4 + 2 * pad[2]));
            p.slice_mut(s![.., pad[0]..pad[0] + 6, pad[1]..pad[1] + 5, pad[2]..pad[2] + 4]).assign(&v);
            p
        };
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..20 {
            let (crop, lab) = random_crop(v.view(), Some(label.view()), patch, &mut rng);
            let lab = lab.unwrap();
            // find the window of the padded volume equal to the crop
            let found = (0..padded.dim().1 - patch[0]).any(|x| {
                (0..padded.dim().2 - patch[1]).any(|y| {
                    (0..padded.dim().3 - patch[2]).any(|z| padded.slice(s![.., x..x + patch[0], y..y + patch[1], z..z + patch[2]]) == crop)
                })
            });
            assert!(found, "the crop is a window of the padded volume");
            // label voxels follow their image voxels (zero padding in both)
            for (i, &v) in crop.index_axis(Axis(0), 0).indexed_iter() {
                assert_eq!(lab[i], (v as usize % 7) as u8);
            }
        }
    }
}
