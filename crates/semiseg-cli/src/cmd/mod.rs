//! One module per verb: a clap `Args` struct (its doc comments are the help) and `run`.

pub mod bench;
mod bench_net;
mod bench_net3d;
mod bench_ops;
pub mod compare;
pub mod data;
pub mod doctor;
pub mod eval;
pub mod export;
pub mod import;
pub mod metrics;
mod overlay;
pub mod predict;
pub mod synth;
pub mod report;
mod seeds;
pub mod train;

/// Which trained checkpoint to use: `--run DIR --checkpoint best|last|iter_N`, or
/// `--checkpoint PATH.ckpt` alone.
#[derive(Debug, clap::Args)]
pub struct CheckpointArgs {
    /// Run directory.
    #[arg(long)]
    pub run: Option<std::path::PathBuf>,
    /// `best`, `last`, `iter_N`, or a path to a .ckpt file.
    #[arg(long, default_value = "best")]
    pub checkpoint: String,
}

/// `--device`: where to compute.
#[derive(Debug, clap::Args)]
pub struct DeviceArg {
    /// cpu, wgpu, wgpu:N or cuda:N (default: the config's or run's `train.device`, else cpu).
    /// GPU backends need semiseg built with `--features wgpu` or `--features cuda`.
    #[arg(long)]
    pub device: Option<String>,
}

impl DeviceArg {
    /// The `--set` override that puts a config on this device, if one was given.
    pub fn as_override(&self, key: &str) -> Option<String> {
        string_override(key, self.device.as_deref())
    }
}

/// `key="value"` for `--set` (a TOML string), when a value was given.
pub fn string_override(key: &str, value: Option<&str>) -> Option<String> {
    value.map(|v| format!("{key}=\"{v}\""))
}

/// `--axes`: how the axes of a 3-D h5 dataset are read.
#[derive(Debug, clap::Args)]
pub struct H5AxesArg {
    /// Axis order of 3-D h5 files: auto (slice-first for SSL4MIS ACDC volumes named
    /// patientNNN_frameNN.h5, as stored otherwise), as-stored (UA-MT LA: X,Y,Z) or slice-first
    /// (SSL4MIS ACDC: Z,H,W).
    #[arg(long = "axes", default_value = "auto", value_parser = semiseg_data::io::H5Axes::NAMES)]
    axes: String,
}

impl H5AxesArg {
    /// The chosen order.
    pub fn order(&self) -> semiseg_data::io::H5Axes {
        self.axes.parse().expect("clap checked the name")
    }
}
