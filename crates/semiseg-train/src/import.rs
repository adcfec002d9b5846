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
use semiseg_nn::pytorch::{import_state_dict, read_state_dict, KeyMap};
use std::path::Path;

/// Checkpoint parts that hold a method's network (a teacher takes the student's weights).
const NETWORK_PARTS: [&str; 3] = ["net", "student", "teacher"];

/// Where each parameter of the config's 3-D network is in a state dict of the reference code,
/// for import and export alike: CAML's, FBA-Net's (single-decoder FBA-Net names its decoder
/// `decoder`, FBA-Net+ `decoder1` … `decoder3`) or the V-Net's, in MC-Net's split layout
/// (`encoder.…`, `decoder1.…`) or, with `flat`, UA-MT's own (blocks at the top level).
pub fn key_map(cfg: &Config, flat: bool) -> Result<KeyMap, String> {
    let up = cfg.model.up_types.clone();
    Ok(match cfg.model.name.as_str() {
        "caml" => Box::new(Caml::pytorch_source),
        "fbanet" if up.len() == 1 => Box::new(FbaNet::pytorch_source_single),
        "fbanet" => Box::new(FbaNet::pytorch_source),
        "vnet" if flat && up.len() != 1 => return Err(format!("UA-MT's flat layout holds one decoder; this V-Net has {} (model.up_types)", up.len())),
        "vnet" if flat => Box::new(move |p| VNet::pytorch_source_flat(p, &up)),
        "vnet" => Box::new(move |p| VNet::pytorch_source(p, &up)),
        other => return Err(format!("model.name = \"{other}\": the reference key names are known for the 3-D networks (vnet, caml, fbanet)")),
    })
}

/// The checkpoint parts of the config's method holding the weights of `pth`: a fresh method's
/// own parts (optimizer state, CAML's empty memory, ...) with every network replaced.
pub fn parts_from_pytorch(cfg: &Config, pth: &Path, top_key: Option<&str>) -> Result<Vec<Part>, String> {
    let state = read_state_dict(pth, top_key)?;
    let device = Device::flex().autodiff();
    let named = |e: String| format!("{}: {e}", pth.display());
    // UA-MT's own V-Net keeps its blocks at the top level; the file's keys say which layout it is
    let source = key_map(cfg, is_flat_vnet_state(state.tensors.keys()))?;
    let net = match cfg.model.name.as_str() {
        "caml" => module_part("net", &import_state_dict(caml_config(cfg).init(&device), &state, &source).map_err(named)?),
        "fbanet" => module_part("net", &import_state_dict(fbanet_config(cfg).init(&device), &state, &source).map_err(named)?),
        _ => module_part("net", &import_state_dict(vnet_config(cfg).init(&device), &state, &source).map_err(named)?),
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
