#!/usr/bin/env bash
# LA-8 on this machine: supervised V-Net, MC-Net+, CAML and FBA-Net+ (configs/la-8-<method>-cpu.toml:
# 8 labeled + 24 unlabeled shipped training volumes, 4 held out for validation, 140 iterations
# at 64x64x48), one run after the other with both threads, then the table of the 20 test volumes
# (Dice, Jaccard, HD95 and ASD in voxels, medpy convention) for the last and the
# best-on-validation checkpoints, each run's wall time, and the paper protocol's time here
# extrapolated from the run (per-iteration time x voxels of 112x112x80 / 64x64x48 x 15,000).
# Then each method against supervised, volume by volume (semiseg compare).
# Finished runs are skipped, interrupted ones resume (a run stopped by SIGTERM or Ctrl-C still
# records the wall time it spent).
#   scripts/la_cpu_table.sh [RUNS_DIR]
#   METHODS="supervised mcnet caml fbanet" SEED=1337 scripts/la_cpu_table.sh
# Data: .data/la (see .ci/run).
set -euo pipefail
runs=${1:-runs/la-cpu}
methods=${METHODS:-supervised fbanet caml mcnet}
seed=${SEED:-1337}
bin=${CARGO_TARGET_DIR:-target}/release/semiseg
cargo build --release -q -p semiseg-cli
mkdir -p "$runs"
# shellcheck source=scripts/lanes.sh
source scripts/lanes.sh
export RAYON_NUM_THREADS=2

for m in $methods; do
  out="$runs/la-8-$m-cpu-$seed"
  [ -f "$out/eval/test_last/summary.json" ] && continue
  start=$(date +%s)
  # wall time of the whole run (training, validation, both test evaluations), summed over resumes
  trap 'echo $(( $(date +%s) - start )) >> "$out/wall_seconds"; exit 143' TERM INT
  train_or_resume "$out" "la-8-$m-cpu" --set seed="$seed"
  trap - TERM INT
  echo $(( $(date +%s) - start )) >> "$out/wall_seconds"
done

python3 - "$runs" "$methods" "$seed" <<'PY'
import json, sys
sys.path.insert(0, "scripts")
from run_times import train_seconds
runs, methods, seed = sys.argv[1], sys.argv[2].split(), sys.argv[3]
names = {"supervised": "V-Net (supervised)", "mcnet": "MC-Net+", "caml": "CAML", "fbanet": "FBA-Net+"}
scale = (112 * 112 * 80) / (64 * 64 * 48) * 15000
print(f"seed {seed}; 20 test volumes, medpy convention, distances in voxels; wall time summed over resumed sessions")
print("| method | checkpoint | Dice % | Jaccard % | HD95 | ASD | precision % | recall % | wall time | s / iteration (median) | paper protocol here (est.) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for m in methods:
    d = f"{runs}/la-8-{m}-cpu-{seed}"
    wall = sum(int(l) for l in open(f"{d}/wall_seconds")) / 60
    per_iter = train_seconds(d) / max(json.loads(l)["iter"] for l in open(f"{d}/train.jsonl") if '"seconds"' in l)
    for ck in ("last", "best"):
        r = json.load(open(f"{d}/eval/test_{ck}/summary.json"))
        o = r["summary"]["overall"]
        print(f"| {names.get(m, m)} | {ck} (it. {r['iteration']}) | {100 * o['dice']['mean']:.2f} | {100 * o['jaccard']['mean']:.2f} | "
              f"{o['hd95']['mean']:.2f} | {o['asd']['mean']:.2f} | {100 * o['precision']['mean']:.1f} | {100 * o['recall']['mean']:.1f} | "
              f"{wall:.0f} min | {per_iter:.1f} | {per_iter * scale / 3600:.0f} h |")

# the loss terms of each run: mean over the first quarter, range over the last quarter
print()
for m in methods:
    steps = [json.loads(l) for l in open(f"{runs}/la-8-{m}-cpu-{seed}/train.jsonl") if '"seconds"' in l]
    q = max(1, len(steps) // 4)
    names_ = [k for k in steps[0]["terms"] if not k.endswith("_weight")]
    cells = []
    for k in names_:
        first = sum(s["terms"][k] for s in steps[:q]) / q
        last = [s["terms"][k] for s in steps[-q:]]
        cells.append(f"{k} {first:.3f} -> {min(last):.3f}..{max(last):.3f}")
    print(f"{names.get(m, m)} loss terms (mean of iterations 1-{q} -> range of the last {q}): " + "; ".join(cells))
    vals = [json.loads(l) for l in open(f"{runs}/la-8-{m}-cpu-{seed}/train.jsonl") if '"val_metric"' in l]
    print(f"{names.get(m, m)} validation: " + ", ".join(f"it. {v['iter']} {v['val_' + v['val_metric']]:.3f}" for v in vals))
PY

# each semi-supervised method against supervised, test volume by test volume, for both
# checkpoints (semiseg compare: mean Dice difference, 95 % CI, Wilcoxon p)
if [[ " $methods " == *" supervised "* ]]; then
  for m in $methods; do
    [ "$m" = supervised ] && continue
    for ck in last best; do
      echo "== $m − supervised, test_$ck"
      "$bin" compare "$runs/la-8-$m-cpu-$seed" "$runs/la-8-supervised-cpu-$seed" --eval "test_$ck" --out "$runs/compare-$m-$ck.json" | grep -v '^written'
    done
  done
fi
