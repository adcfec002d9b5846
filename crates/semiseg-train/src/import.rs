//! A run made from a PyTorch checkpoint of the reference code: the config's network (V-Net /
//! MC-Net+, CAML, FBA-Net; SSL4MIS's 2-D UNet / UNet_CCT, MGCC, CLCC's ProjUnet2D) takes the state dict's weights
//! through its key map (`semiseg_nn::pytorch`), and is written as `checkpoints/<name>.ckpt` with
//! the config, so that `semiseg eval` and `semiseg predict` use it like a trained run.

use crate::checkpoint::{self, module_part, Part, TrainState};
use crate::config::Config;
use crate::methods::{build, build_volume};
use crate::trainer::RunDir;
use burn::prelude::*;
use semiseg_nn::nets::{is_cct_unet_state, is_flat_vnet_state, Caml, FbaNet, Mgcc, ProjUNet, UNet, VNet};
use semiseg_nn::pytorch::{import_state_dict, read_state_dict, KeyMap};
use std::path::Path;

/// Checkpoint parts that hold a method's network (a teacher, and CPS's second network, take the
/// imported weights too).
const NETWORK_PARTS: [&str; 5] = ["net", "student", "teacher", "net1", "net2"];

/// Runs `$body` with `$net` bound to a fresh network of the config's model on `$device`: each
/// arm builds a different type, so import and export share the list of networks through this.
macro_rules! with_network {
    ($cfg:expr, $device:expr, |$net:ident| $body:expr) => {{
        use $crate::methods::{backbone::vnet_config, caml_config, fbanet_config, mgcc_config, projunet_config, unet_config};
        match $cfg.model.name.as_str() {
            "caml" => { let $net = caml_config($cfg).init($device); $body }
            "fbanet" => { let $net = fbanet_config($cfg).init($device); $body }
            "vnet" => { let $net = vnet_config($cfg).init($device); $body }
            "unet2d" => { let $net = unet_config($cfg, $crate::import::unet_aux_decoders($cfg)).init($device); $body }
            "mgcc" => { let $net = mgcc_config($cfg).init($device); $body }
            "projunet" => { let $net = projunet_config($cfg).init($device); $body }
            other => Err(format!("model.name = \"{other}\": no reference key names are known for it")),
        }
    }};
}
pub(crate) use with_network;

/// The auxiliary decoders of the config's UNet: CCT's three (SSL4MIS `UNet_CCT`), else none.
pub fn unet_aux_decoders(cfg: &Config) -> usize {
    if cfg.method.name == "cct" { crate::methods::CCT_AUX_DECODERS } else { 0 }
}

/// Where each parameter of the config's network is in a state dict of the reference code, for
/// import and export alike: CAML's, FBA-Net's (single-decoder FBA-Net names its decoder
/// `decoder`, FBA-Net+ `decoder1` … `decoder3`), the V-Net's, in MC-Net's split layout
/// (`encoder.…`, `decoder1.…`) or, with `flat`, UA-MT's own (blocks at the top level),
/// SSL4MIS's UNet (CCT: `UNet_CCT`), MGCC's `MGCC` and CLCC's `ProjUnet2D`.
pub fn key_map(cfg: &Config, flat: bool) -> Result<KeyMap, String> {
    let up = cfg.model.up_types.clone();
    let cct = unet_aux_decoders(cfg) > 0;
    Ok(match cfg.model.name.as_str() {
        "caml" => Box::new(Caml::pytorch_source),
        "fbanet" if up.len() == 1 => Box::new(FbaNet::pytorch_source_single),
        "fbanet" => Box::new(FbaNet::pytorch_source),
        "vnet" if flat && up.len() != 1 => return Err(format!("UA-MT's flat layout holds one decoder; this V-Net has {} (model.up_types)", up.len())),
        "vnet" if flat => Box::new(move |p| VNet::pytorch_source_flat(p, &up)),
        "vnet" => Box::new(move |p| VNet::pytorch_source(p, &up)),
        "unet2d" => Box::new(move |p| UNet::pytorch_source(p, cct)),
        "mgcc" => Box::new(Mgcc::pytorch_source),
        "projunet" => Box::new(ProjUNet::pytorch_source),
        other => return Err(format!("model.name = \"{other}\": no reference key names are known for it")),
    })
}

/// The checkpoint parts of the config's method holding the weights of `pth`: a fresh method's
/// own parts (optimizer state, CAML's empty memory, ...) with every network replaced.
pub fn parts_from_pytorch(cfg: &Config, pth: &Path, top_key: Option<&str>) -> Result<Vec<Part>, String> {
    let mut state = read_state_dict(pth, top_key)?;
    if cfg.model.name == "projunet" {
        // CLCC's ProjUnet2D declares a `proj_center` head that its forward pass never uses
        state.tensors.retain(|k, _| !k.starts_with("proj_center."));
    }
    let device = Device::flex().autodiff();
    let named = |e: String| format!("{}: {e}", pth.display());
    if cfg.model.name == "unet2d" && is_cct_unet_state(state.tensors.keys()) != (unet_aux_decoders(cfg) > 0) {
        let (file, config) = if unet_aux_decoders(cfg) > 0 { ("a plain UNet", "cct") } else { ("SSL4MIS's UNet_CCT (main_decoder, aux_decoder1..3)", "other than cct") };
        return Err(named(format!("the file holds {file}; the config's method is {}, a method {config} reads it", cfg.method.name)));
    }
    // UA-MT's own V-Net keeps its blocks at the top level; the file's keys say which layout it is
    let source = key_map(cfg, is_flat_vnet_state(state.tensors.keys()))?;
    let net = with_network!(cfg, &device, |net| import_state_dict(net, &state, &source).map(|n| module_part("net", &n)).map_err(named))?;
    let mut parts = if cfg.is_volumetric() { build_volume(cfg, &device).save() } else { build(cfg, &device).save() };
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
