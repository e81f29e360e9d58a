// Micro-benchmarks of the ops that dominate a Llama fine-tuning step, at TinyLlama sizes (hidden 2048, intermediate
// 5632, 32 heads of 64, vocab 32000, T = 2048), reported as time per call and TFLOP/s or GB/s.
using System.Diagnostics;
using Lors.Tensors;

namespace Lors.Conformance;

/// <summary>Median milliseconds per call over the timed iterations; Rate is TFLOP/s or GB/s as Unit says.</summary>
public sealed record BenchResult(string Name, double Milliseconds, double Rate, string Unit)
{
    public override string ToString() => $"{Name,-56} {Milliseconds,10:F3} ms {Rate,10:F1} {Unit}";
}

public static class Benchmark
{
    /// <summary>Runs each benchmark on the device (CUDA expected; on the CPU pass small=true to shrink sizes).</summary>
    public static List<BenchResult> Run(Device d, bool small = false, Action<BenchResult>? onResult = null, int iterations = 10)
    {
        var results = new List<BenchResult>();
        void Add(BenchResult r) { results.Add(r); onResult?.Invoke(r); }
        int s = small ? 8 : 1; // divides the big dimensions
        var bf = DType.BF16;
        using var scope = TensorScope.Begin();

        foreach (var (m, n, k) in new[] { (4096 / s, 4096 / s, 4096 / s), (8192 / s, 2048 / s, 2048 / s), (2048 / s, 5632 / s, 2048 / s) })
        {
            var a = Ops.RandomNormal([m, k], 1, 0, 1, bf, d);
            var b = Ops.RandomNormal([k, n], 2, 0, 1, bf, d);
            var c = Tensor.Empty([m, n], bf, d);
            Add(Time($"matmul bf16 {m}x{n}x{k}", d, iterations, () => Ops.MatMulInto(a, b, c), 2.0 * m * n * k / 1e12, "TFLOP/s"));
            var bt = Ops.RandomNormal([n, k], 3, 0, 1, bf, d);
            Add(Time($"matmul bf16 {m}x{n}x{k} b^T", d, iterations, () => Ops.MatMulInto(a, bt, c, transB: true), 2.0 * m * n * k / 1e12, "TFLOP/s"));
        }

        int T = 2048 / s, H = 32, D = 64;
        var q = Ops.RandomNormal([1, H, T, D], 4, 0, 1, bf, d);
        var kk = Ops.RandomNormal([1, H / 8, T, D], 5, 0, 1, bf, d);
        var v = Ops.RandomNormal([1, H / 8, T, D], 6, 0, 1, bf, d);
        double attnFlop = 4.0 * H * T * (T + 1) / 2 * D / 1e12;
        Tensor? o = null, lse = null;
        Add(Time($"attention fwd bf16 B=1 H=32/4 T={T} D={D}", d, iterations, () =>
        {
            o?.Dispose(); lse?.Dispose();
            (o, lse) = Ops.Attention(q, kk, v, 0.125f);
        }, attnFlop, "TFLOP/s"));
        var go = Ops.RandomNormal([1, H, T, D], 7, 0, 1, bf, d);
        Add(Time($"attention bwd bf16 B=1 H=32/4 T={T} D={D}", d, iterations, () =>
        {
            var (gq, gk, gv) = Ops.AttentionBackward(q, kk, v, o!, lse!, go, 0.125f);
            gq.Dispose(); gk.Dispose(); gv.Dispose();
        }, 2.5 * attnFlop, "TFLOP/s"));

        int rows = 2048 / s, C = 2048, I = 5632 / s, V = 32000 / s;
        var x = Ops.RandomNormal([rows, C], 8, 0, 1, bf, d);
        var w = Ops.RandomNormal([C], 9, 1, 0.1, bf, d);
        double xb = (double)rows * C * 2;
        Add(Time($"rmsnorm fwd bf16 [{rows},{C}]", d, iterations, () => { var (y, r) = Ops.RmsNorm(x, w, 1e-5f); y.Dispose(); r.Dispose(); }, 2 * xb / 1e9, "GB/s"));
        var (_, rstd) = Ops.RmsNorm(x, w, 1e-5f);
        Add(Time($"rmsnorm bwd bf16 [{rows},{C}]", d, iterations, () => { var (gx, gw) = Ops.RmsNormBackward(x, w, rstd, x); gx.Dispose(); gw.Dispose(); }, 3 * xb / 1e9, "GB/s"));

        var gate = Ops.RandomNormal([rows, I], 10, 0, 1, bf, d);
        var up = Ops.RandomNormal([rows, I], 11, 0, 1, bf, d);
        double gb = (double)rows * I * 2;
        Add(Time($"swiglu fwd bf16 [{rows},{I}]", d, iterations, () => Ops.SwiGlu(gate, up).Dispose(), 3 * gb / 1e9, "GB/s"));
        Add(Time($"swiglu bwd bf16 [{rows},{I}]", d, iterations, () => { var (a, b) = Ops.SwiGluBackward(gate, up, gate); a.Dispose(); b.Dispose(); }, 5 * gb / 1e9, "GB/s"));

        // The LoRS merge at a Llama-2-7B MLP shape, rank 16: fused (one read of W, one write of W') beside the unfused
        // composition (A B written in fp32, read back by the masked merge). GB/s counts W and W' only.
        int mo = 11008 / s, mi = 4096 / s;
        var mw = Ops.RandomNormal([mo, mi], 13, 0, 1, bf, d);
        var ma = Ops.RandomNormal([mo, 16], 14, 0, 0.1, DType.F32, d);
        var mb = Ops.RandomNormal([16, mi], 15, 0, 0.1, DType.F32, d);
        double mwb = 2.0 * mo * mi * 2;
        Add(Time($"lors merge fused bf16 [{mo},{mi}] r=16", d, iterations, () => Ops.MaskedLowRankMerge(mw, ma, mb, 2f).Dispose(), mwb / 1e9, "GB/s"));
        Add(Time($"lors merge unfused bf16 [{mo},{mi}] r=16", d, iterations, () =>
        {
            using var ab = Ops.MatMul(ma, mb, outType: DType.F32);
            Ops.MaskedMerge(mw, ab, 2f).Dispose();
        }, mwb / 1e9, "GB/s"));

        // Compressed 2:4 weights at the same shape: the merge from kept values into dense W' (reads 0.5625x, writes 1x),
        // decompression, and the decoding product x [1, I] W^T straight from the compressed weight beside cuBLAS dense.
        using (var keep = Ops.MaskLowest(Ops.Abs(mw.To(DType.F32)).Reshape(mo * mi / 4, 4), Tensor.FromArray([2], [1], d)))
        using (var w24 = Ops.MaskedFill(mw, keep.Reshape(mo, mi)))
        using (var c24 = Ops.Compress24(w24, "bench"))
        using (var x1 = Ops.RandomNormal([1, mi], 16, 0, 1, bf, d))
        {
            double wb = (double)mo * mi * 2;
            Add(Time($"lors merge 2:4 -> dense bf16 [{mo},{mi}] r=16", d, iterations, () => Ops.MaskedLowRankMerge24(c24, ma, mb, 2f, dense: true).Dispose(), 1.5625 * wb / 1e9, "GB/s"));
            Add(Time($"decompress 2:4 bf16 [{mo},{mi}]", d, iterations, () => Ops.Decompress24(c24).Dispose(), 1.5625 * wb / 1e9, "GB/s"));
            Add(Time($"decode x[1,{mi}] W^T dense bf16 (MatMul)", d, iterations, () => Ops.MatMul(x1, w24, false, true).Dispose(), wb / 1e9, "GB/s (W)"));
            Add(Time($"decode x[1,{mi}] W^T 2:4 compressed (Linear24)", d, iterations, () => Ops.Linear24(x1, c24).Dispose(), 0.5625 * wb / 1e9, "GB/s (W)"));
        }

        var logits = Ops.RandomNormal([rows, V], 12, 0, 2, bf, d);
        var targets = Tensor.FromArray(Enumerable.Range(0, rows).Select(i => i * 7 % V).ToArray(), [rows], d);
        double lb = (double)rows * V * 2;
        Add(Time($"cross-entropy fwd bf16 [{rows},{V}]", d, iterations, () => { var (l, e) = Ops.CrossEntropy(logits, targets); l.Dispose(); e.Dispose(); }, lb / 1e9, "GB/s"));
        var (_, ceLse) = Ops.CrossEntropy(logits, targets);
        Add(Time($"cross-entropy bwd bf16 [{rows},{V}]", d, iterations, () => Ops.CrossEntropyBackward(logits, targets, ceLse, 1f / rows).Dispose(), 2 * lb / 1e9, "GB/s"));
        o?.Dispose(); lse?.Dispose();
        return results;
    }

    /// <summary>Two warm-up calls (kernel compilation happens there), then the median of timed calls.</summary>
    internal static BenchResult Time(string name, Device d, int iterations, Action body, double work, string unit)
    {
        try
        {
            body(); body();
            BackendConformance.Synchronize(d);
            var times = new double[iterations];
            for (int i = 0; i < iterations; i++)
            {
                var sw = Stopwatch.StartNew();
                body();
                BackendConformance.Synchronize(d);
                times[i] = sw.Elapsed.TotalMilliseconds;
            }
            Array.Sort(times);
            double ms = times[iterations / 2];
            return new BenchResult(name, ms, work / (ms / 1e3), unit);
        }
        catch (Exception e)
        {
            return new BenchResult($"{name} FAILED: {e.GetType().Name}: {e.Message}", double.NaN, double.NaN, unit);
        }
    }
}
