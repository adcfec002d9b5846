"""`semiseg export` against PyTorch itself: each reference-layout state dict of
crates/semiseg-nn/tests/fixtures/pth is imported (`semiseg import`), exported again
(`semiseg export`, .pth and .safetensors), loaded by PyTorch with `weights_only=True` into the
restated reference network with `load_state_dict(strict=True)`, and run in eval mode on the
fixture input; the outputs must equal the fixture's (which semiseg's own forward pass matches
within 1e-4, crates/semiseg-nn/tests/pth_import.rs). 3-D: CAML, FBA-Net+, FBA-Net, MC-Net+,
UA-MT's V-Net (gen.py); 2-D: SSL4MIS's UNet and UNet_CCT, MGCC (gen_2d.py), and CLCC's
ProjUnet2D at its feature scale 4, written here by PyTorch (no fixture: 14 MB).

    python scripts/check_export.py [SEMISEG_BIN]     (needs torch, numpy, safetensors; run from the repo)
"""
import os
import runpy
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "crates/semiseg-nn/tests/fixtures/pth")
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/semiseg")

CONFIG = """name = "export-check"
[data]
root = "."
patch = [16, 16, 16]
augment = "rot_flip_crop"
[model]
name = "{model}"
classes = 2
filters = 2
up_types = {up}
feature_dim = 8
contrast_dim = 8
[method]
name = "{method}"
"""
CONFIG_2D = """name = "export-check"
[data]
root = "."
channels = {channels}
patch = [64, 64]
[model]
name = "{model}"
{model_lines}
[method]
name = "{method}"
"""

work = tempfile.mkdtemp()
# the reference networks as gen.py restates them (it writes its fixtures into `work`, not the repo)
os.chdir(work)
ref = runpy.run_path(os.path.join(FIXTURES, "gen.py"))
ref2d = runpy.run_path(os.path.join(FIXTURES, "gen_2d.py"))  # classes only: its files are written under __main__
x = torch.from_numpy(np.load(os.path.join(FIXTURES, "x.npy")))
x2d = torch.from_numpy(np.load(os.path.join(FIXTURES, "x2d.npy")))
x2d_rgb = torch.from_numpy(np.load(os.path.join(FIXTURES, "x2d_rgb.npy")))

# CLCC's ProjUnet2D at feature scale 4, written by PyTorch here, and its output on a 64² input
clcc = ref2d["ProjUnet2D"](4)
ref2d["randomize_norms"](clcc)
clcc.eval()
torch.save(clcc.state_dict(), os.path.join(work, "clcc.pth"))
x_clcc = torch.randn(2, 3, 64, 64)
with torch.no_grad():
    np.save(os.path.join(work, "clcc_eval.npy"), clcc(x_clcc).numpy())

cases = [
    # file, model, method, up types, layout, network, outputs to compare
    ("caml.pth", "caml", "caml", "[0]", "split", ref["Caml"], lambda net: [net(x)[0]], ["caml_eval_v"]),
    ("fbanet_plus.pth", "fbanet", "fbanet", "[0, 1, 2]", "split", ref["FbaNetPlus"], lambda net: [o for _, _, o in net(x)], [f"fba_eval_out{d}" for d in range(3)]),
    ("fbanet.pth", "fbanet", "fbanet", "[0]", "split", ref["FbaNet"], lambda net: [net(x)[2]], ["fbanet_eval_out0"]),
    ("mcnet_plus.pth", "vnet", "mcnet", "[0, 1, 2]", "split", ref["McNetPlus"], lambda net: net(x), [f"mcnet_plus_eval_out{d}" for d in range(3)]),
    ("vnet_uamt.pth", "vnet", "supervised", "[0]", "flat", ref["UaMtVNet"], lambda net: [net(x)], ["vnet_uamt_eval_out0"]),
]
cases_2d = [
    # file, model, method, channels, [model] lines, network, outputs to compare
    ("unet.pth", "unet2d", "mean_teacher", 1, "classes = 4\nwidth = 0.25", lambda: ref2d["UNet"](1, 4), lambda net: [net(x2d)], ["unet_eval"]),
    ("unet_cct.pth", "unet2d", "cct", 1, "classes = 2\nwidth = 0.25", lambda: ref2d["UNetCCT"](1, 2), lambda net: [net(x2d)], ["unet_cct_eval"]),
    ("mgcc.pth", "mgcc", "mgcc", 3, "classes = 2\nwidth = 0.125\ndim_mult = 1", ref2d["Mgcc"], lambda net: [net(x2d_rgb)], ["mgcc_eval"]),
    ("clcc.pth", "projunet", "clcc", 3, "classes = 2\nfeature_scale = 4", lambda: ref2d["ProjUnet2D"](4), lambda net: [net(x_clcc)], ["clcc_eval"]),
]
for pth, model, method, channels, lines, cls, outputs, expected in cases_2d:
    cases.append((pth, model, method, None, "split", cls, outputs, expected))
    with open(os.path.join(work, f"{pth}.toml"), "w") as f:
        f.write(CONFIG_2D.format(model=model, method=method, channels=channels, model_lines=lines))
worst = 0.0
for pth, model, method, up, layout, cls, outputs, expected in cases:
    cfg = os.path.join(work, f"{pth}.toml")
    if up is not None:  # a 3-D case; the 2-D configs are written above
        with open(cfg, "w") as f:
            f.write(CONFIG.format(model=model, method=method, up=up))
    run = os.path.join(work, f"run-{pth}")
    source = os.path.join(work if pth == "clcc.pth" else FIXTURES, pth)
    subprocess.run([BIN, "import", source, "--config", cfg, "--out", run], check=True, stdout=subprocess.DEVNULL)
    for fmt in ["pth", "safetensors"]:
        out = os.path.join(work, f"exported-{pth}.{fmt}")
        subprocess.run([BIN, "export", run, "--checkpoint", "last", "--format", fmt, "--layout", layout, "--out", out], check=True, stdout=subprocess.DEVNULL)
        if fmt == "pth":
            state = torch.load(out, weights_only=True)
        else:
            from safetensors.torch import load_file
            state = load_file(out)
        net = cls()
        net.load_state_dict(state, strict=True)
        net.eval()
        with torch.no_grad():
            for got, name in zip(outputs(net), expected):
                want = np.load(os.path.join(work if name == "clcc_eval" else FIXTURES, f"{name}.npy"))
                err = float(np.abs(got.numpy() - want).max())
                worst = max(worst, err)
                print(f"{pth} -> {fmt}: strict load ok, {name} max |difference| {err:.3g}")
                assert err <= 1e-4 * max(1.0, float(np.abs(want).max())), (pth, fmt, name, err)
print(f"all exports load strictly in PyTorch {torch.__version__}; largest output difference {worst:.3g}")
