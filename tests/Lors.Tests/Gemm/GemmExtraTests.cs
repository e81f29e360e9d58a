// Dgemm, the strided batch (including stride-0 broadcast) and argument validation.
using Lors.Tensors.Cpu;
using G = Lors.Tensors.Cpu.Gemm;

namespace Lors.Tests.Gemm;

public unsafe class GemmExtraTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 13, 5)]
    [InlineData(65, 129, 33)]
    [InlineData(20, 9, 300)]
    [InlineData(0, 4, 3)]
    [InlineData(4, 3, 0)]
    public void DgemmMatchesNaive(int m, int n, int k)
    {
        var rng = new Random(7);
        for (int t = 0; t < 4; t++)
        {
            bool ta = t >= 2, tb = (t & 1) == 1;
            int lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 1;
            var a = new double[Math.Max(1, (ta ? k : m) * lda)];
            var b = new double[Math.Max(1, (tb ? n : k) * ldb)];
            var c = new double[Math.Max(1, m * ldc)];
            for (int i = 0; i < a.Length; i++) a[i] = rng.NextDouble() - 0.5;
            for (int i = 0; i < b.Length; i++) b[i] = rng.NextDouble() - 0.5;
            for (int i = 0; i < c.Length; i++) c[i] = rng.NextDouble() - 0.5;
            var expected = (double[])c.Clone();
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++)
                        s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
                    expected[i * ldc + j] = 1.5 * s - 0.5 * c[i * ldc + j];
                }
            fixed (double* ap = a, bp = b, cp = c)
                G.Dgemm(ta, tb, m, n, k, 1.5, ap, lda, bp, ldb, -0.5, cp, ldc);
            for (int i = 0; i < c.Length; i++)
                Assert.True(Math.Abs(expected[i] - c[i]) <= 1e-12 * (k + 1), $"ta={ta} tb={tb} at {i}: {c[i]} vs {expected[i]}");
        }
    }

    [Fact]
    public void DgemmBetaZeroIgnoresNaN()
    {
        double[] a = [1, 2], b = [3, 4], c = [double.NaN];
        fixed (double* ap = a, bp = b, cp = c)
            G.Dgemm(false, false, 1, 1, 2, 1, ap, 2, bp, 1, 0, cp, 1);
        Assert.Equal(11, c[0]);
    }

    [Theory]
    [InlineData(false, false, 100L, 200L)]
    [InlineData(true, false, 0L, 200L)]   // A broadcast
    [InlineData(false, true, 100L, 0L)]   // B broadcast
    public void BatchedMatchesPerBatchReference(bool ta, bool tb, long strideAScale, long strideBScale)
    {
        foreach (var level in GemmCheck.Levels)
            foreach (var (m, n, k, batch) in new[] { (5, 7, 3, 4), (40, 70, 33, 3), (130, 150, 120, 2) })
            {
                var (lda, aSize) = GemmCheck.Layout(ta, m, k, 1);
                var (ldb, bSize) = GemmCheck.Layout(tb, k, n, 0);
                int ldc = n + 2;
                long sa = strideAScale == 0 ? 0 : aSize + 3, sb = strideBScale == 0 ? 0 : bSize + 5, sc = (long)m * ldc + 1;
                using var a = new NativeBuffer(aSize + sa * batch, 11);
                using var b = new NativeBuffer(bSize + sb * batch, 12);
                using var c0 = new NativeBuffer(sc * batch, 13);
                using var expected = c0.Copy();
                using var actual = c0.Copy();
                for (int i = 0; i < batch; i++)
                    G.Reference(ta, tb, m, n, k, 1.25f, a.Ptr + i * sa, lda, b.Ptr + i * sb, ldb, 0.5f, expected.Ptr + i * sc, ldc);
                CpuFeatures.With(level, () => G.SgemmBatched(ta, tb, batch, m, n, k, 1.25f, a.Ptr, lda, sa, b.Ptr, ldb, sb,
                    0.5f, actual.Ptr, ldc, sc));
                for (int i = 0; i < batch; i++)
                {
                    using var ab = new NativeBuffer(aSize, 0, 0, false);
                    using var bb = new NativeBuffer(bSize, 0, 0, false);
                    using var cb = new NativeBuffer((long)m * ldc, 0, 0, false);
                    Buffer.MemoryCopy(a.Ptr + i * sa, ab.Ptr, aSize * 4, aSize * 4);
                    Buffer.MemoryCopy(b.Ptr + i * sb, bb.Ptr, bSize * 4, bSize * 4);
                    Buffer.MemoryCopy(c0.Ptr + i * sc, cb.Ptr, (long)m * ldc * 4, (long)m * ldc * 4);
                    using var bound = GemmCheck.Bound(ta, tb, m, n, k, 1.25f, ab, lda, bb, ldb, 0.5f, cb, ldc);
                    GemmCheck.AssertClose(expected.Ptr + i * sc, actual.Ptr + i * sc, bound.Ptr, m, n, k, ldc,
                        $"{level} batch {i} {m}x{n}x{k}");
                }
            }
    }

    [Fact]
    public void InvalidArgumentsThrow()
    {
        float[] x = new float[64];
        fixed (float* p = x)
        {
            nint q = (nint)p;
            AssertThrows(() => G.Sgemm(false, false, -1, 2, 2, 1, (float*)q, 2, (float*)q, 2, 0, (float*)q, 2), "M=-1");
            AssertThrows(() => G.Sgemm(false, false, 2, 2, 3, 1, (float*)q, 2, (float*)q, 2, 0, (float*)q, 2), "lda=2");
            AssertThrows(() => G.Sgemm(false, true, 2, 4, 3, 1, (float*)q, 3, (float*)q, 2, 0, (float*)q, 4), "ldb=2");
            AssertThrows(() => G.Sgemm(false, false, 2, 4, 3, 1, (float*)q, 3, (float*)q, 4, 0, (float*)q, 3), "ldc=3");
            AssertThrows(() => G.Dgemm(false, false, 2, -4, 3, 1, null, 3, null, 4, 0, null, 4), "N=-4");
            AssertThrows(() => G.SgemmBatched(false, false, -1, 2, 2, 2, 1, (float*)q, 2, 0, (float*)q, 2, 0, 0, (float*)q, 2, 4), "batch=-1");
        }
    }

    private static void AssertThrows(Action call, string mustMention)
    {
        var e = Assert.Throws<ArgumentException>(call);
        Assert.Contains("Gemm", e.Message);
        Assert.Contains(mustMention, e.Message);
    }

    [Fact]
    public void ZeroKScalesC()
    {
        float[] c = [1, 2, float.NaN, 4];
        fixed (float* cp = c)
        {
            G.Sgemm(false, false, 2, 2, 0, 1, null, 0, null, 2, 0.5f, cp, 2);
            Assert.Equal([0.5f, 1f, float.NaN, 2f], c);
            G.Sgemm(false, false, 2, 2, 0, 1, null, 0, null, 2, 0f, cp, 2);
            Assert.Equal([0f, 0f, 0f, 0f], c);
        }
    }
}
