#!/usr/bin/env bash
# The shortest GPU check: the LoRS step (plain and with layer checkpointing) beside the PyTorch anchor, and a short
# fine-tune of the embedded model on the GPU (its loss curve is compared with the CPU run's).
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
tar -xJf .device/lors.tar.xz -C /tmp && L=/tmp/lors/lors
step() { local name=$1 limit=$2; shift 2; echo "=== $name: $*"; local t0=$(date +%s); timeout "$limit" "$@" > "$OUT/$name.log" 2>&1; local rc=$?; echo "rc=$rc $(( $(date +%s) - t0 )) s"; tail -n 4 "$OUT/$name.log"; }
B="$L bench train --shape tinyllama-1.1b --seq-len 2048 --device cuda"
step bench-lors 45 $B --method lors --profile
step bench-lors-gc 40 $B --method lors --checkpoint-layers
step anchor 60 python3 .device/torch_lors_anchor.py tinyllama 2048 lors,lors+gc
step finetune-cuda 40 $L finetune --device cuda --data data/brown/brown.valid.txt --steps 20 --batch 4 --seq-len 256 --lr 1e-3 --init-samples 8 --out /tmp/ft --seed 1 --json
cp /tmp/ft/metrics.jsonl "$OUT/finetune-cuda-metrics.jsonl" 2>/dev/null
exit 0
