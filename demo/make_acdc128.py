"""Builds demo/acdc128: a small real subset of ACDC (Bernard et al., IEEE TMI 2018; the SSL4MIS
release of the frames, see ../shared/data/README.md) for semiseg's built-in default run.

    python demo/make_acdc128.py ../shared-unpacked/acdc   # the folder unpack.sh made

Patients drawn with seed 2026 from each SSL4MIS list (train 12, val 3, test 5; both frames of each
patient), every slice resized from its own size to 128x128 (images bilinear, labels nearest) and
stored as gzipped NIfTI: images uint8 with scl_slope 1/255 (values in [0, 1] as SSL4MIS's),
labels uint8 0..3 (RV, myocardium, LV). train.list keeps the patients in their drawn order, so a
config asking for N labeled patients takes the first N drawn ones.
Needs numpy, scipy, nibabel.
"""
import random
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy.ndimage import zoom

src = Path(sys.argv[1])
out = Path(__file__).resolve().parent / "acdc128"
rng = random.Random(2026)


def patients(split):
    frames = (src / f"{split}.list").read_text().split()
    return sorted({f.split("_")[0] for f in frames}), frames


def resize(volume, order):
    h, w, _ = volume.shape
    return zoom(volume, (128 / h, 128 / w, 1), order=order)


def save(array, path, slope):
    img = nib.Nifti1Image(array, np.eye(4))
    img.header.set_data_dtype(np.uint8)
    img.header.set_slope_inter(slope, 0.0)
    nib.save(img, path)


(out / "images").mkdir(parents=True, exist_ok=True)
(out / "labels").mkdir(parents=True, exist_ok=True)
for split, n in (("train", 12), ("val", 3), ("test", 5)):
    ids, frames = patients(split)
    picked = rng.sample(ids, n)
    chosen = [f for p in picked for f in sorted(f for f in frames if f.startswith(p + "_"))]
    for f in chosen:
        image = nib.load(src / "images" / f"{f}.nii").get_fdata()
        label = np.asarray(nib.load(src / "labels" / f"{f}.nii").dataobj)
        image = np.clip(np.rint(np.clip(resize(image, 1), 0, 1) * 255), 0, 255).astype(np.uint8)
        save(image, out / "images" / f"{f}.nii.gz", 1 / 255)
        save(resize(label, 0).astype(np.uint8), out / "labels" / f"{f}.nii.gz", 1.0)
    (out / f"{split}.list").write_text("".join(f"{f}\n" for f in chosen))
    print(f"{split}: {len(picked)} patients, {len(chosen)} frames")
