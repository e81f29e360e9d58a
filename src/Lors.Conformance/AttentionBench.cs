// Micro-benchmark of causal attention at real model shapes: forward and backward of every CUDA algorithm (mma,
// gemm, tiled) at B = 1, T = 2048, D = 128 for Llama-2-7B (32 / 32 heads) and Llama-3-8B (32 / 8), median over
// repeats, as ms and TFLOP/s (causal FLOPs: forward 4 B Hq T^2 D / 2, backward 2.5x the forward).
using Lors.Tensors.Cuda;

using Lors.Tensors;

namespace Lors.Conformance;

public static class AttentionBench
{
    /// <summary>(name, Hq, Hkv, D) of the shapes `lors bench attention --shape` knows.</summary>
    public static readonly (string name, int hq, int hkv, int d)[] Shapes =
    [
        ("llama2-7b", 32, 32, 128), ("llama3-8b", 32, 8, 128), ("tinyllama-1.1b", 32, 4, 64),
    ];

    /// <summary>
    /// Times forward and backward of each algorithm on d (CUDA; on another device only its own attention) for the
    /// named shape ("all" runs every shape). Per algorithm and direction: 2 warm-up calls, then the median of repeats.
    /// </summary>
    public static List<BenchResult> Run(Device d, string shape, int seqLen = 2048, int batch = 1, int repeats = 10, Action<BenchResult>? onResult = null)
    {
        var shapes = shape == "all" ? Shapes : Shapes.Where(s => s.name == shape).ToArray();
        if (shapes.Length == 0)
            throw new ArgumentException($"bench attention: unknown shape '{shape}' (expected {string.Join(", ", Shapes.Select(s => s.name))} or all)", nameof(shape));
        var results = new List<BenchResult>();
        void Add(BenchResult r) { results.Add(r); onResult?.Invoke(r); }
        foreach (var (name, hq, hkv, dim) in shapes)
        {
            using var scope = TensorScope.Begin();
            int t = seqLen, b = batch;
            float scale = 1f / MathF.Sqrt(dim);
            var q = Ops.RandomNormal([b, hq, t, dim], 1, 0, 1, DType.BF16, d);
            var k = Ops.RandomNormal([b, hkv, t, dim], 2, 0, 1, DType.BF16, d);
            var v = Ops.RandomNormal([b, hkv, t, dim], 3, 0, 1, DType.BF16, d);
            var go = Ops.RandomNormal([b, hq, t, dim], 4, 0, 1, DType.BF16, d);
            var o = Tensor.Empty([b, hq, t, dim], DType.BF16, d);
            var lse = Tensor.Empty([b, hq, t], DType.F32, d);
            var gq = Tensor.Empty([b, hq, t, dim], DType.BF16, d);
            var gk = Tensor.Empty([b, hkv, t, dim], DType.BF16, d);
            var gv = Tensor.Empty([b, hkv, t, dim], DType.BF16, d);
            double fwd = 4.0 * b * hq * t * (t + 1) / 2 * dim / 1e12;
            string what = $"{name} B={b} H={hq}/{hkv} T={t} D={dim}";
            if (!d.IsCpu && Backends.Get(d) is CudaBackend cb)
            {
                var algos = new List<CudaBackend.AttnAlgo>();
                if (CudaBackend.MmaAttentionCovers(DType.BF16, dim)) algos.Add(CudaBackend.AttnAlgo.Mma);
                algos.Add(CudaBackend.AttnAlgo.Gemm);
                algos.Add(CudaBackend.AttnAlgo.Tiled);
                foreach (var algo in algos)
                {
                    string a = algo.ToString().ToLowerInvariant();
                    Add(Benchmark.Time($"attention[{a}] fwd {what}", d, repeats, () => cb.Attention(q, k, v, scale, o, lse, algo), fwd, "TFLOP/s"));
                    cb.Attention(q, k, v, scale, o, lse, algo);
                    Add(Benchmark.Time($"attention[{a}] bwd {what}", d, repeats, () => cb.AttentionBackward(q, k, v, o, lse, go, scale, gq, gk, gv, algo), 2.5 * fwd, "TFLOP/s"));
                }
            }
            else
            {
                Add(Benchmark.Time($"attention[{d}] fwd {what}", d, repeats, () => { var (x, y) = Ops.Attention(q, k, v, scale); x.Dispose(); y.Dispose(); }, fwd, "TFLOP/s"));
                var (o2, l2) = Ops.Attention(q, k, v, scale);
                Add(Benchmark.Time($"attention[{d}] bwd {what}", d, repeats, () => { var (x, y, z) = Ops.AttentionBackward(q, k, v, o2, l2, go, scale); x.Dispose(); y.Dispose(); z.Dispose(); }, 2.5 * fwd, "TFLOP/s"));
            }
        }
        return results;
    }
}
