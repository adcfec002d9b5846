//! Weights out to PyTorch: the inverse of [`crate::pytorch::import_state_dict`]. Each float
//! parameter goes to the key its network's key map names, changed back on the way (`Linear`
//! weights transposed to `[out, in]`, attention's query / key / value blocks packed into one
//! tensor), and every BatchNorm gets the `num_batches_tracked` counter PyTorch's
//! `load_state_dict(strict=True)` expects. Files: `.pth` (PyTorch's zip format, read by
//! `torch.load(..., weights_only=True)`) and `.safetensors`.

use crate::import::{named_arrays, Array};
use crate::pytorch::{transposed, Source, StateDict};
use burn::module::Module;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// A state dict on its way out: the float tensors and the integer BatchNorm counters.
#[derive(Debug, Clone, Default)]
pub struct ExportedState {
    /// Float tensors by key.
    pub floats: StateDict,
    /// Keys of the `num_batches_tracked` counters (int64 scalars).
    pub counters: Vec<String>,
}

/// `module`'s parameters under the PyTorch keys `source_of` names (see
/// [`crate::pytorch::import_state_dict`]).
pub fn export_state_dict<M: Module>(module: &M, source_of: &dyn Fn(&str) -> Option<Source>) -> Result<ExportedState, String> {
    let mut out = StateDict::default();
    // key → pieces (shape, values) by block index: a packed tensor waits for all its blocks
    type Pieces = Vec<Option<(Vec<usize>, Vec<f32>)>>;
    let mut packed: BTreeMap<String, Pieces> = BTreeMap::new();
    for (name, Array { shape, values }) in named_arrays(module) {
        let src = source_of(&name).ok_or_else(|| format!("{name}: the key map has no PyTorch name for it"))?;
        let (shape, values) = if src.transpose && shape.len() == 2 { transposed(&shape, &values) } else { (shape, values) };
        match src.block {
            Some((block, blocks)) => packed.entry(src.key).or_insert_with(|| vec![None; blocks])[block] = Some((shape, values)),
            None => {
                out.tensors.insert(src.key, (shape, values));
            }
        }
    }
    for (key, pieces) in packed {
        let mut shape: Option<Vec<usize>> = None;
        let mut values = Vec::new();
        for (i, piece) in pieces.into_iter().enumerate() {
            let (s, v) = piece.ok_or_else(|| format!("{key}: block {i} of the packed tensor has no parameter"))?;
            shape = Some(match shape {
                None => s,
                Some(mut acc) => {
                    acc[0] += s[0];
                    acc
                }
            });
            values.extend(v);
        }
        out.tensors.insert(key, (shape.unwrap_or_default(), values));
    }
    Ok(ExportedState::from_floats(out))
}

impl ExportedState {
    /// `floats` with a `num_batches_tracked` counter for each BatchNorm (each `.running_mean`).
    pub fn from_floats(floats: StateDict) -> Self {
        let counters = floats.tensors.keys().filter_map(|k| k.strip_suffix(".running_mean").map(|p| format!("{p}.num_batches_tracked"))).collect();
        Self { floats, counters }
    }
}

/// Writes `state` as `.safetensors` (float32 tensors, int64 counters).
pub fn write_safetensors(state: &ExportedState, path: &Path) -> Result<(), String> {
    use safetensors::tensor::{Dtype, TensorView};
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let bytes: Vec<(String, Vec<usize>, Vec<u8>, Dtype)> = state
        .floats
        .tensors
        .iter()
        .map(|(k, (shape, v))| (k.clone(), shape.clone(), v.iter().flat_map(|x| x.to_le_bytes()).collect(), Dtype::F32))
        .chain(state.counters.iter().map(|k| (k.clone(), vec![], 0i64.to_le_bytes().to_vec(), Dtype::I64)))
        .collect();
    let views = bytes.iter().map(|(k, shape, b, dtype)| TensorView::new(*dtype, shape.clone(), b).map(|v| (k.clone(), v))).collect::<Result<Vec<_>, _>>().map_err(|e| at(&e))?;
    let data = safetensors::serialize(views, None).map_err(|e| at(&e))?;
    std::fs::write(path, data).map_err(|e| at(&e))
}

