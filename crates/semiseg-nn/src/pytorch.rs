//! Weights from PyTorch state dicts (`torch.save(model.state_dict())`, `.pth`/`.pt`), read with
//! Burn's pickle reader (`pytorch-reader`), matched by name through a key map: for each float
//! parameter of our module (its dotted Burn path, BatchNorm running statistics included), the
//! map names the PyTorch key and how the array changes on the way (`Linear` weights transposed
//! to Burn's `[in, out]`; a slice of rows, for the `q`, `k`, `v` blocks of PyTorch's packed
//! attention projection). Every parameter must be found with its shape, and every tensor of the
//! file used (`num_batches_tracked` counters aside): an error names the parameter or the keys.

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::tensor::TensorData;
use pytorch_reader::{DType, PytorchReader};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A state dict: key → (shape, row-major float32 values).
#[derive(Debug, Clone, Default)]
pub struct StateDict {
    /// The tensors by key.
    pub tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

/// Reads the float tensors of a PyTorch checkpoint, under `top_key` when the weights are nested
/// (`"state_dict"`, `"model"`); integer tensors (`num_batches_tracked`) are left out.
pub fn read_state_dict(path: &Path, top_key: Option<&str>) -> Result<StateDict, String> {
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let reader = match top_key {
        Some(k) => PytorchReader::with_top_level_key(path, k),
        None => PytorchReader::new(path),
    }
    .map_err(|e| at(&e))?;
    let mut tensors = BTreeMap::new();
    for (key, t) in reader.tensors() {
        let bytes = t.read().map_err(|e| at(&format!("{key}: {e}")))?;
        let values: Vec<f32> = match t.dtype() {
            DType::F32 => bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect(),
            DType::F64 => bytes.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32).collect(),
            _ => continue,
        };
        tensors.insert(key.clone(), (t.shape().to_vec(), values));
    }
    Ok(StateDict { tensors })
}

/// A network's key map: where each parameter (by its Burn path) is in a PyTorch state dict.
pub type KeyMap = Box<dyn Fn(&str) -> Option<Source>>;

/// Where one of our parameters comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// PyTorch key.
    pub key: String,
    /// Rows `[block · n, (block + 1) · n)` of the tensor cut in `blocks` equal blocks along its
    /// first axis (PyTorch packs attention's q, k, v projections as one `[3d, d]` matrix).
    pub block: Option<(usize, usize)>,
    /// Transpose a 2-D array (PyTorch `Linear.weight` is `[out, in]`, Burn's `[in, out]`).
    pub transpose: bool,
}

impl Source {
    /// The tensor under `key` as it is.
    pub fn plain(key: impl Into<String>) -> Self {
        Self { key: key.into(), block: None, transpose: false }
    }
}

/// The values a source gives: shape and row-major values.
fn take(state: &StateDict, src: &Source) -> Result<(Vec<usize>, Vec<f32>), String> {
    let (shape, values) = state.tensors.get(&src.key).ok_or_else(|| format!("no tensor '{}' in the state dict", src.key))?;
    let (mut shape, mut values) = (shape.clone(), values.clone());
    if let Some((block, blocks)) = src.block {
        let rows = shape[0] / blocks;
        let per_row: usize = shape[1..].iter().product();
        values = values[block * rows * per_row..(block + 1) * rows * per_row].to_vec();
        shape[0] = rows;
    }
    if src.transpose && shape.len() == 2 {
        (shape, values) = transposed(&shape, &values);
    }
    Ok((shape, values))
}

/// A row-major `[r, c]` matrix as `[c, r]` (PyTorch's `Linear` weight layout and Burn's).
pub(crate) fn transposed(shape: &[usize], values: &[f32]) -> (Vec<usize>, Vec<f32>) {
    let (r, c) = (shape[0], shape[1]);
    (vec![c, r], (0..r * c).map(|i| values[(i % r) * c + i / r]).collect())
}

