#!/usr/bin/env bash
# A quick correctness-and-profile call on the GPU machine: the CUDA self-test (every backend op against the CPU), the
# 7B LoRS step with its per-function profile beside the PyTorch anchor's LoRS step, pruning of the embedded model on
# the device (compare with docs/PRUNING.md), and a short fine-tune on the GPU (compare with the CPU run's curve).
# Usage (repo root, .device carried): bash bench/gpu/run-check.sh
set -uo pipefail
source bench/gpu/lib.sh
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
TAIL=30 step selftest 300 $L selftest --device cuda
TAIL=60 step bench7b-lors 240 $L bench train --shape llama2-7b --seq-len 2048 --device cuda --method lors --profile
step anchor7b-lors 150 python3 .device/torch_lors_anchor.py llama7b 2048 lors
for m in magnitude wanda sparsegpt; do
  step prune-tiny-$m 90 $L prune --method $m --pattern 2:4 --calib-samples 128 --seq-len 256 --seed 0 --device cuda --out /tmp/pruned-$m --force --json
  step eval-tiny-$m 60 $L eval --model /tmp/pruned-$m --text data/brown/brown.test.txt --seq-len 256 --device cuda --json
done
step finetune-cuda 90 $L finetune --device cuda --data data/brown/brown.valid.txt --steps 20 --batch 4 --seq-len 256 --lr 1e-3 --init-samples 8 --out /tmp/ft --seed 1 --json
cp /tmp/ft/metrics.jsonl "$OUT/finetune-cuda-metrics.jsonl" 2>/dev/null
finish
exit 0
