//! A trained network out to PyTorch under the reference code's key names: the inverse of
//! [`crate::import`], so that a model trained here runs in the paper's own test script or in
//! MONAI. The 3-D networks with key maps: V-Net / MC-Net+ (MC-Net's `encoder`, `decoder1…`;
//! a one-decoder V-Net optionally in UA-MT's flat layout), CAML and FBA-Net(+).

use crate::checkpoint::{find, load_module, Part};
use crate::config::Config;
use crate::methods::backbone::vnet_config;
use crate::methods::{caml_config, fbanet_config};
use burn::prelude::*;
use crate::import::key_map;
use semiseg_nn::pytorch_export::{export_state_dict, write_pth, write_safetensors, ExportedState};
use std::path::Path;

/// The checkpoint part that holds the network a method predicts with.
const NETWORK_PARTS: [&str; 2] = ["net", "student"];

/// Key layout of an exported V-Net.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// MC-Net's and the later papers' (`encoder.…`, `decoder1.…`).
    Split,
    /// UA-MT's `networks/vnet.py` (`block_one.conv.0.weight`, …; one decoder only).
    Flat,
}

/// The predicting network of checkpoint `parts` under the reference key names.
pub fn state_from_parts(cfg: &Config, parts: &[Part], layout: Layout) -> Result<ExportedState, String> {
    let part = NETWORK_PARTS.iter().find_map(|n| find(parts, n).ok()).ok_or("the checkpoint holds no network part ('net' or 'student')")?;
    let source = key_map(cfg, layout == Layout::Flat)?;
    let device = Device::flex();
    match cfg.model.name.as_str() {
        "caml" => export_state_dict(&load_module(caml_config(cfg).init(&device), part)?, &source),
        "fbanet" => export_state_dict(&load_module(fbanet_config(cfg).init(&device), part)?, &source),
        _ => export_state_dict(&load_module(vnet_config(cfg).init(&device), part)?, &source),
    }
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
