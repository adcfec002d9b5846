#!/usr/bin/env bash
# CLCC against supervised on Kvasir-SEG, CPU variants (configs/{supervised,clcc}-kvasir-{10,20}-cpu.toml),
# over training seeds (the split stays the seed-42 draw whose lists are in configs/splits): every
# (labeled share, method, seed) run trains, its best-on-validation checkpoint is scored on the
# test split at the network's 192² (as CLCC's test script, against resized masks, by the
# training run itself) and at the images' own size, and the table gives mean ± sample std (n − 1) over the seeds of the per-run
# means (with one seed: ± the std over test images). Finished runs are skipped, interrupted ones
# resume. Two runs go side by side, one thread each. Then `semiseg compare` pairs the test images
# of the CLCC and supervised runs (mean difference, 95 % CI, Wilcoxon signed-rank p).
#   scripts/kvasir_cpu_table.sh [RUNS_DIR]
#   PCTS="10 20" SEEDS="42 43 44" scripts/kvasir_cpu_table.sh
# Data: .data/kvasir (see .ci/run).
set -euo pipefail
runs=${1:-runs/kvasir-cpu}
pcts=${PCTS:-10 20}
seeds=${SEEDS:-42 43 44}
bin=${CARGO_TARGET_DIR:-target}/release/semiseg
cargo build --release -q -p semiseg-cli
mkdir -p "$runs"
# shellcheck source=scripts/lanes.sh
source scripts/lanes.sh
export RAYON_NUM_THREADS=1

# one training run, timed, then its test scores at both resolutions
train_run() {
  local cfg=$1 seed=$2 out="$runs/$1-$2"
  [ -f "$out/eval/test_best/summary.json" ] || train_or_resume "$out" "$cfg" --set seed="$seed"
  # training scored the test split at the network's size (the configs' eval.resolution); the
  # same checkpoint at each image's own size goes where `eval` says it wrote it
  if [ ! -f "$out/full_size_eval" ]; then
    $bin eval --run "$out" --checkpoint best --split test --resolution original | sed -n 's/^written to //p' > "$out/full_size_eval.tmp"
    mv "$out/full_size_eval.tmp" "$out/full_size_eval"
  fi
}

# every run, the CLCC ones first (they take longest), dealt alternately to two lanes
jobs=()
for m in clcc supervised; do for p in $pcts; do for s in $seeds; do jobs+=("$m-kvasir-$p-cpu $s"); done; done; done
two_lanes train_run "$runs"

python3 - "$runs" "$pcts" "$seeds" <<'PY'
import json, sys, statistics as st
sys.path.insert(0, "scripts")
from run_times import train_seconds
runs, pcts, seeds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()

print(f"training seeds {', '.join(seeds)}; " + ("mean ± sample std over seeds of the per-run test means" if len(seeds) > 1 else "mean ± std over test images"))
print("| labeled | method | Dice % | IoU % | precision % | recall % | accuracy % | MAE % | Dice % (full size) | HD95 px (full size) | training time (best at) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for p in pcts:
    for m in ("supervised", "clcc"):
        dirs = [f"{runs}/{m}-kvasir-{p}-cpu-{s}" for s in seeds]
        net = [json.load(open(f"{d}/eval/test_best/summary.json")) for d in dirs]
        full = [json.load(open(open(f"{d}/full_size_eval").read().strip() + "/summary.json"))["summary"]["overall"] for d in dirs]
        o = [r["summary"]["overall"] for r in net]
        def cell(k, scale=100):
            v = [scale * x[k]["mean"] for x in o]
            spread = st.stdev(v) if len(v) > 1 else scale * o[0][k]["std"]
            return f"{st.mean(v):.2f} ± {spread:.2f}"
        mean = lambda rows, k, scale=1: st.mean(scale * x[k]["mean"] for x in rows)
        minutes = st.mean(train_seconds(d) for d in dirs) / 60
        its = "/".join(str(r["iteration"]) for r in net)
        label = {"10": "10 % (80)", "20": "20 % (160)"}.get(p, f"{p} %")
        print(f"| {label} | {m} | {cell('dice')} | {cell('jaccard')} | {cell('precision')} | {cell('recall')} | {cell('accuracy')} | "
              f"{mean(o, 'mae', 100):.2f} | {mean(full, 'dice', 100):.2f} | {mean(full, 'hd95'):.1f} | {minutes:.0f} min (it. {its}) |")
PY

# the paired comparison, case by case over the test images (each case averaged over the seeds)
for p in $pcts; do
  list() { local out=() s; for s in $seeds; do out+=("$runs/$1-kvasir-$p-cpu-$s"); done; (IFS=,; echo "${out[*]}"); }
  echo "$p % labeled, CLCC (A) against supervised (B):"
  $bin compare "$(list clcc)" "$(list supervised)" --out "$runs/compare-$p.json" | sed -n 2,3p
done
