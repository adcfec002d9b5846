#!/usr/bin/env bash
# One run, same machine: medpy vs semiseg on HD95 + ASD of the 20 LA test labels against an
# eroded and shifted copy. Prints both timings, both mean values (they must agree) and the ratio.
#   bench/metrics_ratio.sh [LA_DIR] [PYTHON]   (PYTHON needs numpy scipy medpy nibabel)
set -euo pipefail
la=${1:-.data/la}
py=${2:-python3}
cargo build --release -q -p semiseg-cli
rust=$(./target/release/semiseg bench --model metrics --data "$la" --iters 5 --json)
medpy=$("$py" bench/medpy_metrics.py "$la" --iters 3 --json)
echo "semiseg: $rust"
echo "medpy:   $medpy"
"$py" - "$rust" "$medpy" <<'PY'
import json, sys
r, m = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert abs(r["mean_hd95"] - m["mean_hd95"]) < 1e-9 and abs(r["mean_asd"] - m["mean_asd"]) < 1e-9, "values differ"
print(f"values agree (HD95 {r['mean_hd95']:.6f}, ASD {r['mean_asd']:.6f}); "
      f"medpy {m['median_s']:.3f} s / semiseg {r['median_s']:.3f} s = {m['median_s'] / r['median_s']:.1f}x")
PY