struct ByName<'a> {
    state: &'a StateDict,
    source_of: &'a dyn Fn(&str) -> Option<Source>,
    path: Vec<String>,
    used: BTreeSet<String>,
    error: Option<String>,
}

impl ModuleMapper for ByName<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self.error.is_some() {
            return param;
        }
        let name = self.path.join(".");
        let Some(src) = (self.source_of)(&name) else {
            self.error = Some(format!("{name}: the key map has no PyTorch name for it"));
            return param;
        };
        let (shape, values) = match take(self.state, &src) {
            Ok(v) => v,
            Err(e) => {
                self.error = Some(format!("{name}: {e}"));
                return param;
            }
        };
        let want: Vec<usize> = param.shape().dims::<D>().to_vec();
        if shape != want {
            self.error = Some(format!("{name}: '{}' gives shape {shape:?}, the parameter is {want:?}", src.key));
            return param;
        }
        self.used.insert(src.key);
        param.map(|t| {
            let v = Tensor::<D>::from_data(TensorData::new(values, shape), &t.device());
            if t.is_require_grad() { v.require_grad() } else { v }
        })
    }
}

/// `module` with every float parameter taken from `state` as `source_of` maps its Burn path.
pub fn import_state_dict<M: Module>(module: M, state: &StateDict, source_of: &dyn Fn(&str) -> Option<Source>) -> Result<M, String> {
    let mut mapper = ByName { state, source_of, path: Vec::new(), used: BTreeSet::new(), error: None };
    let module = module.map(&mut mapper);
    if let Some(e) = mapper.error {
        return Err(e);
    }
    let unused: Vec<&String> = state.tensors.keys().filter(|k| !mapper.used.contains(*k) && !k.ends_with("num_batches_tracked")).collect();
    if !unused.is_empty() {
        return Err(format!("{} tensor(s) of the state dict have no parameter here: {}", unused.len(), unused.iter().take(8).map(|s| s.as_str()).collect::<Vec<_>>().join(", ")));
    }
    Ok(module)
}

/// Burn's BatchNorm / LayerNorm names to PyTorch's.
pub(crate) fn norm_name(p: &str) -> &str {
    match p {
        "gamma" => "weight",
        "beta" => "bias",
        other => other,
    }
}

/// The PyTorch key of a parameter of a pair of conv → norm units (`a`, `b`: our `ConvBnAct`s)
/// that the reference keeps in one `nn.Sequential` called `sequential`, the convolutions at
/// `indices` and each norm right after its convolution (`a.norm.gamma` → `conv.1.weight`).
pub(crate) fn conv_pair_key(inner: &str, sequential: &str, indices: [usize; 2]) -> Option<String> {
    let s: Vec<&str> = inner.split('.').collect();
    let index = match s.as_slice() {
        ["a", "conv", _] => indices[0],
        ["a", "norm", _] => indices[0] + 1,
        ["b", "conv", _] => indices[1],
        ["b", "norm", _] => indices[1] + 1,
        _ => return None,
    };
    Some(format!("{sequential}.{index}.{}", norm_name(s.last()?)))
}

/// The PyTorch key (the reference repositories' V-Net, `networks/VNet.py`) of a parameter of
/// our V-Net encoder or decoder, from its path inside the part (`block_two.convs.1.norm.gamma`)
/// and, in a decoder, whether its up-steps are transposed convolutions (up type 0).
pub fn vnet_part_key(inner: &str, transposed_up: bool) -> Option<String> {
    let s: Vec<&str> = inner.split('.').collect();
    let layer = |conv_or_norm: &str, conv_index: usize| if conv_or_norm == "norm" { conv_index + 1 } else { conv_index };
    Some(match s.as_slice() {
        [block, "convs", i, kind, p] => format!("{block}.conv.{}.{}", layer(kind, 3 * i.parse::<usize>().ok()?), norm_name(p)),
        [dw, kind @ ("conv" | "norm"), p] if dw.ends_with("_dw") => format!("block_{dw}.conv.{}.{}", layer(kind, 0), norm_name(p)),
        [up, "transposed", p] if up.ends_with("_up") => format!("block_{up}.conv.0.{p}"),
        [up, "conv", p] if up.ends_with("_up") => format!("block_{up}.conv.1.{p}"),
        [up, "norm", p] if up.ends_with("_up") => format!("block_{up}.conv.{}.{}", if transposed_up { 1 } else { 2 }, norm_name(p)),
        ["out_conv", p] => format!("out_conv.{p}"),
        _ => return None,
    })
}

