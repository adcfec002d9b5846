//! Trainable parameter counts.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

/// Whether the module path (innermost last) names BatchNorm running statistics, which Burn
/// visits like parameters but PyTorch keeps as buffers.
pub fn is_running_stat(path: &[String]) -> bool {
    path.last().is_some_and(|n| n.starts_with("running_"))
}

/// Counts float tensors except BatchNorm running statistics, which Burn visits like parameters
/// but PyTorch keeps as buffers.
struct Count {
    total: usize,
    path: Vec<String>,
}

impl ModuleVisitor for Count {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !is_running_stat(&self.path) {
            self.total += param.shape().num_elements();
        }
    }
}

/// Number of trainable scalars (weights, biases, norm affine), as PyTorch counts `parameters()`.
pub fn trainable_params<M: Module>(module: &M) -> usize {
    let mut c = Count { total: 0, path: Vec::new() };
    module.visit(&mut c);
    c.total
}
