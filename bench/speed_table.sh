#!/usr/bin/env bash
# docs/speed.md's speed table in one run: every network's training step and inference against
# torch_bench.py in alternating rounds, at 2 threads and at all cores (bench/speed_rounds.py:
# CPU, flags, PyTorch version and oneDNN ISA in the header; rounds where either side had other
# load dropped; median ratio with min–max; peak memory), then the metrics job against medpy
# (bench/metrics_files_ratio.sh).
#   bench/speed_table.sh TORCH_PYTHON [MEDPY_PYTHON] [LA_DIR]
# ROUNDS (default 3), THREADS (default "2 <all cores>"), ROWS (model:mode,...) and MAX_LOAD
# (default 0.15) in the environment pass on to speed_rounds.py.
set -euo pipefail
torch_py=$1
medpy_py=${2:-$1}
la=${3:-.data/la}
cargo build --release -q -p semiseg-cli
threads=()
for t in $(printf "%s\n" ${THREADS:-2 $(nproc)} | sort -un); do threads+=(--threads "$t"); done
rows=()
[ -n "${ROWS:-}" ] && rows=(--rows "$ROWS")
"$torch_py" bench/speed_rounds.py --rounds "${ROUNDS:-3}" "${threads[@]}" "${rows[@]}" --max-load "${MAX_LOAD:-0.15}"
metrics=$(bench/metrics_files_ratio.sh "$la" "$medpy_py" 3 | tail -1)
# "medpy M s, semiseg S s (median of 3): R.Rx"
echo "$metrics" | sed -E 's/^medpy ([0-9.]+) s, semiseg ([0-9.]+) s \(median of 3\): ([0-9.]+)x/| metrics job, 20 LA label pairs (read + Dice, Jaccard, HD95, ASD) vs medpy | 2 | \1 s | \2 s | \3× faster | – | – |/'
