"""The whole medpy workflow on files, for bench/metrics_files_ratio.sh.

    python bench/medpy_files.py prepare LA_DIR OUT      # OUT/gt/<id>.nii.gz, OUT/pred/<id>.nii.gz
    python bench/medpy_files.py score OUT [--iters 3]   # prints JSON: median seconds, mean metrics

`prepare` writes every test label of the LA dataset as gzipped NIfTI (uint8) and, beside it, a
prediction made from it by eroding twice (connectivity 1) and shifting by (3, -2, 1) voxels with
zero fill. `score` times what a UA-MT-style test script does per case, in one process as the
field runs it: read both gzipped files with nibabel, then medpy's dc, jc, hd95 and asd in voxel
units. Python start-up and imports are not timed.
"""
import argparse
import json
import time
from pathlib import Path

import nibabel as nib
import numpy as np
from medpy.metric import binary as mb

from medpy_metrics import eroded_shifted  # the same damaged copies as the in-memory bench


def prepare(la, out):
    ids = [l.strip() for l in (la / "test.list").read_text().splitlines() if l.strip()]
    for sub in ("gt", "pred"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for i in ids:
        img = nib.load(la / "labels" / f"{i}.nii")
        gt = np.asarray(img.dataobj) > 0
        for sub, mask in (("gt", gt), ("pred", eroded_shifted(gt))):
            nib.save(nib.Nifti1Image(mask.astype(np.uint8), img.affine), out / sub / f"{i}.nii.gz")
    print(f"{len(ids)} cases written to {out}")


def score(out, iters):
    ids = sorted(p.name[: -len(".nii.gz")] for p in (out / "gt").glob("*.nii.gz"))
    times, rows = [], []
    for _ in range(iters):
        t = time.perf_counter()
        rows = []
        for i in ids:
            p = np.asarray(nib.load(out / "pred" / f"{i}.nii.gz").dataobj) > 0
            g = np.asarray(nib.load(out / "gt" / f"{i}.nii.gz").dataobj) > 0
            rows.append((mb.dc(p, g), mb.jc(p, g), mb.hd95(p, g), mb.asd(p, g)))
        times.append(time.perf_counter() - t)
    times.sort()
    n = len(times)
    median = times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2
    mean = np.mean(np.array(rows), axis=0)
    print(json.dumps({"tool": "medpy", "cases": len(ids), "median_s": median, "times_s": times,
                      "dice": mean[0], "jaccard": mean[1], "hd95": mean[2], "asd": mean[3]}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("la", type=Path)
    p.add_argument("out", type=Path)
    s = sub.add_parser("score")
    s.add_argument("out", type=Path)
    s.add_argument("--iters", type=int, default=3)
    a = ap.parse_args()
    prepare(a.la, a.out) if a.cmd == "prepare" else score(a.out, a.iters)


if __name__ == "__main__":
    main()
