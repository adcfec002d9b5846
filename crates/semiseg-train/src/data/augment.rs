//! Augmentations of 2-D samples, then resizing to the training patch.
//!
//! * `ssl4mis` (SSL4MIS `RandomGenerator`): with probability ½ a random `rot90` (k ∈ 0..4) and a
//!   flip along a random axis; otherwise, with probability ½, a rotation by an integer angle in
//!   [−20°, 20°) with nearest-neighbour sampling and zero fill (`ndimage.rotate(order=0,
//!   reshape=False)`); then `zoom` to the patch (order 0 = nearest for labels; images as
//!   configured).
//! * `flip_rot90` (albumentations RandomRotate90 + Flip, MGCC / CLCC): each with probability ½;
//!   the flip is vertical, horizontal or both, one of three.
//! * `hflip_vflip_rot90` (CLCC's albumentations pipeline): horizontal flip, vertical flip,
//!   RandomRotate90 (k ∈ 0..4), each with probability ½, in that order.
//! * `none`: resize only.
//!
//! Then, when configured: a random crop covering a fraction `s ∈ [lo, hi]` of each side, and an
//! intensity jitter `x' = (x − m)·c + m + b·r` (`m` the mean, `r` the range of the image,
//! `c ∈ [1 − contrast, 1 + contrast]`, `b ∈ [−brightness, brightness]`), before the resize.

use ndarray::{Array2, Array3, Axis};
use rand::Rng;

/// Interpolation for resizing images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interp {
    /// `scipy.ndimage.zoom(order=0)`: corner-aligned nearest neighbour.
    Nearest,
    /// Bilinear, half-pixel centres (`cv2.resize` / `F.interpolate(align_corners=False)`).
    Bilinear,
}

impl Interp {
    /// The interpolation `data.image_interp` names.
    pub fn of(data: &crate::config::DataConfig) -> Self {
        if data.image_interp == "bilinear" { Interp::Bilinear } else { Interp::Nearest }
    }
}

fn zoom_nearest_index(o: usize, n_out: usize, n_in: usize) -> usize {
    // scipy zoom (grid_mode=False) maps corners onto corners.
    if n_out <= 1 {
        return 0;
    }
    ((o as f64 * (n_in - 1) as f64 / (n_out - 1) as f64).round() as usize).min(n_in - 1)
}

/// Resizes `[C, H, W]` to `[C, h, w]`.
pub fn resize_image(x: &Array3<f32>, h: usize, w: usize, interp: Interp) -> Array3<f32> {
    let (c, hi, wi) = x.dim();
    if (hi, wi) == (h, w) {
        return x.clone();
    }
    match interp {
        Interp::Nearest => Array3::from_shape_fn((c, h, w), |(k, y, xx)| x[[k, zoom_nearest_index(y, h, hi), zoom_nearest_index(xx, w, wi)]]),
        Interp::Bilinear => {
            let src = |o: usize, n_out: usize, n_in: usize| {
                let p = ((o as f64 + 0.5) * n_in as f64 / n_out as f64 - 0.5).max(0.0);
                let i0 = (p.floor() as usize).min(n_in - 1);
                let i1 = (i0 + 1).min(n_in - 1);
                (i0, i1, (p - i0 as f64) as f32)
            };
            Array3::from_shape_fn((c, h, w), |(k, y, xx)| {
                let (y0, y1, fy) = src(y, h, hi);
                let (x0, x1, fx) = src(xx, w, wi);
                let top = x[[k, y0, x0]] * (1.0 - fx) + x[[k, y0, x1]] * fx;
                let bot = x[[k, y1, x0]] * (1.0 - fx) + x[[k, y1, x1]] * fx;
                top * (1.0 - fy) + bot * fy
            })
        }
    }
}

/// `cv2.resize(..., INTER_NEAREST)`: source index `floor(o · n_in / n_out)`.
fn cv2_nearest_index(o: usize, n_out: usize, n_in: usize) -> usize {
    ((o as f64 * n_in as f64 / n_out as f64).floor() as usize).min(n_in - 1)
}

