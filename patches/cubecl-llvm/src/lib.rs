//! semiseg's stand-in for crates.io `cubecl-llvm 0.11.3`, patched in by the workspace's
//! `[patch.crates-io]`.
//!
//! `cubecl-cuda 0.11.3` always depends on `cubecl-llvm` (its `src/compiler.rs`: "Both are always
//! compiled. The `cpp` feature selects which one a default `CudaCompiler` runs"), and
//! `cubecl-llvm`'s build-dependency `tracel-llvm-bundler` downloads LLVM from GitHub in its build
//! script, so `--features cuda` cannot build offline. semiseg compiles every CUDA kernel through
//! NVRTC instead (`cubecl/cuda-cpp`, turned on by `semiseg-nn`'s `cuda` feature), so the LLVM
//! backend is dead code there.
//!
//! This crate keeps only the names `cubecl-cuda 0.11.3` uses, with upstream's types:
//!
//! - `src/compiler.rs` (lines 7, 37, 44-45, 70, 132-142): [`PlironCompiler`], [`LlvmTarget`],
//!   [`PlironOptions`], [`PlironArtifact`], [`NvptxModule`], [`nvptx::ptx_version::PtxVersion`];
//! - `src/runtime.rs` (lines 38-39, 376-384): [`shared::lowered_features`] and
//!   `PtxVersion::for_driver`;
//! - `src/compute/context.rs` (lines 22, 96-106): `PtxVersion` in the kernel-cache namespace.
//!
//! Anything that would run the LLVM backend panics with [`UNAVAILABLE`] instead. Upstream's
//! feature names are kept; `amdgpu` and `pliron-dump` provide nothing. No other crate in
//! semiseg's build uses `cubecl-llvm` (`cubecl-cpu` would, but no semiseg feature builds it).

#![warn(missing_docs)]

use cubecl_core::ir::amd::GfxArch;
use cubecl_core::prelude::KernelDefinition;
use cubecl_core::{CompilationError, Compiler};
use cubecl_runtime::kernel::BufferIOAttr;

/// What a run that reaches the LLVM backend panics with.
pub const UNAVAILABLE: &str = "semiseg is built without cubecl's LLVM/MLIR compiler; kernels \
    compile through NVRTC (cuda-cpp). The LLVM backend was selected, so cubecl-cuda was built \
    without its `cpp` feature: enable `cubecl/cuda-cpp` (semiseg-nn's `cuda` feature does).";

#[cold]
fn unavailable() -> ! {
    panic!("{UNAVAILABLE}")
}

/// The NVPTX pieces `cubecl-cuda` names.
#[cfg(feature = "nvptx")]
pub mod nvptx {
    /// The PTX ISA version for the installed driver.
    pub mod ptx_version {
        use core::fmt;

        /// A PTX ISA version, as the NVPTX target feature spells it: 8.7 is `87`.
        ///
        /// Kept working (upstream's table) because `cubecl-cuda` computes it for every device,
        /// whichever backend compiles; only the LLVM backend reads it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct PtxVersion(u32);

        impl PtxVersion {
            /// The newest version a driver of CUDA `driver` loads, as `cuDriverGetVersion`
            /// reports it (12.8 is `12080`); `None` below CUDA 10.0.
            pub fn for_driver(driver: i32) -> Option<Self> {
                DRIVER_PTX
                    .iter()
                    .find(|(first_driver, _)| driver >= *first_driver)
                    .map(|(_, ptx)| Self(*ptx))
            }
        }

        impl fmt::Display for PtxVersion {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "ptx{}", self.0)
            }
        }

        /// The first CUDA release to load each PTX version, newest first (upstream's table).
        const DRIVER_PTX: &[(i32, u32)] = &[
            (13030, 93),
            (13020, 92),
            (13010, 91),
            (13000, 90),
            (12090, 88),
            (12080, 87),
            (12050, 85),
            (12040, 84),
            (12030, 83),
            (12020, 82),
            (12010, 81),
            (12000, 80),
            (11080, 78),
            (11070, 77),
            (11060, 76),
            (11050, 75),
            (11040, 74),
            (11030, 73),
            (11020, 72),
            (11010, 71),
            (11000, 70),
            (10020, 65),
            (10010, 64),
            (10000, 63),
        ];

        #[cfg(test)]
        mod tests {
            use super::PtxVersion;

            #[test]
            fn a_driver_gets_the_newest_version_it_loads() {
                assert_eq!(PtxVersion::for_driver(12080), Some(PtxVersion(87)));
                assert_eq!(PtxVersion::for_driver(12060), Some(PtxVersion(85)));
                assert_eq!(PtxVersion::for_driver(8000), None);
                assert_eq!(PtxVersion(87).to_string(), "ptx87");
            }
        }
    }
}

