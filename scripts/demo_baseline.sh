#!/usr/bin/env bash
# Records the supervised-only figure that the built-in demo (`semiseg train` without a config)
# prints beside its own: the demo config with method.name = "supervised" (same data, labeled
# patients, iterations, optimizer and seed; the unlabeled images unused), on all cores as the
# demo runs. Writes demo/supervised_baseline.json, which the binary embeds.
#   scripts/demo_baseline.sh
set -euo pipefail
bin=${CARGO_TARGET_DIR:-target}/release/semiseg
cargo build --release -q -p semiseg-cli
run=$(mktemp -d)/run
start=$(date +%s)
$bin train --set 'method.name="supervised"' --out "$run"
seconds=$(( $(date +%s) - start ))
# written beside, then renamed: a failed summary never leaves the embedded file empty
python3 - "$run" "$seconds" > demo/supervised_baseline.json.tmp <<'PY'
import json, sys
run, seconds = sys.argv[1], int(sys.argv[2])
def test(ck):
    s = json.load(open(f"{run}/eval/test_{ck}/summary.json"))
    return {"iteration": s["iteration"], "dice": round(s["summary"]["overall"]["dice"]["mean"], 4)}
cfg = open(f"{run}/config.toml").read()
iterations = next(int(l.split("=")[1]) for l in cfg.splitlines() if l.startswith("iterations"))
print(json.dumps({"method": "supervised", "iterations": iterations, "wall_seconds": seconds,
                  "test_last": test("last"), "test_best": test("best"),
                  "made_by": "scripts/demo_baseline.sh"}, indent=2))
PY
mv demo/supervised_baseline.json.tmp demo/supervised_baseline.json
cat demo/supervised_baseline.json
