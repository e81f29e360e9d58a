// Shared helpers for the training tests: a synthetic char-level encoder, temp folders (repository paths: RepoPaths), and a tiny
// linear-regression problem whose "dataset" rows are sample indices.
using Lors.Autograd;
using Lors.Tensors;
using Lors.Train.Data;

namespace Lors.Tests.Training;

internal static class TrainTestUtil
{
    public const int Bos = 1, Eos = 2, Pad = 0;

    /// <summary>One token per char: code + 10 (so 0..9 stay free for specials).</summary>
    public static readonly TokenEncoder CharEncoder = new(s => s.Select(c => (int)c + 10).ToArray(), Bos, Eos, Pad);

    public static string TempDir(string tag)
    {
        var d = Path.Combine(Path.GetTempPath(), "lors-train-tests", tag + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    public static byte[] Bytes(Tensor t) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.ToFloatArray().AsSpan()).ToArray();
}

/// <summary>y = x . [1, -2, 0.5] + 0.3 + small noise, fitted with w [1, 3] and b [1] by mean squared error.</summary>
internal sealed class LinearProblem : IDisposable
{
    public const int N = 64, D = 3;
    private readonly float[] _x = new float[N * D], _y = new float[N];

    public LinearProblem(ulong seed = 7)
    {
        var rng = new DeterministicRng(seed);
        double U() => (rng.NextUInt64() >> 11) * (1.0 / (1UL << 53)) * 2 - 1;
        for (int i = 0; i < N; i++)
        {
            for (int j = 0; j < D; j++) _x[i * D + j] = (float)U();
            _y[i] = (float)(_x[i * D] - 2 * _x[i * D + 1] + 0.5 * _x[i * D + 2] + 0.3 + 0.01 * U());
        }
        using var _ = TensorScope.Detached();
        W = new Variable(Tensor.Zeros([1, D]), requiresGrad: true, "w");
        B = new Variable(Tensor.Zeros([1]), requiresGrad: true, "b");
    }

    public Variable W { get; }
    public Variable B { get; }
    public IReadOnlyList<(string, Variable)> Parameters => [("w", W), ("b", B)];

    /// <summary>Every sample as a one-token example whose id is its row index.</summary>
    public SequenceDataset Dataset(int from = 0, int count = N) =>
        new(1, Enumerable.Range(from, count).Select(i => (new[] { i }, new[] { i })));

    public Variable Loss(Batch batch)
    {
        int b = batch.B;
        var xs = new float[b * D];
        var ys = new float[b];
        for (int i = 0; i < b; i++)
        {
            int r = batch.Ids[i];
            Array.Copy(_x, r * D, xs, i * D, D);
            ys[i] = _y[r];
        }
        var x = new Variable(Tensor.FromArray(xs, [b, D]));
        var y = new Variable(Tensor.FromArray(ys, [b, 1]));
        var pred = F.Add(F.Linear(x, W), B);
        var d = F.Sub(pred, y);
        return F.Mean(F.Mul(d, d));
    }

    public void Dispose()
    {
        W.Data.Dispose(); W.ZeroGrad();
        B.Data.Dispose(); B.ZeroGrad();
    }
}
