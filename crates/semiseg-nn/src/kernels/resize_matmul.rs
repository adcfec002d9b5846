//! Bilinear resizing on the `align_corners = true` grid as two matrix products, for devices off
//! the CPU: Burn 0.22's CubeCL backends (wgpu, CUDA) have no backward pass for bilinear
//! interpolation ("Bilinear interpolation backward is not supported by JIT backend"), while a
//! matrix product differentiates everywhere. Each axis is resized by an `[out, in]` matrix with
//! PyTorch's two taps per row ([`super::resize::taps`]); an axis that keeps its size is skipped.

use burn::prelude::*;
use burn::tensor::TensorData;

/// The `[output, input]` matrix of linear interpolation along one axis (each row sums to 1).
fn interpolation_matrix(input: usize, output: usize, device: &Device) -> Tensor<2> {
    let mut m = vec![0f32; output * input];
    for (o, (i0, i1, f)) in super::resize::taps(input, output).into_iter().enumerate() {
        m[o * input + i0] += 1.0 - f;
        m[o * input + i1] += f;
    }
    Tensor::from_data(TensorData::new(m, [output, input]), device)
}

/// Resizes `[N, C, H, W]` to `[N, C, ho, wo]`.
pub fn resize_bilinear_matmul(x: Tensor<4>, [ho, wo]: [usize; 2]) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let device = x.device();
    let mut y = x;
    if wo != w {
        let cols = interpolation_matrix(w, wo, &device).transpose();
        y = y.reshape([n * c * h, w]).matmul(cols).reshape([n, c, h, wo]);
    }
    if ho != h {
        let rows = interpolation_matrix(h, ho, &device).transpose();
        // H last, resize it as the columns were, then back
        let t = y.swap_dims(2, 3).reshape([n * c * wo, h]).matmul(rows);
        y = t.reshape([n, c, wo, ho]).swap_dims(2, 3);
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_cpu_kernel_forward_and_backward() {
        let device = Device::flex().autodiff();
        for (shape, size) in [([2, 3, 5, 7], [9, 13]), ([1, 2, 4, 4], [8, 4]), ([1, 1, 6, 3], [6, 5])] {
            let x = Tensor::<4>::random(shape, burn::tensor::Distribution::Normal(0.0, 1.0), &device).require_grad();
            let weight = Tensor::<4>::random([shape[0], shape[1], size[0], size[1]], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
            let (ours, kernel) = (resize_bilinear_matmul(x.clone(), size), super::super::resize_bilinear_aligned(x.clone(), size));
            ours.to_data().assert_approx_eq::<f32>(&kernel.to_data(), burn::tensor::Tolerance::absolute(1e-5));
            let g_ours = (ours * weight.clone()).sum().backward();
            let g_kernel = (kernel * weight).sum().backward();
            let (a, b) = (x.grad(&g_ours).unwrap(), x.grad(&g_kernel).unwrap());
            a.to_data().assert_approx_eq::<f32>(&b.to_data(), burn::tensor::Tolerance::absolute(1e-5));
        }
    }
}
