#!/usr/bin/env bash
# Records the comparison that the built-in demo (`semiseg train` without a config) prints at its
# end: the demo config as shipped (configs/demo.toml) and the same config with
# method.name = "supervised" (same data, labeled patients, iterations, optimizer and
# augmentation; the unlabeled images unused), each over seeds 1,2,3 (`semiseg train --seeds`, two
# runs at a time, one thread each), then `semiseg compare` over the test volumes for the
# best-on-validation and the last checkpoints. Also times one demo run as a user runs it (all
# cores, nothing else running). Writes demo/seeds_comparison.json, which the binary embeds and
# prints at the end of the demo (with the date and this script's name). SEMISEG_BIN runs a given
# binary instead of building; NO_TIMING=1 skips the timed run (wall_seconds is then null).
#   scripts/demo_record.sh [OUT]     (default OUT: runs/demo-record; finished seeds are kept)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/demo-record}
seeds=1,2,3
bin=${CARGO_TARGET_DIR:-target}/release/semiseg
[ -n "${SEMISEG_BIN:-}" ] && bin=$SEMISEG_BIN || cargo build --release -q -p semiseg-cli
mkdir -p "$out"
$bin train --seeds $seeds --out "$out/demo"
$bin train --seeds $seeds --out "$out/supervised" --set 'method.name="supervised"'
for checkpoint in best last; do
  $bin compare "$out/demo" "$out/supervised" --eval "test_$checkpoint" --out "$out/compare_$checkpoint.json" > /dev/null
done
if [ ! -f "$out/wall_seconds" ] && [ -z "${NO_TIMING:-}" ]; then
  rm -rf "$out/timed"
  start=$(date +%s)
  $bin train --out "$out/timed" > /dev/null
  echo $(( $(date +%s) - start )) > "$out/wall_seconds"
fi
# written beside, then renamed: a failed summary never leaves the embedded file empty
python3 - "$out" "$seeds" > demo/seeds_comparison.json.tmp <<'PY'
import datetime, json, os, sys
out, seeds = sys.argv[1], [int(s) for s in sys.argv[2].split(",")]
cfg = open(f"{out}/demo/seed-{seeds[0]}/config.toml").read()
method = next(l.split("=")[1].strip().strip('"') for l in cfg.split("[method]")[1].splitlines() if l.startswith("name"))
wall = f"{out}/wall_seconds"
record = {"method": method, "seeds": seeds, "metric": "dice", "wall_seconds": int(open(wall).read()) if os.path.exists(wall) else None,
          "date": datetime.date.today().isoformat(), "made_by": "scripts/demo_record.sh"}
for checkpoint in ["best", "last"]:
    c = json.load(open(f"{out}/compare_{checkpoint}.json"))
    side = lambda name: {k: round(v, 4) if k != "runs" else [round(x, 4) for x in v]
                         for k, v in json.load(open(f"{out}/{name}/seeds.json"))[checkpoint]["dice"].items()}
    cmp = c["comparison"]
    record[checkpoint] = {"semi_supervised": side("demo"), "supervised": side("supervised"),
                          "difference": round(cmp["mean_difference"], 4), "ci95": [round(x, 4) for x in cmp["ci95"]],
                          "p": cmp["p_value"], "cases": cmp["n"]}
print(json.dumps(record, indent=2))
PY
mv demo/seeds_comparison.json.tmp demo/seeds_comparison.json
cat demo/seeds_comparison.json
