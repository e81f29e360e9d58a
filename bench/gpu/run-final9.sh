#!/usr/bin/env bash
# Issue 9 in one call: the CUDA self-test (every op, the tensor-core attention included), the attention kernels beside
# PyTorch SDPA, each adapted linear beside plain GEMMs, the 7B profile, the 13B shape and an out-of-memory. The step of
# every method beside the PyTorch anchor is run-issue9.sh (a second call on the same warm machine).
# Usage (repo root on the GPU machine, .device carried): bash bench/gpu/run-final9.sh
set -uo pipefail
source bench/gpu/lib.sh
export NCCL_NVLS_ENABLE=0
TAIL=25 step selftest 420 $L selftest --device cuda
# A failing attention case must not be timed: fall back to the GEMM attention for everything after it.
if grep -q "FAILED .*Attention" "$OUT/selftest.log"; then echo "attention self-test failed: timing with LORS_CUDA_ATTENTION=gemm"; export LORS_CUDA_ATTENTION=gemm; fi
TAIL=30 step bench-attention 150 $L bench attention --shape all --device cuda --steps 10
TAIL=10 step sdpa 120 python3 bench/gpu/sdpa_bench.py 2048 20
TAIL=14 step bench-linear-7b 120 $L bench linear --shape llama2-7b --seq-len 2048 --device cuda
TAIL=40 step profile-7b 120 $L bench train --shape llama2-7b --seq-len 2048 --device cuda --method lors --steps 3 --warmup 2 --profile
TAIL=4 step bench-13b-lors 150 $L bench train --shape llama2-13b --seq-len 2048 --device cuda --method lors
TAIL=4 step oom 120 $L bench train --shape llama2-13b --seq-len 2048 --device cuda --method lors --batch 32 --layers 12
finish
exit 0
