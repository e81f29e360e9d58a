// `lors bench linear`: the adapted linear layers of one decoder layer at a model shape, each timed alone (forward +
// backward, N = batch x seq-len tokens, W 2:4 sparse in the compute dtype, rank-r adapters) beside the plain GEMMs
// of the same shapes (forward x W^T and input gradient gy W): the "LoRS linear within 1.3x of plain GEMMs".
// Also the masked (sqft) baseline's linear and the merge alone, fused and unfused. Medians of the timed runs.
using System.Diagnostics;
using Lors.Autograd;
using Lors.Cli.Commands;
using Lors.Models.Llama;
using Lors.Tensors;
using Lors.Train.Adapters;

namespace Lors.Cli.Bench;

/// <summary>Milliseconds per call of one projection shape; Layers x the sums give a whole step's linear time.</summary>
public sealed record LinearBenchRow(string Projection, int Out, int In, double PlainMs, double LorsMs, double MaskedMs, double MergeFusedMs, double MergeUnfusedMs);

public sealed record LinearBenchResult(string Shape, int Tokens, int Rank, string Device, int Layers, IReadOnlyList<LinearBenchRow> Rows)
{
    public double PlainStepMs => Layers * Rows.Sum(r => r.PlainMs);
    public double LorsStepMs => Layers * Rows.Sum(r => r.LorsMs);
    public double MaskedStepMs => Layers * Rows.Sum(r => r.MaskedMs);
}

public static class LinearBench
{
    public static LinearBenchResult Run(BenchCommand.Settings s)
    {
        var device = s.Device;
        var c = TrainBench.Shape(s.Shape, s.Layers);
        var dt = device.IsCpu ? DType.F32 : DType.BF16;
        int n = s.Batch * s.SeqLen, r = s.Rank, q = c.NumAttentionHeads * c.HeadDim, kv = c.NumKeyValueHeads * c.HeadDim;
        var shapes = new (Projection p, int o, int i)[]
        {
            (Projection.Q, q, c.HiddenSize), (Projection.K, kv, c.HiddenSize), (Projection.V, kv, c.HiddenSize), (Projection.O, c.HiddenSize, q),
            (Projection.Gate, c.IntermediateSize, c.HiddenSize), (Projection.Up, c.IntermediateSize, c.HiddenSize), (Projection.Down, c.HiddenSize, c.IntermediateSize),
        };
        var rows = new List<LinearBenchRow>();
        ulong seed = 1;
        foreach (var (p, o, i) in shapes)
        {
            using var scope = TensorScope.Begin();
            var w = TwoFour(Ops.RandomNormal([o, i], seed++, 0, 0.02, dt, device));
            var x = Ops.RandomNormal([n, i], seed++, 0, 1, dt, device);
            var gy = Ops.RandomNormal([n, o], seed++, 0, 1, dt, device);
            var a = new Variable(Ops.RandomNormal([o, r], seed++, 0, 0.01, DType.F32, device), true);
            var b = new Variable(Ops.RandomNormal([r, i], seed++, 0, 0.01, DType.F32, device), true);
            var wv = new Variable(w);
            float sc = 1f;
            double plain = Time(s, device, () =>
            {
                Ops.MatMul(x, w, false, true).Dispose();
                Ops.MatMul(gy, w).Dispose();
            });
            double lors = Time(s, device, () => Step(Function.Apply(new LorsLinearFn(sc), new Variable(x, true), wv, a, b), gy, a, b));
            double masked = Time(s, device, () =>
                Step(F.Linear(new Variable(x, true), Function.Apply(new MaskedLowRankMergeFn(sc), wv, a, b)), gy, a, b));
            double fused = Time(s, device, () => Ops.MaskedLowRankMerge(w, a.Data, b.Data, sc).Dispose());
            double unfused = Time(s, device, () =>
            {
                using var ab = Ops.MatMul(a.Data, b.Data, outType: DType.F32);
                Ops.MaskedMerge(w, ab, sc).Dispose();
            });
            rows.Add(new LinearBenchRow(p.Short() + "_proj", o, i, plain, lors, masked, fused, unfused));
        }
        return new LinearBenchResult(s.Shape, n, r, Backends.Get(device).Description, c.NumHiddenLayers, rows);
    }

    /// <summary>A fixed 2:4 pattern (the first two of every four inputs zero): for timing, which weights are zero does not matter.</summary>
    private static Tensor TwoFour(Tensor w)
    {
        int o = w.Shape[0], i = w.Shape[1];
        var keep = new byte[(long)o * i];
        for (long k = 0; k < keep.Length; k++) keep[k] = (byte)(k % i % 4 < 2 ? 0 : 1);
        using var mask = Tensor.FromBytes(keep, [o, i], DType.U8, w.Device);
        var y = Ops.MaskedFill(w, mask);
        w.Dispose();
        return y;
    }

    private static void Step(Variable y, Tensor gy, Variable a, Variable b)
    {
        y.Backward(gy);
        a.ZeroGrad();
        b.ZeroGrad();
    }

    private static double Time(BenchCommand.Settings s, Device d, Action body)
    {
        var times = new List<double>();
        for (int k = 0; k < s.Warmup + s.Steps; k++)
        {
            using var scope = TensorScope.Begin();
            Lors.Conformance.BackendConformance.Synchronize(d);
            var sw = Stopwatch.StartNew();
            body();
            Lors.Conformance.BackendConformance.Synchronize(d);
            if (k >= s.Warmup) times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times.Count == 0 ? double.NaN : times[times.Count / 2];
    }
}
