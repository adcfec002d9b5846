//! Helpers shared by the PyTorch-fixture tests.

use burn::prelude::*;
use burn::tensor::TensorData;
use ndarray::ArrayD;
use ndarray_npy::read_npy;
use std::path::PathBuf;

/// `tests/fixtures/<name>`.
pub fn fixtures(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A 4-D float32 `.npy` fixture as a tensor on `device`.
pub fn npy_tensor(dir: &std::path::Path, name: &str, device: &Device) -> Tensor<4> {
    let a: ArrayD<f32> = read_npy(dir.join(format!("{name}.npy"))).unwrap();
    let s = a.shape().to_vec();
    Tensor::from_data(TensorData::new(a.iter().copied().collect::<Vec<_>>(), [s[0], s[1], s[2], s[3]]), device)
}
