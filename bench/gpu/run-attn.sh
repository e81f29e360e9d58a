#!/usr/bin/env bash
# Runs on the GPU machine: the tensor-core attention's checks and timings in one lease. After bench/gpu/prepare.sh
# here, from the repository root there with .device carried: bash bench/gpu/run-attn.sh
#  1. selftest of every attention case (the mma kernels against the fp32 CPU reference and against the gemm path;
#     the older Attention cases now run mma automatically for BF16 with D = 16, 64, 128, and fall back for D = 40)
#  2. lors bench attention: forward and backward of mma, gemm and tiled at Llama-2-7B, Llama-3-8B, TinyLlama shapes
#  3. PyTorch SDPA (is_causal) at the same shapes
#  4. the 7B training step with --profile (AttentionFn[mma] rows) beside the same with LORS_CUDA_ATTENTION=gemm
set -uo pipefail
source bench/gpu/lib.sh
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
TAIL=40 step selftest-attention 420 $L selftest --device cuda --filter Attention
TAIL=20 step bench-attention 240 $L bench attention --shape all --device cuda --steps 10
TAIL=10 step sdpa 120 python3 bench/gpu/sdpa_bench.py 2048 20
B="$L bench train --shape llama2-7b --seq-len 2048 --device cuda --method lors --steps 5 --warmup 2"
TAIL=30 step train-7b-mma 150 $B --profile
TAIL=30 step train-7b-gemm 150 env LORS_CUDA_ATTENTION=gemm $B --profile
exit 0
