// AVX-512 micro-kernels: R x 32 tiles (R = 12: 24 zmm accumulators + two B vectors + one broadcast = 27 of
// 32 registers) and R x 16 tiles for the last narrow column panel (e.g. N = 16 rank-16 products).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lors.Tensors.Cpu;

internal static unsafe class GemmKernelsAvx512
{
    public const int NR = 32, HalfNR = 16;

    /// <summary>
    /// C[R x 32] = alpha * sum_k a[k*R + r] * b[k*32 + j] + beta * C (beta == 0: overwrite), R = 4, 8 or 12.
    /// The row count is a type parameter so the JIT drops the unused rows and keeps every accumulator in a register.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void KernelX32<R>(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta) where R : IKernelRows
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
        Vector512<float> c90 = default, c91 = default, cA0 = default, cA1 = default, cB0 = default, cB1 = default;
        for (int k = 0; k < kc; k++, a += R.Count, b += NR)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var x = Vector512.Create(a[0]); c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            if (R.Count >= 8)
            {
                x = Vector512.Create(a[4]); c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
                x = Vector512.Create(a[5]); c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
                x = Vector512.Create(a[6]); c60 = Avx512F.FusedMultiplyAdd(x, b0, c60); c61 = Avx512F.FusedMultiplyAdd(x, b1, c61);
                x = Vector512.Create(a[7]); c70 = Avx512F.FusedMultiplyAdd(x, b0, c70); c71 = Avx512F.FusedMultiplyAdd(x, b1, c71);
            }
            if (R.Count >= 12)
            {
                x = Vector512.Create(a[8]); c80 = Avx512F.FusedMultiplyAdd(x, b0, c80); c81 = Avx512F.FusedMultiplyAdd(x, b1, c81);
                x = Vector512.Create(a[9]); c90 = Avx512F.FusedMultiplyAdd(x, b0, c90); c91 = Avx512F.FusedMultiplyAdd(x, b1, c91);
                x = Vector512.Create(a[10]); cA0 = Avx512F.FusedMultiplyAdd(x, b0, cA0); cA1 = Avx512F.FusedMultiplyAdd(x, b1, cA1);
                x = Vector512.Create(a[11]); cB0 = Avx512F.FusedMultiplyAdd(x, b0, cB0); cB1 = Avx512F.FusedMultiplyAdd(x, b1, cB1);
            }
        }
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        // Overwriting a large C with streaming stores skips the read-for-ownership of every line.
        bool stream = R.Streaming && beta == 0f;
        StoreRow(c, c00, c01, va, vb, beta, stream); c += ldc;
        StoreRow(c, c10, c11, va, vb, beta, stream); c += ldc;
        StoreRow(c, c20, c21, va, vb, beta, stream); c += ldc;
        StoreRow(c, c30, c31, va, vb, beta, stream); c += ldc;
        if (R.Count >= 8)
        {
            StoreRow(c, c40, c41, va, vb, beta, stream); c += ldc;
            StoreRow(c, c50, c51, va, vb, beta, stream); c += ldc;
            StoreRow(c, c60, c61, va, vb, beta, stream); c += ldc;
            StoreRow(c, c70, c71, va, vb, beta, stream); c += ldc;
        }
        if (R.Count >= 12)
        {
            StoreRow(c, c80, c81, va, vb, beta, stream); c += ldc;
            StoreRow(c, c90, c91, va, vb, beta, stream); c += ldc;
            StoreRow(c, cA0, cA1, va, vb, beta, stream); c += ldc;
            StoreRow(c, cB0, cB1, va, vb, beta, stream);
        }
    }

    /// <summary>C[R x 16] tile for a 16-wide B panel (b advances 16 per k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void KernelX16<R>(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta) where R : IKernelRows
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        Vector512<float> c6 = default, c7 = default, c8 = default, c9 = default, cA = default, cB = default;
        for (int k = 0; k < kc; k++, a += R.Count, b += HalfNR)
        {
            var b0 = Vector512.Load(b);
            c0 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[0]), b0, c0);
            c1 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[1]), b0, c1);
            c2 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[2]), b0, c2);
            c3 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[3]), b0, c3);
            if (R.Count >= 8)
            {
                c4 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[4]), b0, c4);
                c5 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[5]), b0, c5);
                c6 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[6]), b0, c6);
                c7 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[7]), b0, c7);
            }
            if (R.Count >= 12)
            {
                c8 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[8]), b0, c8);
                c9 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[9]), b0, c9);
                cA = Avx512F.FusedMultiplyAdd(Vector512.Create(a[10]), b0, cA);
                cB = Avx512F.FusedMultiplyAdd(Vector512.Create(a[11]), b0, cB);
            }
        }
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        Store(c, c0, va, vb, beta, false); c += ldc;
        Store(c, c1, va, vb, beta, false); c += ldc;
        Store(c, c2, va, vb, beta, false); c += ldc;
        Store(c, c3, va, vb, beta, false); c += ldc;
        if (R.Count >= 8)
        {
            Store(c, c4, va, vb, beta, false); c += ldc;
            Store(c, c5, va, vb, beta, false); c += ldc;
            Store(c, c6, va, vb, beta, false); c += ldc;
            Store(c, c7, va, vb, beta, false); c += ldc;
        }
        if (R.Count >= 12)
        {
            Store(c, c8, va, vb, beta, false); c += ldc;
            Store(c, c9, va, vb, beta, false); c += ldc;
            Store(c, cA, va, vb, beta, false); c += ldc;
            Store(c, cB, va, vb, beta, false);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* c, Vector512<float> x0, Vector512<float> x1, Vector512<float> va, Vector512<float> vb,
        float beta, bool stream)
    {
        Store(c, x0, va, vb, beta, stream);
        Store(c + 16, x1, va, vb, beta, stream);
    }

    /// <summary>c = alpha*x + beta*c, never reading c when beta == 0 so stale NaNs cannot leak.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector512<float> x, Vector512<float> va, Vector512<float> vb, float beta, bool stream)
    {
        if (stream) (x * va).StoreAlignedNonTemporal(c);
        else if (beta == 0f) (x * va).Store(c);
        else if (beta == 1f) Avx512F.FusedMultiplyAdd(x, va, Vector512.Load(c)).Store(c);
        else Avx512F.FusedMultiplyAdd(x, va, Vector512.Load(c) * vb).Store(c);
    }
}

/// <summary>Compile-time tile height (and store flavour) of an AVX-512 kernel instantiation.</summary>
internal interface IKernelRows
{
    static abstract int Count { get; }
    /// <summary>Use non-temporal stores when overwriting C (caller guarantees 64-byte-aligned rows).</summary>
    static abstract bool Streaming { get; }
}

internal struct Rows12 : IKernelRows { public static int Count => 12; public static bool Streaming => false; }
internal struct Rows8 : IKernelRows { public static int Count => 8; public static bool Streaming => false; }
internal struct Rows12Streaming : IKernelRows { public static int Count => 12; public static bool Streaming => true; }
