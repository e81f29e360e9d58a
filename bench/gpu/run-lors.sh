#!/usr/bin/env bash
# The shortest GPU check: the LoRS step (plain and with layer checkpointing) beside the PyTorch anchor, and a short
# fine-tune of the embedded model on the GPU (its loss curve is compared with the CPU run's).
set -uo pipefail
source bench/gpu/lib.sh
B="$L bench train --shape tinyllama-1.1b --seq-len 2048 --device cuda"
step bench-lors 45 $B --method lors --profile
step bench-lors-gc 40 $B --method lors --checkpoint-layers
step anchor 60 python3 .device/torch_lors_anchor.py tinyllama 2048 lors,lors+gc
step finetune-cuda 40 $L finetune --device cuda --data data/brown/brown.valid.txt --steps 20 --batch 4 --seq-len 256 --lr 1e-3 --init-samples 8 --out /tmp/ft --seed 1 --json
cp /tmp/ft/metrics.jsonl "$OUT/finetune-cuda-metrics.jsonl" 2>/dev/null
exit 0