/// Resizes a label map `[H, W]` the way the pipeline of `interp` resizes masks: SSL4MIS zooms
/// image and mask alike (`zoom(order=0)`, corner-aligned, for [`Interp::Nearest`]); the cv2 /
/// albumentations pipelines (MGCC, CLCC: bilinear images) resize masks with OpenCV's
/// `INTER_NEAREST`.
pub fn resize_label(y: &Array2<u8>, h: usize, w: usize, interp: Interp) -> Array2<u8> {
    let (hi, wi) = y.dim();
    if (hi, wi) == (h, w) {
        return y.clone();
    }
    let index = match interp {
        Interp::Nearest => zoom_nearest_index,
        Interp::Bilinear => cv2_nearest_index,
    };
    Array2::from_shape_fn((h, w), |(a, b)| y[[index(a, h, hi), index(b, w, wi)]])
}

/// `np.rot90(x, k)` on the last two axes (counter-clockwise).
fn rot90<T: Clone + Copy>(x: &ndarray::ArrayView2<T>, k: usize) -> Array2<T> {
    let (h, w) = x.dim();
    match k % 4 {
        0 => x.to_owned(),
        1 => Array2::from_shape_fn((w, h), |(i, j)| x[[j, w - 1 - i]]),
        2 => Array2::from_shape_fn((h, w), |(i, j)| x[[h - 1 - i, w - 1 - j]]),
        _ => Array2::from_shape_fn((w, h), |(i, j)| x[[h - 1 - j, i]]),
    }
}

fn flip<T: Clone>(x: Array2<T>, axis: usize) -> Array2<T> {
    let mut v = x;
    v.invert_axis(Axis(axis));
    v.as_standard_layout().to_owned()
}

/// Nearest-neighbour rotation about the centre by `deg` degrees, zero fill, same shape.
fn rotate<T: Clone + Copy + Default>(x: &ndarray::ArrayView2<T>, deg: f64) -> Array2<T> {
    let (h, w) = x.dim();
    let (s, c) = deg.to_radians().sin_cos();
    let (cy, cx) = ((h as f64 - 1.0) / 2.0, (w as f64 - 1.0) / 2.0);
    Array2::from_shape_fn((h, w), |(i, j)| {
        let (dy, dx) = (i as f64 - cy, j as f64 - cx);
        let sy = c * dy - s * dx + cy;
        let sx = s * dy + c * dx + cx;
        let (yi, xi) = (sy.round(), sx.round());
        if yi < 0.0 || xi < 0.0 || yi >= h as f64 || xi >= w as f64 {
            T::default()
        } else {
            x[[yi as usize, xi as usize]]
        }
    })
}

fn per_channel(x: &Array3<f32>, f: impl Fn(&ndarray::ArrayView2<f32>) -> Array2<f32>) -> Array3<f32> {
    let planes: Vec<Array2<f32>> = x.axis_iter(Axis(0)).map(|p| f(&p)).collect();
    let views: Vec<_> = planes.iter().map(|p| p.view()).collect();
    ndarray::stack(Axis(0), &views).expect("same shapes")
}

/// Optional crop and intensity jitter (see the module doc); all zero / one means off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extra {
    /// Side fraction range of the random crop (`[1, 1]`: no crop).
    pub crop: [f64; 2],
    /// Brightness shift, as a fraction of the intensity range.
    pub brightness: f64,
    /// Contrast factor spread around 1.
    pub contrast: f64,
}

impl Default for Extra {
    fn default() -> Self {
        Self { crop: [1.0, 1.0], brightness: 0.0, contrast: 0.0 }
    }
}

fn crop<R: Rng>(img: Array3<f32>, lab: Option<Array2<u8>>, range: [f64; 2], rng: &mut R) -> (Array3<f32>, Option<Array2<u8>>) {
    let (_, h, w) = img.dim();
    let s = if range[1] > range[0] { rng.random_range(range[0]..=range[1]) } else { range[0] };
    let (ch, cw) = (((h as f64 * s).round() as usize).clamp(1, h), ((w as f64 * s).round() as usize).clamp(1, w));
    let (y0, x0) = (rng.random_range(0..=h - ch), rng.random_range(0..=w - cw));
    let img = img.slice(ndarray::s![.., y0..y0 + ch, x0..x0 + cw]).to_owned();
    let lab = lab.map(|l| l.slice(ndarray::s![y0..y0 + ch, x0..x0 + cw]).to_owned());
    (img, lab)
}

