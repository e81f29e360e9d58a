// Correctness of Lors.Tensors.Cpu.Gemm against the double-accumulating reference: many shapes (edge tiles,
// several K/M blocks, threaded splits), all transposes, alpha/beta, padded leading dimensions, BF16 operands,
// Dgemm and the strided batch; each at the AVX-512, AVX2 and scalar levels.
using Lors.Tensors.Cpu;
using G = Lors.Tensors.Cpu.Gemm;

namespace Lors.Tests.Gemm;

public unsafe class GemmTests
{
    private static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (7, 13, 5), (65, 129, 33), (12, 32, 7), (13, 33, 17), (0, 5, 3), (5, 0, 3), (4, 6, 0),
        (33, 17, 300), (200, 70, 20), (3, 2100, 4),   // several K blocks, several M blocks, N > NC
        (130, 150, 120), (300, 20, 400), (16, 300, 500), // large enough to be split across threads
    ];

    public static IEnumerable<object[]> ShapeCases()
    {
        foreach (var level in GemmCheck.Levels)
            foreach (var (m, n, k) in Shapes)
                for (int t = 0; t < 4; t++)
                    yield return [level, t >= 2, (t & 1) == 1, m, n, k];
    }

    [Theory]
    [MemberData(nameof(ShapeCases))]
    public void MatchesReference(SimdLevel level, bool ta, bool tb, int m, int n, int k)
        => Check(level, ta, tb, m, n, k, 1f, 0f, pad: 0);

    [Theory]
    [InlineData(1.5f, 0.5f, 0)]
    [InlineData(-0.75f, 1f, 3)]
    [InlineData(2f, -1.25f, 5)]
    [InlineData(0f, 0.5f, 1)]
    [InlineData(1f, 0f, 7)]
    public void AlphaBetaAndPadding(float alpha, float beta, int pad)
    {
        foreach (var level in GemmCheck.Levels)
            for (int t = 0; t < 4; t++)
                foreach (var (m, n, k) in new[] { (7, 13, 5), (65, 129, 33), (37, 50, 290) })
                    Check(level, t >= 2, (t & 1) == 1, m, n, k, alpha, beta, pad);
    }

    [Fact]
    public void SingleThreadAndThreadedAgree()
    {
        int saved = CpuFeatures.MaxThreads;
        try
        {
            CpuFeatures.MaxThreads = 1;
            Check(SimdLevel.Avx512, false, false, 130, 150, 120, 1f, 0f, 0);
            CpuFeatures.MaxThreads = 3;
            Check(SimdLevel.Avx512, false, true, 130, 150, 120, 1f, 0.5f, 1);
        }
        finally { CpuFeatures.MaxThreads = saved; }
    }

    [Fact]
    public void LargeRank16OuterProductStreamsCorrectly()
    {
        // C of 2M floats, K = 16, beta = 0: the streaming-store path (and its threaded split).
        Check(SimdLevel.Avx512, false, false, 1024, 2048, 16, 1f, 0f, 0);
        Check(SimdLevel.Avx512, true, false, 1024, 2048, 16, 0.5f, 1f, 0);
    }

    /// <summary>Runs Sgemm at a level and compares with Reference; beta == 0 starts from a NaN-filled C.</summary>
    private static void Check(SimdLevel level, bool ta, bool tb, int m, int n, int k, float alpha, float beta, int pad)
    {
        var (lda, aSize) = GemmCheck.Layout(ta, m, k, pad);
        var (ldb, bSize) = GemmCheck.Layout(tb, k, n, pad);
        int ldc = n + pad;
        using var a = new NativeBuffer(aSize, 1);
        using var b = new NativeBuffer(bSize, 2);
        using var c0 = beta == 0f ? new NativeBuffer((long)m * ldc, 0, float.NaN, random: false) : new NativeBuffer((long)m * ldc, 3);
        using var expected = c0.Copy();
        using var actual = c0.Copy();
        G.Reference(ta, tb, m, n, k, alpha, a.Ptr, lda, b.Ptr, ldb, beta, expected.Ptr, ldc);
        CpuFeatures.With(level, () => G.Sgemm(ta, tb, m, n, k, alpha, a.Ptr, lda, b.Ptr, ldb, beta, actual.Ptr, ldc));
        using var bound = GemmCheck.Bound(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc);
        GemmCheck.AssertClose(expected.Ptr, actual.Ptr, bound.Ptr, m, n, k, ldc,
            $"{level} ta={ta} tb={tb} {m}x{n}x{k} alpha={alpha} beta={beta} pad={pad}");
    }

    [Theory]
    [InlineData(GemmElement.BF16, GemmElement.F32)]
    [InlineData(GemmElement.F32, GemmElement.BF16)]
    [InlineData(GemmElement.BF16, GemmElement.BF16)]
    public void Bf16Operands(GemmElement aKind, GemmElement bKind)
    {
        foreach (var level in GemmCheck.Levels)
            for (int t = 0; t < 4; t++)
                foreach (var (m, n, k) in new[] { (7, 13, 5), (65, 129, 33), (40, 70, 300) })
                    CheckMixed(level, t >= 2, (t & 1) == 1, m, n, k, aKind, bKind);
    }

    private static void CheckMixed(SimdLevel level, bool ta, bool tb, int m, int n, int k, GemmElement aKind, GemmElement bKind)
    {
        var (lda, aSize) = GemmCheck.Layout(ta, m, k, 2);
        var (ldb, bSize) = GemmCheck.Layout(tb, k, n, 1);
        using var a = new NativeBuffer(aSize, 4);
        using var b = new NativeBuffer(bSize, 5);
        // The reference sees the bf16-rounded values, so only accumulation order may differ.
        ushort[]? aBits = aKind == GemmElement.BF16 ? a.ToBf16InPlace() : null;
        ushort[]? bBits = bKind == GemmElement.BF16 ? b.ToBf16InPlace() : null;
        using var c0 = new NativeBuffer((long)m * n, 6);
        using var expected = c0.Copy();
        using var actual = c0.Copy();
        G.Reference(ta, tb, m, n, k, 0.5f, a.Ptr, lda, b.Ptr, ldb, 2f, expected.Ptr, n);
        fixed (ushort* ab = aBits)
        fixed (ushort* bb = bBits)
        {
            void* ap = aBits != null ? ab : a.Ptr;
            void* bp = bBits != null ? bb : b.Ptr;
            nint apn = (nint)ap, bpn = (nint)bp;
            CpuFeatures.With(level, () => G.GemmEx(ta, tb, m, n, k, 0.5f, (void*)apn, aKind, lda, (void*)bpn, bKind, ldb, 2f, actual.Ptr, n));
        }
        using var bound = GemmCheck.Bound(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 2f, c0, n);
        GemmCheck.AssertClose(expected.Ptr, actual.Ptr, bound.Ptr, m, n, k, n, $"{level} {aKind}x{bKind} ta={ta} tb={tb} {m}x{n}x{k}");
    }
}
