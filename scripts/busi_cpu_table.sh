#!/usr/bin/env bash
# MGCC on BUSI, CPU variants, over the three folds of the paper (split seeds 41, 64, 1337):
# per fold, latent diffusion on that fold's training images (configs/synth-busi-cpu.toml) and
# as many synthetic images as training images, then supervised, MGCC (real unlabeled) and
# MGCC (real + synthetic unlabeled). Finished steps are skipped, interrupted ones resume.
# Prints mean ± std over the folds of the test metrics (best-on-validation checkpoint, 128²).
#   scripts/busi_cpu_table.sh [RUNS_DIR]     (the data at .data/busi, see .ci/run)
set -euo pipefail
runs=${1:-runs/busi-cpu}
bin=./target/release/semiseg
cargo build --release -q -p semiseg-cli
mkdir -p "$runs"
for seed in 41 64 1337; do
  synth="$runs/synth-$seed"
  # a finished stage is skipped, an interrupted one continues
  if [ -f "$synth/synth.toml" ]; then
    $bin synth train --resume --out "$synth"
  else
    $bin synth train --config configs/synth-busi-cpu.toml --out "$synth" --set data.split_seed=$seed --set seed=$seed
  fi
  $bin synth sample --run "$synth" --n 468 --out "$synth/samples"
  for cfg in supervised-busi-cpu mgcc-busi-cpu mgcc-synth-busi-cpu; do
    out="$runs/$cfg-$seed"
    [ -f "$out/eval/test_best/summary.json" ] && continue
    start=$(date +%s)
    extra=()
    [ "$cfg" = mgcc-synth-busi-cpu ] && extra=(--set "data.unlabeled_dirs=[\"$synth/samples\"]")
    if [ -f "$out/checkpoints/last.ckpt" ]; then
      $bin train --resume "$out"
    else
      $bin train --config "configs/$cfg.toml" --out "$out" --set data.split_seed=$seed --set seed=$seed "${extra[@]}"
    fi
    echo $(( $(date +%s) - start )) > "$out/wall_seconds"
  done
done
python3 - "$runs" <<'PY'
import json, sys, statistics as st
runs = sys.argv[1]
print("| method | IoU | Dice (= F1) | SE (recall) | PC (precision) | ACC | run time per fold |")
print("|---|---|---|---|---|---|---|")
for cfg, label in [("supervised-busi-cpu", "supervised"), ("mgcc-busi-cpu", "MGCC, real unlabeled"), ("mgcc-synth-busi-cpu", "MGCC, real + synthetic")]:
    vals, secs = {}, []
    for seed in (41, 64, 1337):
        d = f"{runs}/{cfg}-{seed}"
        o = json.load(open(f"{d}/eval/test_best/summary.json"))["summary"]["overall"]
        for k in ("jaccard", "dice", "recall", "precision", "accuracy"):
            vals.setdefault(k, []).append(100 * o[k]["mean"])
        secs.append(int(open(f"{d}/wall_seconds").read()))
    f = lambda k: f"{st.mean(vals[k]):.2f} ± {st.pstdev(vals[k]):.2f}"
    print(f"| {label} | {f('jaccard')} | {f('dice')} | {f('recall')} | {f('precision')} | {f('accuracy')} | {st.mean(secs) / 60:.0f} min |")
PY
