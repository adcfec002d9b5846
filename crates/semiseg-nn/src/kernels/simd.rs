//! The element-wise kernels compiled twice: for the baseline x86-64 the build targets (SSE2),
//! and for AVX2 + FMA, taken when the CPU has them (detected at run time, as the GEMM does).
//! The loops are written once; [`with_avx2`] runs a closure inside a function compiled with
//! the wider instructions, where LLVM inlines and vectorises it. The arithmetic is the same
//! (no fused multiply-add is introduced: Rust does not contract `a * b + c`), so both paths
//! give the same bits.

/// `f()`, inside AVX2 + FMA code where the CPU has them.
#[inline(always)]
pub fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA (checked above)
        return unsafe { avx2(f) };
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}
