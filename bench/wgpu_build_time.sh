#!/usr/bin/env bash
# The clean-build times of docs/gpu.md with and without the wgpu feature (issue: wgpu joins the default
# build only if a clean build stays within 8 minutes on 2 cores). Each build starts from an
# empty target directory (crates already downloaded), one after the other.
#   bench/wgpu_build_time.sh [SCRATCH_DIR]
set -euo pipefail
scratch=${1:-$(mktemp -d)}
for features in "" "--features wgpu"; do
  rm -rf "$scratch/target"
  start=$(date +%s)
  # shellcheck disable=SC2086
  CARGO_TARGET_DIR="$scratch/target" cargo build --release -q -p semiseg-cli $features
  echo "clean build ${features:-(default)}: $(( $(date +%s) - start )) s"
done
rm -rf "$scratch/target"
