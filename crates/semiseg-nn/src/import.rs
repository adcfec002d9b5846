//! Weights from another framework, matched by order: every float parameter of a module (in
//! Burn's visiting order, BatchNorm running statistics included where present) takes the next
//! array of a list. A PyTorch script lists its tensors in the same order (its `state_dict` order
//! when the modules are declared alike), in Burn's layout: PyTorch's `Linear.weight` `[out, in]`
//! must be given transposed, `[in, out]` (a square one could not be told apart otherwise). A
//! shape mismatch is an error naming the parameter.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use burn::tensor::TensorData;

/// One imported array: shape and row-major values.
#[derive(Debug, Clone)]
pub struct Array {
    /// Shape.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub values: Vec<f32>,
}

struct Ordered<'a> {
    arrays: &'a [Array],
    next: usize,
    path: Vec<String>,
    error: Option<String>,
}

impl ModuleMapper for Ordered<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let name = self.path.join(".");
        let Some(a) = self.arrays.get(self.next) else {
            self.error.get_or_insert(format!("{name}: no array left ({} given)", self.arrays.len()));
            return param;
        };
        self.next += 1;
        let want: Vec<usize> = param.shape().dims::<D>().to_vec();
        if a.shape != want {
            self.error.get_or_insert(format!("{name}: array {} has shape {:?}, the parameter {want:?}", self.next - 1, a.shape));
            return param;
        }
        let values = a.values.clone();
        let shape = a.shape.clone();
        param.map(|t| Tensor::<D>::from_data(TensorData::new(values, shape), &t.device()))
    }
}

/// `module` with its float parameters replaced, in order, by `arrays` (all must be used).
pub fn import_ordered<M: Module>(module: M, arrays: &[Array]) -> Result<M, String> {
    let mut mapper = Ordered { arrays, next: 0, path: Vec::new(), error: None };
    let module = module.map(&mut mapper);
    if let Some(e) = mapper.error {
        return Err(e);
    }
    if mapper.next != arrays.len() {
        return Err(format!("{} arrays given, the module has {} float parameters", arrays.len(), mapper.next));
    }
    Ok(module)
}

struct Listed {
    path: Vec<String>,
    arrays: Vec<(String, Array)>,
}

impl ModuleVisitor for Listed {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let shape = t.dims().to_vec();
        self.arrays.push((self.path.join("."), Array { shape, values: t.into_data().iter::<f32>().collect() }));
    }
}

/// Every float parameter of `module` (running statistics included) with its dotted path, in the
/// order [`import_ordered`] takes them.
pub fn named_arrays<M: Module>(module: &M) -> Vec<(String, Array)> {
    // BatchNorm running statistics are updated lazily; `valid` folds pending updates in.
    let _ = module.valid();
    let mut listed = Listed { path: Vec::new(), arrays: Vec::new() };
    module.visit(&mut listed);
    listed.arrays
}

/// [`named_arrays`] without the names: the inverse of [`import_ordered`].
pub fn export_ordered<M: Module>(module: &M) -> Vec<Array> {
    named_arrays(module).into_iter().map(|(_, a)| a).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nets::UNetConfig;

    #[test]
    fn exported_arrays_import_into_a_fresh_network_unchanged() {
        let device = Device::flex();
        let config = UNetConfig::new().with_width(0.125).with_aux_decoders(1);
        let arrays = export_ordered(&config.init(&device));
        let copy = import_ordered(config.init(&device), &arrays).unwrap();
        let again = export_ordered(&copy);
        assert_eq!(arrays.len(), again.len());
        assert!(arrays.iter().zip(&again).all(|(a, b)| a.shape == b.shape && a.values == b.values));
        assert!(import_ordered(config.init(&device), &arrays[1..]).is_err(), "a missing array is an error");
    }
}
