#!/usr/bin/env python3
"""Estimated GPU time of each paper protocol, from the networks' FLOPs.

For each paper config (configs/*.toml without -cpu), the FLOPs of one training iteration of its
network at the config's batch and patch, counted by ../shared/reference/torch_bench.py
(`count_flops`: PyTorch's FlopCounterMode on the meta device, matmul and convolution only,
forward + backward, with torch_bench.py's loss for that network), times the config's
iterations, divided by an assumed sustained throughput. The throughputs are assumptions, not
measurements: no GPU was available to measure one.

Usage: bench/gpu_estimate.py   (needs torch; e.g. /work/venv-torch/bin/python bench/gpu_estimate.py)
"""
import os
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "reference"))
import torch_bench  # noqa: E402

# our model.name -> torch_bench.py's network
NETWORK = {"unet2d": "unet2d", "projunet": "clcc", "mgcc": "mgcc", "vnet": "vnet", "caml": "caml", "fbanet": "fbanet"}
# one config per network and protocol; methods with a teacher add forward passes not counted here
CONFIGS = ["acdc-7-supervised", "clcc-kvasir-10", "mgcc-busi", "la-8-supervised", "la-8-caml", "la-8-fbanet"]
SUSTAINED_TFLOPS = [5.0, 20.0]  # assumed: fp32 on a mid-range GPU / TF32 or bf16 on a data-centre GPU


def main():
    print("| protocol (config) | network | batch, patch | iterations | GFLOP / iteration | PFLOP in all | "
          + " | ".join(f"hours at {t:g} TFLOP/s" for t in SUSTAINED_TFLOPS) + " |")
    print("|---|---|---|---|---|---|" + "---|" * len(SUSTAINED_TFLOPS))
    for name in CONFIGS:
        with open(os.path.join(ROOT, "configs", f"{name}.toml"), "rb") as f:
            cfg = tomllib.load(f)
        net = NETWORK[cfg["model"]["name"]]
        batch, patch, iters = cfg["train"]["batch"], tuple(cfg["data"]["patch"]), cfg["train"]["iterations"]
        flops = torch_bench.count_flops(torch_bench.SPECS[net], batch, patch, "train")
        if flops is None:
            raise SystemExit(f"{name}: torch_bench.count_flops failed")
        total = flops * iters
        hours = [total / (t * 1e12) / 3600 for t in SUSTAINED_TFLOPS]
        size = "x".join(map(str, patch))
        print(f"| {name} | {net} | {batch}, {size} | {iters:,} | {flops / 1e9:,.0f} | {total / 1e15:,.1f} | "
              + " | ".join(f"{h:.2f}" for h in hours) + " |")


if __name__ == "__main__":
    main()
