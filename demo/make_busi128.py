"""Builds demo/busi128: a small real subset of BUSI (Al-Dhabyani et al., Data in Brief 2020,
CC BY 4.0 as reported) for semiseg's built-in default run.

    python demo/make_busi128.py ../shared-unpacked/busi   # the folder unpack.sh made

100 cases drawn with seed 2026 (stratified: 56 benign, 27 malignant, 17 normal; the known
duplicate pair benign_433 / malignant_145 is excluded), resized from 256x256 to 128x128
(images bilinear, masks nearest, masks kept 0/255). Splits: train.list (64; the first ones are
the labeled ones when a config asks for N labeled), val.list (16), test.list (20).
"""
import random
import sys
from pathlib import Path

from PIL import Image

src = Path(sys.argv[1])
out = Path(__file__).resolve().parent / "busi128"
rng = random.Random(2026)
ids = sorted(p.stem for p in (src / "images").glob("*.png"))
ids = [i for i in ids if i not in ("benign_433", "malignant_145")]
picked = []
for cls, n in (("benign", 56), ("malignant", 27), ("normal", 17)):
    pool = [i for i in ids if i.startswith(cls)]
    picked += rng.sample(pool, n)
rng.shuffle(picked)
(out / "images").mkdir(parents=True, exist_ok=True)
(out / "masks").mkdir(parents=True, exist_ok=True)
for i in picked:
    Image.open(src / "images" / f"{i}.png").resize((128, 128), Image.BILINEAR).save(out / "images" / f"{i}.png", optimize=True)
    Image.open(src / "masks" / f"{i}.png").resize((128, 128), Image.NEAREST).save(out / "masks" / f"{i}.png", optimize=True)
for name, part in (("train", picked[:64]), ("val", picked[64:80]), ("test", picked[80:])):
    (out / f"{name}.list").write_text("".join(f"{i}\n" for i in part))
print(f"wrote {len(picked)} cases to {out}")
