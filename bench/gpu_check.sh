#!/usr/bin/env bash
# The first check on a machine with an NVIDIA GPU (docs/gpu.md), in one command:
#   1. `semiseg doctor --device cuda:0`: every network, one training step on the CPU and on the
#      GPU from the same weights and batch, gradients compared tensor by tensor;
#   2. `semiseg bench --device cuda:0` against `../shared/reference/torch_bench.py --device cuda`
#      for the six networks, training step and inference, in f32, fp16 and bf16 (semiseg's
#      `--precision`, PyTorch's `--amp`), each at torch_bench.py's batch and size; prints the
#      table of ratios (semiseg's time over PyTorch's).
# Where something cannot run (no GPU, semiseg built without CUDA, no torch with CUDA), it says
# SKIPPED with the reason and goes on with what it can: on a machine without a GPU the doctor
# checks run on the CPU against itself and the table's semiseg column is timed on the CPU at a
# small size, labelled as such; that is what the test (crates/semiseg-cli/tests/gpu_check.rs)
# runs.
#   bench/gpu_check.sh [TORCH_PYTHON] [REFERENCE_DIR]
# Environment: DEVICE (default cuda:0), SEMISEG_BIN (default: builds target/release/semiseg with
# --features cuda), ITERS / WARMUP (default 5 / 2), QUICK=1 (small sizes, one iteration: the
# test's setting).
set -uo pipefail
cd "$(dirname "$0")/.."
py=${1:-python3}
ref=${2:-../shared/reference}
device=${DEVICE:-cuda:0}
iters=${ITERS:-5}
warmup=${WARMUP:-2}
if [ -z "${SEMISEG_BIN:-}" ]; then
  cargo build --release -q -p semiseg-cli --features cuda || { echo "the CUDA build failed (docs/gpu.md says what it needs)" >&2; exit 1; }
  SEMISEG_BIN=${CARGO_TARGET_DIR:-target}/release/semiseg
fi
bin=$SEMISEG_BIN
start=$(date +%s)
# a number field of a one-line JSON record, rounded (empty where absent); no Python needed
field() { sed -nE "s/.*\"$1\": *([0-9.]+).*/\1/p" <<< "$2" | awk '{ printf "%.0f", $1 }'; }
status=0

echo "== 1. doctor on $device"
probe=$("$bin" doctor --device "$device" --model unet2d --size 32 --no-warmup 2>&1)
if [ $? -eq 0 ] || ! grep -q -e "needs semiseg built with" -e "could not start" -e "unknown device" -e "device $device:" <<< "$probe"; then
  bench_device=$device
  "$bin" doctor --device "$device" || status=1
else
  echo "SKIPPED doctor on $device: $(tail -1 <<< "$probe")"
  echo "-- the same checks on the CPU against itself (exercises doctor, says nothing about a GPU):"
  bench_device=cpu
  "$bin" doctor --device cpu --no-warmup || status=1
fi

echo
echo "== 2. semiseg bench vs torch_bench.py on $bench_device"
torch_device=$( [ "$bench_device" = cpu ] && echo cpu || echo "cuda:${bench_device#cuda:}" )
torch_ok=1
if ! "$py" -c 'import torch, sys; sys.exit(0 if (sys.argv[1] == "cpu" or torch.cuda.is_available()) else 1)' "$torch_device" > /dev/null 2>&1; then
  torch_ok=0
  echo "SKIPPED PyTorch column: $py has no torch$( [ "$torch_device" = cpu ] || echo ' with CUDA')"
fi
if [ ! -f "$ref/torch_bench.py" ]; then
  torch_ok=0
  echo "SKIPPED PyTorch column: no $ref/torch_bench.py"
fi
precisions="f32 f16 bf16"
if [ "$bench_device" = cpu ]; then
  echo "SKIPPED f16 and bf16: the CPU computes in f32 only"
  precisions=f32
fi
echo
echo "| network | mode | precision | batch, size | PyTorch ms | semiseg ms | ratio |"
echo "|---|---|---|---|---|---|---|"
for model in unet2d clcc mgcc vnet caml fbanet; do
  for mode in train infer; do
    for precision in $precisions; do
      sizes=()
      if [ "${QUICK:-0}" = 1 ] || [ "$bench_device" = cpu ]; then
        case $model in
          vnet | caml | fbanet) sizes=(--batch 2 --size 32x32x32) ;;
          clcc) sizes=(--batch 2 --size 64) ;;
          *) sizes=(--batch 2 --size 64) ;;
        esac
        n=1 w=0
      else
        n=$iters w=$warmup
      fi
      amp=$(case $precision in f16) echo fp16 ;; bf16) echo bf16 ;; *) echo off ;; esac)
      torch_ms=-
      if [ $torch_ok = 1 ]; then
        torch=$("$py" "$ref/torch_bench.py" --model "$model" --mode "$mode" --device "$torch_device" --amp "$amp" \
          --iters "$n" --warmup "$w" --json --no-flops "${sizes[@]}" 2> /dev/null | tail -1)
        torch_ms=$(field median_ms "$torch")
        if [ ${#sizes[@]} -eq 0 ] && [ -n "$torch_ms" ]; then
          # torch_bench.py's defaults, so that both sides time the same batch and size
          sizes=(--batch "$(field batch "$torch")" --size "$(sed -nE 's/.*"size": *"?([0-9x]+)"?.*/\1/p' <<< "$torch")")
        fi
        torch_ms=${torch_ms:-failed}
      fi
      rust=$("$bin" bench --model "$model" --mode "$mode" --device "$bench_device" --precision "$precision" --iters "$n" --warmup "$w" --json "${sizes[@]}" 2>&1 | tail -1)
      rust_ms=$(field median_ms "$rust")
      rust_ms=${rust_ms:-failed}
      where="$(field batch "$rust"), $(sed -nE 's/.*"size":\[([0-9,]+)\].*/\1/p' <<< "$rust" | tr , x)"
      if [ "$rust_ms" = failed ]; then
        status=1
        echo "semiseg bench $model $mode $precision failed: $rust" >&2
      fi
      ratio=-
      if [[ "$torch_ms" =~ ^[0-9]+$ ]] && [[ "$rust_ms" =~ ^[0-9]+$ ]] && [ "$torch_ms" -gt 0 ]; then
        ratio=$(awk -v r="$rust_ms" -v t="$torch_ms" 'BEGIN { printf "%.2fx", r / t }')
      fi
      echo "| $model | $mode | $precision | $where | $torch_ms | $rust_ms | $ratio |"
    done
  done
done
echo
[ "$bench_device" = cpu ] && echo "(semiseg column timed on the CPU at small sizes: a run of the script's plumbing, not a GPU result)"
echo "gpu_check: $(( $(date +%s) - start )) s, $( [ $status = 0 ] && echo 'all checks passed' || echo 'SOME CHECKS FAILED (see above)')"
exit $status
