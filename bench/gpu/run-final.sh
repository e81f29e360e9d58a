#!/usr/bin/env bash
# The short GPU run: self-test, then the training-step benchmark for every method beside the PyTorch anchor.
set -uo pipefail
source bench/gpu/lib.sh
step selftest 90 $L selftest --device cuda
B="$L bench train --shape tinyllama-1.1b --seq-len 2048 --device cuda"
step bench-lors 45 $B --method lors --profile
for m in none lora masked masked-ckpt; do step bench-$m 40 $B --method $m; done
step bench-lors-gc 40 $B --method lors --checkpoint-layers
step anchor 120 python3 .device/torch_lors_anchor.py tinyllama 2048 none,lora,sqft,sqft_gc,lors,lors+gc
exit 0
