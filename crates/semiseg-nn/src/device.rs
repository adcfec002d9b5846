//! Which device a command computes on, chosen at run time (`--device`, `train.device`).
//!
//! - `cpu`: Burn's Flex backend with this crate's kernels (always built).
//! - `wgpu` or `wgpu:N`: Vulkan, Metal or DirectX 12 through wgpu (cargo feature `wgpu`); `wgpu`
//!   takes wgpu's preferred adapter (`CUBECL_WGPU_DEFAULT_DEVICE` overrides it), `wgpu:N` the
//!   N-th discrete GPU.
//! - `cuda` or `cuda:N`: NVIDIA GPU N (cargo feature `cuda`).
//!
//! Networks run unchanged on every device: the blocks fall back to Burn's own operations off
//! Flex ([`crate::kernels`]), so parameters and checkpoints are the same everywhere.

use burn::prelude::Device;
use std::fmt;
use std::str::FromStr;

/// A device named on the command line or in a config.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// Flex on the CPU.
    #[default]
    Cpu,
    /// wgpu: its preferred adapter (`None`) or the N-th discrete GPU.
    Wgpu(Option<usize>),
    /// CUDA GPUs by index; more than one asks for data-parallel training.
    Cuda(Vec<usize>),
}

/// Why a device cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The name does not parse.
    #[error("unknown device {0:?}: expected cpu, wgpu, wgpu:N, cuda or cuda:N")]
    Unknown(String),
    /// The backend was not compiled in.
    #[error("device {device} needs semiseg built with `--features {feature}` (see docs/gpu.md)")]
    NotBuilt {
        /// The device asked for.
        device: String,
        /// The cargo feature that builds its backend.
        feature: &'static str,
    },
    /// Several devices for one process.
    #[error(
        "device {0}: training on several GPUs is not available: semiseg's trainer does not sync \
         gradients across devices yet (Burn 0.22's all-reduce runs only on CUDA through NCCL, \
         and no GPU here could test it; see docs/gpu.md); run one process per GPU, or shard \
         inference with --shard"
    )]
    MultiDevice(String),
    /// The backend is built but has no usable adapter here.
    #[error("device {device}: {message}")]
    Unavailable {
        /// The device asked for.
        device: String,
        /// What the backend said.
        message: String,
    },
}

impl FromStr for DeviceChoice {
    type Err = DeviceError;

