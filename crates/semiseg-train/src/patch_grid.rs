//! CLCC's patch grid: an image batch cut into a G×G grid of non-overlapping patches, stacked in
//! `b·G² + i·G + j` order so the whole stack goes through the network as one batch, and back.

use burn::prelude::*;

/// `[B, C, H, W]` → `[B·G², C, H/G, W/G]` (patch `(i, j)` = rows `i·H/G..`, cols `j·W/G..`).
pub fn to_patches(x: Tensor<4>, grid: usize) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    let (ph, pw) = (h / grid, w / grid);
    x.reshape([b, c, grid, ph, grid, pw]).permute([0, 2, 4, 1, 3, 5]).reshape([b * grid * grid, c, ph, pw])
}

/// The inverse of [`to_patches`]: `[B·G², C, h, w]` → `[B, C, G·h, G·w]`.
pub fn from_patches(p: Tensor<4>, grid: usize) -> Tensor<4> {
    let [n, c, ph, pw] = p.dims();
    let b = n / (grid * grid);
    p.reshape([b, grid, grid, c, ph, pw]).permute([0, 3, 1, 4, 2, 5]).reshape([b, c, grid * ph, grid * pw])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_round_trip() {
        let device = Device::flex();
        let x = Tensor::<1, Int>::arange(0..2 * 3 * 10 * 10, &device).float().reshape([2, 3, 10, 10]);
        let p = to_patches(x.clone(), 5);
        assert_eq!(p.dims(), [50, 3, 2, 2]);
        // patch b=1, i=2, j=3 is rows 4..6, cols 6..8 of image 1
        let want = x.clone().narrow(0, 1, 1).narrow(2, 4, 2).narrow(3, 6, 2);
        p.clone().narrow(0, 25 + 2 * 5 + 3, 1).into_data().assert_eq(&want.into_data(), true);
        from_patches(p, 5).into_data().assert_eq(&x.into_data(), true);
    }
}
