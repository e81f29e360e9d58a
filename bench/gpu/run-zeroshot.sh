#!/usr/bin/env bash
# GPU run for `lors eval-tasks` (issue 16), in order of priority; after bench/gpu/prepare.sh, from the repository root
# with .device carried. Logs and golden.json land in $OUT; commit golden.json as tests/fixtures/zeroshot/golden.json.
set -uo pipefail
source bench/gpu/lib.sh
# 1. The fixture items' log-likelihoods on the GPU (both batched paths, fp32 and bf16) against the CPU reference.
step selftest-zeroshot 120 $L selftest --device cuda --filter zero-shot-only
# 2. The golden file from transformers (the harness's procedure), for ZeroShotGoldenTests.
step golden 120 python3 bench/gpu/zeroshot_golden.py
cp tests/fixtures/zeroshot/golden.json "$OUT/" 2>/dev/null
# 2b. Parity at scale: a random-init TinyLlama-1.1B (fp32 compute on both sides; TF32 off in PyTorch).
step zs-random-model 120 python3 bench/gpu/zeroshot_random_model.py /tmp/zs-tl11
step golden-1.1b 180 python3 bench/gpu/zeroshot_golden.py /tmp/zs-tl11 tests/fixtures/zeroshot "$OUT/golden-1.1b.json"
step ours-1.1b 120 $L eval-tasks --model /tmp/zs-tl11 --data tests/fixtures/zeroshot --device cuda --dtype f32 --samples "$OUT/ours-1.1b.jsonl" --json
step compare-1.1b 30 python3 bench/gpu/zeroshot_compare.py "$OUT/golden-1.1b.json" "$OUT/ours-1.1b.jsonl"
# 2c. Real pyarrow parquet (as the hub writes it) read as the JSON lines are (skips itself where pyarrow is absent).
step zs-pyarrow 30 python3 bench/gpu/zeroshot_pyarrow_parquet.py /tmp/zs-parquet
step zs-parquet-samples 60 $L eval-tasks --data /tmp/zs-parquet --device cpu --json --samples "$OUT/zs-parquet.jsonl"
step zs-jsonl-samples 60 $L eval-tasks --data tests/fixtures/zeroshot --device cpu --json --samples "$OUT/zs-jsonl.jsonl"
step zs-parquet-diff 10 python3 bench/gpu/zeroshot_pyarrow_parquet.py --diff "$OUT/zs-jsonl.jsonl" "$OUT/zs-parquet.jsonl"
# 3. Throughput: HellaSwag-shaped 10,042 x 4 on the Llama-2-7B shape (target <= 120 s), shared contexts, then rows only.
step bench-zs-7b 300 $L bench eval-tasks --shape llama2-7b --device cuda
step bench-zs-7b-rows 300 $L bench eval-tasks --shape llama2-7b --device cuda --no-share
# 4. The transformers anchor (HFLM's loop) on the first 2,000 items of the same data; scaled to 10,042 in its JSON.
step anchor-zs-7b 300 python3 bench/gpu/zeroshot_anchor.py llama2-7b 2000 32
exit 0
