#!/usr/bin/env bash
# MGCC on BUSI, CPU variants, over the three folds of the paper (split seeds 41, 64, 1337):
# per fold, latent diffusion on that fold's training images (configs/synth-busi-cpu.toml) and
# as many synthetic images as training images, then supervised, MGCC (real unlabeled) and
# MGCC (real + synthetic unlabeled). Finished steps are skipped, interrupted ones resume.
# Prints mean ± sample std (n − 1) over the folds of the test metrics (checkpoint of best
# validation IoU, 64²), in the CMU-Net / MGCC formulas (convention `smoothed`, methods.md §1.5)
# and medpy's Dice, and the class mix of each fold's labeled images.
#   scripts/busi_cpu_table.sh [RUNS_DIR]     (the data at .data/busi, see .ci/run)
# At 64² a training step gains nothing from a second thread, so two single-threaded lanes run
# side by side: one does the diffusion models and the MGCC runs on their samples, the other the
# supervised and real-unlabeled MGCC runs. Each lane logs to RUNS_DIR/lane-{a,b}.log.
set -euo pipefail
runs=${1:-runs/busi-cpu}
bin=${CARGO_TARGET_DIR:-target}/release/semiseg
seeds=(41 64 1337)
cargo build --release -q -p semiseg-cli
mkdir -p "$runs"
# shellcheck source=scripts/lanes.sh
source scripts/lanes.sh
export RAYON_NUM_THREADS=1

# latent diffusion on one fold's training images, then 468 samples (a finished stage is skipped,
# an interrupted one continues)
synth_fold() {
  local seed=$1 synth="$runs/synth-$seed"
  if [ -f "$synth/synth.toml" ]; then
    $bin synth train --resume --out "$synth"
  else
    $bin synth train --config configs/synth-busi-cpu.toml --out "$synth" --set data.split_seed="$seed" --set seed="$seed"
  fi
  $bin synth sample --run "$synth" --n 468 --out "$synth/samples"
}

# one training run of config $1 on fold $2 (extra --set arguments after)
train_fold() {
  local cfg=$1 seed=$2 out="$runs/$1-$2"
  shift 2
  [ -f "$out/eval/test_best/summary.json" ] && return 0
  train_or_resume "$out" "$cfg" --set data.split_seed="$seed" --set seed="$seed" "$@"
}

# the same checkpoint scored with medpy's formulas (eval/test_best_network_medpy)
rescore() {
  [ -f "$1/eval/test_best_network_medpy/summary.json" ] || $bin eval --run "$1" --checkpoint best --convention medpy
}

lane_a() {
  for seed in "${seeds[@]}"; do synth_fold "$seed"; done
  for seed in "${seeds[@]}"; do
    train_fold mgcc-synth-busi-cpu "$seed" --set "data.unlabeled_dirs=[\"$runs/synth-$seed/samples\"]"
    rescore "$runs/mgcc-synth-busi-cpu-$seed"
  done
}

lane_b() {
  for cfg in supervised-busi-cpu mgcc-busi-cpu; do
    for seed in "${seeds[@]}"; do
      train_fold "$cfg" "$seed"
      rescore "$runs/$cfg-$seed"
    done
  done
}

lane_a > "$runs/lane-a.log" 2>&1 &
a=$!
lane_b > "$runs/lane-b.log" 2>&1 &
b=$!
status=0
wait $a || { echo "lane a failed, see $runs/lane-a.log" >&2; status=1; }
wait $b || { echo "lane b failed, see $runs/lane-b.log" >&2; status=1; }
[ $status = 0 ] || exit 1

python3 - "$runs" <<'PY'
import json, sys, statistics as st
sys.path.insert(0, "scripts")
from run_times import train_seconds
runs = sys.argv[1]

print("| method | IoU | Dice | SE (recall) | PC (precision) | ACC | Dice, medpy | training time per fold |")
print("|---|---|---|---|---|---|---|---|")
for cfg, label in [("supervised-busi-cpu", "supervised"), ("mgcc-busi-cpu", "MGCC, real unlabeled"), ("mgcc-synth-busi-cpu", "MGCC, real + synthetic")]:
    vals, secs = {}, []
    for seed in (41, 64, 1337):
        d = f"{runs}/{cfg}-{seed}"
        o = json.load(open(f"{d}/eval/test_best/summary.json"))["summary"]["overall"]
        for k in ("jaccard", "dice", "recall", "precision", "accuracy"):
            vals.setdefault(k, []).append(100 * o[k]["mean"])
        medpy = json.load(open(f"{d}/eval/test_best_network_medpy/summary.json"))["summary"]["overall"]
        vals.setdefault("medpy", []).append(100 * medpy["dice"]["mean"])
        secs.append(train_seconds(d))
    f = lambda k: f"{st.mean(vals[k]):.2f} ± {st.stdev(vals[k]):.2f}"
    print(f"| {label} | {f('jaccard')} | {f('dice')} | {f('recall')} | {f('precision')} | {f('accuracy')} | {f('medpy')} | {st.mean(secs) / 60:.0f} min |")
print()
print("per fold (41 / 64 / 1337): Dice % and the iteration of the chosen checkpoint")
for cfg in ("supervised-busi-cpu", "mgcc-busi-cpu", "mgcc-synth-busi-cpu"):
    cells = []
    for seed in (41, 64, 1337):
        r = json.load(open(f"{runs}/{cfg}-{seed}/eval/test_best/summary.json"))
        cells.append(f"{100 * r['summary']['overall']['dice']['mean']:.2f} ({r['iteration']})")
    print(f"  {cfg}: " + " / ".join(cells))
print()
print("labeled images per class (runs/<config>-<seed>/splits/labeled.txt):")
for seed in (41, 64, 1337):
    ids = open(f"{runs}/supervised-busi-cpu-{seed}/splits/labeled.txt").read().split()
    mix = {c: sum(i.startswith(c) for i in ids) for c in ("benign", "malignant", "normal")}
    print(f"  fold {seed}: " + ", ".join(f"{n} {c}" for c, n in mix.items()))
PY
