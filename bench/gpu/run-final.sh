#!/usr/bin/env bash
# The short GPU run: self-test, then the training-step benchmark for every method beside the PyTorch anchor.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
tar -xJf .device/lors.tar.xz -C /tmp && L=/tmp/lors/lors
step() { local name=$1 limit=$2; shift 2; echo "=== $name: $*"; local t0=$(date +%s); timeout "$limit" "$@" > "$OUT/$name.log" 2>&1; local rc=$?; echo "rc=$rc $(( $(date +%s) - t0 )) s"; tail -n 4 "$OUT/$name.log"; }
step selftest 90 $L selftest --device cuda
B="$L bench train --shape tinyllama-1.1b --seq-len 2048 --device cuda"
step bench-lors 45 $B --method lors --profile
for m in none lora masked masked-ckpt; do step bench-$m 40 $B --method $m; done
step bench-lors-gc 40 $B --method lors --checkpoint-layers
step anchor 120 python3 .device/torch_lors_anchor.py tinyllama 2048 none,lora,sqft,sqft_gc,lors,lors+gc
exit 0
