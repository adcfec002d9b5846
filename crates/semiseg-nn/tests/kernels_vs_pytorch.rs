//! The GEMM convolutions (plain and transposed), 2×2 max-pooling, bilinear resizing, group norm + Swish and the fused batch norm + activation against PyTorch: outputs,
//! gradients, running statistics. `tests/fixtures/kernels/gen.py` writes the cases; the loss is
//! `sum(y · cos(i))` over the flat output index `i`.

use burn::nn::BatchNormConfig;
use burn::tensor::{Device, Int, Tensor, TensorData};
use ndarray::ArrayD;
use semiseg_nn::burn;
use semiseg_nn::kernels;
use std::path::PathBuf;

fn load<const D: usize>(case: &str, key: &str, device: &Device) -> Tensor<D> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/kernels/{case}_{key}.npy"));
    let a: ArrayD<f32> = ndarray_npy::read_npy(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let shape: [usize; D] = a.shape().try_into().unwrap_or_else(|_| panic!("{case}_{key}: rank {}", a.ndim()));
    Tensor::from_data(TensorData::new(a.iter().copied().collect::<Vec<_>>(), shape), device)
}

fn assert_close<const D: usize>(got: Tensor<D>, want: Tensor<D>, what: &str) {
    assert_eq!(got.dims(), want.dims(), "{what}: shape");
    let scale = want.clone().abs().max().into_scalar::<f32>().max(1.0);
    let err = (got - want).abs().max().into_scalar::<f32>();
    assert!(err <= 1e-5 * scale, "{what}: max |Δ| {err} (scale {scale})");
}

fn weighted_sum<const D: usize>(y: Tensor<D>) -> Tensor<1> {
    let d = y.device();
    let weights = Tensor::<1, Int>::arange(0..y.shape().num_elements() as i64, &d).float().cos().reshape(y.shape());
    (y * weights).sum()
}

fn check_conv<const D: usize>(case: &str, conv: impl Fn(Tensor<D>, Tensor<D>, Tensor<1>) -> Tensor<D>) {
    let d = Device::flex().autodiff();
    let (x, w, b) = (load::<D>(case, "x", &d).require_grad(), load::<D>(case, "w", &d).require_grad(), load::<1>(case, "b", &d).require_grad());
    let y = conv(x.clone(), w.clone(), b.clone());
    let grads = weighted_sum(y.clone()).backward();
    assert_close(y.inner(), load(case, "y", &Device::flex()), &format!("{case} output"));
    assert_close(x.grad(&grads).unwrap(), load(case, "dx", &Device::flex()), &format!("{case} input gradient"));
    assert_close(w.grad(&grads).unwrap(), load(case, "dw", &Device::flex()), &format!("{case} weight gradient"));
    assert_close(b.grad(&grads).unwrap(), load(case, "db", &Device::flex()), &format!("{case} bias gradient"));
}

#[test]
fn conv2d_matches_pytorch() {
    check_conv::<4>("conv2d_k3", |x, w, b| kernels::conv2d(x, w, Some(b), [1, 1], [1, 1]));
    check_conv::<4>("conv2d_k3s2", |x, w, b| kernels::conv2d(x, w, Some(b), [2, 2], [1, 1]));
    check_conv::<4>("conv2d_k1", |x, w, b| kernels::conv2d(x, w, Some(b), [1, 1], [0, 0]));
    check_conv::<4>("conv2d_k3d2", |x, w, b| kernels::conv2d_dilated(x, w, Some(b), [1, 1], [2, 2], [2, 2]));
}

#[test]
fn conv3d_matches_pytorch() {
    check_conv::<5>("conv3d_k3", |x, w, b| kernels::conv3d(x, w, Some(b), [1, 1, 1], [1, 1, 1]));
    check_conv::<5>("conv3d_k2s2", |x, w, b| kernels::conv3d(x, w, Some(b), [2, 2, 2], [0, 0, 0]));
    check_conv::<5>("conv3d_k5", |x, w, b| kernels::conv3d(x, w, Some(b), [2, 1, 3], [2, 2, 2]));
    check_conv::<5>("conv3d_k3d", |x, w, b| kernels::conv3d_dilated(x, w, Some(b), [1, 2, 1], [2, 1, 3], [2, 3, 2]));
}

