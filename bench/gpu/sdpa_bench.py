#!/usr/bin/env python3
"""PyTorch's fused causal attention at the shapes of `lors bench attention`, for a side-by-side in one GPU lease.

Times torch.nn.functional.scaled_dot_product_attention(is_causal=True) forward and backward in bf16 with CUDA
events (median over repeats after warm-up) at B=1, T=2048, D=128: Llama-2-7B (32/32 heads) and Llama-3-8B (32/8, the
kv heads repeated as transformers does; enable_gqa where this torch has it). Reports ms and TFLOP/s with the same
causal FLOP count as lors: forward 4*B*Hq*T*(T+1)/2*D, backward 2.5x forward.
Usage: python3 bench/gpu/sdpa_bench.py [T] [repeats]
"""
import sys

import torch
import torch.nn.functional as F

SHAPES = [("llama2-7b", 32, 32, 128), ("llama3-8b", 32, 8, 128), ("tinyllama-1.1b", 32, 4, 64)]


def median_ms(fn, repeats):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def main():
    t = int(sys.argv[1]) if len(sys.argv) > 1 else 2048
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    dev = torch.device("cuda")
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}; backends: flash={torch.backends.cuda.flash_sdp_enabled()} "
          f"mem_efficient={torch.backends.cuda.mem_efficient_sdp_enabled()} cudnn={torch.backends.cuda.cudnn_sdp_enabled()}")
    for name, hq, hkv, d in SHAPES:
        g = torch.Generator(device=dev).manual_seed(0)
        q = torch.randn(1, hq, t, d, device=dev, dtype=torch.bfloat16, generator=g).requires_grad_()
        k = torch.randn(1, hkv, t, d, device=dev, dtype=torch.bfloat16, generator=g).requires_grad_()
        v = torch.randn(1, hkv, t, d, device=dev, dtype=torch.bfloat16, generator=g).requires_grad_()
        go = torch.randn(1, hq, t, d, device=dev, dtype=torch.bfloat16, generator=g)
        rep = hq // hkv

        def forward():
            kk, vv = (k, v) if rep == 1 else (k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1))
            return F.scaled_dot_product_attention(q, kk, vv, is_causal=True)

        fwd_flop = 4.0 * hq * t * (t + 1) / 2 * d
        with torch.no_grad():
            f_ms = median_ms(forward, repeats)
        out = forward()

        def backward():
            q.grad = k.grad = v.grad = None
            torch.autograd.grad(out, (q, k, v), go, retain_graph=True)

        b_ms = median_ms(backward, repeats)
        what = f"{name} B=1 H={hq}/{hkv} T={t} D={d}"
        print(f"sdpa fwd {what:<40} {f_ms:10.3f} ms {fwd_flop / f_ms / 1e9:10.1f} TFLOP/s")
        print(f"sdpa bwd {what:<40} {b_ms:10.3f} ms {2.5 * fwd_flop / b_ms / 1e9:10.1f} TFLOP/s")


if __name__ == "__main__":
    main()
