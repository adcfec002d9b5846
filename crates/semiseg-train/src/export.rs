//! A trained network out to PyTorch under the reference code's key names: the inverse of
//! [`crate::import`], so that a model trained here runs in the paper's own test script or in
//! MONAI. The networks with key maps: V-Net / MC-Net+ (MC-Net's `encoder`, `decoder1…`; a
//! one-decoder V-Net optionally in UA-MT's flat layout), CAML, FBA-Net(+), SSL4MIS's UNet
//! (`UNet_CCT` for CCT), MGCC and CLCC's `ProjUnet2D`.

use crate::checkpoint::{find, load_module, Part};
use crate::config::Config;
use crate::import::{key_map, with_network};
use crate::methods::projunet_config;
use burn::prelude::*;
use semiseg_nn::nets::unused_proj_center;
use semiseg_nn::pytorch_export::{export_state_dict, write_pth, write_safetensors, ExportedState};
use std::path::Path;

/// The checkpoint parts that hold the network a method predicts with (CPS predicts with its
/// first network).
const PREDICTING_PARTS: [&str; 3] = ["net", "student", "net1"];

/// Key layout of an exported V-Net.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// MC-Net's and the later papers' (`encoder.…`, `decoder1.…`).
    Split,
    /// UA-MT's `networks/vnet.py` (`block_one.conv.0.weight`, …; one decoder only).
    Flat,
}

/// A network of checkpoint `parts` under the reference key names: `part` (`teacher`, `net2`),
/// or the one the method predicts with.
pub fn state_from_parts(cfg: &Config, parts: &[Part], layout: Layout, part: Option<&str>) -> Result<ExportedState, String> {
    let part = match part {
        Some(name) => find(parts, name)?,
        None => PREDICTING_PARTS.iter().find_map(|n| find(parts, n).ok()).ok_or("the checkpoint holds no network part ('net', 'student' or 'net1')")?,
    };
    let source = key_map(cfg, layout == Layout::Flat)?;
    let device = Device::flex();
    let mut state = with_network!(cfg, &device, |net| export_state_dict(&load_module(net, part)?, &source))?;
    if cfg.model.name == "projunet" {
        add_unused_proj_center(cfg, &mut state)?;
    }
    Ok(state)
}

/// CLCC's `ProjUnet2D` declares `proj_center` but never uses it; `load_state_dict(strict=True)`
/// still wants its keys, so they are written with PyTorch's identity values for a norm and zeros
/// elsewhere (nothing here trained them, and nothing reads them).
fn add_unused_proj_center(cfg: &Config, state: &mut ExportedState) -> Result<(), String> {
    let net = projunet_config(cfg);
    if !net.projection_matches_reference() {
        let f = net.widths();
        return Err(format!(
            "model.feature_scale = {}: the projection head here is {} → 64 → {}, ProjUnet2D's at this scale {} → {} → {}; they agree at feature scale 4 only",
            cfg.model.feature_scale, f[0], net.proj_dim, f[0], f[2], f[3]
        ));
    }
    for (key, shape) in unused_proj_center(&net.widths()) {
        // `proj_center.0.conv<i>.1.*` are the norms; a norm's weight and running variance are 1
        let norm = key.rsplit('.').nth(1) == Some("1");
        let one = norm && (key.ends_with(".weight") || key.ends_with(".running_var"));
        let values = vec![if one { 1.0 } else { 0.0 }; shape.iter().product()];
        state.floats.tensors.insert(key, (shape, values));
    }
    *state = ExportedState::from_floats(std::mem::take(&mut state.floats));
    Ok(())
}

/// Writes `state` to `out` as `format` (`pth` or `safetensors`), through a temporary file
/// renamed into place, so that an interrupted export leaves no half-written file.
pub fn write_state(state: &ExportedState, format: &str, out: &Path) -> Result<(), String> {
    let tmp = out.with_extension(format!("{format}.partial"));
    match format {
        "pth" => write_pth(state, &tmp)?,
        "safetensors" => write_safetensors(state, &tmp)?,
        other => return Err(format!("--format {other}: pth or safetensors")),
    }
    std::fs::rename(&tmp, out).map_err(|e| format!("{}: {e}", out.display()))
}
