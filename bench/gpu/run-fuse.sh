#!/usr/bin/env bash
# The fused LoRS merge, RoPE+permute and automatic lifetimes on the GPU (issue #9): the new kernels' conformance
# against the CPU, their micro-benchmarks, each adapted linear beside plain GEMMs at 7B, the step at 7B (profile),
# the masked baselines at 1.1B, the 13B shape, and an out-of-memory that must end in a one-line error.
# Usage (from the repo root on that machine, with .device carried): bash bench/gpu/run-fuse.sh
set -uo pipefail
source bench/gpu/lib.sh
step selftest-fused 120 $L selftest --device cuda --filter MaskedLowRankMerge
step selftest-ropeswap 60 $L selftest --device cuda --filter RopeSwap
step selftest-bench 120 $L selftest --device cuda --bench-only
step bench-linear-7b 120 $L bench linear --shape llama2-7b --seq-len 2048 --device cuda
B="$L bench train --seq-len 2048 --device cuda"
step bench-7b-lors 90 $B --shape llama2-7b --method lors --profile
for m in masked masked-ckpt none lora; do step bench-1b-$m 60 $B --shape tinyllama-1.1b --method $m; done
step bench-13b-lors 150 $B --shape llama2-13b --method lors
step oom 120 $B --shape llama2-13b --method lors --batch 32 --layers 12   # about 150 GiB of activations: must fail cleanly
exit 0
