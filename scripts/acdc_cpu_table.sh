#!/usr/bin/env bash
# SSL4MIS baselines on ACDC, CPU variants (configs/acdc-{3,7}-<method>-cpu.toml), over seeds:
# every (labeled, method, seed) run trains, then the table gives the test metrics of the last and
# of the best-on-validation checkpoint as mean ± sample std (n − 1) over the seeds, with the
# mean training time (median iteration time × iterations, from train.jsonl). Finished runs are skipped, interrupted ones resume. Two runs go side by side,
# one thread each (at 128² a second thread gains little; see docs/speed.md).
#   scripts/acdc_cpu_table.sh [RUNS_DIR]
#   LABELED="3 7" METHODS="supervised mean_teacher ua_mt cct cps" SEEDS="1337 1338 1339" scripts/acdc_cpu_table.sh
# Extra settings for every run (ablations): SET="method.consistency=1.0" (space-separated).
# A shorter budget: ITERATIONS=500 scales the CPU configs' schedule with it (ramp-up over the
# whole run as in SSL4MIS, mean teacher's consistency start, validation 5 times per run).
# Data: .data/acdc (see .ci/run).
set -euo pipefail
runs=${1:-runs/acdc-cpu}
labeled=${LABELED:-7}
methods=${METHODS:-supervised mean_teacher ua_mt cct cps}
seeds=${SEEDS:-1337}
extra=()
for s in ${SET:-}; do extra+=(--set "$s"); done
iterations=${ITERATIONS:-}
bin=${CARGO_TARGET_DIR:-target}/release/semiseg
cargo build --release -q -p semiseg-cli
mkdir -p "$runs"
# shellcheck source=scripts/lanes.sh
source scripts/lanes.sh
export RAYON_NUM_THREADS=1

# --set options that shorten a CPU config (1,500 iterations) to $iterations, schedule scaled
budget_settings() {
  [ -z "$iterations" ] && return 0
  local start
  start=$(sed -n 's/^consistency_start = \([0-9]*\).*/\1/p' "configs/$1.toml")
  echo "--set train.iterations=$iterations --set train.val_every=$((iterations / 5))"
  echo "--set method.rampup=$(python3 -c "print(round($iterations / 150, 4))")"
  echo "--set method.consistency_start=$((${start:-0} * iterations / 1500))"
}

# one training run; finished runs are skipped, interrupted ones resume
train_run() {
  local cfg=$1 seed=$2 out="$runs/$1-$2"
  [ -f "$out/eval/test_last/summary.json" ] && return 0
  # shellcheck disable=SC2046
  train_or_resume "$out" "$cfg" --set seed="$seed" "${extra[@]}" $(budget_settings "$cfg")
}

# every run, dealt alternately to two lanes
jobs=()
for n in $labeled; do for m in $methods; do for s in $seeds; do jobs+=("acdc-$n-$m-cpu $s"); done; done; done
two_lanes train_run "$runs"

python3 - "$runs" "$labeled" "$methods" "$seeds" <<'PY'
import json, sys, statistics as st
sys.path.insert(0, "scripts")
from run_times import train_seconds
runs, labeled, methods, seeds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4].split()

def f(v):
    return f"{st.mean(v):.2f} ± {st.stdev(v):.2f}" if len(v) > 1 else f"{v[0]:.2f}"
print(f"seeds {', '.join(seeds)}; mean ± sample std over seeds of the per-run means over the test volumes")
print("| labeled | method | checkpoint | Dice % | Jaccard % | HD95 (px) | ASD (px) | training time |")
print("|---|---|---|---|---|---|---|---|")
for n in labeled:
    for m in methods:
        dirs = [f"{runs}/acdc-{n}-{m}-cpu-{s}" for s in seeds]
        minutes = st.mean(train_seconds(d) for d in dirs) / 60
        for ck in ("last", "best"):
            rows = [json.load(open(f"{d}/eval/test_{ck}/summary.json")) for d in dirs]
            o = [r["summary"]["overall"] for r in rows]
            its = "/".join(str(r["iteration"]) for r in rows)
            cells = [f([100 * x[k]["mean"] for x in o]) for k in ("dice", "jaccard")] + [f([x[k]["mean"] for x in o]) for k in ("hd95", "asd")]
            print(f"| {n} patients | {m} | {ck} (it. {its}) | " + " | ".join(cells) + f" | {minutes:.1f} min |")
PY

# each semi-supervised method against supervised, test volume by test volume (Dice averaged
# over the classes and the seeds), for both checkpoints
for n in $labeled; do
  [[ " $methods " == *" supervised "* ]] || break
  sup=$(for s in $seeds; do printf '%s,' "$runs/acdc-$n-supervised-cpu-$s"; done)
  for m in $methods; do
    [ "$m" = supervised ] && continue
    ssl=$(for s in $seeds; do printf '%s,' "$runs/acdc-$n-$m-cpu-$s"; done)
    for ck in last best; do
      echo "== $n patients, $m − supervised, test_$ck"
      $bin compare "$ssl" "$sup" --eval "test_$ck" --out "$runs/compare-$n-$m-$ck.json" | grep -v '^written'
    done
  done
done
