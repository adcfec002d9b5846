#!/usr/bin/env bash
# The search for a built-in demo (`semiseg train` without a config) where semi-supervision beats
# supervised training on the same labeled patients, budget and augmentation, over several seeds.
# Each candidate is the demo config (configs/demo.toml) plus overrides; its semi-supervised
# method and supervised training (the same overrides, method.name = "supervised") each train
# with `semiseg train --seeds` (two runs at a time, one thread each), then `semiseg compare`
# pairs them over the test volumes (best-on-validation and last checkpoints). Supervised runs
# are shared by candidates of one group (same labeled set and budget). Finished seeds are
# skipped, so the script resumes. Prints one row per candidate and writes OUT/table.tsv.
#   scripts/demo_search.sh [OUT] [CANDIDATE ...]     (default OUT: runs/demo-search, all candidates)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/demo-search}
shift || true
seeds=${SEEDS:-1,2,3}
bin=${CARGO_TARGET_DIR:-target}/release/semiseg
cargo build --release -q -p semiseg-cli

# name | supervised group | overrides of both sides | overrides of the semi-supervised side only
# [| base config, when not the built-in demo]
candidates=(
  "mt-l2-c1|l2|data.labeled=2|method.name=\"mean_teacher\" method.consistency=1.0"
  "mt-l2-c1-r5|l2|data.labeled=2|method.name=\"mean_teacher\" method.consistency=1.0 method.rampup=5"
  "mt-l6|l6||method.name=\"mean_teacher\""
  "cct-l2-c1|l2|data.labeled=2|method.name=\"cct\" method.consistency=1.0"
  # not run to the end: at 1.8 s per iteration on one thread (its two UNets), CPS needs about
  # three times the demo's five minutes for 750 iterations
  # "cps-l2-c1|l2|data.labeled=2|method.name=\"cps\" method.consistency=1.0"
  # MGCC, the one method that beat supervised on this machine (BUSI, 600 iterations, three
  # folds, docs/results.md), cut towards the demo's five minutes: half its CPU width, 400
  # iterations, the ramp-up scaled to them; on the shared BUSI data (.data/busi) first, to be
  # embedded as a 64² subset if it wins
  "mgcc-busi-w05-400|busi-w05-400|model.width=0.5 train.iterations=400 train.val_every=50|method.name=\"mgcc\" method.rampup=3|configs/mgcc-busi-cpu.toml"
)

wanted() { [ $# -eq 1 ] && return 0; local n; for n in "${@:2}"; do [ "$n" = "$1" ] && return 0; done; return 1; }

# `--set` arguments from a space-separated list of key=value
sets() { local kv; for kv in $1; do printf -- '--set\n%s\n' "$kv"; done; }

mkdir -p "$out"
printf 'candidate\tcheckpoint\tssl_mean\tssl_std\tsupervised_mean\tsupervised_std\tdifference\tp\tcases\tssl_train_s\tsupervised_train_s\n' > "$out/table.tsv"
for entry in "${candidates[@]}"; do
  IFS='|' read -r name group common ssl base <<< "$entry"
  wanted "$name" "$@" || continue
  mapfile -t common_sets < <(sets "$common")
  mapfile -t ssl_sets < <(sets "$ssl")
  config=()
  [ -n "${base:-}" ] && config=(--config "$base")
  echo "== $name: ${base:-the demo} ${common:-as shipped}; $ssl" >&2
  $bin train "${config[@]}" --seeds "$seeds" --out "$out/supervised-$group" "${common_sets[@]}" --set 'method.name="supervised"' >&2
  $bin train "${config[@]}" --seeds "$seeds" --out "$out/$name" "${common_sets[@]}" "${ssl_sets[@]}" >&2
  for checkpoint in best last; do
    $bin compare "$out/$name" "$out/supervised-$group" --eval "test_$checkpoint" --out "$out/$name/compare_$checkpoint.json" > /dev/null
  done
done

python3 - "$out" "$seeds" >> "$out/table.tsv" <<'PY'
import glob, json, os, statistics, sys
sys.path.insert(0, "scripts")
from run_times import train_seconds
out, seeds = sys.argv[1], sys.argv[2].split(",")
def seconds(folder):
    return statistics.median(train_seconds(f"{folder}/seed-{s}") for s in seeds)
for path in sorted(glob.glob(f"{out}/*/compare_*.json")):
    c = json.load(open(path))
    name, checkpoint = os.path.basename(os.path.dirname(path)), path.rsplit("_", 1)[1][:-5]
    runs = lambda d: json.load(open(f"{d}/seeds.json"))[checkpoint]["dice"]
    a, b = runs(c["runs_a"][0].rsplit("/seed-", 1)[0]), runs(c["runs_b"][0].rsplit("/seed-", 1)[0])
    cmp = c["comparison"]
    print("\t".join(str(x) for x in [name, checkpoint, round(a["mean"], 4), round(a["std"], 4), round(b["mean"], 4), round(b["std"], 4),
                                      round(cmp["mean_difference"], 4), round(cmp["p_value"], 4), cmp["n"],
                                      round(seconds(os.path.dirname(path))), round(seconds(c["runs_b"][0].rsplit("/seed-", 1)[0]))]))
PY
column -t -s $'\t' "$out/table.tsv"
