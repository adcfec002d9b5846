#!/usr/bin/env bash
# One run, same machine: torch_bench.py vs semiseg bench on the same network, batch, size, loss
# and optimizer, 2 threads each, median of the timed iterations. Prints both and the ratio.
#   bench/network_ratio.sh MODEL [train|infer] [PYTHON] [REFERENCE_DIR]   (PYTHON needs torch)
#   e.g. bench/network_ratio.sh clcc train /work/venv/bin/python
# BATCH, SIZE, ITERS and WARMUP in the environment override the reference's defaults for both
# sides (MGCC's 122 M parameters at batch 8, 256² take many minutes a step on 2 cores).
set -euo pipefail
model=$1
mode=${2:-train}
py=${3:-python3}
ref=${4:-../shared/reference}
cargo build --release -q -p semiseg-cli
overrides=(--iters "${ITERS:-5}" --warmup "${WARMUP:-2}")
[ -n "${BATCH:-}" ] && overrides+=(--batch "$BATCH")
[ -n "${SIZE:-}" ] && overrides+=(--size "$SIZE")
torch=$("$py" "$ref/torch_bench.py" --model "$model" --mode "$mode" --threads 2 --json --no-flops "${overrides[@]}")
# the same batch and size as the reference used (its defaults per network)
batch=$("$py" -c 'import json,sys; print(json.loads(sys.argv[1])["batch"])' "$torch")
size=$("$py" -c 'import json,sys; print(json.loads(sys.argv[1])["size"])' "$torch")
rust=$(RAYON_NUM_THREADS=2 "${CARGO_TARGET_DIR:-target}/release/semiseg" bench --model "$model" --mode "$mode" --batch "$batch" --size "$size" \
  --iters "${ITERS:-5}" --warmup "${WARMUP:-2}" --json)
echo "pytorch: $torch"
echo "semiseg: $rust"
"$py" - "$torch" "$rust" <<'PY'
import json, sys
t, r = json.loads(sys.argv[1]), json.loads(sys.argv[2])
tm = t.get("median_ms") or t.get("median_s", 0) * 1000
size = "x".join(str(v) for v in r["size"])
print(f"{r['model']} {r['mode']} batch {r['batch']} {size}: PyTorch {tm:,.0f} ms, semiseg {r['median_ms']:,.0f} ms "
      f"= {r['median_ms'] / tm:.2f}x the PyTorch time")
PY
