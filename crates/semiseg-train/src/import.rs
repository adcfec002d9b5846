//! A run made from a PyTorch checkpoint of the reference code: the config's network (V-Net /
//! MC-Net+, CAML or FBA-Net) takes the state dict's weights through its key map
//! (`semiseg_nn::pytorch`), and is written as `checkpoints/<name>.ckpt` with the config, so that
//! `semiseg eval` and `semiseg predict` use it like a trained run.

use crate::checkpoint::{self, module_part, Part, TrainState};
use crate::config::Config;
use crate::methods::backbone::vnet_config;
use crate::methods::{build_volume, caml_config, fbanet_config};
use crate::trainer::RunDir;
use burn::prelude::*;
use semiseg_nn::nets::{is_flat_vnet_state, Caml, FbaNet, VNet};
use semiseg_nn::pytorch::{import_state_dict, read_state_dict};
use std::path::Path;

/// Checkpoint parts that hold a method's network (a teacher takes the student's weights).
const NETWORK_PARTS: [&str; 3] = ["net", "student", "teacher"];

/// The checkpoint parts of the config's method holding the weights of `pth`: a fresh method's
/// own parts (optimizer state, CAML's empty memory, ...) with every network replaced.
pub fn parts_from_pytorch(cfg: &Config, pth: &Path, top_key: Option<&str>) -> Result<Vec<Part>, String> {
    let state = read_state_dict(pth, top_key)?;
    let device = Device::flex().autodiff();
    let named = |e: String| format!("{}: {e}", pth.display());
    let net = match cfg.model.name.as_str() {
        "caml" => module_part("net", &import_state_dict(caml_config(cfg).init(&device), &state, &Caml::pytorch_source).map_err(named)?),
        "fbanet" => {
            // single-decoder FBA-Net names its decoder `decoder`, FBA-Net+ `decoder1` … `decoder3`
            let single = state.tensors.keys().any(|k| k.starts_with("decoder."));
            let source = if single { FbaNet::pytorch_source_single } else { FbaNet::pytorch_source };
            module_part("net", &import_state_dict(fbanet_config(cfg).init(&device), &state, &source).map_err(named)?)
        }
        "vnet" => {
            let up = cfg.model.up_types.clone();
            // UA-MT's own V-Net keeps its blocks at the top level; MC-Net's splits encoder and decoders
            let flat = is_flat_vnet_state(state.tensors.keys());
            let source = move |p: &str| if flat { VNet::pytorch_source_flat(p, &up) } else { VNet::pytorch_source(p, &up) };
            let net = import_state_dict(vnet_config(cfg).init(&device), &state, &source).map_err(named)?;
            module_part("net", &net)
        }
        other => return Err(format!("model.name = \"{other}\": PyTorch checkpoints are read for the 3-D networks (vnet, caml, fbanet)")),
    };
    let mut parts = build_volume(cfg, &device).save();
    for part in parts.iter_mut().filter(|p| NETWORK_PARTS.contains(&p.name.as_str())) {
        part.bytes = net.bytes.clone();
    }
    Ok(parts)
}

/// Writes `run` (config and `checkpoints/<name>.ckpt`) from a PyTorch checkpoint.
pub fn import_run(cfg: &Config, pth: &Path, top_key: Option<&str>, run: &RunDir, name: &str) -> Result<(), String> {
    let parts = parts_from_pytorch(cfg, pth, top_key)?;
    semiseg_data::io::atomic::write_bytes(&run.config(), cfg.to_toml().as_bytes()).map_err(|e| e.to_string())?;
    let state = TrainState::default();
    checkpoint::save(&run.checkpoint(name), &state, &parts).map_err(|e| e.to_string())
}
