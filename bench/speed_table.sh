#!/usr/bin/env bash
# docs/speed.md's speed table in one run: every network's training step and inference against
# torch_bench.py (bench/network_ratio.sh, 2 threads each), then the metrics job against medpy
# (bench/metrics_files_ratio.sh). MGCC runs at batch 2 and 128² (minutes per step otherwise); the
# 3-D networks (V-Net, CAML, FBA-Net+) at the reference's batch 4 and 112×112×80, with one
# warm-up and three timed iterations each (a step takes tens of seconds).
#   bench/speed_table.sh TORCH_PYTHON [MEDPY_PYTHON] [LA_DIR]
set -euo pipefail
torch_py=$1
medpy_py=${2:-$1}
la=${3:-.data/la}
cargo build --release -q -p semiseg-cli
echo "| workload | PyTorch | semiseg | ratio |"
echo "|---|---|---|---|"
for model in unet2d clcc mgcc vnet caml fbanet; do
  for mode in train infer; do
    case $model in
      mgcc) line=$(BATCH=2 SIZE=128 ITERS=2 WARMUP=1 bench/network_ratio.sh "$model" "$mode" "$torch_py" | tail -1) ;;
      vnet | caml | fbanet) line=$(ITERS=3 WARMUP=1 bench/network_ratio.sh "$model" "$mode" "$torch_py" | tail -1) ;;
      *) line=$(bench/network_ratio.sh "$model" "$mode" "$torch_py" | tail -1) ;;
    esac
    # "<model> <mode> batch B HxW[xD]: PyTorch T ms, semiseg R ms = X.XXx the PyTorch time"
    echo "$line" | sed -E 's/^([a-z0-9]+) ([a-z]+) batch ([0-9]+) ([0-9x]+): PyTorch ([0-9,]+) ms, semiseg ([0-9,]+) ms = ([0-9.]+)x.*/| \1 \2, batch \3, \4 | \5 ms | \6 ms | \7× |/; s/([0-9])x([0-9])/\1×\2/g'
  done
done
metrics=$(bench/metrics_files_ratio.sh "$la" "$medpy_py" 3 | tail -1)
# "medpy M s, semiseg S s (median of 3): R.Rx"
echo "$metrics" | sed -E 's/^medpy ([0-9.]+) s, semiseg ([0-9.]+) s \(median of 3\): ([0-9.]+)x/| metrics job, 20 LA label pairs (read + Dice, Jaccard, HD95, ASD) vs medpy | \1 s | \2 s | \3× faster |/'