#[test]
fn conv_transpose_matches_pytorch() {
    check_conv::<4>("convt2d_k4s2", |x, w, b| kernels::conv_transpose2d(x, w, Some(b), [2, 2], [1, 1]));
    check_conv::<4>("convt2d_k2s2", |x, w, b| kernels::conv_transpose2d(x, w, Some(b), [2, 2], [0, 0]));
    check_conv::<5>("convt3d_k2s2", |x, w, b| kernels::conv_transpose3d(x, w, Some(b), [2, 2, 2], [0, 0, 0]));
}

#[test]
fn max_pool_matches_pytorch_ties_included() {
    let d = Device::flex().autodiff();
    let x = load::<4>("maxpool_ties", "x", &d).require_grad();
    let y = kernels::max_pool2x2(x.clone());
    let grads = weighted_sum(y.clone()).backward();
    assert_close(y.inner(), load("maxpool_ties", "y", &Device::flex()), "max-pool output");
    assert_close(x.grad(&grads).unwrap(), load("maxpool_ties", "dx", &Device::flex()), "max-pool input gradient");
}

#[test]
fn bilinear_resize_matches_pytorch() {
    for (case, size) in [("bilinear_x2", [10, 12]), ("bilinear_odd", [9, 11])] {
        let d = Device::flex().autodiff();
        let x = load::<4>(case, "x", &d).require_grad();
        let y = kernels::resize_bilinear_aligned(x.clone(), size);
        let grads = weighted_sum(y.clone()).backward();
        assert_close(y.inner(), load(case, "y", &Device::flex()), &format!("{case} output"));
        assert_close(x.grad(&grads).unwrap(), load(case, "dx", &Device::flex()), &format!("{case} input gradient"));
    }
}

#[test]
fn group_norm_act_matches_pytorch() {
    use burn::nn::GroupNormConfig;
    for (case, groups, swish) in [("gn_swish", 4, true), ("gn_plain", 3, false)] {
        let d = Device::flex().autodiff();
        let plain = Device::flex();
        let x = load::<4>(case, "x", &d).require_grad();
        let mut norm = GroupNormConfig::new(groups, x.dims()[1]).init(&d);
        norm.gamma = norm.gamma.map(|g| g.map(|_| load::<1>(case, "gamma", &d).require_grad()));
        norm.beta = norm.beta.map(|b| b.map(|_| load::<1>(case, "beta", &d).require_grad()));
        let y = kernels::group_norm_act(&norm, x.clone(), swish);
        let grads = weighted_sum(y.clone()).backward();
        assert_close(y.inner(), load(case, "y", &plain), &format!("{case} output"));
        assert_close(x.grad(&grads).unwrap(), load(case, "dx", &plain), &format!("{case} input gradient"));
        assert_close(norm.gamma.as_ref().unwrap().grad(&grads).unwrap(), load(case, "dgamma", &plain), &format!("{case} gamma gradient"));
        assert_close(norm.beta.as_ref().unwrap().grad(&grads).unwrap(), load(case, "dbeta", &plain), &format!("{case} beta gradient"));
    }
}

fn check_norm<const D: usize>(case: &str, slope: f64) {
    let d = Device::flex().autodiff();
    let plain = Device::flex();
    let x = load::<D>(case, "x", &d).require_grad();
    let mut norm = BatchNormConfig::new(x.dims()[1]).init(&d);
    norm.gamma = norm.gamma.map(|_| load::<1>(case, "gamma", &d).require_grad());
    norm.beta = norm.beta.map(|_| load::<1>(case, "beta", &d).require_grad());
    let y = kernels::batch_norm_act(&norm, x.clone(), slope);
    let grads = weighted_sum(y.clone()).backward();
    assert_close(y.inner(), load(case, "y", &plain), &format!("{case} output"));
    assert_close(x.grad(&grads).unwrap(), load(case, "dx", &plain), &format!("{case} input gradient"));
    assert_close(norm.gamma.grad(&grads).unwrap(), load(case, "dgamma", &plain), &format!("{case} gamma gradient"));
    assert_close(norm.beta.grad(&grads).unwrap(), load(case, "dbeta", &plain), &format!("{case} beta gradient"));
    assert_close(norm.running_mean.value_sync().inner(), load(case, "running_mean", &plain), &format!("{case} running mean"));
    assert_close(norm.running_var.value_sync().inner(), load(case, "running_var", &plain), &format!("{case} running variance"));
}

#[test]
fn batch_norm_act_matches_pytorch() {
    check_norm::<4>("bn_leaky2d", 0.01);
    check_norm::<5>("bn_relu3d", 0.0);
}
