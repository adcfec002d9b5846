#!/usr/bin/env python3
"""PyTorch's time for each op of `semiseg bench --model ops` (same names, shapes and loss):
`infer` runs the op in evaluation mode under no_grad; `train` runs it in training mode and
back-propagates sum(y * cos(i)), i the flat output index. 2 warm-ups, then the median of the
timed repetitions, on --threads threads. One JSON line per op.

Usage: bench/ops_torch.py [--threads 2] [--iters 5]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Interpolate(nn.Module):
    def __init__(self, mode):
        super().__init__()
        self.mode = mode

    def forward(self, x):
        return F.interpolate(x, scale_factor=2, mode=self.mode, align_corners=True)


def ops():
    return [
        ("conv2d 3x3", (8, 32, 128, 128), nn.Conv2d(32, 32, 3, padding=1)),
        ("conv2d 3x3 dilation 2", (8, 64, 64, 64), nn.Conv2d(64, 64, 3, padding=2, dilation=2)),
        ("conv2d 7x7 depthwise", (8, 256, 16, 16), nn.Conv2d(256, 256, 7, padding=3, groups=256)),
        ("conv3d 3x3x3", (2, 16, 56, 56, 40), nn.Conv3d(16, 16, 3, padding=1)),
        ("conv_transpose3d 2x2x2 stride 2", (2, 32, 28, 28, 20), nn.ConvTranspose3d(32, 16, 2, stride=2)),
        ("batch norm + ReLU", (8, 32, 128, 128), nn.Sequential(nn.BatchNorm2d(32), nn.ReLU())),
        ("group norm (8) + Swish", (8, 64, 64, 64), nn.Sequential(nn.GroupNorm(8, 64), nn.SiLU())),
        ("max pool 2x2", (8, 32, 128, 128), nn.MaxPool2d(2)),
        ("bilinear x2 (align corners)", (8, 32, 64, 64), Interpolate("bilinear")),
        ("GELU", (8, 256, 32, 32), nn.GELU()),
        ("max pool 2x2x2", (2, 16, 56, 56, 40), nn.MaxPool3d(2)),
        ("trilinear x2 (align corners)", (2, 32, 28, 28, 20), Interpolate("trilinear")),
    ]


def median_ms(f, warmup, iters):
    times = []
    for i in range(warmup + max(iters, 1)):
        t = time.perf_counter()
        f()
        if i >= warmup:
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for name, shape, op in ops():
        x = torch.randn(shape)
        with torch.no_grad():
            out = op.eval()(x)
        weights = torch.cos(torch.arange(out.numel(), dtype=torch.float32)).reshape(out.shape)

        def infer():
            with torch.no_grad():
                op.eval()(x)

        def train():
            xg = x.clone().requires_grad_()
            (op.train()(xg) * weights).sum().backward()

        row = {"op": name, "shape": "x".join(map(str, shape)), "infer_ms": median_ms(infer, args.warmup, args.iters),
               "train_ms": median_ms(train, args.warmup, args.iters), "threads": args.threads}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
