#!/usr/bin/env bash
# Runs on the GPU machine (no SDK there): the self-contained `lors` from .device/lors.tar.xz, the CUDA self-test,
# the training-step benchmark beside the PyTorch anchor, and a short fine-tune of the embedded model.
# Usage (from the repo root on that machine): bash bench/gpu/run.sh [quick]
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/lors
tar -xJf .device/lors.tar.xz -C /tmp && L=/tmp/lors/lors
export LORS_DEBUG=1 DOTNET_TieredPGO=1
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv | tee "$OUT/gpu.txt"
step() { local name=$1 limit=$2; shift 2; echo "=== $name: $*"; local t0=$(date +%s); timeout "$limit" "$@" > "$OUT/$name.log" 2>&1; local rc=$?; echo "rc=$rc $(( $(date +%s) - t0 )) s"; tail -n 25 "$OUT/$name.log"; }
step selftest 170 $L selftest --device cuda
step bench-lors 120 $L bench train --shape tinyllama-1.1b --seq-len 2048 --method lors --device cuda --profile
step anchor 150 python3 .device/torch_lors_anchor.py tinyllama 2048 none,lors
step finetune-cuda 60 $L finetune --device cuda --data data/brown/brown.valid.txt --steps 20 --batch 4 --seq-len 256 --lr 1e-3 --init-samples 8 --out /tmp/ft --seed 1 --json
cp /tmp/ft/metrics.jsonl "$OUT/finetune-cuda-metrics.jsonl" 2>/dev/null
exit 0
