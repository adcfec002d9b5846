"""medpy side of `semiseg bench --model metrics`: HD95 + ASD of every test label of a dataset
against a copy eroded twice (connectivity 1) and shifted by (3, -2, 1) voxels with zero fill,
exactly as crates/semiseg-cli/src/cmd/bench.rs builds it. Prints the median time of the whole
set and the mean HD95/ASD, which must equal semiseg's.

    python bench/medpy_metrics.py .data/la [--iters 3] [--json]

Needs numpy, scipy, medpy, nibabel. Like the UA-MT test code, medpy runs case by case in one
process (one core); this is how the field computes these metrics.
"""
import argparse
import json
import time
from pathlib import Path

import nibabel as nib
import numpy as np
from medpy.metric import binary as mb
from scipy import ndimage


def eroded_shifted(gt):
    st = ndimage.generate_binary_structure(gt.ndim, 1)
    e = ndimage.binary_erosion(ndimage.binary_erosion(gt, st), st)
    out = np.zeros_like(e)
    shift = (3, -2, 1)[: gt.ndim]
    src = tuple(slice(max(0, -s), n - max(0, s)) for s, n in zip(shift, gt.shape))
    dst = tuple(slice(max(0, s), n - max(0, -s)) for s, n in zip(shift, gt.shape))
    out[dst] = e[src]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    root = Path(a.data)
    ids = [l.strip() for l in (root / "test.list").read_text().splitlines() if l.strip()]
    cases = []
    for i in ids:
        gt = np.asarray(nib.load(root / "labels" / f"{i}.nii").dataobj) > 0
        cases.append((eroded_shifted(gt), gt))
    times, values = [], None
    for _ in range(a.iters):
        t = time.perf_counter()
        values = [(mb.hd95(p, g), mb.asd(p, g)) for p, g in cases]
        times.append(time.perf_counter() - t)
    times.sort()
    res = {"tool": "medpy", "cases": len(cases), "median_s": (times[len(times) // 2] if len(times) % 2 else (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2), "min_s": times[0],
           "mean_hd95": float(np.mean([v[0] for v in values])), "mean_asd": float(np.mean([v[1] for v in values]))}
    print(json.dumps(res) if a.json else "\n".join(f"{k}: {v}" for k, v in res.items()))


if __name__ == "__main__":
    main()
