#!/usr/bin/env bash
# The whole metrics job, one run, same machine: read 20 gzipped LA test labels and their
# predictions (eroded twice, shifted by (3, -2, 1)), then Dice, Jaccard, HD95 and ASD in the
# medpy convention (voxel units). medpy: bench/medpy_files.py in one Python process (start-up
# and imports not timed). semiseg: the `semiseg metrics` command, whole process, wall clock
# (it also computes precision, recall, HD, ASSD and NSD). Checks the means agree, prints the ratio.
#   bench/metrics_files_ratio.sh [LA_DIR] [PYTHON] [ITERS]   (PYTHON needs numpy scipy medpy nibabel)
set -euo pipefail
la=${1:-.data/la}
py=${2:-python3}
iters=${3:-3}
cargo build --release -q -p semiseg-cli
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" bench/medpy_files.py prepare "$la" "$work" >&2
medpy=$("$py" bench/medpy_files.py score "$work" --iters "$iters")
times=()
for _ in $(seq "$iters"); do
  start=$(date +%s.%N)
  "${CARGO_TARGET_DIR:-target}/release/semiseg" metrics --pred "$work/pred" --gt "$work/gt" --spacing 1,1,1 --out "$work/out/per_case.csv" > /dev/null
  times+=("$(echo "$(date +%s.%N) - $start" | bc -l)")
done
"$py" - "$medpy" "$work/out/summary.json" "${times[@]}" <<'PY'
import json, sys, statistics
m = json.loads(sys.argv[1])
s = json.load(open(sys.argv[2]))["summary"]["overall"]
t = sorted(float(x) for x in sys.argv[3:])
rust = statistics.median(t)
for k in ("dice", "jaccard", "hd95", "asd"):
    assert abs(s[k]["mean"] - m[k]) < 1e-9, f"{k}: semiseg {s[k]['mean']} vs medpy {m[k]}"
print(f"{m['cases']} cases, values agree (Dice {m['dice']:.6f}, Jaccard {m['jaccard']:.6f}, HD95 {m['hd95']:.6f}, ASD {m['asd']:.6f})")
print(f"medpy {m['median_s']:.3f} s, semiseg {rust:.3f} s (median of {len(t)}): {m['median_s'] / rust:.1f}x")
PY
