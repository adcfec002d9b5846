#!/usr/bin/env bash
# Trains the four Kvasir-SEG CPU configs (supervised and CLCC, 10 % and 20 % labeled) one after
# the other, scores the best-on-validation checkpoint on the test split at the network's 192²
# (as CLCC's test script, against resized masks) and at the images' own size, and prints the
# README table.
#   scripts/kvasir_cpu_table.sh [RUNS_DIR]     (the data at .data/kvasir, see .ci/run)
set -euo pipefail
runs=${1:-runs/kvasir-cpu}
cargo build --release -q -p semiseg-cli
mkdir -p "$runs"
for cfg in supervised-kvasir-10-cpu clcc-kvasir-10-cpu supervised-kvasir-20-cpu clcc-kvasir-20-cpu; do
  if [ -f "$runs/$cfg/eval/test_best/summary.json" ]; then continue; fi
  start=$(date +%s)
  if [ -f "$runs/$cfg/checkpoints/last.ckpt" ]; then
    ./target/release/semiseg train --resume "$runs/$cfg"
  else
    ./target/release/semiseg train --config "configs/$cfg.toml" --out "$runs/$cfg"
  fi
  echo $(( $(date +%s) - start )) > "$runs/$cfg/wall_seconds"
done
for cfg in supervised-kvasir-10-cpu clcc-kvasir-10-cpu supervised-kvasir-20-cpu clcc-kvasir-20-cpu; do
  for res in network original; do
    ./target/release/semiseg eval --run "$runs/$cfg" --checkpoint best --split test --resolution $res > /dev/null
  done
done
python3 - "$runs" <<'PY'
import json, sys, os
runs = sys.argv[1]
print("| labeled | method | Dice % | IoU % | precision % | recall % | accuracy % | MAE % | Dice % at full size | HD95 px at full size | run time |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for pct in ("10", "20"):
    for m in ("supervised", "clcc"):
        d = f"{runs}/{m}-kvasir-{pct}-cpu"
        s = json.load(open(f"{d}/eval/test_best_network/summary.json"))
        o = s["summary"]["overall"]
        full = json.load(open(f"{d}/eval/test_best/summary.json"))["summary"]["overall"]
        f = lambda k: f"{100 * o[k]['mean']:.2f} ± {100 * o[k]['std']:.2f}"
        secs = int(open(f"{d}/wall_seconds").read())
        print(f"| {pct} % | {m} | {f('dice')} | {f('jaccard')} | {f('precision')} | {f('recall')} | {f('accuracy')} | "
              f"{100 * o['mae']['mean']:.2f} | {100 * full['dice']['mean']:.2f} | {full['hd95']['mean']:.1f} | {secs // 60} min (best: it. {s['iteration']}) |")
PY
