#!/usr/bin/env bash
# Runs on the GPU machine (no SDK there): the self-contained `lors` from .device/lors.tar.xz, the CUDA self-test,
# and the training-step benchmark for every method beside the PyTorch anchor (same lease, same protocol).
# Usage (from the repo root on that machine, with .device carried): bash bench/gpu/run.sh
set -uo pipefail
source bench/gpu/lib.sh
export LORS_DEBUG=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
step selftest 120 $L selftest --device cuda
B="$L bench train --shape tinyllama-1.1b --seq-len 2048 --device cuda"
step bench-lors 60 $B --method lors --profile
for m in none lora masked masked-ckpt; do step bench-$m 45 $B --method $m; done
step bench-lors-gc 45 $B --method lors --checkpoint-layers
step anchor 200 python3 .device/torch_lors_anchor.py tinyllama 2048 none,lora,sqft,sqft_gc,lors,lors+gc
step demo-cuda 150 $L demo --device cuda --out /tmp/demo --json
step eval-merged 60 $L eval --model /tmp/demo/merged --device cpu --max-windows 8 --json
P=$(python3 -c "import json;print(json.loads(open('$OUT/eval-merged.log').read().strip().splitlines()[-1])['perplexity'])" 2>/dev/null || echo 0)
step hf-check 120 python3 bench/gpu/hf_check.py /tmp/demo/merged data/brown/brown.test.txt 8 "$P"
exit 0
