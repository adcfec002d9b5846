"""A grid of real images (top row) and synthetic ones (the rows below), for docs/results.md.

    python scripts/synth_grid.py REAL_LIST_OR_DIR SYNTH_DIR OUT.png [--n 8] [--size 128]

REAL_LIST_OR_DIR: a folder of images, or a run's splits/train.list with --images DIR.
Needs Pillow.
"""
import argparse
from pathlib import Path

from PIL import Image, ImageDraw

ap = argparse.ArgumentParser()
ap.add_argument("real", help="folder of real images")
ap.add_argument("synth", help="folder of synthetic images")
ap.add_argument("out")
ap.add_argument("--ids", help="only real images whose stem is listed in this file (e.g. a run's splits/train.list)")
ap.add_argument("--n", type=int, default=8, help="images per row")
ap.add_argument("--rows", type=int, default=2, help="rows of synthetic images")
ap.add_argument("--size", type=int, default=128)
a = ap.parse_args()

exts = {".png", ".jpg", ".jpeg"}
real = sorted(p for p in Path(a.real).iterdir() if p.suffix.lower() in exts)
if a.ids:
    keep = set(Path(a.ids).read_text().split())
    real = [p for p in real if p.stem in keep]
step = max(1, len(real) // a.n)
real = real[::step][: a.n]
synth = sorted(p for p in Path(a.synth).iterdir() if p.suffix.lower() == ".png")[: a.n * a.rows]
label_h, gap = 18, 4
s = a.size
grid = Image.new("RGB", (a.n * (s + gap) + gap, (1 + a.rows) * (s + gap) + 2 * label_h + gap), "white")
draw = ImageDraw.Draw(grid)
draw.text((gap, 2), "real BUSI images" + (" (training split)" if a.ids else ""), fill="black")
for i, p in enumerate(real):
    grid.paste(Image.open(p).convert("RGB").resize((s, s), Image.BILINEAR), (gap + i * (s + gap), label_h))
y0 = label_h + s + gap
draw.text((gap, y0 + 2), "synthetic (semiseg synth sample)", fill="black")
for k, p in enumerate(synth):
    r, c = divmod(k, a.n)
    grid.paste(Image.open(p).convert("RGB").resize((s, s)), (gap + c * (s + gap), y0 + label_h + r * (s + gap)))
grid.save(a.out)
print(f"{len(real)} real, {len(synth)} synthetic -> {a.out}")