fn jitter<R: Rng>(mut img: Array3<f32>, brightness: f64, contrast: f64, rng: &mut R) -> Array3<f32> {
    let c = if contrast > 0.0 { rng.random_range(1.0 - contrast..=1.0 + contrast) } else { 1.0 } as f32;
    let b = if brightness > 0.0 { rng.random_range(-brightness..=brightness) } else { 0.0 } as f32;
    let n = img.len() as f32;
    let mean = img.sum() / n;
    let (lo, hi) = img.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, z), &v| (a.min(v), z.max(v)));
    let range = (hi - lo).max(1e-6);
    img.mapv_inplace(|v| (v - mean) * c + mean + b * range);
    img
}

/// Augments a sample and resizes it to `patch`.
pub fn augment<R: Rng>(image: &Array3<f32>, label: Option<&Array2<u8>>, kind: &str, patch: [usize; 2], interp: Interp, rng: &mut R) -> (Array3<f32>, Option<Array2<u8>>) {
    augment_with(image, label, kind, Extra::default(), patch, interp, rng)
}

/// [`augment`] with the optional crop and intensity jitter.
pub fn augment_with<R: Rng>(image: &Array3<f32>, label: Option<&Array2<u8>>, kind: &str, extra: Extra, patch: [usize; 2], interp: Interp, rng: &mut R) -> (Array3<f32>, Option<Array2<u8>>) {
    let mut img = image.clone();
    let mut lab = label.cloned();
    let rot_flip = |img: &mut Array3<f32>, lab: &mut Option<Array2<u8>>, k: usize, axes: &[usize]| {
        *img = per_channel(img, |p| axes.iter().fold(rot90(p, k), |r, &a| flip(r, a)));
        if let Some(l) = lab.as_mut() {
            *l = axes.iter().fold(rot90(&l.view(), k), |r, &a| flip(r, a));
        }
    };
    match kind {
        "ssl4mis" => {
            if rng.random::<f64>() > 0.5 {
                let k = rng.random_range(0..4);
                let axis = rng.random_range(0..2);
                rot_flip(&mut img, &mut lab, k, &[axis]);
            } else if rng.random::<f64>() > 0.5 {
                let angle = rng.random_range(-20..20) as f64;
                img = per_channel(&img, |p| rotate(p, angle));
                lab = lab.map(|l| rotate(&l.view(), angle));
            }
        }
        "flip_rot90" => {
            let k = if rng.random::<f64>() < 0.5 { rng.random_range(0..4) } else { 0 };
            // albumentations `Flip`: vertical, horizontal or both, one of three
            let axes: &[usize] = if rng.random::<f64>() < 0.5 { [&[0][..], &[1], &[0, 1]][rng.random_range(0..3)] } else { &[] };
            rot_flip(&mut img, &mut lab, k, axes);
        }
        "hflip_vflip_rot90" => {
            for axis in [1, 0] {
                if rng.random::<f64>() < 0.5 {
                    rot_flip(&mut img, &mut lab, 0, &[axis]);
                }
            }
            if rng.random::<f64>() < 0.5 {
                let k = rng.random_range(0..4);
                rot_flip(&mut img, &mut lab, k, &[]);
            }
        }
        _ => {}
    }
    if extra.crop != [1.0, 1.0] {
        (img, lab) = crop(img, lab, extra.crop, rng);
    }
    if extra.brightness > 0.0 || extra.contrast > 0.0 {
        img = jitter(img, extra.brightness, extra.contrast, rng);
    }
    let img = resize_image(&img, patch[0], patch[1], interp);
    let lab = lab.map(|l| resize_label(&l, patch[0], patch[1], interp));
    (img, lab)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rot90_matches_numpy() {
        // np.rot90([[1, 2, 3], [4, 5, 6]]) == [[3, 6], [2, 5], [1, 4]]
        let a = ndarray::array![[1, 2, 3], [4, 5, 6]];
        assert_eq!(rot90(&a.view(), 1), ndarray::array![[3, 6], [2, 5], [1, 4]]);
        assert_eq!(rot90(&a.view(), 3), ndarray::array![[4, 1], [5, 2], [6, 3]]);
        assert_eq!(rot90(&a.view(), 2), ndarray::array![[6, 5, 4], [3, 2, 1]]);
    }

    #[test]
    fn masks_resize_on_their_pipelines_grid() {
        // scipy.ndimage.zoom(np.arange(4), 2, order=0) == [0, 0, 1, 1, 2, 2, 3, 3]
        let y = ndarray::array![[0u8, 1, 2, 3]];
        assert_eq!(resize_label(&y, 1, 8, Interp::Nearest).row(0).to_vec(), vec![0, 0, 1, 1, 2, 2, 3, 3]);
        // cv2.resize(np.arange(8, dtype=np.uint8)[None], (3, 1), interpolation=cv2.INTER_NEAREST) == [0, 2, 5]
        // scipy.ndimage.zoom(np.arange(8), 3 / 8, order=0) == [0, 4, 7]
        let y = ndarray::array![[0u8, 1, 2, 3, 4, 5, 6, 7]];
        assert_eq!(resize_label(&y, 1, 3, Interp::Bilinear).row(0).to_vec(), vec![0, 2, 5]);
        assert_eq!(resize_label(&y, 1, 3, Interp::Nearest).row(0).to_vec(), vec![0, 4, 7]);
    }

    #[test]
    fn albumentations_flip_includes_both_axes() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        // A 180° turn comes from rot90 k = 2 without a flip (1/16), and with the flip of both
        // axes from k = 0 ((1/2 + 1/8) · 1/6 = 5/48): 1/6 in all; single-axis flips give 1/16.
        let img = Array3::from_shape_vec((1, 2, 2), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        let turned: Vec<f32> = vec![4.0, 3.0, 2.0, 1.0];
        let n = 3000;
        let hits = (0..n).filter(|_| augment(&img, None, "flip_rot90", [2, 2], Interp::Bilinear, &mut rng).0.iter().copied().collect::<Vec<_>>() == turned).count();
        let share = hits as f64 / n as f64;
        assert!((share - 1.0 / 6.0).abs() < 0.03, "180° turns: {share}");
    }

    #[test]
    fn crop_and_jitter_keep_label_alignment_and_shape() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let img = Array3::from_shape_fn((1, 20, 24), |(_, y, x)| if (5..12).contains(&y) && x > 9 { 100.0 } else { 0.0 });
        let lab = img.index_axis(Axis(0), 0).mapv(|v| u8::from(v > 0.0));
        let extra = Extra { crop: [0.6, 0.9], brightness: 0.0, contrast: 0.0 };
        for _ in 0..20 {
            let (i, l) = augment_with(&img, Some(&lab), "none", extra, [16, 16], Interp::Nearest, &mut rng);
            assert_eq!(i.dim(), (1, 16, 16));
            assert_eq!(i.index_axis(Axis(0), 0).mapv(|v| u8::from(v > 0.0)), l.unwrap());
        }
        let j = jitter(img.clone(), 0.2, 0.3, &mut rng);
        assert!(j.iter().zip(img.iter()).any(|(a, b)| a != b));
    }

    #[test]
    fn label_and_image_move_together() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        use rand::SeedableRng;
        let img = Array3::from_shape_fn((1, 16, 16), |(_, y, x)| if x > 10 && y < 4 { 1.0 } else { 0.0 });
        let lab = img.index_axis(Axis(0), 0).mapv(|v| v as u8);
        for _ in 0..20 {
            let (i, l) = augment(&img, Some(&lab), "ssl4mis", [32, 32], Interp::Nearest, &mut rng);
            assert_eq!(i.index_axis(Axis(0), 0).mapv(|v| v as u8), l.unwrap());
        }
    }
}
