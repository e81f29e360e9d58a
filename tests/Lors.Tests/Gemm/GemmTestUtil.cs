// Shared helpers for the GEMM tests: random matrices in native memory, BF16 rounding, and a comparison
// whose tolerance scales with the fp32 accumulation error bound K * eps * sum|a||b|.
using System.Runtime.InteropServices;
using Lors.Tensors.Cpu;

namespace Lors.Tests.Gemm;

/// <summary>A native float buffer that frees itself.</summary>
internal sealed unsafe class NativeBuffer : IDisposable
{
    public readonly float* Ptr;
    public readonly long Length;

    public NativeBuffer(long length, int seed, float fill = float.NaN, bool random = true)
    {
        Length = Math.Max(length, 1);
        Ptr = (float*)NativeMemory.AlignedAlloc((nuint)(Length * sizeof(float)), 64);
        var rng = new Random(seed);
        for (long i = 0; i < Length; i++) Ptr[i] = random ? (float)(rng.NextDouble() * 2 - 1) : fill;
    }

    public NativeBuffer Abs()
    {
        var r = new NativeBuffer(Length, 0, 0, random: false);
        for (long i = 0; i < Length; i++) r.Ptr[i] = MathF.Abs(Ptr[i]);
        return r;
    }

    public NativeBuffer Copy()
    {
        var r = new NativeBuffer(Length, 0, 0, random: false);
        Buffer.MemoryCopy(Ptr, r.Ptr, Length * 4, Length * 4);
        return r;
    }

    /// <summary>Rounds every value to bf16 (truncation) and returns the bit patterns.</summary>
    public ushort[] ToBf16InPlace()
    {
        var bits = new ushort[Length];
        for (long i = 0; i < Length; i++)
        {
            bits[i] = (ushort)(BitConverter.SingleToUInt32Bits(Ptr[i]) >> 16);
            Ptr[i] = BitConverter.UInt32BitsToSingle((uint)bits[i] << 16);
        }
        return bits;
    }

    public void Dispose() => NativeMemory.AlignedFree(Ptr);
}

internal static unsafe class GemmCheck
{
    public static readonly SimdLevel[] Levels = [SimdLevel.Avx512, SimdLevel.Avx2, SimdLevel.Scalar];

    /// <summary>Rows x ld storage size of op(X) (rows, cols) with transpose flag and padding.</summary>
    public static (int Ld, long Size) Layout(bool trans, int rows, int cols, int pad)
    {
        int ld = (trans ? rows : cols) + pad;
        return (ld, (long)(trans ? cols : rows) * ld);
    }

    /// <summary>
    /// Asserts actual matches expected within the fp32 bound (K + 4) * 2^-23 * bound[i,j], where bound is
    /// |alpha| sum|a||b| + |beta c|; the padding columns of C (N..ldc) must be untouched.
    /// </summary>
    public static void AssertClose(float* expected, float* actual, float* bound, int M, int N, int K, int ldc, string what)
    {
        double eps = (K + 4) * Math.Pow(2, -23);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < ldc; j++)
            {
                long idx = (long)i * ldc + j;
                float e = expected[idx], a = actual[idx];
                if (j >= N)
                {
                    Assert.True(BitConverter.SingleToInt32Bits(e) == BitConverter.SingleToInt32Bits(a),
                        $"{what}: padding C[{i},{j}] changed");
                    continue;
                }
                double tol = eps * bound[idx] + 1e-30;
                if (!(Math.Abs(e - a) <= tol))
                    Assert.Fail($"{what}: C[{i},{j}] = {a}, expected {e} (tol {tol:E2})");
            }
    }

    /// <summary>The per-element error scale |alpha| |op(A)| |op(B)| + |beta| |C0|.</summary>
    public static NativeBuffer Bound(bool ta, bool tb, int M, int N, int K, float alpha, NativeBuffer a, int lda,
        NativeBuffer b, int ldb, float beta, NativeBuffer c0, int ldc)
    {
        using var aa = a.Abs();
        using var ba = b.Abs();
        var bound = c0.Abs();
        if (beta == 0f) for (long i = 0; i < bound.Length; i++) bound.Ptr[i] = 0;
        Lors.Tensors.Cpu.Gemm.Reference(ta, tb, M, N, K, MathF.Abs(alpha), aa.Ptr, lda, ba.Ptr, ldb, MathF.Abs(beta), bound.Ptr, ldc);
        return bound;
    }
}
