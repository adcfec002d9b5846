//! Exponential moving average of a student's parameters into a teacher (Tarvainen & Valpola,
//! Mean Teacher, NeurIPS 2017), as SSL4MIS `update_ema_variables`: only parameters are averaged
//! (BatchNorm running statistics stay the teacher's own), with
//! `α = min(1 − 1/(t + 1), decay)` at 0-based step `t`.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use semiseg_nn::params::is_running_stat;

struct Collect {
    path: Vec<String>,
    values: Vec<Tensor<1>>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !is_running_stat(&self.path) {
            self.values.push(param.val().detach().reshape([-1]));
        }
    }
}

struct Blend {
    path: Vec<String>,
    source: std::vec::IntoIter<Tensor<1>>,
    alpha: f64,
}

impl ModuleMapper for Blend {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if is_running_stat(&self.path) {
            return param;
        }
        let s = self.source.next().expect("teacher and student have the same parameters");
        let a = self.alpha;
        param.map(|t| {
            let shape = t.shape();
            (t.mul_scalar(a) + s.reshape(shape).mul_scalar(1.0 - a)).detach()
        })
    }
}

/// The EMA factor at 0-based step `t`.
pub fn ema_alpha(decay: f64, t: usize) -> f64 {
    (1.0 - 1.0 / (t as f64 + 1.0)).min(decay)
}

/// `teacher ← α·teacher + (1 − α)·student`, parameter by parameter.
pub fn ema_update<M: Module>(teacher: M, student: &M, alpha: f64) -> M {
    let mut c = Collect { path: Vec::new(), values: Vec::new() };
    student.visit(&mut c);
    teacher.map(&mut Blend { path: Vec::new(), source: c.values.into_iter(), alpha }).no_grad()
}
