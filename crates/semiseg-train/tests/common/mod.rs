//! Helpers shared by the PyTorch-fixture tests.

use burn::prelude::*;
use burn::tensor::TensorData;
use ndarray::ArrayD;
use ndarray_npy::read_npy;
use std::path::PathBuf;

/// `tests/fixtures/<name>`.
#[allow(dead_code)] // not every test crate that shares this module reads its own fixtures
pub fn fixtures(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A float32 `.npy` fixture of rank `D` as a tensor on `device`.
pub fn npy_tensor<const D: usize>(dir: &std::path::Path, name: &str, device: &Device) -> Tensor<D> {
    let path = dir.join(format!("{name}.npy"));
    let a: ArrayD<f32> = read_npy(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let shape: [usize; D] = a.shape().try_into().unwrap_or_else(|_| panic!("{name}: rank {}", a.ndim()));
    Tensor::from_data(TensorData::new(a.iter().copied().collect::<Vec<_>>(), shape), device)
}