/// A `Linear` (transposed weight) or a norm (renamed) parameter under PyTorch prefix `key`.
pub fn linear_or_norm(key: &str, p: &str, linear: bool) -> Source {
    if linear {
        Source { key: format!("{key}.{p}"), block: None, transpose: p == "weight" }
    } else {
        Source::plain(format!("{key}.{}", norm_name(p)))
    }
}

/// PyTorch's `TransformerEncoderLayer` key of a parameter of Burn's one-layer
/// `TransformerEncoder` (`layers.0.mha.query.weight` → rows 0..d of `self_attn.in_proj_weight`).
pub fn transformer_layer_source(prefix: &str, inner: &str) -> Option<Source> {
    let s: Vec<&str> = inner.split('.').collect();
    let packed = |block: usize, p: &str| Source { key: format!("{prefix}.self_attn.in_proj_{p}"), block: Some((block, 3)), transpose: p == "weight" };
    Some(match s.as_slice() {
        ["layers", "0", "mha", "query", p] => packed(0, p),
        ["layers", "0", "mha", "key", p] => packed(1, p),
        ["layers", "0", "mha", "value", p] => packed(2, p),
        ["layers", "0", "mha", "output", p] => linear_or_norm(&format!("{prefix}.self_attn.out_proj"), p, true),
        ["layers", "0", "pwff", "linear_inner", p] => linear_or_norm(&format!("{prefix}.linear1"), p, true),
        ["layers", "0", "pwff", "linear_outer", p] => linear_or_norm(&format!("{prefix}.linear2"), p, true),
        ["layers", "0", "norm_1", p] => linear_or_norm(&format!("{prefix}.norm1"), p, false),
        ["layers", "0", "norm_2", p] => linear_or_norm(&format!("{prefix}.norm2"), p, false),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vnet_keys_follow_the_reference_layout() {
        assert_eq!(vnet_part_key("block_three.convs.2.conv.weight", false).unwrap(), "block_three.conv.6.weight");
        assert_eq!(vnet_part_key("block_three.convs.2.norm.gamma", false).unwrap(), "block_three.conv.7.weight");
        assert_eq!(vnet_part_key("one_dw.norm.running_var", false).unwrap(), "block_one_dw.conv.1.running_var");
        assert_eq!(vnet_part_key("five_up.transposed.bias", true).unwrap(), "block_five_up.conv.0.bias");
        assert_eq!(vnet_part_key("five_up.norm.beta", true).unwrap(), "block_five_up.conv.1.bias");
        assert_eq!(vnet_part_key("six_up.conv.weight", false).unwrap(), "block_six_up.conv.1.weight");
        assert_eq!(vnet_part_key("six_up.norm.gamma", false).unwrap(), "block_six_up.conv.2.weight");
        assert_eq!(vnet_part_key("nonsense", false), None);
    }

    #[test]
    fn packed_attention_rows_are_split_and_linear_weights_transposed() {
        let mut state = StateDict::default();
        // in_proj_weight [3·2, 2]: rows 0-1 q, 2-3 k, 4-5 v
        state.tensors.insert("a.self_attn.in_proj_weight".into(), (vec![6, 2], (0..12).map(|v| v as f32).collect()));
        let src = transformer_layer_source("a", "layers.0.mha.key.weight").unwrap();
        // k = [[4, 5], [6, 7]] ([out, in]); Burn wants [in, out] = [[4, 6], [5, 7]]
        assert_eq!(take(&state, &src).unwrap(), (vec![2, 2], vec![4.0, 6.0, 5.0, 7.0]));
    }
}
