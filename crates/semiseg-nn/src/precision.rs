//! Mixed precision on GPU devices (`train.precision`, `--precision`): convolutions compute in
//! f16 or bf16, everything else in f32.
//!
//! This is PyTorch's autocast policy for the layers that dominate these networks' time:
//! convolutions and transposed convolutions take half-precision copies of their input, weight
//! and bias and give their output back in f32, so parameters (the master weights), batch and
//! group norms, softmax and losses stay in f32. Gradients flow back through the casts into the
//! f32 parameters. Depthwise convolutions, linear layers and attention products stay in f32.
//! f16's narrow range needs loss scaling, which the trainer does (`semiseg_train::loss_scale`).
//!
//! The setting is per thread (the thread that runs the network), like `torch.autocast`, so
//! that tests or commands on other threads are not affected. The CPU kernels are f32 only:
//! [`Precision::check`] refuses half precision there.

use burn::prelude::*;
use burn::tensor::{DType, FloatDType};
use std::cell::Cell;
use std::fmt;
use std::str::FromStr;

/// The floating-point type convolutions compute in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Everything in f32 (the default, and the only choice on the CPU).
    #[default]
    F32,
    /// Convolutions in IEEE half precision (needs loss scaling).
    F16,
    /// Convolutions in bfloat16 (f32's range; loss scaling optional).
    Bf16,
}

impl Precision {
    /// The names `train.precision` and `--precision` accept.
    pub const NAMES: [&'static str; 3] = ["f32", "f16", "bf16"];

    /// The dtype convolutions compute in, or `None` for f32.
    pub fn half_dtype(self) -> Option<FloatDType> {
        match self {
            Precision::F32 => None,
            Precision::F16 => Some(FloatDType::F16),
            Precision::Bf16 => Some(FloatDType::BF16),
        }
    }

    /// Whether `device` can compute in this precision: f32 everywhere; f16 and bf16 only off
    /// the CPU (semiseg's CPU kernels are f32), where the backend supports the type.
    pub fn check(self, device: &Device) -> Result<(), String> {
        let Some(half) = self.half_dtype() else { return Ok(()) };
        if crate::device::is_cpu(device) {
            return Err(format!("precision {self} is for GPU devices: the CPU kernels compute in f32 (use --device wgpu or cuda, or precision f32)"));
        }
        if !device.supports_dtype(DType::from(half)) {
            return Err(format!("precision {self}: this device's backend does not support {half:?} tensors"));
        }
        Ok(())
    }
}

impl FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "f32" | "fp32" => Ok(Precision::F32),
            "f16" | "fp16" => Ok(Precision::F16),
            "bf16" => Ok(Precision::Bf16),
            _ => Err(format!("unknown precision {s:?}: expected f32, f16 or bf16")),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Bf16 => "bf16",
        })
    }
}

thread_local! {
    static CURRENT: Cell<Precision> = const { Cell::new(Precision::F32) };
}

/// The precision convolutions on this thread compute in.
pub fn current() -> Precision {
    CURRENT.with(Cell::get)
}

/// Sets this thread's precision until the returned guard is dropped (then the previous one
/// comes back).
pub fn scoped(precision: Precision) -> PrecisionGuard {
    let previous = CURRENT.with(|c| c.replace(precision));
    PrecisionGuard { previous }
}

/// Restores the previous precision when dropped; see [`scoped`].
#[must_use = "the precision reverts when the guard is dropped"]
pub struct PrecisionGuard {
    previous: Precision,
}

impl Drop for PrecisionGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

/// Runs `op` on half-precision copies of its operands when this thread computes in f16 or
/// bf16 and the operands are f32, and gives the result back in f32; runs it unchanged
/// otherwise. Used by the convolutions of [`crate::kernels`] off the CPU.
pub fn autocast<const D: usize>(x: Tensor<D>, weight: Tensor<D>, bias: Option<Tensor<1>>, op: impl FnOnce(Tensor<D>, Tensor<D>, Option<Tensor<1>>) -> Tensor<D>) -> Tensor<D> {
    match current().half_dtype() {
        Some(half) if x.dtype() == DType::F32 => {
            let y = op(x.cast(half), weight.cast(half), bias.map(|b| b.cast(half)));
            y.cast(FloatDType::F32)
        }
        _ => op(x, weight, bias),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print() {
        for p in [Precision::F32, Precision::F16, Precision::Bf16] {
            assert_eq!(p.to_string().parse::<Precision>().unwrap(), p);
        }
        assert!("f8".parse::<Precision>().unwrap_err().contains("expected f32, f16 or bf16"));
    }

    #[test]
    fn the_cpu_refuses_half_precision() {
        let cpu = Device::flex().autodiff();
        assert!(Precision::F32.check(&cpu).is_ok());
        assert!(Precision::F16.check(&cpu).unwrap_err().contains("CPU kernels compute in f32"));
        assert!(Precision::Bf16.check(&cpu).is_err());
    }

    #[test]
    fn the_scope_is_per_thread_and_reverts() {
        assert_eq!(current(), Precision::F32);
        {
            let _half = scoped(Precision::F16);
            assert_eq!(current(), Precision::F16);
            std::thread::spawn(|| assert_eq!(current(), Precision::F32)).join().unwrap();
        }
        assert_eq!(current(), Precision::F32);
    }

    #[test]
    fn autocast_computes_in_half_and_returns_f32() {
        let device = Device::flex();
        let x = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &device);
        let w = Tensor::<2>::from_floats([[0.5, 1.0 / 3.0], [1.0, 1.0]], &device);
        let _half = scoped(Precision::F16);
        let seen = std::cell::Cell::new(DType::F32);
        let y = autocast(x, w, None, |x, w, _| {
            seen.set(x.dtype());
            x.matmul(w)
        });
        assert_eq!(seen.get(), DType::F16);
        assert_eq!(y.dtype(), DType::F32);
        // 1·(1/3) + 2·1 is 2.3333333 in f32; in f16 it rounds to 2.3339844 (steps of 2⁻⁹).
        let v = y.into_data().as_slice::<f32>().unwrap().to_vec();
        assert_eq!(v, [2.5, 2.3339844, 5.5, 5.0]);
    }
}
