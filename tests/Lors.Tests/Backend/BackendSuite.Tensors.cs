// Tensor views (reshape/-1, transpose, permute, narrow, select, expand, (un)squeeze, contiguous), TensorScope,
// MemoryStats, random determinism and moments, and casts F32 <-> BF16 <-> F16 with round-to-nearest-even.
using Lors.Tensors;

namespace Lors.Tests.Backend;

public abstract partial class BackendSuite
{
    private static double[] Iota(int n) => Enumerable.Range(0, n).Select(i => (double)i).ToArray();

    [BackendFact]
    public void ViewsShareStorageAndIndexCorrectly()
    {
        using var x = Make(Iota(24), [2, 3, 4], DType.F32);
        using var r = x.Reshape(4, -1);
        Assert.Equal([4, 6], r.Shape);
        Assert.Throws<ArgumentException>(() => x.Reshape(5, -1));
        using var t = x.Transpose(0, 2); // [4, 3, 2]: t[i, j, k] = x[k, j, i]
        Assert.False(t.IsContiguous);
        Assert.Equal(x.ToDoubleArray()[1 * 12 + 2 * 4 + 3], t.ToDoubleArray()[(3 * 3 + 2) * 2 + 1]);
        Assert.Throws<InvalidOperationException>(() => t.Reshape(-1));
        using var p = x.Permute(1, 2, 0); // [3, 4, 2]: p[j, k, i] = x[i, j, k]
        Assert.Equal([3, 4, 2], p.Shape);
        using var pc = p.Contiguous();
        Assert.True(pc.IsContiguous);
        var pa = pc.ToDoubleArray();
        for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 4; k++)
            Assert.Equal(i * 12 + j * 4 + k, pa[(j * 4 + k) * 2 + i]);
        using var n = x.Narrow(2, 1, 2); // [2, 3, 2]
        Assert.Equal([1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22], n.ToDoubleArray());
        using var s = x.Select(1, 2); // [2, 4]
        Assert.Equal([8, 9, 10, 11, 20, 21, 22, 23], s.ToDoubleArray());
        using var row = Make([1, 2, 3], [3], DType.F32);
        using var e = row.Expand(2, 3);
        Assert.Equal([1, 2, 3, 1, 2, 3], e.ToDoubleArray());
        using var u = row.Unsqueeze(0);
        Assert.Equal([1, 3], u.Shape);
        using var u2 = row.Unsqueeze(-1);
        Assert.Equal([3, 1], u2.Shape);
        using var sq = u.Squeeze(0);
        Assert.Equal([3], sq.Shape);
        Assert.Throws<ArgumentException>(() => row.Squeeze(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Narrow(0, 1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Select(1, 3));
        // Views share storage: a write through the base shows in the view.
        Ops.FillInPlace(x, 7);
        Assert.All(n.ToDoubleArray(), v => Assert.Equal(7.0, v));
        // Strided copies in BF16 and through a contiguous expand of a transposed view.
        using var xb = Make(Iota(24), [2, 3, 4], DType.BF16);
        using var tb = xb.Transpose(1, 2);
        using var tb32 = tb.To(DType.F32);
        Assert.Equal(x.Shape.Length, tb32.Rank);
        Assert.Equal(5.0, tb32.ToDoubleArray()[1 * 3 + 1]);
    }

    [BackendFact]
    public void ScopeDisposesAndKeepMovesOut()
    {
        Tensor inner, kept;
        using (var scope = TensorScope.Begin())
        {
            inner = Tensor.Zeros([3], DType.F32, Device);
            kept = scope.Keep(Tensor.Zeros([3], DType.F32, Device));
            Assert.False(inner.IsDisposed);
        }
        Assert.True(inner.IsDisposed);
        Assert.False(kept.IsDisposed);
        kept.Dispose();
        Throws<ObjectDisposedException>(() => _ = inner.ToFloatArray(), "disposed", "[3]");
        // Nested: Keep moves a tensor into the parent, which then disposes it.
        Tensor moved;
        using (TensorScope.Begin())
        {
            using (var child = TensorScope.Begin()) moved = child.Keep(Tensor.Zeros([2], DType.F32, Device));
            Assert.False(moved.IsDisposed);
        }
        Assert.True(moved.IsDisposed);
    }

    [BackendFact]
    public void MemoryStatsTrackPeak()
    {
        // The semantics on a private instance: the backend's own stats are shared with tests running in parallel,
        // so this test never resets them (other tests read their peaks).
        var stats = new MemoryStats();
        stats.OnAllocate(100);
        stats.OnAllocate(50);
        stats.OnFree(100);
        Assert.Equal(50, stats.CurrentBytes);
        Assert.Equal(150, stats.PeakBytes);
        Assert.Equal(2, stats.Allocations);
        stats.ResetPeak();
        Assert.Equal(50, stats.PeakBytes);
        stats.OnFree(50);
        Assert.Equal(0, stats.CurrentBytes);
        // The backend counts a tensor's bytes while it lives and gives them back on dispose.
        var mem = Backends.Get(Device).Memory;
        long allocations = mem.Allocations;
        using (var a = Tensor.Empty([1 << 20], DType.F32, Device))
        {
            Assert.True(mem.Allocations > allocations);
            Assert.True(mem.PeakBytes >= mem.CurrentBytes);
            Assert.True(mem.CurrentBytes >= 4 << 20);
        }
    }

    [BackendFact]
    public void RandomIsDeterministicWithRightMoments()
    {
        using var a = Ops.RandomNormal([100_000], 42, mean: 1, std: 2, device: Device);
        using var b = Ops.RandomNormal([100_000], 42, mean: 1, std: 2, device: Device);
        using var c = Ops.RandomNormal([100_000], 43, mean: 1, std: 2, device: Device);
        var av = a.ToDoubleArray();
        Assert.Equal(av, b.ToDoubleArray());
        Assert.NotEqual(av, c.ToDoubleArray());
        double mean = av.Average(), std = Math.Sqrt(av.Sum(x => (x - mean) * (x - mean)) / av.Length);
        Assert.InRange(mean, 0.97, 1.03);
        Assert.InRange(std, 1.97, 2.03);
        using var u = Ops.RandomUniform([100_000], 7, -1, 3, device: Device);
        var uv = u.ToDoubleArray();
        Assert.All(uv, x => Assert.InRange(x, -1, 3));
        Assert.InRange(uv.Average(), 0.97, 1.03);
        // Same seed, different dtype: the BF16 values are the F32 values rounded.
        using var ab = Ops.RandomNormal([1000], 42, mean: 1, std: 2, DType.BF16, Device);
        Assert.Equal(av.Take(1000).Select(x => (double)Half16.RoundBF16((float)x)), ab.ToDoubleArray());
    }

    [BackendFact]
    public void CastsRoundToNearestEven()
    {
        // bf16 keeps 8 mantissa bits: 1 + 2^-8 is a tie between 1 and 1 + 2^-7 -> even (1); 1 + 3*2^-8 -> 1 + 2^-6.
        float one = 1f, tie = 1f + MathF.Pow(2, -8), tieUp = 1f + 3 * MathF.Pow(2, -8), above = 1f + MathF.Pow(2, -8) + MathF.Pow(2, -12);
        using var f = Tensor.FromArray(new[] { one, tie, tieUp, above, -tie, 65504f, 1e-40f, float.PositiveInfinity }, [8], Device);
        using var b = f.To(DType.BF16);
        var bv = b.ToFloatArray();
        Assert.Equal([1f, 1f, 1f + MathF.Pow(2, -6), 1f + MathF.Pow(2, -7), -1f, 65536f], bv[..6]);
        Assert.True(float.IsPositiveInfinity(bv[7]));
        // f16: 11 bits; 1 + 2^-11 ties to 1, 1 + 3*2^-11 to 1 + 2^-9; 65520 overflows to infinity.
        using var g = Tensor.FromArray(new[] { 1f + MathF.Pow(2, -11), 1f + 3 * MathF.Pow(2, -11), 65520f, 0.1f }, [4], Device);
        using var h = g.To(DType.F16);
        var hv = h.ToFloatArray();
        Assert.Equal(1f, hv[0]);
        Assert.Equal(1f + MathF.Pow(2, -9), hv[1]);
        Assert.True(float.IsPositiveInfinity(hv[2]));
        Assert.Equal((float)(Half)0.1f, hv[3]);
        // Round trips: bf16 -> f32 -> bf16 and f16 -> f32 -> f16 are exact; f16 -> bf16 rounds once.
        for (int n = 0; n <= 67; n++)
        {
            var x = Rand(n, n, -100, 100);
            using var xb = Make(x, [n], DType.BF16);
            using var x32 = xb.To(DType.F32);
            using var back = x32.To(DType.BF16);
            Assert.Equal(xb.ToDoubleArray(), back.ToDoubleArray());
            Assert.Equal(Round(x, DType.BF16), xb.ToDoubleArray());
            using var xh = Make(x, [n], DType.F16);
            using var h32 = xh.To(DType.F32);
            using var hb = h32.To(DType.F16);
            Assert.Equal(xh.ToDoubleArray(), hb.ToDoubleArray());
            using var hbf = xh.To(DType.BF16);
            Assert.Equal(Round(Round(x, DType.F16), DType.BF16), hbf.ToDoubleArray());
        }
        using var ints = MakeInts([1, -2, 3], [3]);
        using var asF = ints.To(DType.F32);
        Assert.Equal([1f, -2f, 3f], asF.ToFloatArray());
    }
}
