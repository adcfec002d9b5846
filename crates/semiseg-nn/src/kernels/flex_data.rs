//! Moving values in and out of Flex tensors, shared by the extensions.

use burn::backend::flex::FlexTensor;
use burn::tensor::{Shape, TensorData};

/// The values of an `f32` tensor in row-major order (make it contiguous first).
pub fn f32s(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("semiseg's kernels work on contiguous f32 tensors")
}

/// A tensor of `shape` holding `values` (row-major).
pub fn flex_tensor(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.into()))
}

/// A 1-D tensor holding `values`.
pub fn flex_vector(values: Vec<f32>) -> FlexTensor {
    let n = values.len();
    flex_tensor(values, [n])
}
