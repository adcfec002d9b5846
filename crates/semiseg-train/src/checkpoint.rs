//! Checkpoints: one file holding the run state and every network and optimizer, written
//! atomically (temporary file, then rename), so an interrupted write never replaces a good
//! checkpoint with half of one.
//!
//! Layout: `SEMISEG-CKPT1`, a little-endian u64 header length, a JSON header
//! `{state, parts: [{name, len}]}`, then the parts' bytes (Burn burnpack records).

use crate::loss_scale::LossScale;
use burn::module::Module;
use burn::optim::{ModuleOptimizer, OptimizerRecord};
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};
use std::path::Path;

const MAGIC: &[u8] = b"SEMISEG-CKPT1";

/// One named blob (a network or an optimizer state).
#[derive(Debug, Clone)]
pub struct Part {
    /// Name, e.g. `student`, `teacher`, `optim`.
    pub name: String,
    /// Serialized record.
    pub bytes: Vec<u8>,
}

/// Where training stands.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TrainState {
    /// Iterations completed.
    pub iteration: usize,
    /// Best validation score so far (mean foreground Dice).
    pub best_score: Option<f64>,
    /// Iteration of the best score.
    pub best_iteration: Option<usize>,
    /// f16 loss scaling's state (absent from checkpoints of f32 runs and older ones).
    #[serde(default, skip_serializing_if = "is_unscaled")]
    pub loss_scale: LossScale,
}

fn is_unscaled(s: &LossScale) -> bool {
    *s == LossScale::default()
}

#[derive(Serialize, Deserialize)]
struct Header {
    state: TrainState,
    parts: Vec<(String, u64)>,
}

/// Serializes a network.
pub fn module_part<M: Module>(name: &str, m: &M) -> Part {
    // BatchNorm running statistics are updated lazily; `valid` folds the pending updates in,
    // without which a checkpoint would hold stale statistics.
    let _ = m.valid();
    let bytes = m.clone().into_record().into_bytes().expect("module record serialises");
    Part { name: name.into(), bytes: bytes.to_vec() }
}

/// Loads a network from its part.
pub fn load_module<M: Module>(m: M, part: &Part) -> Result<M, String> {
    let rec = ModuleRecord::from_bytes(Bytes::from_bytes_vec(part.bytes.clone())).map_err(|e| format!("{}: {e:?}", part.name))?;
    m.try_load_record(rec).map_err(|e| format!("{}: {e:?}", part.name))
}

/// Serializes an optimizer state.
pub fn optim_part(name: &str, o: &ModuleOptimizer) -> Part {
    let bytes = o.to_record().into_bytes().expect("optimizer record serialises");
    Part { name: name.into(), bytes: bytes.to_vec() }
}

/// Restores an optimizer state.
pub fn load_optim(o: ModuleOptimizer, part: &Part) -> Result<ModuleOptimizer, String> {
    let rec = OptimizerRecord::from_bytes(Bytes::from_bytes_vec(part.bytes.clone())).map_err(|e| format!("{}: {e:?}", part.name))?;
    Ok(o.load_record(rec))
}

/// The part called `name`.
pub fn find<'a>(parts: &'a [Part], name: &str) -> Result<&'a Part, String> {
    parts.iter().find(|p| p.name == name).ok_or_else(|| format!("checkpoint has no '{name}' (has {})", parts.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")))
}

/// Writes a checkpoint atomically.
pub fn save(path: &Path, state: &TrainState, parts: &[Part]) -> Result<(), semiseg_data::DataError> {
    let header = Header { state: state.clone(), parts: parts.iter().map(|p| (p.name.clone(), p.bytes.len() as u64)).collect() };
    let json = serde_json::to_vec(&header).expect("header serialises");
    let mut out = Vec::with_capacity(json.len() + parts.iter().map(|p| p.bytes.len()).sum::<usize>() + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for p in parts {
        out.extend_from_slice(&p.bytes);
    }
    semiseg_data::io::atomic::write_bytes(path, &out)
}

/// Reads a checkpoint, checking its structure.
pub fn load(path: &Path) -> Result<(TrainState, Vec<Part>), String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bad = |what: &str| format!("{}: not a semiseg checkpoint ({what})", path.display());
    if !data.starts_with(MAGIC) || data.len() < MAGIC.len() + 8 {
        return Err(bad("wrong magic"));
    }
    let n = u64::from_le_bytes(data[MAGIC.len()..MAGIC.len() + 8].try_into().expect("8 bytes")) as usize;
    let start = MAGIC.len() + 8;
    let header: Header = data.get(start..start + n).and_then(|h| serde_json::from_slice(h).ok()).ok_or_else(|| bad("header"))?;
    let mut at = start + n;
    let mut parts = Vec::new();
    for (name, len) in header.parts {
        let end = at + len as usize;
        let bytes = data.get(at..end).ok_or_else(|| bad("truncated"))?.to_vec();
        parts.push(Part { name, bytes });
        at = end;
    }
    if at != data.len() {
        return Err(bad("trailing bytes"));
    }
    Ok((header.state, parts))
}
