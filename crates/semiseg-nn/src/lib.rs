//! Burn networks of semiseg.
//!
//! * [`blocks`]: the small building blocks every network shares (conv + BN + activation, the
//!   CCT/URPC feature perturbations). Keeping them small and shared lets a fused implementation
//!   replace one block later without touching any network.
//! * [`nets`]: the networks, one file each (SSL4MIS UNet with optional CCT auxiliary decoders).
//! * [`device`]: the device a command computes on (`cpu`, `wgpu`, `cuda`), chosen at run time.
//! * [`precision`]: mixed precision on GPUs (convolutions in f16 / bf16).
//! * [`import`]: weights from PyTorch and others, matched by order.
//! * [`draws`]: every random draw of a training step, replayable from a reference script.
//! * [`pytorch`], [`pytorch_export`]: PyTorch state dicts in (by key map) and out (`.pth`,
//!   `.safetensors`).
//! * [`params`]: trainable parameter counts, comparable with PyTorch's
//!   `sum(p.numel() for p in model.parameters())` (Burn's `num_params` also counts BatchNorm
//!   running statistics).
//!
//! Tensor layout is `[N, C, H, W]`. Nothing here knows about files.

pub mod blocks;
pub mod device;
pub mod draws;
pub mod kernels;
pub mod nets;
pub mod import;
pub mod init;
pub mod params;
pub mod precision;
pub mod pytorch;
pub mod pytorch_export;

pub use burn;
