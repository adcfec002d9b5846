//! The 3-D blocks Burn 0.22 lacks against PyTorch: trilinear and nearest ×2 up-sampling and
//! 2×2×2 max-pooling (outputs and input gradients, `tests/fixtures/volume/gen.py`), and
//! `Dropout3d`'s channel masks (by their statistics: the draw is random).

use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use ndarray::ArrayD;
use semiseg_nn::blocks::{dropout3d, max_pool3d_2x, upsample_nearest2x, upsample_trilinear2x};
use semiseg_nn::burn;
use std::path::PathBuf;

fn load(case: &str, key: &str, device: &Device) -> Tensor<5> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/volume/{case}_{key}.npy"));
    let a: ArrayD<f32> = ndarray_npy::read_npy(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let shape: [usize; 5] = a.shape().try_into().expect("a volume batch");
    Tensor::from_data(TensorData::new(a.iter().copied().collect::<Vec<_>>(), shape), device)
}

fn assert_close(got: Tensor<5>, want: Tensor<5>, what: &str) {
    assert_eq!(got.dims(), want.dims(), "{what}: shape");
    let scale = want.clone().abs().max().into_scalar::<f32>().max(1.0);
    let err = (got - want).abs().max().into_scalar::<f32>();
    assert!(err <= 1e-5 * scale, "{what}: max |Δ| {err} (scale {scale})");
}

/// Output and input gradient of `op` against the fixture, under the loss `sum(y · cos(i))`.
fn check(case: &str, op: impl Fn(Tensor<5>) -> Tensor<5>) {
    let d = Device::flex().autodiff();
    let x = load(case, "x", &d).require_grad();
    let y = op(x.clone());
    let weights = Tensor::<1, Int>::arange(0..y.shape().num_elements() as i64, &d).float().cos().reshape(y.shape());
    let grads = (y.clone() * weights).sum().backward();
    assert_close(y.inner(), load(case, "y", &Device::flex()), &format!("{case} output"));
    assert_close(x.grad(&grads).unwrap(), load(case, "dx", &Device::flex()), &format!("{case} input gradient"));
}

#[test]
fn trilinear_upsampling_matches_pytorch() {
    check("trilinear", upsample_trilinear2x);
}

#[test]
fn nearest_upsampling_matches_pytorch() {
    check("nearest", upsample_nearest2x);
}

#[test]
fn max_pooling_matches_pytorch() {
    check("maxpool3d", max_pool3d_2x);
}

#[test]
fn dropout3d_zeroes_whole_channels_and_rescales_the_rest() {
    let train = Device::flex().autodiff();
    let x = Tensor::<5>::random([8, 64, 2, 3, 2], Distribution::Uniform(1.0, 2.0), &train);
    let y = dropout3d(x.clone(), 0.5).inner();
    let ratio = (y / x.inner()).reshape([8 * 64, 12]);
    let values: Vec<f32> = ratio.into_data().try_to_vec::<f32>().unwrap();
    let mut kept = 0;
    for channel in values.chunks(12) {
        // each (sample, channel) volume is either all zero or all scaled by 1 / (1 − p) = 2
        assert!(channel.iter().all(|&r| r == 0.0) || channel.iter().all(|&r| (r - 2.0).abs() < 1e-6), "{channel:?}");
        kept += (channel[0] != 0.0) as usize;
    }
    // 512 channels at p = 0.5: 256 expected, std 11.3
    assert!((200..=312).contains(&kept), "{kept} of 512 channels kept");
    let eval = Tensor::<5>::ones([1, 2, 2, 2, 2], &Device::flex());
    assert_eq!(dropout3d(eval.clone(), 0.5).into_data(), eval.into_data(), "identity outside training");
}
