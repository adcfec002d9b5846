#!/usr/bin/env bash
# docs/speed.md's per-op table in one run: `semiseg bench --model ops` and bench/ops_torch.py, both on
# 2 threads, the same ops, shapes and loss; one row per op with both times and their ratio.
#   bench/ops_table.sh TORCH_PYTHON [ITERS]
set -euo pipefail
torch_py=$1
iters=${2:-5}
bin=${CARGO_TARGET_DIR:-target}/release/semiseg
cargo build --release -q -p semiseg-cli
ours=$(RAYON_NUM_THREADS=2 "$bin" bench --model ops --iters "$iters" --json)
theirs=$("$torch_py" bench/ops_torch.py --threads 2 --iters "$iters")
python3 - "$ours" "$theirs" <<'PY'
import json, sys
ours = {r["op"]: r for r in map(json.loads, sys.argv[1].splitlines())}
theirs = {r["op"]: r for r in map(json.loads, sys.argv[2].splitlines())}
print("| op | shape | PyTorch infer | semiseg infer | ratio | PyTorch train (fwd + bwd) | semiseg train | ratio |")
print("|---|---|---|---|---|---|---|---|")
for op, o in ours.items():
    t = theirs[op]
    assert t["shape"] == o["shape"], op
    cells = []
    for k in ("infer_ms", "train_ms"):
        cells += [f"{t[k]:,.1f} ms", f"{o[k]:,.1f} ms", f"{o[k] / t[k]:.2f}×"]
    print(f"| {op} | {o['shape'].replace('x', '×')} | " + " | ".join(cells) + " |")
PY