/// Writes `state` in PyTorch's zip format (`torch.save(state_dict)` of version 3): `data.pkl`
/// (a protocol-2 pickle of an `OrderedDict` of `_rebuild_tensor_v2` calls on persistent
/// storages), one little-endian record per tensor under `data/`, `byteorder` and `version`.
pub fn write_pth(state: &ExportedState, path: &Path) -> Result<(), String> {
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = std::fs::File::create(path).map_err(|e| at(&e))?;
    let mut zip = zip::ZipWriter::new(file);
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut records: Vec<(String, Vec<u8>)> = Vec::new();
    let mut pickle = Pickle::default();
    pickle.start_dict();
    for (key, (shape, values)) in &state.floats.tensors {
        let index = records.len().to_string();
        pickle.tensor(key, &index, "FloatStorage", shape);
        records.push((index, values.iter().flat_map(|x| x.to_le_bytes()).collect()));
    }
    for key in &state.counters {
        let index = records.len().to_string();
        pickle.tensor(key, &index, "LongStorage", &[]);
        records.push((index, 0i64.to_le_bytes().to_vec()));
    }
    let pkl = pickle.finish();
    let mut put = |name: &str, bytes: &[u8]| -> Result<(), String> {
        zip.start_file(format!("archive/{name}"), stored).map_err(|e| at(&e))?;
        zip.write_all(bytes).map_err(|e| at(&e))
    };
    put("data.pkl", &pkl)?;
    put("byteorder", b"little")?;
    for (index, bytes) in &records {
        put(&format!("data/{index}"), bytes)?;
    }
    put("version", b"3\n")?;
    zip.finish().map_err(|e| at(&e))?;
    Ok(())
}

/// The few pickle opcodes a state dict needs (protocol 2).
#[derive(Default)]
struct Pickle(Vec<u8>);

impl Pickle {
    fn global(&mut self, module: &str, name: &str) {
        self.0.push(b'c');
        self.0.extend_from_slice(format!("{module}\n{name}\n").as_bytes());
    }

    fn string(&mut self, s: &str) {
        self.0.push(b'X'); // BINUNICODE
        self.0.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.0.extend_from_slice(s.as_bytes());
    }

    fn int(&mut self, v: usize) {
        if let Ok(v) = i32::try_from(v) {
            self.0.push(b'J'); // BININT
            self.0.extend_from_slice(&v.to_le_bytes());
        } else {
            self.0.extend_from_slice(&[0x8a, 8]); // LONG1 of 8 bytes
            self.0.extend_from_slice(&(v as i64).to_le_bytes());
        }
    }

    fn tuple_of(&mut self, items: &[usize]) {
        self.0.push(b'(');
        for &i in items {
            self.int(i);
        }
        self.0.push(b't');
    }

    fn empty_ordered_dict(&mut self) {
        self.global("collections", "OrderedDict");
        self.0.extend_from_slice(b")R"); // EMPTY_TUPLE, REDUCE
    }

    fn start_dict(&mut self) {
        self.0.extend_from_slice(&[0x80, 2]); // PROTO 2
        self.empty_ordered_dict();
        self.0.push(b'('); // MARK: the items follow
    }

    /// `key: _rebuild_tensor_v2(storage, 0, shape, contiguous strides, False, OrderedDict())`.
    fn tensor(&mut self, key: &str, index: &str, storage: &str, shape: &[usize]) {
        self.string(key);
        self.global("torch._utils", "_rebuild_tensor_v2");
        self.0.push(b'(');
        // persistent id: ('storage', torch.<Storage>, index, 'cpu', numel)
        self.0.push(b'(');
        self.string("storage");
        self.global("torch", storage);
        self.string(index);
        self.string("cpu");
        self.int(shape.iter().product());
        self.0.extend_from_slice(b"tQ"); // TUPLE, BINPERSID
        self.int(0);
        self.tuple_of(shape);
        let mut strides = vec![1usize; shape.len()];
        for i in (0..shape.len().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * shape[i + 1];
        }
        self.tuple_of(&strides);
        self.0.push(0x89); // NEWFALSE: requires_grad
        self.empty_ordered_dict();
        self.0.extend_from_slice(b"tR"); // TUPLE, REDUCE
    }

    fn finish(mut self) -> Vec<u8> {
        self.0.extend_from_slice(b"u."); // SETITEMS, STOP
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pytorch::read_state_dict;

    #[test]
    fn a_written_pth_reads_back_with_every_value() {
        let mut state = ExportedState::default();
        state.floats.tensors.insert("block.conv.0.weight".into(), (vec![2, 3], (0..6).map(|i| i as f32 * 0.5).collect()));
        state.floats.tensors.insert("block.conv.1.running_mean".into(), (vec![2], vec![-1.0, 2.5]));
        state.counters.push("block.conv.1.num_batches_tracked".into());
        let dir = std::env::temp_dir().join(format!("semiseg-pth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.pth");
        write_pth(&state, &path).unwrap();
        let back = read_state_dict(&path, None).unwrap();
        assert_eq!(back.tensors, state.floats.tensors);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