    fn from_str(s: &str) -> Result<Self, DeviceError> {
        let unknown = || DeviceError::Unknown(s.to_string());
        let index = |i: &str| i.trim().parse::<usize>().map_err(|_| unknown());
        match s.trim().split_once(':') {
            None => match s.trim() {
                "cpu" => Ok(Self::Cpu),
                "wgpu" => Ok(Self::Wgpu(None)),
                "cuda" => Ok(Self::Cuda(vec![0])),
                _ => Err(unknown()),
            },
            Some(("wgpu", i)) => Ok(Self::Wgpu(Some(index(i)?))),
            Some(("cuda", list)) => Ok(Self::Cuda(list.split(',').map(index).collect::<Result<_, _>>()?)),
            Some(_) => Err(unknown()),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => write!(f, "cpu"),
            Self::Wgpu(None) => write!(f, "wgpu"),
            Self::Wgpu(Some(i)) => write!(f, "wgpu:{i}"),
            Self::Cuda(ids) => write!(f, "cuda:{}", ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")),
        }
    }
}

impl DeviceChoice {
    /// Opens the device (plain, without autodiff). A GPU runtime is set up once per process;
    /// later calls return the same device.
    pub fn open(&self) -> Result<Device, DeviceError> {
        match self {
            Self::Cpu => Ok(Device::flex()),
            Self::Wgpu(index) => open_wgpu(*index, &self.to_string()),
            Self::Cuda(ids) if ids.len() > 1 => Err(DeviceError::MultiDevice(self.to_string())),
            Self::Cuda(ids) => open_cuda(ids[0], &self.to_string()),
        }
    }
}

/// Whether `device` is the CPU's Flex backend, plain or under autodiff (where semiseg's own
/// kernels run).
pub fn is_cpu(device: &Device) -> bool {
    use burn::backend::DispatchDevice;
    match device.as_dispatch() {
        DispatchDevice::Flex(_) => true,
        DispatchDevice::Autodiff(inner) => matches!(**inner, DispatchDevice::Flex(_)),
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// Starts measuring [`peak_memory`] from now: resets the CPU's resident-memory high-water mark
/// (Linux) or releases a CubeCL device's cached pool memory.
#[cfg_attr(not(any(feature = "wgpu", feature = "cuda")), allow(unused_variables))]
pub fn reset_peak_memory(device: &Device) {
    #[cfg(any(feature = "wgpu", feature = "cuda"))]
    if let Some(cube) = cube_device(device) {
        let _ = cube.client().memory_cleanup();
        return;
    }
    // Linux: writing 5 to clear_refs resets VmHWM (since 4.0); elsewhere nothing to reset
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Bytes of memory used since [`reset_peak_memory`]: on the CPU the process's peak resident
/// memory (Linux `VmHWM`), on a CubeCL device what its memory pools hold reserved (they grow to
/// the step's peak and keep it). `None` where neither is known.
#[cfg_attr(not(any(feature = "wgpu", feature = "cuda")), allow(unused_variables))]
pub fn peak_memory(device: &Device) -> Option<u64> {
    #[cfg(any(feature = "wgpu", feature = "cuda"))]
    if let Some(cube) = cube_device(device) {
        return Some(cube.client().memory_report(cubecl::MemoryScope::Device).usage().bytes_reserved);
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// The CubeCL device under `device` (plain or autodiff), if it is one.
#[cfg(any(feature = "wgpu", feature = "cuda"))]
fn cube_device(device: &Device) -> Option<cubecl::Device> {
    use burn::backend::DispatchDevice;
    match device.as_dispatch() {
        DispatchDevice::Cube(d) => Some(d.clone()),
        DispatchDevice::Autodiff(inner) => match &**inner {
            DispatchDevice::Cube(d) => Some(d.clone()),
            _ => None,
        },
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

#[cfg(feature = "wgpu")]
fn open_wgpu(index: Option<usize>, name: &str) -> Result<Device, DeviceError> {
    use burn::tensor::DeviceKind;
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    // wgpu's runtime accepts one initialisation per adapter and process
    static OPENED: OnceLock<Mutex<HashMap<Option<usize>, Device>>> = OnceLock::new();
    let mut opened = OPENED.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(device) = opened.get(&index) {
        return Ok(device.clone());
    }
    let kind = index.map_or(DeviceKind::DefaultDevice, DeviceKind::DiscreteGpu);
    let device = Device::wgpu_options()
        .device_kind(kind)
        .init()
        .map_err(|e| DeviceError::Unavailable { device: name.to_string(), message: e.to_string() })?;
    opened.insert(index, device.clone());
    Ok(device)
}

#[cfg(not(feature = "wgpu"))]
fn open_wgpu(_: Option<usize>, name: &str) -> Result<Device, DeviceError> {
    Err(DeviceError::NotBuilt { device: name.to_string(), feature: "wgpu" })
}

#[cfg(feature = "cuda")]
fn open_cuda(index: usize, name: &str) -> Result<Device, DeviceError> {
    // cudarc loads libcuda / NVRTC on first use and panics where they are missing: touch the
    // device once here, so that a machine without the driver gets an error, not a panic.
    let open = || {
        let device = Device::cuda(index);
        let _ = burn::tensor::Tensor::<1>::zeros([1], &device).into_data();
        device
    };
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let opened = std::panic::catch_unwind(open);
    std::panic::set_hook(previous);
    opened.map_err(|panic| {
        let reason = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
        DeviceError::Unavailable { device: name.to_string(), message: format!("CUDA could not start ({reason}); it needs the NVIDIA driver (libcuda.so.1) and NVRTC, see docs/gpu.md") }
    })
}

#[cfg(not(feature = "cuda"))]
fn open_cuda(_: usize, name: &str) -> Result<Device, DeviceError> {
    Err(DeviceError::NotBuilt { device: name.to_string(), feature: "cuda" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print_back() {
        for (name, choice) in [
            ("cpu", DeviceChoice::Cpu),
            ("wgpu", DeviceChoice::Wgpu(None)),
            ("wgpu:1", DeviceChoice::Wgpu(Some(1))),
            ("cuda:0", DeviceChoice::Cuda(vec![0])),
            ("cuda:0,1", DeviceChoice::Cuda(vec![0, 1])),
        ] {
            assert_eq!(name.parse::<DeviceChoice>().unwrap(), choice);
            assert_eq!(choice.to_string(), name);
        }
        assert_eq!("cuda".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda(vec![0]));
        for bad in ["gpu", "cuda:x", "wgpu:", "cpu:0", "cuda:0,"] {
            assert!(matches!(bad.parse::<DeviceChoice>(), Err(DeviceError::Unknown(_))), "{bad}");
        }
    }

    #[test]
    fn cpu_opens_and_several_gpus_are_refused_with_the_reason() {
        assert!(DeviceChoice::Cpu.open().is_ok());
        let e = DeviceChoice::Cuda(vec![0, 1]).open().unwrap_err().to_string();
        assert!(e.contains("several GPUs") && e.contains("--shard"), "{e}");
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn an_unbuilt_backend_names_its_feature() {
        let e = DeviceChoice::Cuda(vec![0]).open().unwrap_err().to_string();
        assert!(e.contains("--features cuda"), "{e}");
    }
}
