"""semiseg against PyTorch, network by network, in alternating rounds.

For each thread count and each row (network, train or infer), ROUNDS rounds; in each, both
sides run once (`../shared/reference/torch_bench.py --json` and `semiseg bench --json`, the
same network, batch, size and iterations), PyTorch first in odd rounds and semiseg first in
even ones, so that neither side always runs on a warmer or cooler machine. Each side reports
the cores other processes kept busy while it was timed (`foreign_cores`); a round where either
side had more than --max-load cores of company is dropped, and the table says how many rounds
each row kept. Per row: each side's median time over the kept rounds, the median of the
per-round ratios (semiseg / PyTorch) with their min–max, and each side's peak resident memory.
The header names the CPU, its vector extensions, the PyTorch version and the instruction set
oneDNN picked, because ratios differ between CPUs and between PyTorch builds.

    python bench/speed_rounds.py [--rounds 3] [--threads 2 --threads 16] [--rows unet2d:train,...]
        [--max-load 0.15] [--semiseg target/release/semiseg] [--reference ../shared/reference]

Run with the Python that has torch; build semiseg first (bench/speed_table.sh does both).
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

import torch

# (batch, size, iters, warm-up) where a row departs from torch_bench.py's defaults (None: its
# default): MGCC's 122 M parameters at batch 8, 256² take minutes a step on 2 cores; a 3-D step
# takes tens of seconds.
OVERRIDES = {
    "mgcc": (2, "128", 2, 1),
    "vnet": (None, None, 3, 1),
    "caml": (None, None, 3, 1),
    "fbanet": (None, None, 3, 1),
}
ALL_ROWS = [f"{m}:{mode}" for m in ["unet2d", "clcc", "mgcc", "vnet", "caml", "fbanet"] for mode in ["train", "infer"]]
FLAGS = ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile"]


def cpu_description():
    model, flags = platform.processor() or "unknown", set()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
    except OSError:
        pass
    return model, [f for f in FLAGS if f in flags]


def run_json(cmd, env):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def side_commands(args, model, mode, threads):
    """Both sides' command lines: torch_bench.py's defaults per network (semiseg bench has the
    same defaults) unless OVERRIDES changes them, on both sides alike."""
    batch, size, iters, warmup = OVERRIDES.get(model, (None, None, 5, 2))
    common = ["--model", model, "--mode", mode, "--iters", str(iters), "--warmup", str(warmup)]
    if batch:
        common += ["--batch", str(batch)]
    if size:
        common += ["--size", size]
    torch_cmd = [sys.executable, os.path.join(args.reference, "torch_bench.py"), *common, "--threads", str(threads), "--json", "--no-flops"]
    return torch_cmd, [args.semiseg, "bench", *common, "--json"]


def one_round(args, model, mode, threads, torch_first):
    """(PyTorch's record, semiseg's record), in the order asked."""
    torch_cmd, semiseg_cmd = side_commands(args, model, mode, threads)
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    if torch_first:
        t = run_json(torch_cmd, env)
        s = run_json(semiseg_cmd, env)
    else:
        s = run_json(semiseg_cmd, env)
        t = run_json(torch_cmd, env)
    if t["batch"] != s["batch"] or str(t["size"]) != "x".join(map(str, s["size"])):
        sys.exit(f"{model} {mode}: PyTorch ran batch {t['batch']} at {t['size']}, semiseg batch {s['batch']} at {s['size']}")
    return t, s


def fmt_ms(v):
    return f"{v:,.0f} ms"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, action="append", help="thread counts (repeatable; default 2 and all cores)")
    ap.add_argument("--rows", default=",".join(ALL_ROWS), help="model:mode,... (default: all six networks, train and infer)")
    ap.add_argument("--quick", action="store_true", help="a smoke test of the script: batch 2 at 64² (2-D) or 32×32×32 (3-D), 2 iterations")
    ap.add_argument("--max-load", type=float, default=0.15, help="drop a round where either side had more foreign cores than this")
    ap.add_argument("--semiseg", default=os.path.join("target", "release", "semiseg"))
    ap.add_argument("--reference", default=os.path.join("..", "shared", "reference"))
    args = ap.parse_args()
    threads_list = args.threads or sorted({2, os.cpu_count() or 2})
    rows = [tuple(r.split(":")) for r in args.rows.split(",") if r]
    if args.quick:
        for m in ["unet2d", "clcc", "mgcc", "vnet", "caml", "fbanet"]:
            OVERRIDES[m] = (2, "64" if m in ("unet2d", "clcc", "mgcc") else "32x32x32", 2, 1)

    model, flags = cpu_description()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"Measured {datetime.date.today()} by bench/speed_rounds.py at semiseg {commit or '?'}: {model}, {os.cpu_count()} cores, "
          f"flags {' '.join(flags) or 'none of ' + ', '.join(FLAGS[:3])}; PyTorch {torch.__version__}, oneDNN ISA "
          f"{torch.backends.cpu.get_cpu_capability()}; {args.rounds} rounds alternating which side runs first, rounds with more "
          f"than {args.max_load} cores of other load on either side dropped.")
    print()
    print("| workload | threads | PyTorch | semiseg | semiseg / PyTorch, median (min–max) | rounds kept | peak RSS PyTorch / semiseg |")
    print("|---|---|---|---|---|---|---|")
    for threads in threads_list:
        for model_name, mode in rows:
            kept, seen = [], 0
            for r in range(args.rounds):
                torch_first = r % 2 == 0
                t, s = one_round(args, model_name, mode, threads, torch_first)
                seen += 1
                load = max(t.get("foreign_cores") or 0.0, s.get("foreign_cores") or 0.0)
                print(f"  {model_name} {mode} {threads} threads, round {r + 1}: PyTorch {t['median_ms']:.0f} ms, semiseg {s['median_ms']:.0f} ms, "
                      f"other load {load:.2f} cores{'' if load <= args.max_load else ' (dropped)'}", file=sys.stderr)
                if load <= args.max_load:
                    kept.append((t, s))
            label = f"{model_name} {mode}, batch {t['batch']}, {str(t['size']).replace('x', '×')}"
            if not kept:
                print(f"| {label} | {threads} | – | – | no round without other load | 0 / {seen} | – |")
                continue
            ratios = [s["median_ms"] / t["median_ms"] for t, s in kept]
            rss = lambda side: statistics.median(x[side].get("peak_rss_mib") or 0.0 for x in kept)
            print(f"| {label} | {threads} | {fmt_ms(statistics.median(t['median_ms'] for t, _ in kept))} | "
                  f"{fmt_ms(statistics.median(s['median_ms'] for _, s in kept))} | {statistics.median(ratios):.2f}× "
                  f"({min(ratios):.2f}–{max(ratios):.2f}) | {len(kept)} / {seen} | {rss(0):,.0f} / {rss(1):,.0f} MiB |", flush=True)


if __name__ == "__main__":
    main()
