"""How much of the loss the unsupervised term is, from runs' train.jsonl: per run, the mean over
the last half of training of weight x value of each non-supervised term, against the weighted
supervised term.
    python3 scripts/consistency_share.py RUN_DIR [RUN_DIR ...]
"""
import json
import statistics
import sys

for run in sys.argv[1:]:
    rows = [json.loads(l) for l in open(f"{run}/train.jsonl")]
    rows = [r for r in rows if "terms" in r]
    last = rows[len(rows) // 2:]
    terms = [k for k in last[0]["terms"] if not k.endswith("_weight")]
    weighted = {k: statistics.mean(r["terms"][k] * r["terms"][f"{k}_weight"] for r in last) for k in terms}
    sup = weighted.pop("supervised")
    share = ", ".join(f"{k} {v:.5f} ({100 * v / sup:.2f} % of supervised)" for k, v in weighted.items())
    print(f"{run}: iterations {last[0]['iter']}-{last[-1]['iter']}: supervised {sup:.4f}; {share}")
