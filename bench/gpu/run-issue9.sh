#!/usr/bin/env bash
# Issue 9 acceptance in one lease: our training step beside the PyTorch anchor (same machine, same call), at the
# TinyLlama-1.1B, Llama-2-7B and Llama-3-8B shapes, T = 2048, 2:4, rank 16, batch 1, median of 10 steps.
# Usage on the GPU machine, from the repo root with .device carried: bash bench/gpu/run-issue9.sh [SHAPES]
#   SHAPES: comma list of tinyllama, llama7b, llama3_8b (default all three).
set -uo pipefail
source bench/gpu/lib.sh
export NCCL_NVLS_ENABLE=0
SHAPES=${1:-tinyllama,llama7b,llama3_8b}
ours() { case $1 in tinyllama) echo tinyllama-1.1b;; llama7b) echo llama2-7b;; llama3_8b) echo llama3-8b;; esac; }
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv,noheader | tee "$OUT/gpu.txt"
for s in ${SHAPES//,/ }; do
  B="$L bench train --shape $(ours $s) --seq-len 2048 --device cuda --json"
  if [[ $s == tinyllama ]]; then
    methods="lors lors+gc none lora masked masked-ckpt"; anchor="lors,lors+gc,none,lora,sqft,sqft_gc"
  else
    methods="lors lors+gc none"; anchor="lors,lors+gc,none"
  fi
  for m in $methods; do
    extra=""; mm=$m
    [[ $m == *+gc ]] && { extra="--checkpoint-layers"; mm=${m%+gc}; }
    step "ours-$s-$m" 150 $B --method $mm $extra
  done
  step "anchor-$s" 240 python3 .device/torch_lors_anchor.py $s 2048 $anchor
done
python3 bench/gpu/issue9_table.py "$OUT" | tee "$OUT/table.md"
finish table.md
exit 0