/// Items shared between upstream's targets; only the feature narrowing is named downstream.
pub mod shared {
    /// Narrowing a device's advertised features to what the LLVM backend lowers.
    pub mod lowered_features {
        use cubecl_core::ir::DeviceProperties;

        /// The GPU target a device's features are narrowed for.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum GpuTarget {
            /// NVIDIA PTX.
            #[cfg(feature = "nvptx")]
            Nvptx,
        }

        /// `cubecl-cuda` calls this while creating a device only when the LLVM backend is
        /// selected, so it is the first place a misconfigured build stops, with [`crate::UNAVAILABLE`].
        pub fn restrict_features(_props: &mut DeviceProperties, _target: GpuTarget) {
            crate::unavailable()
        }
    }
}

/// LLVM compilation targets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LlvmTarget {
    /// Host CPU (upstream's default).
    #[default]
    Cpu,
    /// NVIDIA PTX.
    #[cfg(feature = "nvptx")]
    Nvptx,
}

/// The LLVM backend's compiler; [`Compiler::compile`] panics with [`UNAVAILABLE`].
#[derive(Clone, Debug, Default)]
pub struct PlironCompiler {
    /// What it would compile for.
    pub target: LlvmTarget,
}

/// Compilation options: the fields `cubecl-cuda` sets, with upstream's types.
#[derive(Clone, Debug, Default)]
pub struct PlironOptions {
    /// AMDGPU architecture, or `None` for other targets.
    pub arch: Option<GfxArch>,
    /// NVPTX architecture, or `None` for other targets.
    #[cfg(feature = "nvptx")]
    pub sm_arch: Option<cubecl_core::ir::nvidia::SmArch>,
    /// PTX version to emit.
    #[cfg(feature = "nvptx")]
    pub ptx_version: Option<nvptx::ptx_version::PtxVersion>,
    /// Pass scalars and static metadata in the kernel parameter block.
    pub grid_constants: bool,
}

/// Compiled PTX module: the fields `cubecl-cuda` reads. Never constructed here.
#[cfg(feature = "nvptx")]
#[derive(Clone, Debug)]
pub struct NvptxModule {
    /// NUL-terminated PTX assembly.
    pub ptx: Vec<core::ffi::c_char>,
    /// IR for logging and cache keys.
    pub ir: String,
    /// Shared memory required per launch, in bytes.
    pub shared_memory_size: usize,
    /// Buffer access modes in binding order.
    pub io: Vec<BufferIOAttr>,
}

/// Compiled kernel artifact. `#[non_exhaustive]` stands in for upstream's other variants, so
/// `cubecl-cuda`'s catch-all arm still has something to catch.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum PlironArtifact {
    /// A PTX module.
    #[cfg(feature = "nvptx")]
    NvptxCode(NvptxModule),
}

impl core::fmt::Display for PlironArtifact {
    fn fmt(&self, _f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            #[cfg(feature = "nvptx")]
            PlironArtifact::NvptxCode(ref module) => write!(_f, "{}", module.ir),
        }
    }
}

impl Compiler for PlironCompiler {
    type Representation = PlironArtifact;
    type CompilationOptions = PlironOptions;

    fn buffer_io(repr: &Self::Representation) -> Option<Vec<BufferIOAttr>> {
        match *repr {
            #[cfg(feature = "nvptx")]
            PlironArtifact::NvptxCode(ref module) => Some(module.io.clone()),
        }
    }

    fn compile(
        &mut self,
        _kernel: KernelDefinition,
        _options: &Self::CompilationOptions,
    ) -> Result<Self::Representation, CompilationError> {
        // A panic rather than an error: autotune reads a compilation error as a candidate
        // declining, and would quietly skip it.
        unavailable()
    }

    // Upstream's strings; naming the language runs nothing.
    fn extension(&self) -> &'static str {
        match self.target {
            LlvmTarget::Cpu => "plir",
            #[cfg(feature = "nvptx")]
            LlvmTarget::Nvptx => "ll",
        }
    }

    fn lang_tag(&self) -> &'static str {
        match self.target {
            LlvmTarget::Cpu => "mlir",
            #[cfg(feature = "nvptx")]
            LlvmTarget::Nvptx => "llvm",
        }
    }
}

#[cfg(test)]
mod tests {
    // Every LLVM entry point (`restrict_features`, `Compiler::compile`) ends here.
    #[test]
    #[should_panic(expected = "kernels compile through NVRTC (cuda-cpp)")]
    fn the_llvm_path_panics_clearly() {
        super::unavailable();
    }
}
